import CKernels

extension Convolution {
    /// Direct convolution of a one-channel image (the stem of a gray-scale backbone), vectorised
    /// over output columns: `out[c, oy, ox] = b[c] + Σ w[c, dy, dx] · x[s·oy + dy - p, s·ox + dx - p]`.
    ///
    /// im2col + sgemm does poorly here (K = kh·kw is small and the lowering is a strided gather as
    /// large as the output). Instead the zero-padded image is split into its `stride` column phases,
    /// so that for every tap (dy, dx) the inputs of one output row are contiguous in phase `dx % s`.
    /// Output rows are split into `slices` parts run by `ComputeThreads.parallelFor`.
    // swiftlint:disable:next function_parameter_count
    static func singleChannel(_ image: UnsafePointer<Float>, height h: Int, width w: Int, weight: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, channels: Int, kernel k: Int, stride s: Int, padding p: Int,
                              output: (Int, Int), relu: Bool, slices: Int, into out: UnsafeMutablePointer<Float>) {
        let (hout, wout) = output
        let rows = h + 2 * p, phaseWidth = wout + (k - 1) / s + 1
        var phases = [Float](repeating: 0, count: s * rows * phaseWidth)
        phases.withUnsafeMutableBufferPointer { buffer in
            let phase = buffer.baseAddress!
            for r in 0..<s {
                // phase r, column j holds padded column s·j + r = image column s·j + r - p
                let first = max(0, (p - r + s - 1) / s), end = min(phaseWidth, (w + p - r + s - 1) / s)
                guard first < end else { continue }
                for y in 0..<h {
                    let source = image + y * w + r - p, target = phase + (r * rows + y + p) * phaseWidth
                    for j in first..<end { target[j] = source[s * j] }
                }
            }
            let (source, weights, target) = (SharedPointer(UnsafePointer(phase)), SharedPointer(weight), SharedMutablePointer(out))
            let biases = bias.map { SharedPointer($0) }
            // where tap (dy, dx) of output (0, 0) lives in the phases
            let offsets = (0..<(k * k)).map { t in Int64(((t % k % s) * rows + t / k) * phaseWidth + t % k / s) }
            ComputeThreads.parallelFor(slices) { slice in
                offsets.withUnsafeBufferPointer { offsets in
                    anatomix_conv1ch_rows(source.base, offsets.baseAddress!, Int64(k * k), Int64(s * phaseWidth), weights.base,
                                          biases?.base, Int64(channels), Int64(hout * slice / slices),
                                          Int64(hout * (slice + 1) / slices), Int64(hout), Int64(wout), relu ? 1 : 0, target.base)
                }
            }
        }
    }
}
