import Tensor

/// PyTorch `nn.MultiheadAttention` (packed `in_proj_weight [3d, d]`), batch-first. Every product
/// splits its rows (and the attention its heads) across `threads`.
struct MultiheadAttention: Sendable {
    let wqk: Tensor, bqk: Tensor                // [2d, d], [2d]: queries and keys in one product
    let wq: Tensor, bq: Tensor, wk: Tensor, bk: Tensor, wv: Tensor, bv: Tensor
    let outWeight: Tensor, outBias: Tensor
    let heads: Int, d: Int

    init(_ w: inout WeightLoader, prefix p: String, d: Int, heads: Int) throws {
        let packed = try w.take(p + "in_proj_weight", [3 * d, d]), bias = try w.take(p + "in_proj_bias", [3 * d])
        (wqk, bqk) = (packed.rows(0..<(2 * d)), bias.rows(0..<(2 * d)))
        (wq, wk, wv) = (packed.rows(0..<d), packed.rows(d..<(2 * d)), packed.rows((2 * d)..<(3 * d)))
        (bq, bk, bv) = (bias.rows(0..<d), bias.rows(d..<(2 * d)), bias.rows((2 * d)..<(3 * d)))
        outWeight = try w.take(p + "out_proj.weight", [d, d])
        outBias = try w.take(p + "out_proj.bias", [d])
        self.heads = heads
        self.d = d
    }

    /// Self-attention as DETR runs it: queries and keys from `x + position`, values from `x`;
    /// returns `residual + attention` (the post-norm layer's sum, before its norm).
    func selfAttention(_ x: Tensor, position: Tensor, residual: Tensor, threads: Int) -> Tensor {
        let qk = (x + position).linear(weight: wqk, bias: bqk, threads: threads)         // [B, N, 2d]
        let v = x.linear(weight: wv, bias: bv, threads: threads)
        return Tensor.multiHeadAttention(query: qk, queryOffset: 0, key: qk, keyOffset: d, value: v, valueOffset: 0,
                                         width: d, heads: heads, threads: threads)
            .linear(weight: outWeight, bias: outBias, adding: residual, threads: threads)
    }

    /// query `[B, L, d]`, key/value `[B, S, d]` -> `[B, L, d]` (`+ residual` when given).
    func callAsFunction(query: Tensor, key: Tensor, value: Tensor, residual: Tensor? = nil, threads: Int = 1) -> Tensor {
        let q = query.linear(weight: wq, bias: bq, threads: threads)
        let k = key.linear(weight: wk, bias: bk, threads: threads), v = value.linear(weight: wv, bias: bv, threads: threads)
        return Tensor.multiHeadAttention(query: q, queryOffset: 0, key: k, keyOffset: 0, value: v, valueOffset: 0,
                                         width: d, heads: heads, threads: threads)
            .linear(weight: outWeight, bias: outBias, adding: residual, threads: threads)
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

/// Post-norm DETR encoder layer: positions go into queries and keys, never values.
struct DETREncoderLayer: Sendable {
    let attention: MultiheadAttention
    let linear1: Linear, linear2: Linear
    let norm1: LayerNorm, norm2: LayerNorm

    init(_ w: inout WeightLoader, prefix p: String, c: ApmConfiguration) throws {
        attention = try MultiheadAttention(&w, prefix: p + "self_attn.", d: c.dModel, heads: c.heads)
        linear1 = try Linear(&w, prefix: p + "linear1.", input: c.dModel, output: c.feedForward)
        linear2 = try Linear(&w, prefix: p + "linear2.", input: c.feedForward, output: c.dModel)
        norm1 = try LayerNorm(&w, prefix: p + "norm1.", d: c.dModel)
        norm2 = try LayerNorm(&w, prefix: p + "norm2.", d: c.dModel)
    }

    func callAsFunction(_ x: Tensor, position: Tensor, threads: Int) -> Tensor {
        let y = norm1(attention.selfAttention(x, position: position, residual: x, threads: threads))
        return norm2(linear2(linear1(y, relu: true, threads: threads), adding: y, threads: threads))
    }
}

/// Post-norm DETR decoder layer: self-attention over the queries, then cross-attention to memory.
struct DETRDecoderLayer: Sendable {
    let selfAttention: MultiheadAttention, crossAttention: MultiheadAttention
    let linear1: Linear, linear2: Linear
    let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm

    init(_ w: inout WeightLoader, prefix p: String, c: ApmConfiguration) throws {
        selfAttention = try MultiheadAttention(&w, prefix: p + "self_attn.", d: c.dModel, heads: c.heads)
        crossAttention = try MultiheadAttention(&w, prefix: p + "multihead_attn.", d: c.dModel, heads: c.heads)
        linear1 = try Linear(&w, prefix: p + "linear1.", input: c.dModel, output: c.feedForward)
        linear2 = try Linear(&w, prefix: p + "linear2.", input: c.feedForward, output: c.dModel)
        norm1 = try LayerNorm(&w, prefix: p + "norm1.", d: c.dModel)
        norm2 = try LayerNorm(&w, prefix: p + "norm2.", d: c.dModel)
        norm3 = try LayerNorm(&w, prefix: p + "norm3.", d: c.dModel)
    }

    /// `keys` is `memory + position`, computed once for all layers.
    func callAsFunction(_ t: Tensor, memory: Tensor, keys: Tensor, queryPosition: Tensor, threads: Int) -> Tensor {
        let x = norm1(selfAttention.selfAttention(t, position: queryPosition, residual: t, threads: threads))
        let y = norm2(crossAttention(query: x + queryPosition, key: keys, value: memory, residual: x, threads: threads))
        return norm3(linear2(linear1(y, relu: true, threads: threads), adding: y, threads: threads))
    }
}
