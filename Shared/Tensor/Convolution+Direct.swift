import CKernels

extension Convolution {
    /// Direct convolution of one `[Cin, H, W]` image, vectorised over output columns:
    /// `out[c, oy, ox] = b[c] + Σ_(i, dy, dx) w[c, i, dy, dx] · x[i, s·oy + d·dy - p, s·ox + d·dx - p]`
    /// (d the dilation: a tap is only another offset into the padded phases).
    ///
    /// Used where im2col + sgemm does poorly: the one-channel stem (K = kh·kw is small and the
    /// lowering is a strided gather as large as the output) and square kernels on wide maps. The
    /// zero-padded input is split into its `stride` column phases, so that for every tap the inputs of
    /// one output row are contiguous in phase `dx % s`; the C kernel (see `KernelLevel`) computes 12
    /// output channels by 32 output positions per step with AVX-512F (positions run across rows, so
    /// 8-wide maps fill the 16-lane vectors), six (then four) channels by 16 columns with AVX2 + FMA (eight by eight on maps under 16 wide). Output rows
    /// are split into `slices` parts run by `ComputeThreads.parallelFor`.
    // swiftlint:disable:next function_parameter_count
    static func direct(_ image: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int,
                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outputChannels: Int, kernel k: Int,
                       stride s: Int, padding p: Int, dilation d: Int = 1, output: (Int, Int), relu: Bool, slices: Int,
                       into out: UnsafeMutablePointer<Float>) {
        let (hout, wout) = output
        let rows = h + 2 * p, phaseWidth = wout + d * (k - 1) / s + 1, planeSize = rows * phaseWidth
        let count = s * cin * planeSize
        var phases = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        phases.withUnsafeMutableBufferPointer { buffer in
            let phase = buffer.baseAddress!
            splitPhases(image, channels: cin, height: h, width: w, stride: s, padding: p, rows: rows,
                        phaseWidth: phaseWidth, slices: slices, into: phase)
            let (source, weights, target) = (SharedPointer(UnsafePointer(phase)), SharedPointer(weight), SharedMutablePointer(out))
            let biases = bias.map { SharedPointer($0) }
            // where tap (i, dy, dx) of output (0, 0) lives in the phases: padded row d·dy, column d·dx
            let offsets = (0..<(cin * k * k)).map { t in
                let (i, dy, dx) = (t / (k * k), d * (t / k % k), d * (t % k))
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

extension Convolution {
    /// Writes `[s][Cin][rows][phaseWidth]`: plane (r, i) is column phase r of input channel i zero-padded by
    /// `p` (top and left; zeros below and right up to `rows` x `s · phaseWidth`), so column j holds padded
    /// column s·j + r = image column s·j + r - p (`anatomix_split_phases`). Every float is written once (no
    /// separate zero fill); the planes are split across `slices`.
    // swiftlint:disable:next function_parameter_count
    static func splitPhases(_ image: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int, stride s: Int,
                            padding p: Int, rows: Int, phaseWidth: Int, slices: Int, into phases: UnsafeMutablePointer<Float>) {
        precondition(rows >= h + p, "phase rows \(rows) for a \(h)-row image padded by \(p)")
        let planes = s * cin, parts = max(1, min(slices, planes))
        let (input, padded) = (SharedPointer(image), SharedMutablePointer(phases))
        ComputeThreads.parallelFor(parts) { slice in
            anatomix_split_phases(input.base, Int64(cin), Int64(h), Int64(w), Int64(s), Int64(p), Int64(rows), Int64(phaseWidth),
                                  Int64(planes * slice / parts), Int64(planes * (slice + 1) / parts), padded.base)
        }
    }
}

/// The instruction set the C kernels (direct convolution, im2col, max-pool) run with: by default the
/// best this CPU has, capped by the environment variable `ANATOMIX_KERNELS` (`portable`, `avx2`;
/// read once), or a level forced for tests and benchmarks.
public enum KernelLevel: Int, CaseIterable, Comparable, Sendable, CustomStringConvertible {
    case portable = 0, avx2 = 1, avx512 = 2

    /// The best level this CPU runs (AVX2 with FMA; AVX-512F).
    public static var best: KernelLevel { KernelLevel(rawValue: Int(anatomix_kernels_best_level())) ?? .portable }

    /// The level the kernels run at now.
    public static var current: KernelLevel { KernelLevel(rawValue: Int(anatomix_kernels_level())) ?? .portable }

    /// Forces `level` (clamped to `best`) for every thread, or with nil goes back to the default; returns
    /// the level forced before (nil: none). Process-wide: change it while no kernel runs.
    @discardableResult
    public static func force(_ level: KernelLevel?) -> KernelLevel? {
        KernelLevel(rawValue: Int(anatomix_kernels_force(Int32(level?.rawValue ?? -1))))
    }

    /// Runs `body` with `level` forced, then restores what was forced before.
    public static func with<T>(_ level: KernelLevel, _ body: () throws -> T) rethrows -> T {
        let previous = force(level)
        defer { force(previous) }
        return try body()
    }

    public static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String { ["portable", "AVX2", "AVX-512"][rawValue] }
}
