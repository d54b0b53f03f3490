import CKernels

extension Tensor {
    /// 2-D convolution of `[B, Cin, H, W]` with `weight: [Cout, Cin, kh, kw]` (PyTorch layout),
    /// optional `bias: [Cout]`, square stride, zero padding and dilation, optionally followed by ReLU.
    /// Returns `[B, Cout, Hout, Wout]`.
    ///
    /// im2col + one sgemm per image; 1x1 stride-1 convolutions skip im2col. With `threads > 1` the
    /// lowering and the product are split into that many slices run by `ComputeThreads.parallelFor`.
    /// With `winograd` (the same weights, transformed) a 3x3 stride-1 convolution runs as Winograd F(2x2, 3x3),
    /// unless its tiles would compute far more outputs than the map has (`Convolution.winogradFits`).
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                       relu: Bool = false, threads: Int = 1, winograd: WinogradWeights? = nil) -> Tensor {
        precondition(rank == 4 && weight.rank == 4 && weight.shape[1] == shape[1],
                     "conv2d input \(shape) and weight \(weight.shape) disagree")
        let (batch, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        precondition(stride > 0 && dilation > 0 && padding >= 0, "conv2d stride \(stride), dilation \(dilation), padding \(padding)")
        let hout = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1
        let wout = (w + 2 * padding - dilation * (kw - 1) - 1) / stride + 1
        precondition(hout > 0 && wout > 0, "conv2d output would be empty for input \(shape)")
        if let bias { precondition(bias.shape == [cout], "conv2d bias \(bias.shape) for \(cout) channels") }
        let k = cin * kh * kw, n = hout * wout
        let direct = kh == 1 && kw == 1 && stride == 1 && padding == 0
        // below ~1 MFLOP a second thread costs more than it saves
        let slices = cout * k * n < 500_000 ? 1 : max(1, threads)
        if let winograd, stride == 1, kh == 3, kw == 3, Convolution.winogradFits(output: (hout, wout), dilation: dilation) {
            precondition(winograd.outputChannels == cout && winograd.inputChannels == cin,
                         "Winograd weights [\(winograd.outputChannels), \(winograd.inputChannels)] for weight \(weight.shape)")
            return winogradConv2d(winograd, bias: bias, padding: padding, dilation: dilation, output: (hout, wout),
                                  relu: relu, slices: slices)
        }
        if Convolution.prefersDirect(channels: cin, kernel: (kh, kw), outputWidth: wout) {
            return directConv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                                output: (hout, wout), relu: relu, slices: slices)
        }
        let product = ConvolutionProduct(m: cout, n: n, k: k, slices: slices)
        let columnCount = direct ? 0 : k * n
        var columns = [Float](unsafeUninitializedCapacity: columnCount) { _, count in count = columnCount }
        var out = [Float](unsafeUninitializedCapacity: batch * cout * n) { _, count in count = batch * cout * n }
        let biasValues = bias?.storage ?? []
        storage.withUnsafeBufferPointer { x in
            weight.storage.withUnsafeBufferPointer { wt in biasValues.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { o in
                    columns.withUnsafeMutableBufferPointer { col in
                        let weights = SharedPointer(wt.baseAddress!), lowered = SharedMutablePointer(col.baseAddress ?? o.baseAddress!)
                        let biases = bias == nil ? nil : SharedPointer(bp.baseAddress!)
                        for b in 0..<batch {
                            let image = SharedPointer(x.baseAddress! + b * cin * h * w)
                            let target = SharedMutablePointer(o.baseAddress! + b * cout * n)
                            if direct {
                                ComputeThreads.parallelFor(slices) { s in
                                    product.run(slice: s, weight: weights.base, columns: image.base, bias: biases?.base,
                                                relu: relu, into: target.base)
                                }
                            } else {
                                ComputeThreads.parallelFor(slices) { s in
                                    let channels = ConvolutionProduct.part(cin, s, slices)
                                    Convolution.im2col(image.base + channels.lowerBound * h * w, channels: channels.count,
                                                       height: h, width: w, kernel: (kh, kw), stride: stride, padding: padding,
                                                       dilation: dilation, output: (hout, wout), rows: 0..<hout, into: lowered.base + channels.lowerBound * kh * kw * n)
                                }
                                ComputeThreads.parallelFor(slices) { s in
                                    product.run(slice: s, weight: weights.base, columns: UnsafePointer(lowered.base), bias: biases?.base,
                                                relu: relu, into: target.base)
                                }
                            }
                        }
                    }
                }
            } }
        }
        return Tensor(shape: [batch, cout, hout, wout], storage: out)
    }
}

