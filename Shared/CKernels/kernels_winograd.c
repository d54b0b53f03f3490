// Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2016): a 3x3 stride-1 convolution computed per 2x2 output tile as Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, 16
// products per tile and input channel instead of 36. Dilation d spaces a tile's 2x2 outputs and its 4x4
// inputs d pixels apart, so the same transforms apply.
//
// Tiles. Output rows are grouped in blocks of 2d; a tile row `tr` starts at row a = 2d (tr / d) + tr % d and
// covers rows a and a + d. Columns likewise: a tile starts at column 2d m + r (block m, residue r < d) and
// covers it and the column d to its right. Tiles that reach past the map are computed and their outside
// outputs dropped. The tiles of a tile row are numbered in one of two layouts (WinogradLayout.run), so that
// 8 consecutive tiles read 8 consecutive input floats and the transforms run 8 tiles per vector:
// - by block (run 0; dilations 1, 2, 3, ...): group g = tr * d + r holds blocks m = 0..blocks-1 of residue r,
//   read from the zero-padded image split into 2d column phases (anatomix_split_phases): phase q holds padded
//   columns 2d j + q, so a tile's four input columns 2d m + r + {0, d, 2d, 3d} are phases r and r + d at m and
//   m + 1.
// - by residue (run 8 for dilations that are multiples of 8, run 4 for other multiples of 4): a group holds
//   every residue of one block (or of two blocks, for run 4), read from the padded image itself, where
//   residues r, r + 1, ... are neighbouring columns; runs of `run` tiles are consecutive.

// The 16 products: for chunks of CHUNK tiles, V[ξ][i][t] (the input transform), M[ξ] = U[ξ] V[ξ] with
// U[ξ]: [cout, cin] (anatomix_winograd_weights), computed by anatomix_conv_direct_rows as a 1 x t
// "convolution" with cin taps (so it runs at the kernel level in use), then the output transform.
#include "kernels_internal.h"

#include <stdint.h>
#include <string.h>

// XI_PAD: floats between the 16 ξ planes of V and M beyond their size, so that the 16 streams a transform reads or
// writes do not sit a multiple of 4 KB apart (which stalled loads behind stores: 4K aliasing).
enum { CHUNK = 32, LANES = 8, XI_PAD = 24 };

typedef float v8 __attribute__((vector_size(32)));

// The helpers below pass 32-byte vectors by value; they are always inlined, so no call ever crosses the ABI
// that -Wpsabi warns about (the portable copies use two SSE registers per vector).
#pragma clang diagnostic ignored "-Wpsabi"

#define INLINE static inline __attribute__((always_inline))
// The 4x4 loops must be unrolled for the 16 vectors of a tile to stay in registers (SwiftPM builds C with -O2).
#define UNROLL _Pragma("GCC unroll 4")

INLINE v8 load8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }

// The first `lanes` (1...8) floats of x to p.
INLINE void store_lanes(float *p, v8 x, int64_t lanes) {
    if (lanes == LANES) { memcpy(p, &x, sizeof x); return; }
    float tmp[LANES];
    memcpy(tmp, &x, sizeof x);
    int64_t i = 0;
    if (lanes >= 4) { memcpy(p, tmp, 4 * sizeof(float)); i = 4; }
    for (; i < lanes; i++) p[i] = tmp[i];
}

int64_t anatomix_winograd_scratch(int64_t cin, int64_t cout) {
    return 2 * cin + 2 + 16 * ((cin + cout) * CHUNK + 2 * XI_PAD) + 2 * LANES;
}

void anatomix_winograd_weights(const float *weight, int64_t cout, int64_t cin, float *u) {
    for (int64_t k = 0; k < cout; k++) {
        for (int64_t i = 0; i < cin; i++) {
            const float *g = weight + (k * cin + i) * 9;
            float gg[4][3];                                   // G g: G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
            for (int c = 0; c < 3; c++) {
                gg[0][c] = g[c];
                gg[1][c] = 0.5f * (g[c] + g[3 + c] + g[6 + c]);
                gg[2][c] = 0.5f * (g[c] - g[3 + c] + g[6 + c]);
                gg[3][c] = g[6 + c];
            }
            for (int r = 0; r < 4; r++) {                     // (G g) Gᵀ
                const float row[4] = { gg[r][0], 0.5f * (gg[r][0] + gg[r][1] + gg[r][2]),
                                       0.5f * (gg[r][0] - gg[r][1] + gg[r][2]), gg[r][2] };
                for (int c = 0; c < 4; c++) u[((r * 4 + c) * cout + k) * cin + i] = row[c];
            }
        }
    }
}

