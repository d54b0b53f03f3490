#include "kernels_internal.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

// Columns [from, wout) of one output row of one channel: 8 at a time, then one by one.
__attribute__((target("avx2,fma")))
static inline void direct_tail(const float *row0, const int64_t *offsets, int64_t taps, const float *w, float b,
                               int64_t from, int64_t wout, int relu, float *line) {
    const __m256 zero = _mm256_setzero_ps();
    int64_t ox = from;
    for (; ox + 8 <= wout; ox += 8) {
        __m256 a = _mm256_set1_ps(b);
        for (int64_t t = 0; t < taps; t++)
            a = _mm256_fmadd_ps(_mm256_broadcast_ss(w + t), _mm256_loadu_ps(row0 + offsets[t] + ox), a);
        _mm256_storeu_ps(line + ox, relu ? _mm256_max_ps(a, zero) : a);
    }
    for (; ox < wout; ox++) {
        float a = b;
        for (int64_t t = 0; t < taps; t++) a += w[t] * row0[offsets[t] + ox];
        line[ox] = relu && a < 0 ? 0 : a;
    }
}

// C output channels (C = 6 or 4) x 16 columns from column ox of one output row: per tap C weight broadcasts,
// 2 input loads and 2C FMAs into 2C accumulators (C = 6: 12 of the 16 registers, enough independent FMAs to
// hide their latency, as in a 6x16 sgemm micro-kernel).
__attribute__((target("avx2,fma"))) __attribute__((always_inline))
static inline void direct_block_avx2(const int C, const float *row0, const int64_t *offsets, int64_t taps,
                                     const float *weight, const float *bias, int64_t plane, int64_t ox, int relu,
                                     float *line) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 a[6][2];
    for (int k = 0; k < C; k++) a[k][0] = a[k][1] = _mm256_set1_ps(bias ? bias[k] : 0);
    for (int64_t t = 0; t < taps; t++) {
        const float *r = row0 + offsets[t] + ox;
        const __m256 x0 = _mm256_loadu_ps(r), x1 = _mm256_loadu_ps(r + 8);
        for (int k = 0; k < C; k++) {
            const __m256 wv = _mm256_broadcast_ss(weight + k * taps + t);
            a[k][0] = _mm256_fmadd_ps(wv, x0, a[k][0]);
            a[k][1] = _mm256_fmadd_ps(wv, x1, a[k][1]);
        }
    }
    for (int k = 0; k < C; k++) {
        _mm256_storeu_ps(line + k * plane + ox, relu ? _mm256_max_ps(a[k][0], zero) : a[k][0]);
        _mm256_storeu_ps(line + k * plane + ox + 8, relu ? _mm256_max_ps(a[k][1], zero) : a[k][1]);
    }
}

