// Row softmax with a vectorised exp (AVX-512F, AVX2 + FMA, portable C with libm's expf), chosen at run
// time like the other kernels. The exp is Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2, a degree-6
// polynomial for e^r, then 2^n through the exponent bits; relative error about 2e-7 against expf.
// Arguments below -87.3 (e^x under FLT_MIN), -inf included, give exactly 0, so masked keys get no weight;
// a NaN logit makes its whole row NaN at every level (as libm's expf does), never a silent 0.
#include <math.h>
#include <stdint.h>

#include "kernels_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define EXP_LOW (-87.33654f)
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO (-2.12194440e-4f)
#define P0 1.9875691500e-4f
#define P1 1.3981999507e-3f
#define P2 8.3334519073e-3f
#define P3 4.1665795894e-2f
#define P4 1.6666665459e-1f
#define P5 5.0000001201e-1f

static void softmax_row_portable(float *x, int64_t n) {
    float peak = -INFINITY;
    for (int64_t i = 0; i < n; i++) peak = x[i] > peak ? x[i] : peak;
    float total = 0;
    for (int64_t i = 0; i < n; i++) { const float e = expf(x[i] - peak); x[i] = e; total += e; }
    const float inv = 1 / total;
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

static inline AVX512 __m512 exp_avx512(__m512 x) {   // x <= 0 here (the row's peak is subtracted)
    const __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_LOW), _CMP_NLT_UQ);   // NaN stays live
    x = _mm512_max_ps(_mm512_set1_ps(EXP_LOW), x);                                       // (max returns its 2nd operand for NaN)
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    __m512 p = _mm512_set1_ps(P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P5));
    const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1));
    const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mov_ps(live, _mm512_mul_ps(y, _mm512_castsi512_ps(bits)));
}

static AVX512 void softmax_row_avx512(float *x, int64_t n) {
    __m512 peak = _mm512_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) peak = _mm512_max_ps(_mm512_loadu_ps(x + i), peak);   // a NaN is skipped here, as in C
    const __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
    peak = _mm512_mask_max_ps(peak, tail, _mm512_maskz_loadu_ps(tail, x + i), peak);
    const __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(peak));
    __m512 sum = _mm512_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
        const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i), top));
        _mm512_storeu_ps(x + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (tail) {
        const __m512 e = _mm512_maskz_mov_ps(tail, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), top)));
        _mm512_mask_storeu_ps(x + i, tail, e);
        sum = _mm512_add_ps(sum, e);
    }
    const __m512 inv = _mm512_set1_ps(1 / _mm512_reduce_add_ps(sum));
    for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
    if (tail) _mm512_mask_storeu_ps(x + i, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + i), inv));
}

static inline AVX2 __m256 exp_avx2(__m256 x) {
    const __m256 live = _mm256_cmp_ps(x, _mm256_set1_ps(EXP_LOW), _CMP_NLT_UQ);
    x = _mm256_max_ps(_mm256_set1_ps(EXP_LOW), x);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    __m256 p = _mm256_set1_ps(P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P5));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(live, _mm256_mul_ps(y, _mm256_castsi256_ps(bits)));
}

static inline AVX2 float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

static inline AVX2 float hmax_avx2(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

static AVX2 void softmax_row_avx2(float *x, int64_t n) {
    __m256 peak8 = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) peak8 = _mm256_max_ps(_mm256_loadu_ps(x + i), peak8);
    float peak = hmax_avx2(peak8);
    for (int64_t j = i; j < n; j++) peak = x[j] > peak ? x[j] : peak;
    const __m256 top = _mm256_set1_ps(peak);
    __m256 sum8 = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), top));
        _mm256_storeu_ps(x + i, e);
        sum8 = _mm256_add_ps(sum8, e);
    }
    float total = hsum_avx2(sum8);
    for (int64_t j = i; j < n; j++) { const float e = expf(x[j] - peak); x[j] = e; total += e; }
    const float inv_scalar = 1 / total;
    const __m256 inv = _mm256_set1_ps(inv_scalar);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (int64_t j = i; j < n; j++) x[j] *= inv_scalar;
}
#endif

void anatomix_softmax_rows(float *x, int64_t rows, int64_t width) {
    if (width <= 0) return;
    const int level = anatomix_kernels_level();
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * width;
#if defined(__x86_64__)
        if (level >= ANATOMIX_KERNELS_AVX512) { softmax_row_avx512(row, width); continue; }
        if (level >= ANATOMIX_KERNELS_AVX2) { softmax_row_avx2(row, width); continue; }
#endif
        (void)level;
        softmax_row_portable(row, width);
    }
}
