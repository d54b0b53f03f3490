// The process's allocator policy for the numeric code (see MemoryPolicy.swift).
#include "include/ckernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static atomic_int state = -1;            // -1 not yet asked, else the answer of the first call

int anatomix_keep_freed_memory(int64_t trim_threshold, int64_t mmap_threshold) {
    int known = atomic_load(&state);
    if (known >= 0) return known;
    int in_force = 0;
#if defined(__GLIBC__)
    const char *tunables = getenv("GLIBC_TUNABLES");                     // the user's own tuning wins
    const int user_tuned = getenv("MALLOC_TRIM_THRESHOLD_") || getenv("MALLOC_MMAP_THRESHOLD_") ||
                           (tunables && strstr(tunables, "glibc.malloc."));
    if (!user_tuned && trim_threshold > 0 && trim_threshold <= 0x7fffffff && mmap_threshold > 0 &&
        mmap_threshold <= 0x7fffffff)
        in_force = mallopt(M_TRIM_THRESHOLD, (int)trim_threshold) == 1 && mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1;
#else
    (void)trim_threshold; (void)mmap_threshold;
#endif
    int expected = -1;
    atomic_compare_exchange_strong(&state, &expected, in_force);
    return atomic_load(&state);
}
