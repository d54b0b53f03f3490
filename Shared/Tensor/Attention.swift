import Foundation

/// Scaled dot-product attention over several heads, on raw row-major memory.
///
/// One call handles one sequence: `q: [L, heads·dh]`, `k, v: [S, heads·dh]`, each row `ld*`
/// floats apart (so Q, K and V may be column blocks of one fused `[L, 3·D]` projection), and
/// writes `out: [L, heads·dh]`. Keys whose `keyMask` entry is 0 get no weight.
public enum Attention {
    public struct Operand {
        public var base: UnsafePointer<Float>
        public var rowStride: Int
        public init(_ base: UnsafePointer<Float>, rowStride: Int) { self.base = base; self.rowStride = rowStride }
    }

    /// Floats of scratch one `sequence` call needs.
    public static func scratchCount(queries: Int, keys: Int) -> Int { queries * keys }

    // swiftlint:disable:next function_parameter_count
    public static func sequence(
        q: Operand, k: Operand, v: Operand, queries: Int, keys: Int, heads: Int, headDim: Int,
        keyMask: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, outStride: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Float(headDim).squareRoot()
        let validKeys = keyMask.map { mask in (0..<keys).reduce(0) { $0 + (mask[$1] != 0 ? 1 : 0) } } ?? keys
        for h in 0..<heads {
            let column = h * headDim
            guard validKeys > 0 else {
                for i in 0..<queries { (out + i * outStride + column).update(repeating: 0, count: headDim) }
                continue
            }
            // scores [L, S] = scale · Q_h K_hᵀ
            BLAS.gemm(transposeA: false, transposeB: true, m: queries, n: keys, k: headDim, alpha: scale,
                      a: q.base + column, lda: q.rowStride, b: k.base + column, ldb: k.rowStride,
                      c: scratch, ldc: keys)
            if let keyMask {
                for i in 0..<queries { for j in 0..<keys where keyMask[j] == 0 { scratch[i * keys + j] = -.infinity } }
            }
            Normalization.softmaxRows(scratch, rows: queries, width: keys)
            // out_h [L, dh] = P V_h
            BLAS.gemm(transposeA: false, transposeB: false, m: queries, n: headDim, k: keys,
                      a: scratch, lda: keys, b: v.base + column, ldb: v.rowStride,
                      c: out + column, ldc: outStride)
        }
    }
}

extension Tensor {
    /// Multi-head scaled dot-product attention (no projections) over batches:
    /// `query: [B, L, D]`, `key, value: [B, S, D]`, optional `keyMask: [B, S]` (0 = padding).
    /// Returns `[B, L, D]`; a query whose keys are all masked gets zeros.
    public static func multiHeadAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int,
                                          keyMask: Tensor? = nil) -> Tensor {
        precondition(query.rank == 3 && key.rank == 3 && key.shape == value.shape, "attention shapes \(query.shape) \(key.shape) \(value.shape)")
        let (batch, queries, width) = (query.shape[0], query.shape[1], query.shape[2])
        let keys = key.shape[1]
        precondition(key.shape[0] == batch && key.shape[2] == width && width % heads == 0, "attention shapes \(query.shape) \(key.shape), heads \(heads)")
        if let keyMask { precondition(keyMask.shape == [batch, keys], "keyMask \(keyMask.shape) for keys [\(batch), \(keys)]") }
        var out = [Float](repeating: 0, count: batch * queries * width)
        var scratch = [Float](repeating: 0, count: Attention.scratchCount(queries: queries, keys: keys))
        let maskStorage = keyMask?.storage ?? []
        maskStorage.withUnsafeBufferPointer { mask in
        query.storage.withUnsafeBufferPointer { q in
            key.storage.withUnsafeBufferPointer { k in
                value.storage.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        scratch.withUnsafeMutableBufferPointer { s in
                            for b in 0..<batch {
                                let maskRow = keyMask == nil ? nil : UnsafePointer(mask.baseAddress! + b * keys)
                                Attention.sequence(
                                    q: .init(q.baseAddress! + b * queries * width, rowStride: width),
                                    k: .init(k.baseAddress! + b * keys * width, rowStride: width),
                                    v: .init(v.baseAddress! + b * keys * width, rowStride: width),
                                    queries: queries, keys: keys, heads: heads, headDim: width / heads,
                                    keyMask: maskRow, out: o.baseAddress! + b * queries * width, outStride: width,
                                    scratch: s.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        }
        return Tensor(shape: [batch, queries, width], storage: out)
    }
}

extension Tensor {
    /// Multi-head attention over column blocks: queries are columns `queryOffset..<queryOffset+width`
    /// of `query: [B, L, *]`, keys and values the same-width blocks of `key`, `value: [B, S, *]` (so
    /// Q and K may come from one fused projection). The `B · heads` (sequence, head) pairs are split
    /// across `threads` (single-threaded BLAS). Returns `[B, L, width]`.
    public static func multiHeadAttention(query: Tensor, queryOffset: Int, key: Tensor, keyOffset: Int,
                                          value: Tensor, valueOffset: Int, width: Int, heads: Int,
                                          threads: Int) -> Tensor {
        precondition(query.rank == 3 && key.rank == 3 && value.rank == 3 && width % heads == 0,
                     "attention shapes \(query.shape) \(key.shape) \(value.shape), width \(width), heads \(heads)")
        let (batch, queries, keys) = (query.shape[0], query.shape[1], key.shape[1])
        let (qStride, kStride, vStride) = (query.shape[2], key.shape[2], value.shape[2])
        precondition(key.shape[0] == batch && value.shape[0] == batch && value.shape[1] == keys
                     && queryOffset + width <= qStride && keyOffset + width <= kStride && valueOffset + width <= vStride,
                     "attention blocks out of range: \(query.shape) \(key.shape) \(value.shape), width \(width)")
        let headDim = width / heads, pairs = batch * heads
        let scratchPerPair = Attention.scratchCount(queries: queries, keys: keys)
        var out = [Float](repeating: 0, count: batch * queries * width)
        var scratch = [Float](repeating: 0, count: pairs * scratchPerPair)
        let slices = min(max(1, threads), pairs)
        query.storage.withUnsafeBufferPointer { q in
            key.storage.withUnsafeBufferPointer { k in
                value.storage.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        scratch.withUnsafeMutableBufferPointer { s in
                            let (qp, kp, vp) = (SharedPointer(q.baseAddress!), SharedPointer(k.baseAddress!), SharedPointer(v.baseAddress!))
                            let (op, sp) = (SharedMutablePointer(o.baseAddress!), SharedMutablePointer(s.baseAddress!))
                            ComputeThreads.parallelFor(slices) { slice in
                                for pair in (pairs * slice / slices)..<(pairs * (slice + 1) / slices) {
                                    let (b, column) = (pair / heads, (pair % heads) * headDim)
                                    Attention.sequence(
                                        q: .init(qp.base + b * queries * qStride + queryOffset + column, rowStride: qStride),
                                        k: .init(kp.base + b * keys * kStride + keyOffset + column, rowStride: kStride),
                                        v: .init(vp.base + b * keys * vStride + valueOffset + column, rowStride: vStride),
                                        queries: queries, keys: keys, heads: 1, headDim: headDim, keyMask: nil,
                                        out: op.base + b * queries * width + column, outStride: width,
                                        scratch: sp.base + pair * scratchPerPair)
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [batch, queries, width], storage: out)
    }
}
