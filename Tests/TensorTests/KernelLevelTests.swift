import Foundation
import Testing
@testable import Tensor

/// Each C kernel path (portable C, AVX2 + FMA, AVX-512F) against the naive references of
/// `ConvolutionTests`, on odd sizes: channel counts and widths that are not multiples of 16 (or 8),
/// strides 1 and 2, padding, slices that start mid-plane. A path this CPU lacks is skipped (with its
/// reason). Serialized, since the forced level is process-wide; other suites running meanwhile get
/// the same results at any level to float rounding (not bit for bit: compare with a tolerance).
@Suite(.serialized) struct KernelLevelTests {
    /// Direct path (square kernels on maps 8+ wide, or one input channel): input, output channels, kernel, stride, padding.
    static let directCases: [([Int], Int, Int, Int, Int)] = [
        ([2, 5, 13, 21], 13, 3, 1, 1), ([1, 3, 17, 35], 27, 3, 2, 1), ([1, 7, 9, 9], 17, 5, 1, 2),
        ([1, 19, 10, 10], 20, 3, 1, 1), ([1, 13, 20, 37], 21, 3, 1, 1), ([1, 4, 8, 70], 14, 3, 1, 1),
        ([1, 24, 16, 32], 24, 3, 1, 1), ([1, 16, 8, 8], 28, 3, 1, 1), ([1, 20, 19, 19], 33, 3, 2, 1),
        ([1, 3, 12, 40], 2, 3, 1, 1), ([1, 3, 12, 40], 4, 3, 1, 1), ([1, 3, 12, 40], 5, 3, 1, 1),
        ([1, 3, 12, 40], 8, 3, 1, 1), ([1, 3, 12, 40], 10, 3, 1, 1), ([2, 1, 23, 45], 24, 7, 2, 3), ([1, 1, 6, 5], 7, 3, 1, 1), ([1, 1, 20, 3], 3, 3, 2, 1), ([1, 1, 40, 100], 24, 7, 2, 3),
    ]

    /// im2col + sgemm (narrow maps, 1x1 strided, non-square kernels): input, output channels, kernel, stride, padding.
    static let im2colCases: [([Int], Int, [Int], Int, Int)] = [
        ([1, 3, 9, 11], 5, [3, 3], 2, 1), ([2, 6, 7, 13], 9, [1, 1], 2, 0), ([1, 4, 10, 9], 7, [3, 1], 1, 1),
        ([1, 5, 6, 6], 4, [5, 5], 1, 2), ([1, 33, 14, 7], 40, [3, 3], 1, 1),
    ]

    /// Dilated 3x3: input, output channels, dilation, stride, padding. The first three take the direct
    /// path (maps 8+ wide; the third strided, the fourth large enough to split across threads), the last
    /// two im2col (narrow maps).
    static let dilatedCases: [([Int], Int, Int, Int, Int, Bool)] = [
        ([1, 5, 19, 23], 7, 2, 1, 2, true), ([1, 3, 17, 21], 9, 8, 1, 8, true), ([1, 4, 30, 37], 6, 2, 2, 2, true),
        ([1, 16, 40, 40], 24, 4, 1, 4, true), ([2, 4, 15, 9], 6, 4, 2, 3, false), ([1, 6, 12, 7], 5, 2, 1, 2, false),
    ]

    /// Max pooling: kernel, stride, padding, planes, height, width.
    static let poolCases: [(Int, Int, Int, Int, Int, Int)] = [
        (3, 2, 1, 3, 37, 45), (2, 2, 0, 2, 16, 33), (3, 1, 1, 2, 13, 17), (5, 3, 2, 1, 23, 40), (3, 2, 1, 5, 64, 70),
        (3, 2, 1, 1, 4, 1), (3, 2, 1, 2, 9, 129), (5, 1, 2, 1, 7, 41), (2, 2, 0, 1, 3, 32),
    ]

    static func direct(_ level: KernelLevel, input: [Int], channels: Int, kernel: Int, stride: Int, padding: Int) {
        let x = randomTensor(input, seed: 70), w = randomTensor([channels, input[1], kernel, kernel], seed: 71)
        let b = randomTensor([channels], seed: 72)
        let reference = ConvolutionTests()
        let naive = reference.naiveConv(x, w, b, stride: stride, padding: padding)
        let unbiased = reference.naiveConv(x, w, nil, stride: stride, padding: padding)
        #expect(Convolution.prefersDirect(channels: input[1], kernel: (kernel, kernel), outputWidth: naive.shape[3]))
        KernelLevel.with(level) {
            #expect(KernelLevel.current == level)
            for threads in [1, 3] {
                let y = x.conv2d(weight: w, bias: b, stride: stride, padding: padding, relu: true, threads: threads)
                #expect(y.maxAbsDifference(naive.relu()) < 1e-4, "\(level), threads \(threads)")
            }
            #expect(x.conv2d(weight: w, stride: stride, padding: padding).maxAbsDifference(unbiased) < 1e-4, "\(level)")
        }
    }

