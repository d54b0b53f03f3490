import Testing
@testable import Tensor

/// Winograd F(2x2, 3x3) (`conv2d(winograd:)`) against the naive Double convolution of `ConvolutionTests`, at
/// every kernel level this CPU has: maps whose sizes are not multiples of the 2·dilation tile blocks (tiles cut
/// by the edge), dilations 1, 2, 4, 8, padding 0, equal to and above the dilation, channel counts off the
/// kernels' blocks, more tiles than one 64-tile chunk with groups that straddle chunks, batches of two, and
/// 1-3 threads. Serialized: the forced level is process-wide.
@Suite(.serialized) struct WinogradTests {
    /// Input, output channels, padding, dilation.
    static let cases: [([Int], Int, Int, Int)] = [
        ([1, 16, 64, 64], 24, 1, 1), ([2, 5, 13, 21], 7, 1, 1), ([1, 3, 17, 35], 9, 2, 2), ([1, 4, 19, 23], 6, 4, 4),
        ([1, 6, 40, 37], 13, 8, 8), ([1, 3, 9, 9], 5, 0, 1), ([1, 20, 16, 16], 33, 1, 1), ([1, 2, 5, 70], 3, 3, 2),
        ([1, 33, 8, 8], 40, 1, 1), ([1, 8, 30, 100], 10, 1, 1), ([1, 8, 64, 64], 8, 8, 8), ([1, 1, 3, 3], 2, 1, 1),
        ([1, 7, 2, 11], 4, 2, 1),
    ]

    static func check(_ level: KernelLevel, input: [Int], channels: Int, padding: Int, dilation: Int) {
        let x = randomTensor(input, seed: 90), w = randomTensor([channels, input[1], 3, 3], seed: 91)
        let b = randomTensor([channels], seed: 92), winograd = WinogradWeights(w)
        let reference = ConvolutionTests()
        let naive = reference.naiveConv(x, w, b, stride: 1, padding: padding, dilation: dilation)
        let unbiased = reference.naiveConv(x, w, nil, stride: 1, padding: padding, dilation: dilation)
        KernelLevel.with(level) {
            #expect(KernelLevel.current == level)
            for threads in [1, 2, 3] {
                let y = x.conv2d(weight: w, bias: b, padding: padding, dilation: dilation, relu: true, threads: threads, winograd: winograd)
                #expect(y.shape == naive.shape && y.maxAbsDifference(naive.relu()) < 1e-4, "\(level), threads \(threads): max |Δ| \(y.maxAbsDifference(naive.relu()))")
            }
            let y = x.conv2d(weight: w, padding: padding, dilation: dilation, threads: 2, winograd: winograd)
            #expect(y.shape == unbiased.shape && y.maxAbsDifference(unbiased) < 1e-4, "\(level), no bias: max |Δ| \(y.maxAbsDifference(unbiased))")
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

    /// The models use Winograd only where it was measured to pay, and never for shapes it cannot run.
    @Test func preferenceCoversOnlyStrideOne3x3() {
        #expect(Convolution.prefersWinograd(inputChannels: 48, outputChannels: 48, kernel: (3, 3), stride: 1))
        #expect(!Convolution.prefersWinograd(inputChannels: 48, outputChannels: 48, kernel: (3, 3), stride: 2))
        #expect(!Convolution.prefersWinograd(inputChannels: 48, outputChannels: 48, kernel: (5, 5), stride: 1))
        #expect(!Convolution.prefersWinograd(inputChannels: 1, outputChannels: 24, kernel: (3, 3), stride: 1))
    }
}
