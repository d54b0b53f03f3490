import CKernels

/// The 3x3 kernels of a convolution transformed for Winograd F(2x2, 3x3) (`U = G g Gᵀ`, 16 numbers per
/// kernel): computed once, when a model loads, and passed to `conv2d(winograd:)`.
public struct WinogradWeights: Sendable {
    /// `[16, Cout, Cin]`.
    let transformed: [Float]
    public let outputChannels: Int, inputChannels: Int

    /// `weight: [Cout, Cin, 3, 3]` (PyTorch's layout).
    public init(_ weight: Tensor) {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3, "Winograd needs 3x3 kernels, got \(weight.shape)")
        let (cout, cin) = (weight.shape[0], weight.shape[1])
        outputChannels = cout
        inputChannels = cin
        transformed = [Float](unsafeUninitializedCapacity: 16 * cout * cin) { buffer, count in
            weight.storage.withUnsafeBufferPointer { anatomix_winograd_weights($0.baseAddress!, Int64(cout), Int64(cin), buffer.baseAddress!) }
            count = 16 * cout * cin
        }
    }
}

extension Convolution {
    /// Whether a 3x3 stride-1 convolution runs faster as Winograd F(2x2, 3x3) than directly: it computes
    /// 16 products per 2x2 tile and input channel instead of 36, but transforms every input and output
    /// value, which only pays where each is used by enough channels. Measured per layer
    /// (`anatomix-bench conv ... winograd`, one core, AVX2): see README's speed section.
    public static func prefersWinograd(inputChannels: Int, outputChannels: Int, kernel: (Int, Int), stride: Int) -> Bool {
        kernel == (3, 3) && stride == 1 && inputChannels >= 16 && outputChannels >= 16
    }

    /// Winograd F(2x2, 3x3) convolution of one `[Cin, H, W]` image (stride 1, the given padding and
    /// dilation) into `[Cout, hout, wout]`: the padded input split into 2·dilation column phases (so
    /// that 8 neighbouring tiles' inputs are 8 consecutive floats, see Shared/CKernels/kernels_winograd.c),
    /// then the tiles split into `slices` parts run by `ComputeThreads.parallelFor`, each with its scratch.
    // swiftlint:disable:next function_parameter_count
    static func winograd(_ image: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int,
                         weights: WinogradWeights, bias: UnsafePointer<Float>?, padding p: Int, dilation d: Int,
                         output: (Int, Int), relu: Bool, slices: Int, into out: UnsafeMutablePointer<Float>) {
        let (hout, wout) = output, step = 2 * d, cout = weights.outputChannels
        let tileColumns = (wout + step - 1) / step
        let rows = (hout + step - 1) / step * step + step, phaseWidth = tileColumns + 1
        let count = step * cin * rows * phaseWidth + 16                     // the kernel's loads may run 16 floats past
        let tiles = Int(anatomix_winograd_tiles(Int64(hout), Int64(wout), Int64(d)))
        let parts = max(1, min(slices, tiles / 16)), scratchCount = Int(anatomix_winograd_scratch(Int64(cin), Int64(cout)))
        var phases = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            (buffer.baseAddress! + count - 16).initialize(repeating: 0, count: 16)
            initialized = count
        }
        var scratch = [Float](repeating: 0, count: parts * scratchCount)
        phases.withUnsafeMutableBufferPointer { buffer in
            splitPhases(image, channels: cin, height: h, width: w, stride: step, padding: p, rows: rows,
                        phaseWidth: phaseWidth, slices: slices, into: buffer.baseAddress!)
            let source = SharedPointer(UnsafePointer(buffer.baseAddress!)), target = SharedMutablePointer(out)
            let biases = bias.map { SharedPointer($0) }
            weights.transformed.withUnsafeBufferPointer { u in
                scratch.withUnsafeMutableBufferPointer { s in
                    let (transformed, work) = (SharedPointer(u.baseAddress!), SharedMutablePointer(s.baseAddress!))
                    ComputeThreads.parallelFor(parts) { part in
                        anatomix_conv_winograd(source.base, Int64(cin), Int64(rows), Int64(phaseWidth), Int64(d),
                                               transformed.base, biases?.base, Int64(cout), Int64(hout), Int64(wout), relu ? 1 : 0,
                                               Int64(tiles * part / parts), Int64(tiles * (part + 1) / parts),
                                               work.base + part * scratchCount, target.base)
                    }
                }
            }
        }
    }
}