// Wide rows: per 16 columns, blocks of six output channels, then of four (channels = 6a + 4b for every even
// count from 4 on), so that the inputs of those columns stay in L1 while every channel reads them; then the
// last < 16 columns and the last odd channel alone. Narrow rows: 8 channels x 8 columns per step.
__attribute__((target("avx2,fma")))
static void direct_avx2(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
                        const float *weight, const float *bias, int64_t channels,
                        int64_t oy0, int64_t oy1, int64_t hout, int64_t wout, int relu, float *out) {
    const __m256 zero = _mm256_setzero_ps();
    int64_t sixes = channels / 6;
    if (sixes > 0 && (channels % 6 == 2 || channels % 6 == 3)) sixes--;      // 8 or 9 left: two blocks of four
    const int64_t plane = hout * wout, fours = (channels - 6 * sixes) / 4, blocked = 6 * sixes + 4 * fours;
    for (int64_t oy = oy0; oy < oy1; oy++) {
        const float *row0 = phases + oy * row_step;
        float *line = out + oy * wout;
        int64_t c = 0, columns = 0;
        if (wout < 16) {
            for (; c + 8 <= channels; c += 8) {
                for (int64_t ox = 0; ox + 8 <= wout; ox += 8) {
                    __m256 a[8];
                    for (int k = 0; k < 8; k++) a[k] = _mm256_set1_ps(bias ? bias[c + k] : 0);
                    const float *w = weight + c * taps;
                    for (int64_t t = 0; t < taps; t++) {
                        const __m256 x = _mm256_loadu_ps(row0 + offsets[t] + ox);
                        for (int k = 0; k < 8; k++) a[k] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + k * taps + t), x, a[k]);
                    }
                    for (int k = 0; k < 8; k++)
                        _mm256_storeu_ps(line + (c + k) * plane + ox, relu ? _mm256_max_ps(a[k], zero) : a[k]);
                }
                for (int64_t k = 0; k < 8; k++)
                    direct_tail(row0, offsets, taps, weight + (c + k) * taps, bias ? bias[c + k] : 0, wout / 8 * 8, wout, relu,
                                line + (c + k) * plane);
            }
        } else {
            columns = wout / 16 * 16;
            for (int64_t ox = 0; ox < columns; ox += 16) {
                int64_t b = 0;
                for (; b < 6 * sixes; b += 6)
                    direct_block_avx2(6, row0, offsets, taps, weight + b * taps, bias ? bias + b : NULL, plane, ox, relu,
                                      line + b * plane);
                for (; b < blocked; b += 4)
                    direct_block_avx2(4, row0, offsets, taps, weight + b * taps, bias ? bias + b : NULL, plane, ox, relu,
                                      line + b * plane);
            }
            for (; c < blocked; c++)                           // the last < 16 columns of the blocked channels
                direct_tail(row0, offsets, taps, weight + c * taps, bias ? bias[c] : 0, columns, wout, relu, line + c * plane);
        }
        for (; c < channels; c++)                              // channels no block took: every column
            direct_tail(row0, offsets, taps, weight + c * taps, bias ? bias[c] : 0, 0, wout, relu, line + c * plane);
    }
}
#endif

static void direct_portable(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
                             const float *weight, const float *bias, int64_t channels,
                             int64_t oy0, int64_t oy1, int64_t hout, int64_t wout, int relu, float *out) {
    for (int64_t oy = oy0; oy < oy1; oy++) {
        const float *row0 = phases + oy * row_step;
        for (int64_t c = 0; c < channels; c++) {
            float *line = out + (c * hout + oy) * wout;
            const float b = bias ? bias[c] : 0.0f;
            for (int64_t ox = 0; ox < wout; ox++) line[ox] = b;
            for (int64_t t = 0; t < taps; t++) {           // ox innermost: vectorises on any target
                const float wt = weight[c * taps + t];
                const float *r = row0 + offsets[t];
                for (int64_t ox = 0; ox < wout; ox++) line[ox] += wt * r[ox];
            }
            if (relu) for (int64_t ox = 0; ox < wout; ox++) line[ox] = line[ox] < 0 ? 0 : line[ox];
        }
    }
}

// Loops written once and compiled several times: im2col for AVX-512, AVX2 and portable C, max-pool for AVX2 and
// portable C (kernels_avx512.c has its own).
#define INLINE static inline __attribute__((always_inline))

INLINE void im2col_body(const float *image, int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                        int64_t stride, int64_t padding, int64_t dilation, int64_t hout, int64_t wout, int64_t oy0,
                        int64_t oy1, float *columns) {
    const int64_t n = (oy1 - oy0) * wout;
    (void)hout;
    for (int64_t c = 0; c < channels; c++) {
        const float *plane = image + c * height * width;
        for (int64_t dy = 0; dy < kh; dy++) {
            for (int64_t dx = 0; dx < kw; dx++) {
                float *row = columns + ((c * kh + dy) * kw + dx) * n;
                const int64_t ex = dx * dilation;
                // output columns whose input x = ox * stride - padding + ex lies inside the image
                int64_t lo = padding - ex > 0 ? (padding - ex + stride - 1) / stride : 0;
                if (lo > wout) lo = wout;
                const int64_t last = width - 1 + padding - ex;
                int64_t hi = last < 0 ? lo : last / stride + 1;
                if (hi > wout) hi = wout;
                if (hi < lo) hi = lo;
                for (int64_t oy = oy0; oy < oy1; oy++) {
                    const int64_t y = oy * stride - padding + dy * dilation;
                    float *line = row + (oy - oy0) * wout;
                    if (y < 0 || y >= height) { for (int64_t ox = 0; ox < wout; ox++) line[ox] = 0; continue; }
                    const float *src = plane + y * width - padding + ex;
                    for (int64_t ox = 0; ox < lo; ox++) line[ox] = 0;
                    if (stride == 1) { for (int64_t ox = lo; ox < hi; ox++) line[ox] = src[ox]; }
                    else { for (int64_t ox = lo; ox < hi; ox++) line[ox] = src[ox * stride]; }
                    for (int64_t ox = hi; ox < wout; ox++) line[ox] = 0;
                }
            }
        }
    }
}