    static func im2col(_ level: KernelLevel, input: [Int], channels: Int, kernel: [Int], stride: Int, padding: Int) {
        let x = randomTensor(input, seed: 73), w = randomTensor([channels, input[1]] + kernel, seed: 74)
        let b = randomTensor([channels], seed: 75)
        let naive = ConvolutionTests().naiveConv(x, w, b, stride: stride, padding: padding)
        #expect(!Convolution.prefersDirect(channels: input[1], kernel: (kernel[0], kernel[1]), outputWidth: naive.shape[3]))
        KernelLevel.with(level) {
            #expect(KernelLevel.current == level)
            for threads in [1, 2] {
                let y = x.conv2d(weight: w, bias: b, stride: stride, padding: padding, threads: threads)
                #expect(y.maxAbsDifference(naive) < 1e-4, "\(level), threads \(threads)")
            }
        }
    }

    static func dilated(_ level: KernelLevel, input: [Int], channels: Int, dilation: Int, stride: Int, padding: Int, direct: Bool) {
        let x = randomTensor(input, seed: 78), w = randomTensor([channels, input[1], 3, 3], seed: 79)
        let naive = ConvolutionTests().naiveConv(x, w, nil, stride: stride, padding: padding, dilation: dilation)
        #expect(Convolution.prefersDirect(channels: input[1], kernel: (3, 3), outputWidth: naive.shape[3]) == direct)
        KernelLevel.with(level) {
            for threads in [1, 2] {
                let y = x.conv2d(weight: w, stride: stride, padding: padding, dilation: dilation, threads: threads)
                #expect(y.shape == naive.shape && y.maxAbsDifference(naive) < 1e-4, "\(level), threads \(threads)")
            }
        }
    }

    static func maxPool(_ level: KernelLevel, kernel: Int, stride: Int, padding: Int, planes: Int, height: Int, width: Int) {
        let x = randomTensor([1, planes, height, width], seed: 76)
        let naive = ConvolutionTests().naiveMaxPool(x, kernel: kernel, stride: stride, padding: padding)
        KernelLevel.with(level) {
            #expect(KernelLevel.current == level)
            let y = x.maxPool2d(kernel: kernel, stride: stride, padding: padding)
            #expect(y.shape == naive.shape)
            #expect(y.storage == naive.storage, "\(level)")
        }
    }

    /// Softmax rows against a Double-precision reference: widths around the vector sizes, and -inf
    /// entries (masked keys) that must get exactly 0.
    static let softmaxWidths = [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 65, 257]

