// Private to the CKernels target: the per-ISA kernels behind the dispatchers in kernels.c.
#ifndef ANATOMIX_KERNELS_INTERNAL_H
#define ANATOMIX_KERNELS_INTERNAL_H

#include "include/ckernels.h"

#if defined(__x86_64__)
/// anatomix_conv_direct_rows with AVX-512F (kernels_avx512.c); call only when the CPU has it.
__attribute__((visibility("hidden")))
void anatomix_direct_avx512(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
                            const float *weight, const float *bias, int64_t channels,
                            int64_t oy0, int64_t oy1, int64_t hout, int64_t wout, int relu, float *out);

/// anatomix_max_pool with AVX-512F (kernels_avx512.c).
__attribute__((visibility("hidden")))
void anatomix_max_pool_avx512(const float *x, int64_t planes, int64_t height, int64_t width, int64_t kernel,
                              int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *scratch, float *out);
#endif

#endif