// Tile group g: its first output row a, the output column x0 of its first tile, and where input
// column k' (0..3) of its first tile starts in row a of channel 0 (add i * plane for channel i). By block (`run`
// 0): tile j of the group sits step = 2d columns after tile j - 1. By residue: tile j is r = j % d of block j / d,
// at column offset 2d (j / d) + j % d, so runs of `run` (8, or 4 when d is not a multiple of 8) tiles are
// consecutive columns.
typedef struct { int64_t a, x0; int64_t column[4]; } Group;

INLINE Group group_at(int64_t g, const WinogradLayout *l) {
    const int64_t d = l->dilation, plane = l->rows * l->phase_width;
    Group out;
    int64_t tr;
    if (l->run) {                   // blocks m.. of one tile row, in the padded image
        const int64_t groups = l->blocks * d / l->group;
        tr = g / groups;
        out.x0 = 2 * d * (g % groups * (l->group / d));
        for (int k = 0; k < 4; k++) out.column[k] = out.x0 + d * k;
    } else {                        // tiles of one residue r: columns 2d m + r, m = 0..blocks-1, phases r and r + d
        tr = g / d;
        const int64_t r = g % d;
        out.x0 = r;
        for (int k = 0; k < 4; k++) out.column[k] = (r + d * (k & 1)) * l->channels * plane + (k >> 1);
    }
    out.a = 2 * d * (tr / d) + tr % d;
    for (int k = 0; k < 4; k++) out.column[k] += out.a * l->phase_width;
    return out;
}

// Column offset of tile j of a group from its first tile.
// (`run` is l->run, passed as a constant so that each layout gets its own loops.)
INLINE int64_t lane_offset(const WinogradLayout *l, const int run, int64_t j) {
    return run ? 2 * l->dilation * (j / l->dilation) + j % l->dilation : 2 * l->dilation * j;
}

typedef float v4 __attribute__((vector_size(16)));

// 8 tiles' inputs from p + offset(j): one load by block or by 8-runs, two 4-float loads for 4-runs.
INLINE v8 load_tiles(const float *p, const WinogradLayout *l, const int run, int64_t j) {
    if (run != 4) return load8(p + (run ? lane_offset(l, run, j) : j));
    v4 x, y;
    memcpy(&x, p + lane_offset(l, run, j), sizeof x);
    memcpy(&y, p + lane_offset(l, run, j + 4), sizeof y);
    return __builtin_shufflevector(x, y, 0, 1, 2, 3, 4, 5, 6, 7);
}

// V[ξ][i][t - t0] (row stride CHUNK) for tiles [t0, t1), ξ = 4 u + v: Bᵀ d B with
// Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], first along each input row, then down the columns.
INLINE void input_body(const float *phases, const WinogradLayout *l, const int run, int64_t t0, int64_t t1, float *v) {
    const int64_t cin = l->channels, plane = l->rows * l->phase_width, row = l->dilation * l->phase_width;
    const int64_t xi = cin * CHUNK + XI_PAD, size = l->group;
    for (int64_t g = t0 / size; g * size < t1; g++) {
        const Group group = group_at(g, l);
        const int64_t lo = t0 > g * size ? t0 - g * size : 0, hi = t1 < (g + 1) * size ? t1 - g * size : size;
        for (int64_t i = 0; i < cin; i++) {
            const float *c0 = phases + i * plane + group.column[0], *c1 = phases + i * plane + group.column[1];
            const float *c2 = phases + i * plane + group.column[2], *c3 = phases + i * plane + group.column[3];
            for (int64_t m = lo; m < hi; m += LANES) {
                v8 e[4][4];
                UNROLL for (int k = 0; k < 4; k++) {
                    const int64_t at = k * row;
                    const v8 x0 = load_tiles(c0 + at, l, run, m), x1 = load_tiles(c1 + at, l, run, m), x2 = load_tiles(c2 + at, l, run, m),
                             x3 = load_tiles(c3 + at, l, run, m);
                    e[k][0] = x0 - x2; e[k][1] = x1 + x2; e[k][2] = x2 - x1; e[k][3] = x1 - x3;
                }
                float *out = v + i * CHUNK + g * size + m - t0;
                const int64_t lanes = hi - m < LANES ? hi - m : LANES;
                UNROLL for (int c = 0; c < 4; c++) {
                    store_lanes(out + (0 * 4 + c) * xi, e[0][c] - e[2][c], lanes);
                    store_lanes(out + (1 * 4 + c) * xi, e[1][c] + e[2][c], lanes);
                    store_lanes(out + (2 * 4 + c) * xi, e[2][c] - e[1][c], lanes);
                    store_lanes(out + (3 * 4 + c) * xi, e[1][c] - e[3][c], lanes);
                }
            }
        }
    }
}

