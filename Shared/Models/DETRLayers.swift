import Tensor

/// Post-norm DETR encoder layer: positions go into queries and keys, never values.
struct DETREncoderLayer: Sendable {
    let attention: MultiheadAttention
    let linear1: Linear, linear2: Linear
    let norm1: LayerNorm, norm2: LayerNorm
    let position: Tensor, valuePosition: Tensor      // [1, N, d] and its value projection [N, d]

    /// `position: [N, d]`, the fixed encoding of the N memory slots.
    init(_ w: inout WeightLoader, prefix p: String, c: ApmConfiguration, position: Tensor) throws {
        attention = try MultiheadAttention(&w, prefix: p + "self_attn.", d: c.dModel, heads: c.heads)
        linear1 = try Linear(&w, prefix: p + "linear1.", input: c.dModel, output: c.feedForward)
        linear2 = try Linear(&w, prefix: p + "linear2.", input: c.feedForward, output: c.dModel)
        norm1 = try LayerNorm(&w, prefix: p + "norm1.", d: c.dModel)
        norm2 = try LayerNorm(&w, prefix: p + "norm2.", d: c.dModel)
        self.position = position.reshaped([1] + position.shape)
        valuePosition = attention.positionPart(position, projection: 2)
    }

    func callAsFunction(_ x: Tensor, threads: Int) -> Tensor {
        let y = norm1(attention.selfAttention(x, position: position, valuePosition: valuePosition, residual: x, threads: threads))
        return norm2(linear2(linear1(y, relu: true, threads: threads), adding: y, threads: threads))
    }
}

/// Post-norm DETR decoder layer: self-attention over the queries, then cross-attention to memory.
struct DETRDecoderLayer: Sendable {
    let selfAttention: MultiheadAttention, crossAttention: MultiheadAttention
    let linear1: Linear, linear2: Linear
    let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm
    let queryPosition: Tensor, queryValuePosition: Tensor, keyPosition: Tensor
    /// The self-attention block's output when the decoder input is zeros (the first layer):
    /// every value is the value bias, so it is one constant row.
    let fromZeros: Tensor

    /// `queryPosition: [Q, d]` (the anatomy queries), `memoryPosition: [N, d]`.
    init(_ w: inout WeightLoader, prefix p: String, c: ApmConfiguration, queryPosition: Tensor, memoryPosition: Tensor) throws {
        selfAttention = try MultiheadAttention(&w, prefix: p + "self_attn.", d: c.dModel, heads: c.heads)
        crossAttention = try MultiheadAttention(&w, prefix: p + "multihead_attn.", d: c.dModel, heads: c.heads)
        linear1 = try Linear(&w, prefix: p + "linear1.", input: c.dModel, output: c.feedForward)
        linear2 = try Linear(&w, prefix: p + "linear2.", input: c.feedForward, output: c.dModel)
        norm1 = try LayerNorm(&w, prefix: p + "norm1.", d: c.dModel)
        norm2 = try LayerNorm(&w, prefix: p + "norm2.", d: c.dModel)
        norm3 = try LayerNorm(&w, prefix: p + "norm3.", d: c.dModel)
        self.queryPosition = queryPosition.reshaped([1] + queryPosition.shape)
        queryValuePosition = selfAttention.positionPart(queryPosition, projection: 2)
        keyPosition = crossAttention.positionPart(memoryPosition, projection: 1)
        let valueBias = selfAttention.inBias.rows((2 * c.dModel)..<(3 * c.dModel)).reshaped([1, c.dModel])
        fromZeros = norm1(valueBias.linear(weight: selfAttention.outWeight, bias: selfAttention.outBias))
    }

    /// `t: [B, Q, d]` (nil: zeros, the first layer), `memory: [B, N, d]`.
    func callAsFunction(_ t: Tensor?, memory: Tensor, threads: Int) -> Tensor {
        let b = memory.shape[0], (q, d) = (queryPosition.shape[1], queryPosition.shape[2])
        let x = t.map {
            norm1(selfAttention.selfAttention($0, position: queryPosition, valuePosition: queryValuePosition, residual: $0,
                                              threads: threads))
        } ?? Tensor(shape: [b, q, d]) { fromZeros.storage[$0 % d] }
        let y = norm2(crossAttention.crossAttention(query: x + queryPosition, memory: memory, keyPosition: keyPosition,
                                                    residual: x, threads: threads))
        return norm3(linear2(linear1(y, relu: true, threads: threads), adding: y, threads: threads))
    }
}
