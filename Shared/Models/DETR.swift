import Tensor

/// PyTorch `nn.MultiheadAttention` (packed `in_proj_weight [3d, d]`), batch-first.
struct MultiheadAttention: Sendable {
    let wq: Tensor, wk: Tensor, wv: Tensor      // [d, d]
    let bq: Tensor, bk: Tensor, bv: Tensor      // [d]
    let outWeight: Tensor, outBias: Tensor
    let heads: Int

    init(_ w: inout WeightLoader, prefix p: String, d: Int, heads: Int) throws {
        let packed = try w.take(p + "in_proj_weight", [3 * d, d]), bias = try w.take(p + "in_proj_bias", [3 * d])
        (wq, wk, wv) = (packed.rows(0..<d), packed.rows(d..<(2 * d)), packed.rows((2 * d)..<(3 * d)))
        (bq, bk, bv) = (bias.rows(0..<d), bias.rows(d..<(2 * d)), bias.rows((2 * d)..<(3 * d)))
        outWeight = try w.take(p + "out_proj.weight", [d, d])
        outBias = try w.take(p + "out_proj.bias", [d])
        self.heads = heads
    }

    /// query `[B, L, d]`, key/value `[B, S, d]` -> `[B, L, d]`.
    func callAsFunction(query: Tensor, key: Tensor, value: Tensor) -> Tensor {
        let q = query.linear(weight: wq, bias: bq), k = key.linear(weight: wk, bias: bk), v = value.linear(weight: wv, bias: bv)
        return Tensor.multiHeadAttention(query: q, key: k, value: v, heads: heads).linear(weight: outWeight, bias: outBias)
    }
}

struct LayerNorm: Sendable {
    let weight: Tensor, bias: Tensor
    init(_ w: inout WeightLoader, prefix p: String, d: Int) throws {
        weight = try w.take(p + "weight", [d])
        bias = try w.take(p + "bias", [d])
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, epsilon: 1e-5) }
}

struct Linear: Sendable {
    let weight: Tensor, bias: Tensor
    init(_ w: inout WeightLoader, prefix p: String, input: Int, output: Int) throws {
        weight = try w.take(p + "weight", [output, input])
        bias = try w.take(p + "bias", [output])
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
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

    func callAsFunction(_ x: Tensor, position: Tensor) -> Tensor {
        let q = x + position
        let y = norm1(x + attention(query: q, key: q, value: x))
        return norm2(y + linear2(linear1(y).relu()))
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

    func callAsFunction(_ t: Tensor, memory: Tensor, position: Tensor, queryPosition: Tensor) -> Tensor {
        let q = t + queryPosition
        var x = norm1(t + selfAttention(query: q, key: q, value: t))
        x = norm2(x + crossAttention(query: x + queryPosition, key: memory + position, value: memory))
        return norm3(x + linear2(linear1(x).relu()))
    }
}