// Outputs of tiles [t0, t1) from M[ξ][k][t - t0] (row stride n = t1 - t0): Aᵀ M A + bias, then ReLU, with
// Aᵀ = [1 1 1 0; 0 1 -1 -1]; only outputs inside the map are written.
INLINE void output_body(const float *mbuf, const float *bias, int64_t cout, const WinogradLayout *l, const int run,
                        int relu, int64_t t0, int64_t t1, float *out) {
    const int64_t n = t1 - t0, xi = cout * n + XI_PAD, d = l->dilation, hout = l->hout, wout = l->wout;
    const int64_t size = l->group;
    for (int64_t k = 0; k < cout; k++) {
        const float b = bias ? bias[k] : 0.0f;
        float *target = out + k * hout * wout;
        for (int64_t g = t0 / size; g * size < t1; g++) {
            const Group group = group_at(g, l);
            const int64_t a = group.a, lo = t0 > g * size ? t0 - g * size : 0, hi = t1 < (g + 1) * size ? t1 - g * size : size;
            for (int64_t m = lo; m < hi; m += LANES) {
                const float *s = mbuf + k * n + g * size + m - t0;
                v8 top[4], bottom[4];
                UNROLL for (int c = 0; c < 4; c++) {
                    const v8 m0 = load8(s + c * xi), m1 = load8(s + (4 + c) * xi), m2 = load8(s + (8 + c) * xi),
                             m3 = load8(s + (12 + c) * xi);
                    top[c] = m0 + m1 + m2;
                    bottom[c] = m1 - m2 - m3;
                }
                const v8 bias8 = (v8){ b, b, b, b, b, b, b, b }, zero = (v8){ 0 };
                v8 y[4] = { top[0] + top[1] + top[2] + bias8, top[1] - top[2] - top[3] + bias8,
                            bottom[0] + bottom[1] + bottom[2] + bias8, bottom[1] - bottom[2] - bottom[3] + bias8 };
                if (relu) UNROLL for (int q = 0; q < 4; q++) y[q] = __builtin_elementwise_max(y[q], zero);
                const int64_t lanes = hi - m < LANES ? hi - m : LANES, x = group.x0 + lane_offset(l, run, m);
                const int64_t last = group.x0 + lane_offset(l, run, m + lanes - 1) + d;   // the rightmost output column
                const int inside = a + d < hout && last < wout;                   // every output of these tiles
                if (inside && lanes == LANES && run == 8) {
                    // columns x .. x + 7 and x + d .. x + d + 7 of rows a and a + d
                    UNROLL for (int u = 0; u < 2; u++) {
                        float *line = target + (a + u * d) * wout + x;
                        memcpy(line, &y[2 * u], sizeof y[0]);
                        memcpy(line + d, &y[2 * u + 1], sizeof y[0]);
                    }
                    continue;
                }
                if (inside && lanes == LANES && run == 4) {
                    // two runs of 4 tiles, at x and at x + (offset of tile m + 4), each with columns +0 and +d
                    const int64_t second = group.x0 + lane_offset(l, run, m + 4) - x;
                    UNROLL for (int u = 0; u < 2; u++) {
                        float *line = target + (a + u * d) * wout + x;
                        const v4 p0 = __builtin_shufflevector(y[2 * u], y[2 * u], 0, 1, 2, 3);
                        const v4 p1 = __builtin_shufflevector(y[2 * u], y[2 * u], 4, 5, 6, 7);
                        const v4 q0 = __builtin_shufflevector(y[2 * u + 1], y[2 * u + 1], 0, 1, 2, 3);
                        const v4 q1 = __builtin_shufflevector(y[2 * u + 1], y[2 * u + 1], 4, 5, 6, 7);
                        memcpy(line, &p0, sizeof p0);
                        memcpy(line + d, &q0, sizeof q0);
                        memcpy(line + second, &p1, sizeof p1);
                        memcpy(line + second + d, &q1, sizeof q1);
                    }
                    continue;
                }
                if (inside && lanes == LANES && d == 1) {
                    // columns x .. x + 15 of rows a and a + 1: the two column vectors interleaved
                    UNROLL for (int u = 0; u < 2; u++) {
                        const v8 left = __builtin_shufflevector(y[2 * u], y[2 * u + 1], 0, 8, 1, 9, 2, 10, 3, 11);
                        const v8 right = __builtin_shufflevector(y[2 * u], y[2 * u + 1], 4, 12, 5, 13, 6, 14, 7, 15);
                        float *line = target + (a + u) * wout + x;
                        memcpy(line, &left, sizeof left);
                        memcpy(line + LANES, &right, sizeof right);
                    }
                    continue;
                }
                float v[4][LANES];
                UNROLL for (int q = 0; q < 4; q++) memcpy(v[q], &y[q], sizeof y[q]);
                if (inside) {
                    float *top_line = target + a * wout + x, *bottom_line = top_line + d * wout;
                    for (int64_t lane = 0; lane < lanes; lane++) {
                        const int64_t at = lane_offset(l, run, m + lane) - lane_offset(l, run, m);
                        top_line[at] = v[0][lane]; top_line[at + d] = v[1][lane];
                        bottom_line[at] = v[2][lane]; bottom_line[at + d] = v[3][lane];
                    }
                    continue;
                }
                for (int64_t lane = 0; lane < lanes; lane++) {          // a tile cut by the map's edge
                    const int64_t column = group.x0 + lane_offset(l, run, m + lane);
                    for (int u = 0; u < 2 && a + u * d < hout; u++)
                        for (int c = 0; c < 2 && column + c * d < wout; c++)
                            target[(a + u * d) * wout + column + c * d] = v[2 * u + c][lane];
                }
            }
        }
    }
}

