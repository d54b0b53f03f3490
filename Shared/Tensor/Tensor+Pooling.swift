import CKernels

extension Tensor {
    /// Max pooling of `[B, C, H, W]` with a square window, stride and padding (padding never wins).
    ///
    /// Per output row: the column-wise max over the window's input rows (contiguous, vectorised),
    /// then the max over each output's window of that row (a C kernel: see Shared/CKernels).
    public func maxPool2d(kernel: Int, stride: Int, padding: Int = 0) -> Tensor {
        precondition(rank == 4, "maxPool2d needs [B, C, H, W], got \(shape)")
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let hout = (h + 2 * padding - kernel) / stride + 1, wout = (w + 2 * padding - kernel) / stride + 1
        precondition(hout > 0 && wout > 0 && padding < kernel, "maxPool2d output would be empty for input \(shape)")
        var out = [Float](unsafeUninitializedCapacity: planes * hout * wout) { _, count in count = planes * hout * wout }
        var column = [Float](repeating: 0, count: w)
        storage.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                column.withUnsafeMutableBufferPointer { c in
                    anatomix_max_pool(x.baseAddress!, Int64(planes), Int64(h), Int64(w), Int64(kernel), Int64(stride),
                                      Int64(padding), Int64(hout), Int64(wout), c.baseAddress!, o.baseAddress!)
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