    static func softmax(_ level: KernelLevel, width: Int) {
        var rows = randomTensor([3, width], seed: 77).storage.map { $0 * 30 }       // logits of -30..30: exps far apart
        if width > 2 { rows[1] = -.infinity; rows[width + width / 2] = -.infinity }
        let reference = (0..<3).flatMap { r -> [Float] in
            let row = Array(rows[(r * width)..<((r + 1) * width)]), peak = row.max()!
            let e = row.map { exp(Double($0 - peak)) }, total = e.reduce(0, +)   // the kernel's own fp32 difference, exact exp
            return e.map { Float($0 / total) }
        }
        KernelLevel.with(level) {
            let y = Tensor(shape: [3, width], storage: rows).softmax()
            // relative error everywhere the reference is a normal float (exps reach e^-60 here)
            for (a, b) in zip(y.storage, reference) { #expect(abs(a - b) <= 1e-6 * b + Float.leastNormalMagnitude, "\(level), width \(width): \(a) vs \(b)") }
            if width > 2 { #expect(y.storage[1] == 0 && y.storage[width + width / 2] == 0, "\(level): masked entries") }
            for r in 0..<3 { #expect(abs(y.storage[(r * width)..<((r + 1) * width)].reduce(0, +) - 1) < 1e-5) }
            var poisoned = rows
            poisoned[width - 1] = .nan                                   // a NaN logit: its whole row is NaN
            let p = Tensor(shape: [3, width], storage: poisoned).softmax().storage
            #expect(p[0..<width].allSatisfy { $0.isNaN }, "\(level), width \(width): NaN row")
            #expect(p[width...].allSatisfy { !$0.isNaN })
        }
    }

    @Test func levelsAreOrderedAndRestored() {
        #expect(KernelLevel.allCases == [.portable, .avx2, .avx512])
        let before = KernelLevel.current
        KernelLevel.with(.portable) { #expect(KernelLevel.current == .portable) }
        #expect(KernelLevel.current == before)
        #expect(KernelLevel.current <= KernelLevel.best)
    }

    @Suite struct Portable {
        @Test(arguments: KernelLevelTests.directCases) func direct(input: [Int], channels: Int, kernel: Int, stride: Int, padding: Int) {
            KernelLevelTests.direct(.portable, input: input, channels: channels, kernel: kernel, stride: stride, padding: padding)
        }
        @Test(arguments: KernelLevelTests.im2colCases) func im2col(input: [Int], channels: Int, kernel: [Int], stride: Int, padding: Int) {
            KernelLevelTests.im2col(.portable, input: input, channels: channels, kernel: kernel, stride: stride, padding: padding)
        }
        @Test(arguments: KernelLevelTests.dilatedCases) func dilated(input: [Int], channels: Int, dilation: Int, stride: Int, padding: Int, direct: Bool) {
            KernelLevelTests.dilated(.portable, input: input, channels: channels, dilation: dilation, stride: stride, padding: padding, direct: direct)
        }
        @Test(arguments: KernelLevelTests.poolCases) func maxPool(kernel: Int, stride: Int, padding: Int, planes: Int, height: Int, width: Int) {
            KernelLevelTests.maxPool(.portable, kernel: kernel, stride: stride, padding: padding, planes: planes, height: height, width: width)
        }
        @Test(arguments: KernelLevelTests.softmaxWidths) func softmax(width: Int) {
            KernelLevelTests.softmax(.portable, width: width)
        }
    }

    @Suite(.enabled(if: KernelLevel.best >= .avx2, "this CPU lacks AVX2 + FMA")) struct AVX2 {
        @Test(arguments: KernelLevelTests.directCases) func direct(input: [Int], channels: Int, kernel: Int, stride: Int, padding: Int) {
            KernelLevelTests.direct(.avx2, input: input, channels: channels, kernel: kernel, stride: stride, padding: padding)
        }
        @Test(arguments: KernelLevelTests.im2colCases) func im2col(input: [Int], channels: Int, kernel: [Int], stride: Int, padding: Int) {
            KernelLevelTests.im2col(.avx2, input: input, channels: channels, kernel: kernel, stride: stride, padding: padding)
        }
        @Test(arguments: KernelLevelTests.dilatedCases) func dilated(input: [Int], channels: Int, dilation: Int, stride: Int, padding: Int, direct: Bool) {
            KernelLevelTests.dilated(.avx2, input: input, channels: channels, dilation: dilation, stride: stride, padding: padding, direct: direct)
        }
        @Test(arguments: KernelLevelTests.poolCases) func maxPool(kernel: Int, stride: Int, padding: Int, planes: Int, height: Int, width: Int) {
            KernelLevelTests.maxPool(.avx2, kernel: kernel, stride: stride, padding: padding, planes: planes, height: height, width: width)
        }
        @Test(arguments: KernelLevelTests.softmaxWidths) func softmax(width: Int) {
            KernelLevelTests.softmax(.avx2, width: width)
        }
    }

    @Suite(.enabled(if: KernelLevel.best >= .avx512, "this CPU lacks AVX-512F")) struct AVX512 {
        @Test(arguments: KernelLevelTests.directCases) func direct(input: [Int], channels: Int, kernel: Int, stride: Int, padding: Int) {
            KernelLevelTests.direct(.avx512, input: input, channels: channels, kernel: kernel, stride: stride, padding: padding)
        }
        @Test(arguments: KernelLevelTests.im2colCases) func im2col(input: [Int], channels: Int, kernel: [Int], stride: Int, padding: Int) {
            KernelLevelTests.im2col(.avx512, input: input, channels: channels, kernel: kernel, stride: stride, padding: padding)
        }
        @Test(arguments: KernelLevelTests.dilatedCases) func dilated(input: [Int], channels: Int, dilation: Int, stride: Int, padding: Int, direct: Bool) {
            KernelLevelTests.dilated(.avx512, input: input, channels: channels, dilation: dilation, stride: stride, padding: padding, direct: direct)
        }
        @Test(arguments: KernelLevelTests.poolCases) func maxPool(kernel: Int, stride: Int, padding: Int, planes: Int, height: Int, width: Int) {
            KernelLevelTests.maxPool(.avx512, kernel: kernel, stride: stride, padding: padding, planes: planes, height: height, width: width)
        }
        @Test(arguments: KernelLevelTests.softmaxWidths) func softmax(width: Int) {
            KernelLevelTests.softmax(.avx512, width: width)
        }
    }
}