// One copy of each transform per layout (run 0, 4, 8) and instruction set.
#define TRANSFORMS(isa, attributes)                                                                               \
    attributes static void input_##isa(const float *phases, const WinogradLayout *l, int64_t t0, int64_t t1,      \
                                       float *v) {                                                                \
        switch (l->run) {                                                                                         \
        case 8: input_body(phases, l, 8, t0, t1, v); return;                                                      \
        case 4: input_body(phases, l, 4, t0, t1, v); return;                                                      \
        default: input_body(phases, l, 0, t0, t1, v);                                                             \
        }                                                                                                         \
    }                                                                                                             \
    attributes static void output_##isa(const float *mbuf, const float *bias, int64_t cout, const WinogradLayout *l, \
                                        int relu, int64_t t0, int64_t t1, float *out) {                           \
        switch (l->run) {                                                                                         \
        case 8: output_body(mbuf, bias, cout, l, 8, relu, t0, t1, out); return;                                   \
        case 4: output_body(mbuf, bias, cout, l, 4, relu, t0, t1, out); return;                                   \
        default: output_body(mbuf, bias, cout, l, 0, relu, t0, t1, out);                                          \
        }                                                                                                         \
    }

#if defined(__x86_64__)
TRANSFORMS(avx2, __attribute__((target("avx2,fma"))))
#endif
TRANSFORMS(portable, )

WinogradLayout anatomix_winograd_layout(int64_t channels, int64_t hout, int64_t wout, int64_t dilation) {
    const int64_t d = dilation, step = 2 * d;
    WinogradLayout l;
    l.channels = channels; l.hout = hout; l.wout = wout; l.dilation = d;
    l.run = d % 8 == 0 ? 8 : d % 4 == 0 ? 4 : 0;
    l.blocks = (wout + step - 1) / step;
    if (l.run == 4) l.blocks += l.blocks % 2;                // groups of two blocks: 2d tiles, whole vectors
    l.group = l.run == 8 ? d : l.run == 4 ? 2 * d : l.blocks;
    l.rows = (hout + step - 1) / step * step + step;
    l.stride = l.run ? 1 : step;
    l.phase_width = l.run ? step * (l.blocks + 1) : l.blocks + 1;
    l.tiles = (l.rows - step) / 2 * d * l.blocks;            // tile rows of d * blocks tiles
    return l;
}

void anatomix_conv_winograd(const float *phases, const WinogradLayout *layout, const float *u, const float *bias,
                            int64_t cout, int relu, int64_t t0, int64_t t1, float *scratch, float *out) {
    const int64_t cin = layout->channels;
    int64_t *offsets = (int64_t *)(void *)(((uintptr_t)scratch + 7) & ~(uintptr_t)7);   // 2 cin + 2 floats
    float *v = scratch + 2 * cin + 2, *m = v + 16 * (cin * CHUNK + XI_PAD);
    for (int64_t i = 0; i < cin; i++) offsets[i] = i * CHUNK;
#if defined(__x86_64__)
    const int vector = anatomix_kernels_use_avx2();
#else
    const int vector = 0;
#endif
    for (int64_t c0 = t0; c0 < t1; c0 += CHUNK) {
        const int64_t c1 = c0 + CHUNK < t1 ? c0 + CHUNK : t1, n = c1 - c0;
#if defined(__x86_64__)
        if (vector) input_avx2(phases, layout, c0, c1, v);
        else
#endif
            input_portable(phases, layout, c0, c1, v);
        (void)vector;
        for (int xi = 0; xi < 16; xi++)                         // M[ξ] [cout, n] = U[ξ] [cout, cin] x V[ξ] [cin, n]
            anatomix_conv_direct_rows(v + xi * (cin * CHUNK + XI_PAD), offsets, cin, 0, u + xi * cout * cin, NULL, cout,
                                      0, 1, 1, n, 0, m + xi * (cout * n + XI_PAD));
#if defined(__x86_64__)
        if (vector) output_avx2(m, bias, cout, layout, relu, c0, c1, out);
        else
#endif
            output_portable(m, bias, cout, layout, relu, c0, c1, out);
    }
}