// The max of output ox's window, clipped to the row, from the column-wise maxima.
INLINE float pool_window(const float *column, int64_t width, int64_t kernel, int64_t stride, int64_t padding, int64_t ox) {
    int64_t x0 = ox * stride - padding, x1 = x0 + kernel;
    if (x0 < 0) x0 = 0;
    if (x1 > width) x1 = width;
    float best = column[x0];
    for (int64_t i = x0 + 1; i < x1; i++) best = column[i] > best ? column[i] : best;
    return best;
}

INLINE void max_pool_body(const float *x, int64_t planes, int64_t height, int64_t width, int64_t kernel,
                          int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *column, float *out) {
    for (int64_t p = 0; p < planes; p++) {
        const float *plane = x + p * height * width;
        float *target = out + p * hout * wout;
        for (int64_t oy = 0; oy < hout; oy++) {
            int64_t y0 = oy * stride - padding, y1 = y0 + kernel;
            if (y0 < 0) y0 = 0;
            if (y1 > height) y1 = height;
            for (int64_t i = 0; i < width; i++) column[i] = plane[y0 * width + i];
            for (int64_t y = y0 + 1; y < y1; y++) {       // column-wise max over the window's rows
                const float *row = plane + y * width;
                for (int64_t i = 0; i < width; i++) column[i] = row[i] > column[i] ? row[i] : column[i];
            }
            for (int64_t ox = 0; ox < wout; ox++) target[oy * wout + ox] = pool_window(column, width, kernel, stride, padding, ox);
        }
    }
}

#if defined(__x86_64__)
#define IM2COL(isa, target_features)                                                                                      \
    __attribute__((target(target_features))) static void im2col_##isa(const float *image, int64_t channels,              \
            int64_t height, int64_t width, int64_t kh, int64_t kw, int64_t stride, int64_t padding, int64_t dilation,     \
            int64_t hout, int64_t wout, int64_t oy0, int64_t oy1, float *columns) {                                       \
        im2col_body(image, channels, height, width, kh, kw, stride, padding, dilation, hout, wout, oy0, oy1, columns);   \
    }
IM2COL(avx2, "avx2,fma")
IM2COL(avx512, "avx512f,avx2,fma")

// Max pooling with AVX2, as anatomix_max_pool_avx512: per output row the column-wise max over the window's
// rows, then 8 outputs at a time whose windows and 16-float reads lie inside the row (strides 1 and 2:
// stride 2 takes the even lanes of two loads), the rest (edges, other strides) one by one.
__attribute__((target("avx2,fma"))) static void max_pool_avx2(const float *x, int64_t planes, int64_t height, int64_t width,
        int64_t kernel, int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *column, float *out) {
    // a vector of outputs from ox in [lo, last] reads column[ox * stride - padding + d + (0 ..< 8 * stride)]
    // inside the row for every d < kernel (so its windows are whole); none where last < lo
    const int64_t lo = (padding + stride - 1) / stride, reach = width - kernel + padding - 8 * stride + 1;
    const int64_t last = stride > 2 || reach < 0 ? -1 : reach / stride;
    for (int64_t p = 0; p < planes; p++) {
        const float *plane = x + p * height * width;
        for (int64_t oy = 0; oy < hout; oy++) {
            int64_t y0 = oy * stride - padding, y1 = y0 + kernel;
            if (y0 < 0) y0 = 0;
            if (y1 > height) y1 = height;
            int64_t i = 0;
            for (; i + 8 <= width; i += 8) {                   // column-wise max over the window's rows
                __m256 c = _mm256_loadu_ps(plane + y0 * width + i);
                for (int64_t y = y0 + 1; y < y1; y++) c = _mm256_max_ps(_mm256_loadu_ps(plane + y * width + i), c);
                _mm256_storeu_ps(column + i, c);
            }
            for (; i < width; i++) {
                float c = plane[y0 * width + i];
                for (int64_t y = y0 + 1; y < y1; y++) c = plane[y * width + i] > c ? plane[y * width + i] : c;
                column[i] = c;
            }
            float *line = out + (p * hout + oy) * wout;
            int64_t ox = 0;
            for (; ox < lo && ox < wout; ox++) line[ox] = pool_window(column, width, kernel, stride, padding, ox);
            for (; ox <= last && ox + 8 <= wout; ox += 8) {
                __m256 best = _mm256_setzero_ps();
                for (int64_t d = 0; d < kernel; d++) {
                    const float *first = column + ox * stride - padding + d;   // lane 0's input
                    __m256 v;
                    if (stride == 1) {
                        v = _mm256_loadu_ps(first);
                    } else {                                   // first[0, 2, .., 14]
                        const __m256 a = _mm256_loadu_ps(first), b = _mm256_loadu_ps(first + 8);
                        v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
                    }
                    best = d ? _mm256_max_ps(v, best) : v;
                }
                _mm256_storeu_ps(line + ox, best);
            }
            for (; ox < wout; ox++) line[ox] = pool_window(column, width, kernel, stride, padding, ox);
        }
    }
}
#endif

