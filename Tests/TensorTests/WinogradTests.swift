import Testing
@testable import Tensor

/// Winograd F(2x2, 3x3) (`conv2d(winograd:)`) against the naive Double convolution of `ConvolutionTests`, at
/// every kernel level this CPU has (dilations that are multiples of 8 take the by-residue layout): maps whose sizes are not multiples of the 2·dilation tile blocks (tiles cut
/// by the edge), dilations 1, 2, 4, 8, padding 0, equal to and above the dilation, channel counts off the
/// kernels' blocks, more tiles than one 64-tile chunk with groups that straddle chunks, batches of two, and
/// 1-3 threads. Nested in `KernelLevelTests`, whose serialization covers it: the forced level is process-wide.
extension KernelLevelTests {
@Suite struct Winograd {
    /// Input, output channels, padding, dilation.
    static let cases: [([Int], Int, Int, Int)] = [
        ([1, 16, 64, 64], 24, 1, 1), ([2, 5, 13, 21], 7, 1, 1), ([1, 3, 17, 35], 9, 2, 2), ([1, 4, 19, 23], 6, 4, 4),
        ([1, 6, 40, 37], 13, 8, 8), ([1, 3, 9, 9], 5, 0, 1), ([1, 20, 16, 16], 33, 1, 1), ([1, 2, 5, 70], 3, 3, 2),
        ([1, 33, 8, 8], 40, 1, 1), ([1, 8, 30, 100], 10, 1, 1), ([1, 8, 64, 64], 8, 8, 8), ([1, 1, 3, 3], 2, 1, 1),
        ([1, 7, 2, 11], 4, 2, 1), ([1, 5, 21, 70], 6, 16, 16), ([1, 4, 9, 30], 3, 8, 8), ([1, 5, 6, 5], 17, 8, 8),
        ([1, 3, 12, 15], 9, 0, 2), ([1, 4, 20, 27], 6, 3, 3), ([1, 6, 19, 45], 11, 4, 4), ([1, 5, 32, 64], 7, 4, 4),
        ([1, 4, 23, 50], 5, 12, 12), ([1, 16, 64, 64], 16, 2, 2),
    ]

    static func check(_ level: KernelLevel, input: [Int], channels: Int, padding: Int, dilation: Int) {
        let x = randomTensor(input, seed: 90), w = randomTensor([channels, input[1], 3, 3], seed: 91)
        let b = randomTensor([channels], seed: 92), transformed = WinogradWeights(w)
        let reference = ConvolutionTests()
        let naive = reference.naiveConv(x, w, b, stride: 1, padding: padding, dilation: dilation)
        let unbiased = reference.naiveConv(x, w, nil, stride: 1, padding: padding, dilation: dilation)
        let (hout, wout) = (naive.shape[2], naive.shape[3])
        // the kernel itself, whatever the map's size (conv2d sends maps Winograd's tiles do not fit to the direct path)
        func winograd(bias: Tensor?, relu: Bool, threads: Int) -> Tensor {
            x.winogradConv2d(transformed, bias: bias, padding: padding, dilation: dilation, output: (hout, wout), relu: relu, slices: threads)
        }
        KernelLevel.with(level) {
            #expect(KernelLevel.current == level)
            for threads in [1, 2, 3] {
                let y = winograd(bias: b, relu: true, threads: threads)
                #expect(y.shape == naive.shape && y.maxAbsDifference(naive.relu()) < 1e-4, "\(level), threads \(threads): max |Δ| \(y.maxAbsDifference(naive.relu()))")
            }
            let y = winograd(bias: nil, relu: false, threads: 2)
            #expect(y.shape == unbiased.shape && y.maxAbsDifference(unbiased) < 1e-4, "\(level), no bias: max |Δ| \(y.maxAbsDifference(unbiased))")
            let linear = winograd(bias: b, relu: false, threads: 3)
            #expect(linear.maxAbsDifference(naive) < 1e-4, "\(level), bias without ReLU: max |Δ| \(linear.maxAbsDifference(naive))")
            // and through conv2d, which takes the Winograd path only where its tiles fit the map
            let routed = x.conv2d(weight: w, bias: b, padding: padding, dilation: dilation, threads: 2, winograd: transformed)
            #expect(routed.maxAbsDifference(naive) < 1e-4, "\(level), conv2d: max |Δ| \(routed.maxAbsDifference(naive))")
        }
    }

    @Test(arguments: cases) func portable(input: [Int], channels: Int, padding: Int, dilation: Int) {
        Self.check(.portable, input: input, channels: channels, padding: padding, dilation: dilation)
    }

    @Test(.enabled(if: KernelLevel.best >= .avx2, "this CPU lacks AVX2 + FMA"), arguments: cases)
    func avx2(input: [Int], channels: Int, padding: Int, dilation: Int) {
        Self.check(.avx2, input: input, channels: channels, padding: padding, dilation: dilation)
    }

    @Test(.enabled(if: KernelLevel.best >= .avx512, "this CPU lacks AVX-512F"), arguments: cases)
    func avx512(input: [Int], channels: Int, padding: Int, dilation: Int) {
        Self.check(.avx512, input: input, channels: channels, padding: padding, dilation: dilation)
    }

    /// The models use Winograd only where it was measured to pay, and never for shapes it cannot run; maps its
    /// tiles would overshoot by more than half run directly.
    @Test func preferenceCoversOnlyStrideOne3x3() {
        #expect(Convolution.winogradFits(output: (64, 64), dilation: 8) && Convolution.winogradFits(output: (16, 16), dilation: 1))
        #expect(!Convolution.winogradFits(output: (8, 8), dilation: 8) && !Convolution.winogradFits(output: (3, 3), dilation: 1))
        #expect(Convolution.prefersWinograd(inputChannels: 48, outputChannels: 48, kernel: (3, 3), stride: 1))
        #expect(!Convolution.prefersWinograd(inputChannels: 48, outputChannels: 48, kernel: (3, 3), stride: 2))
        #expect(!Convolution.prefersWinograd(inputChannels: 48, outputChannels: 48, kernel: (5, 5), stride: 1))
        #expect(!Convolution.prefersWinograd(inputChannels: 1, outputChannels: 24, kernel: (3, 3), stride: 1))
    }
}
}
