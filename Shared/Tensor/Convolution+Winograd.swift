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

    /// Whether Winograd's tiles (2x2 outputs spaced `dilation` apart, in blocks of 2·dilation) cover an output
    /// map with at most 1.5 times its own size: a dilation-8 convolution on an 8x8 map would compute 4 times
    /// its outputs, and runs directly instead.
    public static func winogradFits(output: (Int, Int), dilation: Int) -> Bool {
        let layout = anatomix_winograd_layout(1, Int64(output.0), Int64(output.1), Int64(dilation))
        return 4 * Int(layout.tiles) * 2 <= 3 * output.0 * output.1
    }

    /// Winograd F(2x2, 3x3) convolution of one `[Cin, H, W]` image (stride 1, the given padding and
    /// dilation) into `[Cout, hout, wout]`: the padded input split into 2·dilation column phases, or left whole
    /// for dilations that are multiples of 4 (either way 8 neighbouring tiles' inputs are 8 consecutive floats,
    /// see Shared/CKernels/kernels_winograd.c), then the tiles split into `slices` parts run by
    /// `ComputeThreads.parallelFor`, each with its scratch.
    // swiftlint:disable:next function_parameter_count
    static func winograd(_ image: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int,
                         weights: WinogradWeights, bias: UnsafePointer<Float>?, padding p: Int, dilation d: Int,
                         output: (Int, Int), relu: Bool, slices: Int, into out: UnsafeMutablePointer<Float>) {
        let (hout, wout) = output, cout = weights.outputChannels
        let layout = anatomix_winograd_layout(Int64(cin), Int64(hout), Int64(wout), Int64(d))
        let (rows, phaseWidth, tiles) = (Int(layout.rows), Int(layout.phase_width), Int(layout.tiles))
        let count = Int(layout.stride) * cin * rows * phaseWidth + 16       // the kernel's loads may run 16 floats past
        let parts = max(1, min(slices, tiles / 16)), scratchCount = Int(anatomix_winograd_scratch(Int64(cin), Int64(cout)))
        var phases = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            (buffer.baseAddress! + count - 16).initialize(repeating: 0, count: 16)
            initialized = count
        }
        // never read before the kernel writes it (lanes past a row's end are computed, never stored)
        var scratch = [Float](unsafeUninitializedCapacity: parts * scratchCount) { _, count in count = parts * scratchCount }
        phases.withUnsafeMutableBufferPointer { buffer in
            splitPhases(image, channels: cin, height: h, width: w, stride: Int(layout.stride), padding: p, rows: rows,
                        phaseWidth: phaseWidth, slices: slices, into: buffer.baseAddress!)
            let source = SharedPointer(UnsafePointer(buffer.baseAddress!)), target = SharedMutablePointer(out)
            let biases = bias.map { SharedPointer($0) }
            weights.transformed.withUnsafeBufferPointer { u in
                scratch.withUnsafeMutableBufferPointer { s in
                    let (transformed, work) = (SharedPointer(u.baseAddress!), SharedMutablePointer(s.baseAddress!))
                    ComputeThreads.parallelFor(parts) { part in
                        withUnsafePointer(to: layout) { layout in
                            anatomix_conv_winograd(source.base, layout, transformed.base, biases?.base, Int64(cout), relu ? 1 : 0,
                                                   Int64(Self.tileBoundary(part, of: parts, tiles: tiles)),
                                                   Int64(Self.tileBoundary(part + 1, of: parts, tiles: tiles)),
                                                   work.base + part * scratchCount, target.base)
                        }
                    }
                }
            }
        }
    }
}

extension Convolution {
    /// Where part `part` of `parts` starts: a multiple of 8 tiles (the kernel's runs of 4 tiles must not start
    /// mid-run), the last part ending at `tiles`.
    static func tileBoundary(_ part: Int, of parts: Int, tiles: Int) -> Int {
        part >= parts ? tiles : tiles * part / parts / 8 * 8
    }
}