void anatomix_im2col(const float *image, int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                     int64_t stride, int64_t padding, int64_t dilation, int64_t hout, int64_t wout, int64_t oy0,
                     int64_t oy1, float *columns) {
    switch (anatomix_kernels_level()) {
#if defined(__x86_64__)
    case ANATOMIX_KERNELS_AVX512:
        im2col_avx512(image, channels, height, width, kh, kw, stride, padding, dilation, hout, wout, oy0, oy1, columns); return;
    case ANATOMIX_KERNELS_AVX2:
        im2col_avx2(image, channels, height, width, kh, kw, stride, padding, dilation, hout, wout, oy0, oy1, columns); return;
#endif
    default: im2col_body(image, channels, height, width, kh, kw, stride, padding, dilation, hout, wout, oy0, oy1, columns);
    }
}

void anatomix_max_pool(const float *x, int64_t planes, int64_t height, int64_t width, int64_t kernel,
                       int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *scratch, float *out) {
    switch (anatomix_kernels_level()) {
#if defined(__x86_64__)
    case ANATOMIX_KERNELS_AVX512: anatomix_max_pool_avx512(x, planes, height, width, kernel, stride, padding, hout, wout, scratch, out); return;
    case ANATOMIX_KERNELS_AVX2: max_pool_avx2(x, planes, height, width, kernel, stride, padding, hout, wout, scratch, out); return;
#endif
    default: max_pool_body(x, planes, height, width, kernel, stride, padding, hout, wout, scratch, out);
    }
}

typedef float split_v8 __attribute__((vector_size(32)));

