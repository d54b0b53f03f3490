extension Tensor {
    /// 2-D convolution of `[B, Cin, H, W]` with `weight: [Cout, Cin, kh, kw]` (PyTorch layout),
    /// optional `bias: [Cout]`, square stride and zero padding. Returns `[B, Cout, Hout, Wout]`.
    /// im2col + one sgemm per image; 1x1 stride-1 convolutions skip im2col.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(rank == 4 && weight.rank == 4 && weight.shape[1] == shape[1],
                     "conv2d input \(shape) and weight \(weight.shape) disagree")
        let (batch, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let hout = (h + 2 * padding - kh) / stride + 1, wout = (w + 2 * padding - kw) / stride + 1
        precondition(hout > 0 && wout > 0, "conv2d output would be empty for input \(shape)")
        if let bias { precondition(bias.shape == [cout], "conv2d bias \(bias.shape) for \(cout) channels") }
        let k = cin * kh * kw, n = hout * wout
        let direct = kh == 1 && kw == 1 && stride == 1 && padding == 0
        var columns = [Float](unsafeUninitializedCapacity: direct ? 0 : k * n) { _, count in count = direct ? 0 : k * n }
        var out = [Float](unsafeUninitializedCapacity: batch * cout * n) { _, count in count = batch * cout * n }
        storage.withUnsafeBufferPointer { x in
            weight.storage.withUnsafeBufferPointer { wt in
                out.withUnsafeMutableBufferPointer { o in
                    columns.withUnsafeMutableBufferPointer { col in
                        for b in 0..<batch {
                            let image = x.baseAddress! + b * cin * h * w
                            let target = o.baseAddress! + b * cout * n
                            if let bias {
                                for c in 0..<cout { (target + c * n).update(repeating: bias.storage[c], count: n) }
                            }
                            let source: UnsafePointer<Float>
                            if direct {
                                source = image
                            } else {
                                Convolution.im2col(image, channels: cin, height: h, width: w, kernel: (kh, kw),
                                                   stride: stride, padding: padding, output: (hout, wout), into: col.baseAddress!)
                                source = UnsafePointer(col.baseAddress!)
                            }
                            // [Cout, K] x [K, N] -> [Cout, N]
                            BLAS.gemm(transposeA: false, transposeB: false, m: cout, n: n, k: k,
                                      a: wt.baseAddress!, lda: k, b: source, ldb: n,
                                      beta: bias == nil ? 0 : 1, c: target, ldc: n)
                        }
                    }
                }
            }
        }
        return Tensor(shape: [batch, cout, hout, wout], storage: out)
    }

    /// Max pooling of `[B, C, H, W]` with a square window, stride and padding (padding never wins).
    public func maxPool2d(kernel: Int, stride: Int, padding: Int = 0) -> Tensor {
        precondition(rank == 4, "maxPool2d needs [B, C, H, W], got \(shape)")
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let hout = (h + 2 * padding - kernel) / stride + 1, wout = (w + 2 * padding - kernel) / stride + 1
        var out = [Float](repeating: -.infinity, count: planes * hout * wout)
        // window bounds clipped to the image, computed once per output row and column
        let rows = (0..<hout).map { max($0 * stride - padding, 0)..<min($0 * stride - padding + kernel, h) }
        let cols = (0..<wout).map { max($0 * stride - padding, 0)..<min($0 * stride - padding + kernel, w) }
        storage.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                for p in 0..<planes {
                    let plane = x.baseAddress! + p * h * w
                    let target = o.baseAddress! + p * hout * wout
                    for oy in 0..<hout {
                        for ox in 0..<wout {
                            var best = -Float.infinity
                            for y in rows[oy] { for xx in cols[ox] { best = max(best, plane[y * w + xx]) } }
                            target[oy * wout + ox] = best
                        }
                    }
                }
            }
        }
        return Tensor(shape: [shape[0], shape[1], hout, wout], storage: out)
    }

    /// max(x, 0) elementwise.
    public func relu() -> Tensor {
        var out = self
        out.storage.withUnsafeMutableBufferPointer { x in for i in x.indices { x[i] = max(x[i], 0) } }
        return out
    }

    /// `relu(self + other)` for same-shape tensors (a residual join), without temporaries.
    public func addingReLU(_ other: Tensor) -> Tensor {
        precondition(shape == other.shape, "addingReLU shapes \(shape) and \(other.shape)")
        var out = self
        out.storage.withUnsafeMutableBufferPointer { x in
            other.storage.withUnsafeBufferPointer { y in for i in x.indices { x[i] = max(x[i] + y[i], 0) } }
        }
        return out
    }
}

/// The im2col lowering used by `conv2d`.
public enum Convolution {
    /// Writes `[Cin * kh * kw, Hout * Wout]` patches of one `[Cin, H, W]` image (zeros outside).
    // swiftlint:disable:next function_parameter_count
    public static func im2col(_ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int, kernel: (Int, Int),
                              stride: Int, padding: Int, output: (Int, Int), into columns: UnsafeMutablePointer<Float>) {
        let (kh, kw) = kernel, (hout, wout) = output
        let n = hout * wout
        for c in 0..<channels {
            let plane = image + c * height * width
            for dy in 0..<kh {
                for dx in 0..<kw {
                    let row = columns + ((c * kh + dy) * kw + dx) * n
                    // output columns whose input x = ox * stride - padding + dx lies inside the image
                    let lo = min(max(0, (padding - dx + stride - 1) / stride), wout)
                    let last = width - 1 + padding - dx      // largest ox * stride still inside
                    let hi = last < 0 ? lo : max(min(wout, last / stride + 1), lo)
                    for oy in 0..<hout {
                        let y = oy * stride - padding + dy
                        let line = row + oy * wout
                        guard y >= 0, y < height else { line.update(repeating: 0, count: wout); continue }
                        let src = plane + y * width - padding + dx
                        if lo > 0 { line.update(repeating: 0, count: lo) }
                        if stride == 1 {
                            line.advanced(by: lo).update(from: src + lo, count: hi - lo)
                        } else {
                            for ox in lo..<hi { line[ox] = src[ox * stride] }
                        }
                        if hi < wout { (line + hi).update(repeating: 0, count: wout - hi) }
                    }
                }
            }
        }
    }
}
