import CKernels

extension Convolution {
    /// Direct convolution of one `[Cin, H, W]` image, vectorised over output columns:
    /// `out[c, oy, ox] = b[c] + Σ_(i, dy, dx) w[c, i, dy, dx] · x[i, s·oy + dy - p, s·ox + dx - p]`.
    ///
    /// Used where im2col + sgemm does poorly: the one-channel stem (K = kh·kw is small and the
    /// lowering is a strided gather as large as the output) and square kernels on wide maps. The
    /// zero-padded input is split into its `stride` column phases, so that for every tap the inputs of
    /// one output row are contiguous in phase `dx % s`; the C kernel (AVX2 + FMA when available)
    /// computes four output channels by 16 columns per step. Output rows are split into `slices`
    /// parts run by `ComputeThreads.parallelFor`.
    // swiftlint:disable:next function_parameter_count
    static func direct(_ image: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int,
                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outputChannels: Int, kernel k: Int,
                       stride s: Int, padding p: Int, output: (Int, Int), relu: Bool, slices: Int,
                       into out: UnsafeMutablePointer<Float>) {
        let (hout, wout) = output
        let rows = h + 2 * p, phaseWidth = wout + (k - 1) / s + 1
        var phases = [Float](repeating: 0, count: s * cin * rows * phaseWidth)
        phases.withUnsafeMutableBufferPointer { buffer in
            let phase = buffer.baseAddress!
            for r in 0..<s {
                // phase r, column j holds padded column s·j + r = image column s·j + r - p
                let first = max(0, (p - r + s - 1) / s), end = min(phaseWidth, (w + p - r + s - 1) / s)
                guard first < end else { continue }
                for i in 0..<cin {
                    for y in 0..<h {
                        let source = image + (i * h + y) * w + r - p, target = phase + ((r * cin + i) * rows + y + p) * phaseWidth
                        if s == 1 {
                            (target + first).update(from: source + first, count: end - first)
                        } else {
                            for j in first..<end { target[j] = source[s * j] }
                        }
                    }
                }
            }
            let (source, weights, target) = (SharedPointer(UnsafePointer(phase)), SharedPointer(weight), SharedMutablePointer(out))
            let biases = bias.map { SharedPointer($0) }
            // where tap (i, dy, dx) of output (0, 0) lives in the phases
            let offsets = (0..<(cin * k * k)).map { t in
                let (i, dy, dx) = (t / (k * k), t / k % k, t % k)
                return Int64((((dx % s) * cin + i) * rows + dy) * phaseWidth + dx / s)
            }
            ComputeThreads.parallelFor(slices) { slice in
                offsets.withUnsafeBufferPointer { offsets in
                    anatomix_conv_direct_rows(source.base, offsets.baseAddress!, Int64(offsets.count), Int64(s * phaseWidth),
                                              weights.base, biases?.base, Int64(outputChannels), Int64(hout * slice / slices),
                                              Int64(hout * (slice + 1) / slices), Int64(hout), Int64(wout), relu ? 1 : 0, target.base)
                }
            }
        }
    }
}
