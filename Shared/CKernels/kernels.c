#include "ckernels.h"

#include <stddef.h>

int anatomix_kernels_use_avx2(void);

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static void conv1ch_avx2(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
                         const float *weight, const float *bias, int64_t channels,
                         int64_t oy0, int64_t oy1, int64_t hout, int64_t wout, int relu, float *out) {
    const __m256 zero = _mm256_setzero_ps();
    for (int64_t oy = oy0; oy < oy1; oy++) {
        const float *row0 = phases + oy * row_step;
        for (int64_t c = 0; c < channels; c++) {
            const float *w = weight + c * taps;
            const float b = bias ? bias[c] : 0.0f;
            float *line = out + (c * hout + oy) * wout;
            int64_t ox = 0;
            for (; ox + 32 <= wout; ox += 32) {
                __m256 a0 = _mm256_set1_ps(b), a1 = a0, a2 = a0, a3 = a0;
                for (int64_t t = 0; t < taps; t++) {
                    const __m256 wv = _mm256_broadcast_ss(w + t);
                    const float *r = row0 + offsets[t] + ox;
                    a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r), a0);
                    a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r + 8), a1);
                    a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r + 16), a2);
                    a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r + 24), a3);
                }
                if (relu) { a0 = _mm256_max_ps(a0, zero); a1 = _mm256_max_ps(a1, zero); a2 = _mm256_max_ps(a2, zero); a3 = _mm256_max_ps(a3, zero); }
                _mm256_storeu_ps(line + ox, a0); _mm256_storeu_ps(line + ox + 8, a1);
                _mm256_storeu_ps(line + ox + 16, a2); _mm256_storeu_ps(line + ox + 24, a3);
            }
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
    }
}
#endif

static void conv1ch_portable(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
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

// Loops written once and compiled twice: inlined into an AVX2 wrapper and into a portable one.
#define INLINE static inline __attribute__((always_inline))

INLINE void im2col_body(const float *image, int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                        int64_t stride, int64_t padding, int64_t hout, int64_t wout, int64_t oy0, int64_t oy1, float *columns) {
    const int64_t n = (oy1 - oy0) * wout;
    (void)hout;
    for (int64_t c = 0; c < channels; c++) {
        const float *plane = image + c * height * width;
        for (int64_t dy = 0; dy < kh; dy++) {
            for (int64_t dx = 0; dx < kw; dx++) {
                float *row = columns + ((c * kh + dy) * kw + dx) * n;
                // output columns whose input x = ox * stride - padding + dx lies inside the image
                int64_t lo = padding - dx > 0 ? (padding - dx + stride - 1) / stride : 0;
                if (lo > wout) lo = wout;
                const int64_t last = width - 1 + padding - dx;
                int64_t hi = last < 0 ? lo : last / stride + 1;
                if (hi > wout) hi = wout;
                if (hi < lo) hi = lo;
                for (int64_t oy = oy0; oy < oy1; oy++) {
                    const int64_t y = oy * stride - padding + dy;
                    float *line = row + (oy - oy0) * wout;
                    if (y < 0 || y >= height) { for (int64_t ox = 0; ox < wout; ox++) line[ox] = 0; continue; }
                    const float *src = plane + y * width - padding + dx;
                    for (int64_t ox = 0; ox < lo; ox++) line[ox] = 0;
                    if (stride == 1) { for (int64_t ox = lo; ox < hi; ox++) line[ox] = src[ox]; }
                    else { for (int64_t ox = lo; ox < hi; ox++) line[ox] = src[ox * stride]; }
                    for (int64_t ox = hi; ox < wout; ox++) line[ox] = 0;
                }
            }
        }
    }
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
            for (int64_t ox = 0; ox < wout; ox++) {
                int64_t x0 = ox * stride - padding, x1 = x0 + kernel;
                if (x0 < 0) x0 = 0;
                if (x1 > width) x1 = width;
                float best = column[x0];
                for (int64_t i = x0 + 1; i < x1; i++) best = column[i] > best ? column[i] : best;
                target[oy * wout + ox] = best;
            }
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void im2col_avx2(const float *image, int64_t channels, int64_t height, int64_t width,
        int64_t kh, int64_t kw, int64_t stride, int64_t padding, int64_t hout, int64_t wout, int64_t oy0, int64_t oy1, float *columns) {
    im2col_body(image, channels, height, width, kh, kw, stride, padding, hout, wout, oy0, oy1, columns);
}
__attribute__((target("avx2,fma"))) static void max_pool_avx2(const float *x, int64_t planes, int64_t height, int64_t width,
        int64_t kernel, int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *scratch, float *out) {
    max_pool_body(x, planes, height, width, kernel, stride, padding, hout, wout, scratch, out);
}
#endif

void anatomix_im2col(const float *image, int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                     int64_t stride, int64_t padding, int64_t hout, int64_t wout, int64_t oy0, int64_t oy1, float *columns) {
#if defined(__x86_64__)
    if (anatomix_kernels_use_avx2()) { im2col_avx2(image, channels, height, width, kh, kw, stride, padding, hout, wout, oy0, oy1, columns); return; }
#endif
    im2col_body(image, channels, height, width, kh, kw, stride, padding, hout, wout, oy0, oy1, columns);
}

void anatomix_max_pool(const float *x, int64_t planes, int64_t height, int64_t width, int64_t kernel,
                       int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *scratch, float *out) {
#if defined(__x86_64__)
    if (anatomix_kernels_use_avx2()) { max_pool_avx2(x, planes, height, width, kernel, stride, padding, hout, wout, scratch, out); return; }
#endif
    max_pool_body(x, planes, height, width, kernel, stride, padding, hout, wout, scratch, out);
}

int anatomix_kernels_use_avx2(void) {
#if defined(__x86_64__)
    static int cached = -1;                 // a benign race: every thread computes the same value
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
#else
    return 0;
#endif
}

void anatomix_conv1ch_rows(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
                           const float *weight, const float *bias, int64_t channels,
                           int64_t oy0, int64_t oy1, int64_t hout, int64_t wout, int relu, float *out) {
#if defined(__x86_64__)
    if (anatomix_kernels_use_avx2()) {
        conv1ch_avx2(phases, offsets, taps, row_step, weight, bias, channels, oy0, oy1, hout, wout, relu, out);
        return;
    }
#endif
    conv1ch_portable(phases, offsets, taps, row_step, weight, bias, channels, oy0, oy1, hout, wout, relu, out);
}