// Stride 2 takes every other float 8 at a time (two loads, one shuffle); other strides one by one.
INLINE void split_body(const float *image, int64_t channels, int64_t height, int64_t width, int64_t s, int64_t p,
                       int64_t rows, int64_t phase_width, int64_t plane0, int64_t plane1, float *phases) {
    for (int64_t plane = plane0; plane < plane1; plane++) {
        const int64_t r = plane / channels, i = plane % channels;
        float *target = phases + plane * rows * phase_width;
        // columns [first, end) of each row hold image columns s j + r - p
        int64_t first = (p - r + s - 1) / s, end = (width + p - r + s - 1) / s;
        if (first < 0) first = 0;
        if (first > phase_width) first = phase_width;
        if (end > phase_width) end = phase_width;
        if (end < first) end = first;
        for (int64_t y = 0; y < rows; y++) {
            float *line = target + y * phase_width;
            if (y < p || y >= height + p) { memset(line, 0, (size_t)phase_width * sizeof(float)); continue; }
            // line[j] = image column s j + r - p, which is inside the row for first <= j < end
            const float *row = image + (i * height + y - p) * width;
            const int64_t shift = r - p;
            for (int64_t j = 0; j < first; j++) line[j] = 0;
            int64_t j = first;
            if (s == 1) { memcpy(line + first, row + first + shift, (size_t)(end - first) * sizeof(float)); j = end; }
            if (s == 2) {
                // reads columns 2j + shift .. 2j + shift + 15: inside the row, since 2 (j + 8) + shift is (j + 8 < end)
                for (; j + 8 < end; j += 8) {
                    split_v8 a, b;
                    memcpy(&a, row + 2 * j + shift, sizeof a);
                    memcpy(&b, row + 2 * j + shift + 8, sizeof b);
                    const split_v8 even = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
                    memcpy(line + j, &even, sizeof even);
                }
            }
            for (; j < end; j++) line[j] = row[s * j + shift];
            for (j = end; j < phase_width; j++) line[j] = 0;
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void split_avx2(const float *image, int64_t channels, int64_t height,
        int64_t width, int64_t s, int64_t p, int64_t rows, int64_t phase_width, int64_t plane0, int64_t plane1, float *phases) {
    split_body(image, channels, height, width, s, p, rows, phase_width, plane0, plane1, phases);
}
#endif

void anatomix_split_phases(const float *image, int64_t channels, int64_t height, int64_t width, int64_t stride,
                           int64_t padding, int64_t rows, int64_t phase_width, int64_t plane0, int64_t plane1, float *phases) {
#if defined(__x86_64__)
    if (anatomix_kernels_use_avx2()) {
        split_avx2(image, channels, height, width, stride, padding, rows, phase_width, plane0, plane1, phases);
        return;
    }
#endif
    split_body(image, channels, height, width, stride, padding, rows, phase_width, plane0, plane1, phases);
}

void anatomix_conv_direct_rows(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
                           const float *weight, const float *bias, int64_t channels,
                           int64_t oy0, int64_t oy1, int64_t hout, int64_t wout, int relu, float *out) {
    switch (anatomix_kernels_level()) {
#if defined(__x86_64__)
    case ANATOMIX_KERNELS_AVX512:
        anatomix_direct_avx512(phases, offsets, taps, row_step, weight, bias, channels, oy0, oy1, hout, wout, relu, out); return;
    case ANATOMIX_KERNELS_AVX2:
        direct_avx2(phases, offsets, taps, row_step, weight, bias, channels, oy0, oy1, hout, wout, relu, out); return;
#endif
    default: direct_portable(phases, offsets, taps, row_step, weight, bias, channels, oy0, oy1, hout, wout, relu, out);
    }
}

// The level in use: the best the CPU runs, capped by $ANATOMIX_KERNELS (read once) and by a forced level.
// Atomics (relaxed: every thread computes the same values) keep the lazy initialisation race-free.
static _Atomic int best_level = -1, automatic_level = -1, forced_level = -1;

int anatomix_kernels_best_level(void) {
    int level = atomic_load_explicit(&best_level, memory_order_relaxed);
    if (level < 0) {
        level = ANATOMIX_KERNELS_PORTABLE;
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            level = ANATOMIX_KERNELS_AVX2;
            if (__builtin_cpu_supports("avx512f")) level = ANATOMIX_KERNELS_AVX512;
        }
#endif
        atomic_store_explicit(&best_level, level, memory_order_relaxed);
    }
    return level;
}

static int automatic(void) {
    int level = atomic_load_explicit(&automatic_level, memory_order_relaxed);
    if (level < 0) {
        level = anatomix_kernels_best_level();
        const char *cap = getenv("ANATOMIX_KERNELS");
        if (cap && (!strcmp(cap, "portable") || !strcmp(cap, "0"))) level = ANATOMIX_KERNELS_PORTABLE;
        else if (cap && (!strcmp(cap, "avx2") || !strcmp(cap, "1")) && level > ANATOMIX_KERNELS_AVX2) level = ANATOMIX_KERNELS_AVX2;
        atomic_store_explicit(&automatic_level, level, memory_order_relaxed);
    }
    return level;
}

int anatomix_kernels_level(void) {
    const int forced = atomic_load_explicit(&forced_level, memory_order_relaxed);
    return forced >= 0 ? forced : automatic();
}

int anatomix_kernels_force(int level) {
    const int best = anatomix_kernels_best_level();
    return atomic_exchange_explicit(&forced_level, level < 0 ? -1 : level > best ? best : level, memory_order_relaxed);
}

int anatomix_kernels_use_avx2(void) { return anatomix_kernels_level() >= ANATOMIX_KERNELS_AVX2; }
