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

    /// `x · Wᵀ + b` over the last axis, with `weight: [out, in]` as PyTorch's `nn.Linear` stores it;
    /// optionally `+ residual` (same shape as the result) and then ReLU, fused into the product.
    /// With `threads > 1` the rows are split into that many products run in parallel.
    public func linear(weight: Tensor, bias: Tensor? = nil, adding residual: Tensor? = nil,
                       relu: Bool = false, threads: Int = 1) -> Tensor {
        precondition(weight.rank == 2, "linear weight must be [out, in], got \(weight.shape)")
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        precondition(shape.last == inFeatures, "linear expects last dim \(inFeatures), got \(shape)")
        if let bias { precondition(bias.shape == [outFeatures], "bias \(bias.shape) for \(outFeatures) outputs") }
        let outShape = Array(shape.dropLast()) + [outFeatures]
        if let residual { precondition(residual.shape == outShape, "residual \(residual.shape) for output \(outShape)") }
        let rows = count / inFeatures
        var out = residual?.storage ?? [Float](repeating: 0, count: rows * outFeatures)
        let (accumulate, hasResidual) = (residual != nil || bias != nil, residual != nil)
        // below ~0.25 MFLOP a second thread costs more than it saves
        let slices = rows < 2 || rows * inFeatures * outFeatures < 125_000 ? 1 : min(max(1, threads), rows)
        let biasValues = bias?.storage ?? []
        storage.withUnsafeBufferPointer { x in
            weight.storage.withUnsafeBufferPointer { w in
                biasValues.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { c in
                        let (input, weights, target) = (SharedPointer(x.baseAddress!), SharedPointer(w.baseAddress!), SharedMutablePointer(c.baseAddress!))
                        let biases = bias == nil ? nil : SharedPointer(b.baseAddress!)
                        ComputeThreads.parallelFor(slices) { s in
                            let part = (rows * s / slices)..<(rows * (s + 1) / slices)
                            let c = target.base + part.lowerBound * outFeatures
                            if let biases {
                                for r in 0..<part.count {
                                    let line = c + r * outFeatures
                                    if !hasResidual {
                                        line.update(from: biases.base, count: outFeatures)
                                    } else {
                                        for j in 0..<outFeatures { line[j] += biases.base[j] }
                                    }
                                }
                            }
                            BLAS.gemm(transposeA: false, transposeB: true, m: part.count, n: outFeatures, k: inFeatures,
                                      a: input.base + part.lowerBound * inFeatures, lda: inFeatures, b: weights.base, ldb: inFeatures,
                                      beta: accumulate ? 1 : 0, c: c, ldc: outFeatures)
                            if relu {
                                for i in 0..<(part.count * outFeatures) { c[i] = c[i] > 0 ? c[i] : 0 }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: outShape, storage: out)
    }
}
