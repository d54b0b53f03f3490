// AVX-512F direct convolution and max pooling, compiled with per-function target attributes (no
// -mavx512f needed) and called by the dispatchers in kernels.c only when the CPU has AVX-512F.
//
// Direct convolution: the output plane of each channel is taken as one row-major run of positions q = oy * wout + ox, in
// 16-lane vectors: a vector never wastes lanes on narrow maps (an 8-wide map fills it with two rows)
// and its store is one contiguous (masked at the slice's end) write. Its inputs for tap t are the
// runs of consecutive output columns within each output row it covers, read by masked loads from
// phases + offsets[t] + oy * row_step + ox. A step computes up to 12 output channels x 2 vectors
// (24 accumulators of the 32 registers): per tap 2 input loads, 12 weight broadcasts, 24 FMAs.
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define TILE static inline __attribute__((always_inline, target("avx512f")))

// Loops over a tile's channels and vectors must be unrolled for its accumulators to stay in registers
// (SwiftPM builds C with -O2, which does not unroll them fully on its own).
#define UNROLL _Pragma("GCC unroll 16")

enum { LANES = 16, BLOCK = 12 };

/// Up to 16 consecutive output positions of one plane and where their inputs lie: lanes mask[j]
/// (one output row each) read base + delta[j] + lane, base = phases + offsets[t]; `store` holds the
/// lanes in use. delta[j] + (first lane of run j) is that run's first input, so base + delta[j]
/// never points before the phases (rows are at least wout + 1 apart) and masked-off lanes are never read.
typedef struct {
    int runs;
    __mmask16 store;
    __mmask16 mask[LANES];
    int64_t delta[LANES];
} Span;

static void span_init(Span *s, int64_t q, int64_t n, int64_t wout, int64_t row_step) {
    s->runs = 0;
    s->store = (__mmask16)((1u << n) - 1);
    for (int64_t lane = 0; lane < n;) {
        const int64_t oy = q / wout, ox = q % wout;
        int64_t count = wout - ox;
        if (count > n - lane) count = n - lane;
        s->mask[s->runs] = (__mmask16)(((1u << count) - 1) << lane);
        s->delta[s->runs] = oy * row_step + ox - lane;
        s->runs++;
        lane += count;
        q += count;
    }
}

// The inputs of span `s` for the tap at `base`.
TILE __m512 span_load(const Span *s, const float *base) {
    __m512 x = _mm512_maskz_loadu_ps(s->mask[0], base + s->delta[0]);
    for (int j = 1; j < s->runs; j++) x = _mm512_mask_loadu_ps(x, s->mask[j], base + s->delta[j]);
    return x;
}

// C output channels (weights w[k * taps + t], biases bias[k]) x V spans; out is channel 0 at the
// first span's first position. `single`: every span is one run (the loads need no merging).
TILE void tile(const float *phases, const int64_t *offsets, int64_t taps, const float *w, const float *bias,
               const Span *spans, const int C, const int V, const int single, int relu, int64_t plane, float *out) {
    __m512 a[BLOCK][2];
    UNROLL for (int k = 0; k < C; k++)
        UNROLL for (int v = 0; v < V; v++) a[k][v] = _mm512_set1_ps(bias ? bias[k] : 0.0f);
    const __mmask16 m0 = spans[0].mask[0], m1 = spans[V - 1].mask[0];
    const int64_t d0 = spans[0].delta[0], d1 = spans[V - 1].delta[0];
    for (int64_t t = 0; t < taps; t++) {
        const float *base = phases + offsets[t];
        __m512 x[2];
        if (single) {
            x[0] = _mm512_maskz_loadu_ps(m0, base + d0);
            if (V > 1) x[1] = _mm512_maskz_loadu_ps(m1, base + d1);
        } else {
            UNROLL for (int v = 0; v < V; v++) x[v] = span_load(spans + v, base);
        }
        UNROLL for (int k = 0; k < C; k++) {
            const __m512 wv = _mm512_set1_ps(w[k * taps + t]);
            UNROLL for (int v = 0; v < V; v++) a[k][v] = _mm512_fmadd_ps(wv, x[v], a[k][v]);
        }
    }
    const __m512 zero = _mm512_setzero_ps();
    UNROLL for (int k = 0; k < C; k++)
        UNROLL for (int v = 0; v < V; v++)
            _mm512_mask_storeu_ps(out + k * plane + v * LANES, spans[v].store, relu ? _mm512_max_ps(a[k][v], zero) : a[k][v]);
}

#define TILES(C) do {                                                                                    \
        const float *w = weight + c * taps, *b = bias ? bias + c : NULL;                                 \
        float *o = out + c * plane + q;                                                                  \
        if (V == 2 && single) tile(phases, offsets, taps, w, b, spans, C, 2, 1, relu, plane, o);         \
        else if (V == 2) tile(phases, offsets, taps, w, b, spans, C, 2, 0, relu, plane, o);              \
        else if (single) tile(phases, offsets, taps, w, b, spans, C, 1, 1, relu, plane, o);              \
        else tile(phases, offsets, taps, w, b, spans, C, 1, 0, relu, plane, o);                          \
    } while (0)

