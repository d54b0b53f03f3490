import Testing
@testable import Tensor

@Suite struct ConvolutionTests {
    /// Direct 7-loop convolution in Double (flat indices: variadic subscripts are slow in debug builds).
    func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Int, dilation: Int = 1) -> Tensor {
        let (batch, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let hout = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1
        let wout = (wd + 2 * padding - dilation * (kw - 1) - 1) / stride + 1
        let (xs, ws) = (x.storage, w.storage)
        var out = [Float](repeating: 0, count: batch * cout * hout * wout)
        for n in 0..<batch { for o in 0..<cout { for oy in 0..<hout { for ox in 0..<wout {
            var acc = Double(b?.storage[o] ?? 0)
            for c in 0..<cin { for dy in 0..<kh { for dx in 0..<kw {
                let y = oy * stride - padding + dy * dilation, xx = ox * stride - padding + dx * dilation
                if y >= 0, y < h, xx >= 0, xx < wd {
                    acc += Double(xs[((n * cin + c) * h + y) * wd + xx]) * Double(ws[((o * cin + c) * kh + dy) * kw + dx])
                }
            } } }
            out[((n * cout + o) * hout + oy) * wout + ox] = Float(acc)
        } } } }
        return Tensor(shape: [batch, cout, hout, wout], storage: out)
    }

    /// Dilated 3x3 (DenseLabelHead's layers: padding = dilation keeps the size), strided and on a map
    /// narrower than the dilated kernel, at 1 and 2 threads.
    @Test(arguments: [(2, 1, 2), (4, 1, 4), (8, 1, 8), (2, 2, 1), (3, 1, 0)])
    func dilatedConv2dMatchesNaive(dilation: Int, stride: Int, padding: Int) {
        let x = randomTensor([2, 5, 13, 11], seed: 53), w = randomTensor([6, 5, 3, 3], seed: 54), b = randomTensor([6], seed: 55)
        let naive = naiveConv(x, w, b, stride: stride, padding: padding, dilation: dilation)
        for threads in [1, 2] {
            let y = x.conv2d(weight: w, bias: b, stride: stride, padding: padding, dilation: dilation, threads: threads)
            #expect(y.shape == naive.shape)
            #expect(y.maxAbsDifference(naive) < 1e-4, "dilation \(dilation), threads \(threads)")
        }
    }

    @Test(arguments: [(3, 2, 1), (7, 2, 3), (1, 1, 0), (1, 2, 0), (3, 1, 1)])
    func conv2dMatchesNaive(kernel: Int, stride: Int, padding: Int) {
        let x = randomTensor([2, 3, 11, 9], seed: 50), w = randomTensor([4, 3, kernel, kernel], seed: 51), b = randomTensor([4], seed: 52)
        #expect(x.conv2d(weight: w, bias: b, stride: stride, padding: padding)
            .maxAbsDifference(naiveConv(x, w, b, stride: stride, padding: padding)) < 1e-4)
        #expect(x.conv2d(weight: w, stride: stride, padding: padding)
            .maxAbsDifference(naiveConv(x, w, nil, stride: stride, padding: padding)) < 1e-4)
    }

    /// Max pooling by its definition (padding never wins).
    func naiveMaxPool(_ x: Tensor, kernel: Int, stride: Int, padding: Int) -> Tensor {
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let hout = (height + 2 * padding - kernel) / stride + 1, wout = (width + 2 * padding - kernel) / stride + 1
        var out = [Float](repeating: 0, count: batch * channels * hout * wout)
        for p in 0..<(batch * channels) { for oy in 0..<hout { for ox in 0..<wout {
            var best = -Float.infinity
            for dy in 0..<kernel { for dx in 0..<kernel {
                let yy = oy * stride - padding + dy, xx = ox * stride - padding + dx
                if yy >= 0, yy < height, xx >= 0, xx < width { best = max(best, x.storage[(p * height + yy) * width + xx]) }
            } }
            out[(p * hout + oy) * wout + ox] = best
        } } }
        return Tensor(shape: [batch, channels, hout, wout], storage: out)
    }

    @Test(arguments: [(3, 2, 1, 7, 6), (3, 2, 1, 8, 8), (2, 2, 0, 7, 6), (3, 1, 1, 5, 9), (5, 3, 2, 11, 4)])
    func maxPoolMatchesNaive(kernel: Int, stride: Int, padding: Int, height: Int, width: Int) {
        let x = randomTensor([1, 2, height, width], seed: 53)
        let y = x.maxPool2d(kernel: kernel, stride: stride, padding: padding)
        let naive = naiveMaxPool(x, kernel: kernel, stride: stride, padding: padding)
        #expect(y.shape == naive.shape)
        #expect(y.storage == naive.storage)
    }

    /// Slices over output columns (wide maps) and over output rows (deep, small maps), fused ReLU.
    @Test(arguments: [([1, 16, 20, 20], 24), ([2, 32, 8, 8], 96)])
    func slicedConvolutionWithReLUMatchesNaive(input: [Int], channels: Int) {
        let x = randomTensor(input, seed: 56), w = randomTensor([channels, input[1], 3, 3], seed: 57)
        let b = randomTensor([channels], seed: 58)
        let naive = naiveConv(x, w, b, stride: 1, padding: 1).relu()
        for threads in [1, 2, 3] {
            let y = x.conv2d(weight: w, bias: b, stride: 1, padding: 1, relu: true, threads: threads)
            #expect(y.maxAbsDifference(naive) < 1e-4, "threads \(threads)")
        }
    }

    /// The direct one-channel path (a gray-scale stem): 32-, 8- and 1-column pieces, strides 1-3, bias, ReLU.
    @Test(arguments: [(7, 2, 3, 90), (7, 2, 3, 75), (3, 1, 1, 41), (5, 3, 2, 100)])
    func singleChannelConvolutionMatchesNaive(kernel: Int, stride: Int, padding: Int, width: Int) {
        let x = randomTensor([2, 1, 37, width], seed: 59), w = randomTensor([24, 1, kernel, kernel], seed: 60)
        let b = randomTensor([24], seed: 61)
        let naive = naiveConv(x, w, b, stride: stride, padding: padding)
        #expect(x.conv2d(weight: w, bias: b, stride: stride, padding: padding).maxAbsDifference(naive) < 1e-4)
        for threads in [1, 3] {
            #expect(x.conv2d(weight: w, bias: b, stride: stride, padding: padding, relu: true, threads: threads)
                .maxAbsDifference(naive.relu()) < 1e-4)
        }
        #expect(x.conv2d(weight: w, stride: stride, padding: padding).maxAbsDifference(naiveConv(x, w, nil, stride: stride, padding: padding)) < 1e-4)
    }

    /// The direct path on several channels: 16-column and 8-column steps, stride 2, 4-channel blocks and the rest.
    @Test(arguments: [([1, 6, 20, 37], 5, 3, 2, 1), ([2, 10, 12, 12], 9, 3, 1, 1), ([1, 4, 9, 33], 8, 5, 1, 2)])
    func directConvolutionMatchesNaive(input: [Int], channels: Int, kernel: Int, stride: Int, padding: Int) {
        let x = randomTensor(input, seed: 62), w = randomTensor([channels, input[1], kernel, kernel], seed: 63)
        let b = randomTensor([channels], seed: 64)
        let naive = naiveConv(x, w, b, stride: stride, padding: padding)
        #expect(naive.shape[3] >= Convolution.directMinimumWidth)
        #expect(x.conv2d(weight: w, bias: b, stride: stride, padding: padding).maxAbsDifference(naive) < 1e-4)
        #expect(x.conv2d(weight: w, bias: b, stride: stride, padding: padding, relu: true, threads: 2)
            .maxAbsDifference(naive.relu()) < 1e-4)
    }

    @Test func reluClampsNegatives() {
        #expect(Tensor(shape: [3], storage: [-1, 0, 2]).relu().storage == [0, 0, 2])
        var x = Tensor(shape: [3], storage: [-1, 0.5, 2])
        x.formAddingReLU(Tensor(shape: [3], storage: [0.5, -1, 1]))
        #expect(x.storage == [0, 0, 3])
    }
}

extension ConvolutionTests {
    @Test func kernelsWiderThanTheImage() {
        let x = randomTensor([1, 2, 3, 2], seed: 54), w = randomTensor([3, 2, 5, 5], seed: 55)
        #expect(x.conv2d(weight: w, stride: 2, padding: 2).maxAbsDifference(naiveConv(x, w, nil, stride: 2, padding: 2)) < 1e-5)
        #expect(x.conv2d(weight: w, stride: 3, padding: 1).maxAbsDifference(naiveConv(x, w, nil, stride: 3, padding: 1)) < 1e-5)
    }
}