extension Tensor {
    private func directConv2d(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, dilation: Int, output: (Int, Int),
                              relu: Bool, slices: Int) -> Tensor {
        let (batch, cin, h, w, cout, k) = (shape[0], shape[1], shape[2], shape[3], weight.shape[0], weight.shape[2])
        let n = output.0 * output.1
        var out = [Float](unsafeUninitializedCapacity: batch * cout * n) { _, count in count = batch * cout * n }
        let biasValues = bias?.storage ?? []
        storage.withUnsafeBufferPointer { x in
            weight.storage.withUnsafeBufferPointer { wt in
                biasValues.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { o in
                        for image in 0..<batch {
                            Convolution.direct(x.baseAddress! + image * cin * h * w, channels: cin, height: h, width: w,
                                               weight: wt.baseAddress!, bias: bias == nil ? nil : b.baseAddress!,
                                               outputChannels: cout, kernel: k, stride: stride, padding: padding,
                                               dilation: dilation, output: output, relu: relu, slices: slices, into: o.baseAddress! + image * cout * n)
                        }
                    }
                }
            }
        }
        return Tensor(shape: [batch, cout, output.0, output.1], storage: out)
    }
}

extension Tensor {
    /// The Winograd path of `conv2d` whatever the map's size (`Convolution.winogradFits` is the caller's choice).
    func winogradConv2d(_ weights: WinogradWeights, bias: Tensor?, padding: Int, dilation: Int, output: (Int, Int),
                        relu: Bool, slices: Int) -> Tensor {
        let (batch, cin, h, w, cout) = (shape[0], shape[1], shape[2], shape[3], weights.outputChannels)
        let n = output.0 * output.1
        var out = [Float](unsafeUninitializedCapacity: batch * cout * n) { _, count in count = batch * cout * n }
        let biasValues = bias?.storage ?? []
        storage.withUnsafeBufferPointer { x in
            biasValues.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { o in
                    for image in 0..<batch {
                        Convolution.winograd(x.baseAddress! + image * cin * h * w, channels: cin, height: h, width: w,
                                             weights: weights, bias: bias == nil ? nil : b.baseAddress!, padding: padding,
                                             dilation: dilation, output: output, relu: relu, slices: slices,
                                             into: o.baseAddress! + image * cout * n)
                    }
                }
            }
        }
        return Tensor(shape: [batch, cout, output.0, output.1], storage: out)
    }
}

/// `[Cout, K] x [K, N] -> [Cout, N]` (+ bias, ReLU) split into slices of output rows or columns,
/// whichever dimension is larger, so that each slice is one single-threaded sgemm.
struct ConvolutionProduct: Sendable {
    let m: Int, n: Int, k: Int, slices: Int

    /// The `index`-th of `count` near-equal parts of `0..<total`.
    static func part(_ total: Int, _ index: Int, _ count: Int) -> Range<Int> {
        (total * index / count)..<(total * (index + 1) / count)
    }

    func run(slice: Int, weight: UnsafePointer<Float>, columns: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
             relu: Bool, into target: UnsafeMutablePointer<Float>) {
        let splitRows = m >= n
        let rows = splitRows ? Self.part(m, slice, slices) : 0..<m
        let cols = splitRows ? 0..<n : Self.part(n, slice, slices)
        guard !rows.isEmpty, !cols.isEmpty else { return }
        let c = target + rows.lowerBound * n + cols.lowerBound
        if let bias {
            for r in rows { (target + r * n + cols.lowerBound).update(repeating: bias[r], count: cols.count) }
        }
        BLAS.gemm(transposeA: false, transposeB: false, m: rows.count, n: cols.count, k: k,
                  a: weight + rows.lowerBound * k, lda: k, b: columns + cols.lowerBound, ldb: n,
                  beta: bias == nil ? 0 : 1, c: c, ldc: n)
        guard relu else { return }
        for r in 0..<rows.count {
            let line = c + r * n
            for i in 0..<cols.count { line[i] = line[i] > 0 ? line[i] : 0 }
        }
    }
}

/// The im2col lowering used by `conv2d` (a C kernel: see Shared/CKernels), and the choice of path.
public enum Convolution {
    /// Output rows at least this wide take the direct path (square kernels larger than 1x1); measured
    /// on the tiny APM, direct beats im2col + OpenBLAS sgemm from 8 columns up (1.2x on the backbone).
    static let directMinimumWidth = 8

    /// Whether `conv2d` runs directly (`direct`) rather than as im2col + sgemm: the one-channel stem,
    /// and square kernels on rows wide enough for the 16-column steps.
    static func prefersDirect(channels: Int, kernel: (Int, Int), outputWidth: Int) -> Bool {
        kernel.0 == kernel.1 && kernel.0 > 1 && (channels == 1 || outputWidth >= directMinimumWidth)
    }

    /// Writes `[Cin * kh * kw, rows.count * Wout]` patches of output rows `rows` of one `[Cin, H, W]`
    /// image (zeros outside); tap (dy, dx) reads `dilation` pixels apart.
    // swiftlint:disable:next function_parameter_count
    public static func im2col(_ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int, kernel: (Int, Int),
                              stride: Int, padding: Int, dilation: Int = 1, output: (Int, Int), rows: Range<Int>,
                              into columns: UnsafeMutablePointer<Float>) {
        anatomix_im2col(image, Int64(channels), Int64(height), Int64(width), Int64(kernel.0), Int64(kernel.1),
                        Int64(stride), Int64(padding), Int64(dilation), Int64(output.0), Int64(output.1),
                        Int64(rows.lowerBound), Int64(rows.upperBound), columns)
    }
}
