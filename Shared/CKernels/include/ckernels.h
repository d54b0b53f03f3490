// Small hand-vectorised kernels for the Tensor module: AVX-512F, else AVX2 + FMA, else portable C, chosen at
// run time (per-function target attributes: no -m flags needed). Swift's own SIMD types compile to SSE
// on a generic x86-64 target.
#ifndef ANATOMIX_CKERNELS_H
#define ANATOMIX_CKERNELS_H

#include <stdint.h>

/// Output rows [oy0, oy1) of a direct convolution, every output channel:
/// out[c][oy][ox] = bias[c] + sum_t weight[c][t] * phases[oy * row_step + offsets[t] + ox], then
/// max(., 0) when relu; t runs over (input channel, dy, dx), so weight is PyTorch's [Cout, Cin, k, k].
/// `phases` is the zero-padded input split into its stride column phases (see Convolution.direct),
/// `offsets[t]` where tap t of output (0, 0) lives in it. bias may be NULL.
void anatomix_conv_direct_rows(const float *phases, const int64_t *offsets, int64_t taps, int64_t row_step,
                           const float *weight, const float *bias, int64_t channels,
                           int64_t oy0, int64_t oy1, int64_t hout, int64_t wout, int relu, float *out);

/// How anatomix_conv_winograd tiles a [hout, wout] output of a 3x3 stride-1 convolution with this dilation, and
/// the input it reads: the zero-padded image split into `stride` column phases of `rows` x `phase_width`
/// (anatomix_split_phases with the convolution's padding), followed by 16 floats of slack.
typedef struct {
    int64_t channels, hout, wout, dilation;
    int64_t blocks;          // column blocks of 2 * dilation outputs (made even when run is 4)
    int64_t run;             // by residue: tiles next to each other in runs of 8 (dilation a multiple of 8) or 4
                             // (of 4); 0: by block, across the 2 * dilation column phases
    int64_t group;           // tiles a group of one tile row holds
    int64_t stride, rows, phase_width;
    int64_t tiles;           // 2x2 output tiles
} WinogradLayout;

WinogradLayout anatomix_winograd_layout(int64_t channels, int64_t hout, int64_t wout, int64_t dilation);

/// Winograd F(2x2, 3x3) convolution (see kernels_winograd.c): tiles [t0, t1) of `layout` (t0 a multiple of 8),
/// every output channel,
/// bias (may be NULL) and then max(., 0) when relu. `u` holds the transformed weights of
/// anatomix_winograd_weights, `scratch` anatomix_winograd_scratch(cin, cout) floats (one per concurrent call).
void anatomix_conv_winograd(const float *phases, const WinogradLayout *layout, const float *u, const float *bias,
                            int64_t cout, int relu, int64_t t0, int64_t t1, float *scratch, float *out);

/// Floats of scratch one anatomix_conv_winograd call needs.
int64_t anatomix_winograd_scratch(int64_t cin, int64_t cout);

/// U[ξ][k][i] = (G g Gᵀ)[ξ] of each 3x3 kernel g = weight[k][i] (PyTorch's [cout, cin, 3, 3]); u holds 16 * cout * cin floats.
void anatomix_winograd_weights(const float *weight, int64_t cout, int64_t cin, float *u);

/// Planes [plane0, plane1) of the zero-padded [channels, height, width] image split into `stride` column phases:
/// plane (r, i) = plane index r * channels + i holds `rows` rows of `phase_width` floats, row y column j =
/// image (i, y - padding, stride * j + r - padding), zero outside the image.
void anatomix_split_phases(const float *image, int64_t channels, int64_t height, int64_t width, int64_t stride,
                           int64_t padding, int64_t rows, int64_t phase_width, int64_t plane0, int64_t plane1, float *phases);

/// im2col of output rows [oy0, oy1) of one [channels, height, width] image: rows (c, dy, dx) of
/// (oy1 - oy0) * wout patches, tap (dy, dx) read at (oy * stride - padding + dy * dilation, likewise x),
/// zeros outside the image (conv2d multiplies them by its [Cout, channels * kh * kw] weights).
void anatomix_im2col(const float *image, int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                     int64_t stride, int64_t padding, int64_t dilation, int64_t hout, int64_t wout, int64_t oy0,
                     int64_t oy1, float *columns);

/// Max pooling of `planes` [height, width] planes with a square window (padding never wins);
/// `scratch` holds `width` floats.
void anatomix_max_pool(const float *x, int64_t planes, int64_t height, int64_t width, int64_t kernel,
                       int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *scratch, float *out);

/// Softmax of each of `rows` rows of `width` floats, in place (a vectorised exp; see kernels_softmax.c).
/// A -inf entry gets exactly 0.
void anatomix_softmax_rows(float *x, int64_t rows, int64_t width);

/// Instruction-set levels of the kernels, in increasing order.
enum { ANATOMIX_KERNELS_PORTABLE = 0, ANATOMIX_KERNELS_AVX2 = 1, ANATOMIX_KERNELS_AVX512 = 2 };

/// The best level this CPU runs (AVX2 needs FMA too; AVX-512 means AVX-512F).
int anatomix_kernels_best_level(void);

/// The level the kernels run at now: the forced one, else the best, capped by the environment variable
/// ANATOMIX_KERNELS (portable | avx2 | avx512, or 0 | 1 | 2; read once, at the first kernel call).
int anatomix_kernels_level(void);

/// Forces `level` (clamped to the best level; negative: back to automatic) for every thread and returns
/// the previously forced level (-1: it was automatic). For tests and benchmarks: set it while no kernel runs.
int anatomix_kernels_force(int level);

/// 1 when the kernels run at AVX2 level or above, else 0.
int anatomix_kernels_use_avx2(void);

/// glibc only: keeps up to `trim_threshold` bytes of freed memory at the top of the heap (rather than
/// giving it back to the kernel at every free) and serves blocks below `mmap_threshold` bytes from the heap,
/// once per process (per glibc arena: each arena may keep that much); does nothing where the environment sets
/// MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_ or glibc.malloc tunables. mallopt is not safe against a
/// concurrent free: call it before the threads that compute start (the model initialisers do).
/// Returns 1 when the policy is in force.
int anatomix_keep_freed_memory(int64_t trim_threshold, int64_t mmap_threshold);

#endif