AVX512 void anatomix_direct_avx512(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
                                   const float *weight, const float *bias, int64_t channels,
                                   int64_t oy0, int64_t oy1, int64_t hout, int64_t wout, int relu, float *out) {
    const int64_t plane = hout * wout, end = oy1 * wout;
    for (int64_t q = oy0 * wout; q < end; q += 2 * LANES) {
        Span spans[2];
        const int V = end - q > LANES ? 2 : 1;
        int single = 1;
        for (int v = 0; v < V; v++) {
            const int64_t n = end - q - v * LANES;
            span_init(spans + v, q + v * LANES, n < LANES ? n : LANES, wout, row_step);
            single &= spans[v].runs == 1;
        }
        int64_t c = 0;
        for (; c + BLOCK <= channels; c += BLOCK) TILES(BLOCK);
        for (; c + 4 <= channels; c += 4) TILES(4);
        for (; c < channels; c++) TILES(1);
    }
}

// Output columns [from, to) of one pooled row, one by one (windows clipped to the row).
static void pool_columns(const float *column, int64_t width, int64_t kernel, int64_t stride, int64_t padding,
                         int64_t from, int64_t to, float *line) {
    for (int64_t ox = from; ox < to; ox++) {
        int64_t x0 = ox * stride - padding, x1 = x0 + kernel;
        if (x0 < 0) x0 = 0;
        if (x1 > width) x1 = width;
        float best = column[x0];
        for (int64_t i = x0 + 1; i < x1; i++) best = column[i] > best ? column[i] : best;
        line[ox] = best;
    }
}

static inline __mmask16 lanes(int64_t n) { return (__mmask16)(n <= 0 ? 0 : n >= LANES ? 0xFFFF : (1u << n) - 1); }

// Max pooling as anatomix_max_pool: per output row the column-wise max over the window's rows, then
// 16 outputs at a time whose windows lie inside the row (strides 1 and 2: stride 2 takes the even
// lanes of two masked loads), the clipped ones at the edges (and other strides) one by one.
AVX512 void anatomix_max_pool_avx512(const float *x, int64_t planes, int64_t height, int64_t width, int64_t kernel,
                                     int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *column, float *out) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    // outputs [lo, hi) have their whole window inside the row
    int64_t lo = (padding + stride - 1) / stride, hi = width - kernel + padding < 0 ? 0 : (width - kernel + padding) / stride + 1;
    if (hi > wout) hi = wout;
    if (stride > 2 || lo > hi) lo = hi = wout;
    for (int64_t p = 0; p < planes; p++) {
        const float *plane = x + p * height * width;
        for (int64_t oy = 0; oy < hout; oy++) {
            int64_t y0 = oy * stride - padding, y1 = y0 + kernel;
            if (y0 < 0) y0 = 0;
            if (y1 > height) y1 = height;
            for (int64_t i = 0; i < width; i += LANES) {      // column-wise max over the window's rows
                const __mmask16 m = lanes(width - i);
                __m512 c = _mm512_maskz_loadu_ps(m, plane + y0 * width + i);
                for (int64_t y = y0 + 1; y < y1; y++) c = _mm512_max_ps(_mm512_maskz_loadu_ps(m, plane + y * width + i), c);
                _mm512_mask_storeu_ps(column + i, m, c);
            }
            float *line = out + (p * hout + oy) * wout;
            pool_columns(column, width, kernel, stride, padding, 0, lo, line);
            for (int64_t ox = lo; ox < hi; ox += LANES) {
                const int64_t n = hi - ox < LANES ? hi - ox : LANES;
                __m512 best = _mm512_setzero_ps();
                for (int64_t d = 0; d < kernel; d++) {
                    const float *first = column + ox * stride - padding + d;   // lane 0's input
                    __m512 v;
                    if (stride == 1) {
                        v = _mm512_maskz_loadu_ps(lanes(n), first);
                    } else {                                  // inputs first[0, 2, .., 2n - 2]
                        const __mmask16 high = lanes(2 * n - 1 - LANES);
                        const __m512 a = _mm512_maskz_loadu_ps(lanes(2 * n - 1), first);
                        const __m512 b = high ? _mm512_maskz_loadu_ps(high, first + LANES) : _mm512_setzero_ps();
                        v = _mm512_permutex2var_ps(a, even, b);
                    }
                    best = d ? _mm512_max_ps(v, best) : v;
                }
                _mm512_mask_storeu_ps(line + ox, lanes(n), best);
            }
            pool_columns(column, width, kernel, stride, padding, hi, wout, line);
        }
    }
}
#else
typedef int anatomix_no_avx512;     // keeps this translation unit non-empty
#endif
