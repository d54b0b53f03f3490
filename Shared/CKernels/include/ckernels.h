// Small hand-vectorised kernels for the Tensor module (AVX2 + FMA when the CPU has them, chosen at
// run time; portable C otherwise). Swift's own SIMD types compile to SSE on a generic x86-64 target.
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

/// im2col of output rows [oy0, oy1) of one [channels, height, width] image: rows (c, dy, dx) of
/// (oy1 - oy0) * wout patches, zeros outside the image (conv2d multiplies them by its
/// [Cout, channels * kh * kw] weights).
void anatomix_im2col(const float *image, int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                     int64_t stride, int64_t padding, int64_t hout, int64_t wout, int64_t oy0, int64_t oy1, float *columns);

/// Max pooling of `planes` [height, width] planes with a square window (padding never wins);
/// `scratch` holds `width` floats.
void anatomix_max_pool(const float *x, int64_t planes, int64_t height, int64_t width, int64_t kernel,
                       int64_t stride, int64_t padding, int64_t hout, int64_t wout, float *scratch, float *out);

/// 1 when the AVX2 + FMA paths run on this CPU, else 0.
int anatomix_kernels_use_avx2(void);

#endif
