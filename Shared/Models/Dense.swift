import Tensor

/// Raw-buffer linear layers and norms for the fused model kernels.
enum Dense {
    /// `out[r] (+)= x[r] · Wᵀ + b` for `rows` rows, with `weight: [out, in]`. With `accumulate`
    /// the product is added to what `out` already holds (a residual connection for free).
    static func apply(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: Tensor, bias: Tensor,
                      into out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let outFeatures = weight.shape[0]
        bias.storage.withUnsafeBufferPointer { b in
            for r in 0..<rows {
                let row = out + r * outFeatures
                if accumulate {
                    for j in 0..<outFeatures { row[j] += b[j] }
                } else {
                    row.update(from: b.baseAddress!, count: outFeatures)
                }
            }
        }
        weight.storage.withUnsafeBufferPointer { w in
            BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                      a: x, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures, beta: 1, c: out, ldc: outFeatures)
        }
    }

    static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, norm: (weight: Tensor, bias: Tensor), epsilon: Float) {
        norm.weight.storage.withUnsafeBufferPointer { w in
            norm.bias.storage.withUnsafeBufferPointer { b in
                Normalization.layerNormRows(x, rows: rows, width: w.count, weight: w.baseAddress!, bias: b.baseAddress!, epsilon: epsilon)
            }
        }
    }
}
