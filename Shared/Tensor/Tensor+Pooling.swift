extension Tensor {
    /// Max pooling of `[B, C, H, W]` with a square window, stride and padding (padding never wins).
    ///
    /// Per output row: the column-wise max over the window's input rows (contiguous, vectorised),
    /// then the max over each output's window of that row.
    public func maxPool2d(kernel: Int, stride: Int, padding: Int = 0) -> Tensor {
        precondition(rank == 4, "maxPool2d needs [B, C, H, W], got \(shape)")
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let hout = (h + 2 * padding - kernel) / stride + 1, wout = (w + 2 * padding - kernel) / stride + 1
        precondition(hout > 0 && wout > 0 && padding < kernel, "maxPool2d output would be empty for input \(shape)")
        var out = [Float](unsafeUninitializedCapacity: planes * hout * wout) { _, count in count = planes * hout * wout }
        var line = [Float](repeating: 0, count: w)
        storage.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                line.withUnsafeMutableBufferPointer { column in
                    for p in 0..<planes {
                        let plane = x.baseAddress! + p * h * w
                        let target = o.baseAddress! + p * hout * wout
                        for oy in 0..<hout {
                            let y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, h)
                            column.baseAddress!.update(from: plane + y0 * w, count: w)
                            for y in (y0 + 1)..<max(y1, y0 + 1) {
                                let row = plane + y * w
                                for i in 0..<w { column[i] = row[i] > column[i] ? row[i] : column[i] }   // (maxps; `max` keeps NaN rules)
                            }
                            let out = target + oy * wout
                            // outputs whose window lies inside the row; the ones at the edges are clipped
                            let inner = (padding + stride - 1) / stride..<max((w - kernel + padding) / stride + 1, 0)
                            if kernel == 3, !inner.isEmpty {
                                for ox in inner {
                                    let x0 = ox * stride - padding
                                    let (a, b, c) = (column[x0], column[x0 + 1], column[x0 + 2])
                                    let ab = a > b ? a : b
                                    out[ox] = ab > c ? ab : c
                                }
                            }
                            for ox in 0..<wout where kernel != 3 || !inner.contains(ox) {
                                let x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, w)
                                var best = column[x0]
                                for i in (x0 + 1)..<max(x1, x0 + 1) where column[i] > best { best = column[i] }
                                out[ox] = best
                            }
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
        out.formReLU()
        return out
    }

    /// max(x, 0) in place.
    public mutating func formReLU() {
        storage.withUnsafeMutableBufferPointer { x in for i in x.indices { x[i] = x[i] > 0 ? x[i] : 0 } }
    }

    /// `relu(self + other)` for same-shape tensors (a residual join), without temporaries.
    public func addingReLU(_ other: Tensor) -> Tensor {
        var out = self
        out.formAddingReLU(other)
        return out
    }

    /// `self = relu(self + other)` in place.
    public mutating func formAddingReLU(_ other: Tensor) {
        precondition(shape == other.shape, "addingReLU shapes \(shape) and \(other.shape)")
        storage.withUnsafeMutableBufferPointer { x in
            other.storage.withUnsafeBufferPointer { y in
                for i in x.indices { let v = x[i] + y[i]; x[i] = v > 0 ? v : 0 }
            }
        }
    }
}
