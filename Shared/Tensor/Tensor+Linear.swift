extension Tensor {
    /// Matrix product of `[M, K]` and `[K, N]` (or `[K, N]` given as `[N, K]` with `transposeB`).
    public func matmul(_ other: Tensor, transposeB: Bool = false) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul needs matrices, got \(shape) and \(other.shape)")
        let (m, k) = (shape[0], shape[1])
        let n = transposeB ? other.shape[0] : other.shape[1]
        precondition((transposeB ? other.shape[1] : other.shape[0]) == k,
                     "matmul inner dimensions differ: \(shape) x \(other.shape)\(transposeB ? "^T" : "")")
        var out = [Float](repeating: 0, count: m * n)
        storage.withUnsafeBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(transposeA: false, transposeB: transposeB, m: m, n: n, k: k,
                              a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: other.shape[1],
                              c: c.baseAddress!, ldc: n)
                }
            }
        }
        return Tensor(shape: [m, n], storage: out)
    }

    /// `x · Wᵀ + b` over the last axis, with `weight: [out, in]` as PyTorch's `nn.Linear` stores it.
    public func linear(weight: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(weight.rank == 2, "linear weight must be [out, in], got \(weight.shape)")
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        precondition(shape.last == inFeatures, "linear expects last dim \(inFeatures), got \(shape)")
        if let bias { precondition(bias.shape == [outFeatures], "bias \(bias.shape) for \(outFeatures) outputs") }
        let rows = count / inFeatures
        var out = [Float](repeating: 0, count: rows * outFeatures)
        out.withUnsafeMutableBufferPointer { c in
            if let bias {
                bias.storage.withUnsafeBufferPointer { b in
                    for r in 0..<rows { (c.baseAddress! + r * outFeatures).update(from: b.baseAddress!, count: outFeatures) }
                }
            }
            storage.withUnsafeBufferPointer { x in
                weight.storage.withUnsafeBufferPointer { w in
                    BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                              a: x.baseAddress!, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                              beta: bias == nil ? 0 : 1, c: c.baseAddress!, ldc: outFeatures)
                }
            }
        }
        return Tensor(shape: Array(shape.dropLast()) + [outFeatures], storage: out)
    }
}
