import Tensor

/// PyTorch `nn.MultiheadAttention` (packed `in_proj_weight [3d, d]`), batch-first, in the two forms
/// DETR uses. Every product splits its rows (and the attention its heads) across `threads`.
///
/// Positions enter queries and keys but never values; since `(x + p)·W = x·W + p·W` and the
/// positions are fixed, one product of `x + p` (or of `x`) gives all three projections and the
/// position part of the one that must not have it is subtracted (or added) as a precomputed `p·W`.
struct MultiheadAttention: Sendable {
    let inWeight: Tensor, inBias: Tensor          // [3d, d], [3d]: queries, keys, values
    let wq: Tensor, bq: Tensor                     // rows 0..<d
    let wkv: Tensor, bkv: Tensor                   // rows d..<3d: keys and values in one product
    let outWeight: Tensor, outBias: Tensor
    let heads: Int, d: Int

    init(_ w: inout WeightLoader, prefix p: String, d: Int, heads: Int) throws {
        inWeight = try w.take(p + "in_proj_weight", [3 * d, d])
        inBias = try w.take(p + "in_proj_bias", [3 * d])
        (wq, bq) = (inWeight.rows(0..<d), inBias.rows(0..<d))
        (wkv, bkv) = (inWeight.rows(d..<(3 * d)), inBias.rows(d..<(3 * d)))
        outWeight = try w.take(p + "out_proj.weight", [d, d])
        outBias = try w.take(p + "out_proj.bias", [d])
        self.heads = heads
        self.d = d
    }

    /// `p·W` for the projection `which` (0 queries, 1 keys, 2 values) of fixed positions `[N, d]`.
    func positionPart(_ position: Tensor, projection which: Int) -> Tensor {
        position.linear(weight: inWeight.rows((which * d)..<((which + 1) * d)))
    }

    /// Self-attention as DETR runs it: queries and keys from `x + position`, values from `x`
    /// (`valuePosition = positionPart(position, projection: 2)`); returns `residual + attention`.
    func selfAttention(_ x: Tensor, position: Tensor, valuePosition: Tensor, residual: Tensor, threads: Int) -> Tensor {
        var qkv = (x + position).linear(weight: inWeight, bias: inBias, threads: threads)      // [B, N, 3d]
        qkv.addToColumns(2 * d, valuePosition, scale: -1)
        return Tensor.multiHeadAttention(query: qkv, queryOffset: 0, key: qkv, keyOffset: d, value: qkv, valueOffset: 2 * d,
                                         width: d, heads: heads, threads: threads)
            .linear(weight: outWeight, bias: outBias, adding: residual, threads: threads)
    }

    /// Attention of `query [B, L, d]` over `memory [B, S, d]`: keys from `memory + position` when
    /// `keyPosition = positionPart(position, projection: 1)` is given, values from `memory`;
    /// `+ residual` when given.
    func crossAttention(query: Tensor, memory: Tensor, keyPosition: Tensor? = nil, residual: Tensor? = nil,
                        threads: Int) -> Tensor {
        let q = query.linear(weight: wq, bias: bq, threads: threads)
        var kv = memory.linear(weight: wkv, bias: bkv, threads: threads)                       // [B, S, 2d]
        if let keyPosition { kv.addToColumns(0, keyPosition, scale: 1) }
        return Tensor.multiHeadAttention(query: q, queryOffset: 0, key: kv, keyOffset: 0, value: kv, valueOffset: d,
                                         width: d, heads: heads, threads: threads)
            .linear(weight: outWeight, bias: outBias, adding: residual, threads: threads)
    }
}

extension Tensor {
    /// `self[b, n, offset + j] += scale · rows[n, j]` for `self: [B, N, W]`, `rows: [N, d]`.
    mutating func addToColumns(_ offset: Int, _ rows: Tensor, scale: Float) {
        let (n, d, width) = (rows.shape[0], rows.shape[1], shape[2])
        precondition(rank == 3 && shape[1] == n && offset + d <= width, "addToColumns \(rows.shape) into \(shape) at \(offset)")
        let batch = shape[0]
        storage.withUnsafeMutableBufferPointer { x in
            rows.storage.withUnsafeBufferPointer { r in
                for b in 0..<batch {
                    for i in 0..<n {
                        let line = x.baseAddress! + (b * n + i) * width + offset, source = r.baseAddress! + i * d
                        for j in 0..<d { line[j] += scale * source[j] }
                    }
                }
            }
        }
    }
}

struct LayerNorm: Sendable {
    let weight: Tensor, bias: Tensor
    init(_ w: inout WeightLoader, prefix p: String, d: Int) throws {
        weight = try w.take(p + "weight", [d])
        bias = try w.take(p + "bias", [d])
    }
    func callAsFunction(_ x: consuming Tensor) -> Tensor {
        x.formLayerNorm(weight: weight, bias: bias, epsilon: 1e-5)
        return x
    }
}

struct Linear: Sendable {
    let weight: Tensor, bias: Tensor
    init(_ w: inout WeightLoader, prefix p: String, input: Int, output: Int) throws {
        weight = try w.take(p + "weight", [output, input])
        bias = try w.take(p + "bias", [output])
    }
    func callAsFunction(_ x: Tensor, adding residual: Tensor? = nil, relu: Bool = false, threads: Int = 1) -> Tensor {
        x.linear(weight: weight, bias: bias, adding: residual, relu: relu, threads: threads)
    }
}
