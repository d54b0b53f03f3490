public import Tensor

/// A linear layer `y = x Wᵀ (+ b)` stored as one `[out, in]` row-major block, whose output features
/// are split across threads (each slice one BLAS call on its rows of W): prefill is a product, a
/// decode step a matrix-vector product that reads W once, which is what bounds it.
struct Projection: Sendable {
    let weight: [Float]             // [outFeatures, inFeatures]
    let bias: [Float]?
    let inFeatures: Int, outFeatures: Int

    init(weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && (bias?.count ?? outFeatures) == outFeatures)
        (self.weight, self.bias, self.inFeatures, self.outFeatures) = (weight, bias, inFeatures, outFeatures)
    }

    /// Several layers reading the same input fused into one (rows stacked: q, k, v or gate, up).
    init(stacking parts: [Tensor], biases: [Tensor]?) {
        let inFeatures = parts[0].shape[1]
        self.init(weight: parts.flatMap(\.storage), bias: biases.map { $0.flatMap(\.storage) },
                  inFeatures: inFeatures, outFeatures: parts.map { $0.shape[0] }.reduce(0, +))
    }

    /// `out[r] (+)= x[r] Wᵀ + b` for `rows` rows of `inFeatures` (row stride `inFeatures`),
    /// `out` rows `outFeatures` apart; `accumulate` adds to what `out` holds (a residual).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, accumulate: Bool = false,
               threads: Int) {
        let slices = rows * inFeatures * outFeatures < 200_000 ? 1 : max(1, min(threads, outFeatures / 64))
        let input = SharedPointer(x), output = SharedMutablePointer(out)
        let (n, k) = (outFeatures, inFeatures)
        weight.withUnsafeBufferPointer { w in
            let wp = SharedPointer(w.baseAddress!)
            ComputeThreads.parallelFor(slices) { slice in
                let start = n * slice / slices, end = n * (slice + 1) / slices
                guard end > start else { return }
                let a = wp.base + start * k, y = output.base + start
                if rows == 1 {
                    BLAS.gemv(transpose: false, m: end - start, n: k, a: a, lda: k, x: input.base, beta: accumulate ? 1 : 0, y: y)
                } else {
                    BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: end - start, k: k, a: input.base, lda: k,
                              b: a, ldb: k, beta: accumulate ? 1 : 0, c: y, ldc: n)
                }
            }
        }
        if let bias {
            for r in 0..<rows { for j in 0..<n { out[r * n + j] += bias[j] } }
        }
    }
}

/// RMSNorm as HF Llama: `x / sqrt(mean(x²) + ε) * weight`, row by row.
struct RMSNorm: Sendable {
    let weight: [Float]
    let epsilon: Float

    func apply(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let d = weight.count
        for r in 0..<rows {
            let row = x + r * d, target = out + r * d
            var sum: Float = 0
            for i in 0..<d { sum += row[i] * row[i] }
            let scale = 1 / (sum / Float(d) + epsilon).squareRoot()
            for i in 0..<d { target[i] = weight[i] * (row[i] * scale) }
        }
    }
}
