import Foundation
public import Models
public import Tensor

/// One decoder layer's weights, q/k/v and gate/up fused.
struct LlamaLayer: Sendable {
    let inputNorm: RMSNorm, postAttentionNorm: RMSNorm
    let qkv: Projection, output: Projection
    let gateUp: Projection, down: Projection
}

/// A Llama-architecture decoder (`LlamaForCausalLM`): token embedding, layers of RMSNorm ->
/// grouped-query attention with RoPE -> residual -> RMSNorm -> SwiGLU MLP -> residual, final RMSNorm,
/// LM head (tied to the embedding or its own). Runs on input embeddings (so AnatomiX can put its
/// projected image and anatomy features at placeholder positions) with a `KVCache`.
public struct LlamaModel: Sendable {
    public let configuration: LlamaConfiguration
    let embedding: [Float]              // [V, d]
    let layers: [LlamaLayer]
    let finalNorm: RMSNorm
    let head: Projection                // [V, d]: lm_head, or the embedding when tied
    let rotary: RotaryEmbedding

    /// Takes the `LlamaForCausalLM` weights (`model.embed_tokens.weight`, `model.layers.N....`,
    /// `model.norm.weight`, `lm_head.weight` unless tied) from `w`, under `prefix`.
    public init(configuration c: LlamaConfiguration, weights w: inout WeightLoader, prefix: String = "") throws {
        configuration = c
        MemoryPolicy.keepFreedMemory()                     // forward passes reuse freed buffers
        let d = c.hiddenSize, q = c.heads * c.headDim, kv = c.keyValueWidth, m = c.intermediateSize
        embedding = try w.take(prefix + "model.embed_tokens.weight", [c.vocabularySize, d]).storage
        layers = try (0..<c.layers).map { i in
            let p = prefix + "model.layers.\(i)."
            func bias(_ name: String, _ n: Int, _ present: Bool) throws -> Tensor? {
                present ? try w.take(p + name + ".bias", [n]) : nil
            }
            let qkvWeights = [try w.take(p + "self_attn.q_proj.weight", [q, d]), try w.take(p + "self_attn.k_proj.weight", [kv, d]),
                              try w.take(p + "self_attn.v_proj.weight", [kv, d])]
            let qkvBiases = try [bias("self_attn.q_proj", q, c.attentionBias), bias("self_attn.k_proj", kv, c.attentionBias),
                                 bias("self_attn.v_proj", kv, c.attentionBias)]
            let outWeight = try w.take(p + "self_attn.o_proj.weight", [d, q])
            let outBias = try bias("self_attn.o_proj", d, c.attentionBias)
            let gateUp = [try w.take(p + "mlp.gate_proj.weight", [m, d]), try w.take(p + "mlp.up_proj.weight", [m, d])]
            let gateUpBias = try [bias("mlp.gate_proj", m, c.mlpBias), bias("mlp.up_proj", m, c.mlpBias)]
            let downWeight = try w.take(p + "mlp.down_proj.weight", [d, m])
            let downBias = try bias("mlp.down_proj", d, c.mlpBias)
            return LlamaLayer(
                inputNorm: RMSNorm(weight: try w.take(p + "input_layernorm.weight", [d]).storage, epsilon: c.rmsNormEpsilon),
                postAttentionNorm: RMSNorm(weight: try w.take(p + "post_attention_layernorm.weight", [d]).storage, epsilon: c.rmsNormEpsilon),
                qkv: Projection(stacking: qkvWeights, biases: c.attentionBias ? qkvBiases.compactMap { $0 } : nil),
                output: Projection(stacking: [outWeight], biases: outBias.map { [$0] }),
                gateUp: Projection(stacking: gateUp, biases: c.mlpBias ? gateUpBias.compactMap { $0 } : nil),
                down: Projection(stacking: [downWeight], biases: downBias.map { [$0] }))
        }
        finalNorm = RMSNorm(weight: try w.take(prefix + "model.norm.weight", [d]).storage, epsilon: c.rmsNormEpsilon)
        if c.tiedEmbeddings {
            head = Projection(weight: embedding, bias: nil, inFeatures: d, outFeatures: c.vocabularySize)
        } else {
            head = Projection(stacking: [try w.take(prefix + "lm_head.weight", [c.vocabularySize, d])], biases: nil)
        }
        rotary = RotaryEmbedding(c)
    }

    /// Loads a HF checkpoint folder: `config.json` and `model.safetensors` (a tied checkpoint's
    /// redundant `lm_head.weight` is ignored).
    public init(directory: String) throws {
        let c = try LlamaConfiguration.load(directory + "/config.json")
        let file = try SafeTensorsFile(path: directory + "/model.safetensors")
        var w = try WeightLoader(file: file) { c.tiedEmbeddings && $0 == "lm_head.weight" ? nil : $0 }
        try self.init(configuration: c, weights: &w)
        try w.finish()
    }

    /// The embedding rows of `ids` (`[T, d]`); an id outside the vocabulary is an error.
    public func embed(_ ids: [Int]) throws -> [Float] {
        let d = configuration.hiddenSize
        var out = [Float]()
        out.reserveCapacity(ids.count * d)
        for id in ids {
            guard id >= 0, id < configuration.vocabularySize else {
                throw ModelError(.invalidInput, "token id \(id) is outside the vocabulary (0..<\(configuration.vocabularySize))")
            }
            out += embedding[(id * d)..<((id + 1) * d)]
        }
        return out
    }

    /// A cache sized for `capacity` positions (at most the config's `max_position_embeddings`).
    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layers: configuration.layers, width: configuration.keyValueWidth,
                capacity: max(1, min(capacity, configuration.maxPositions)))
    }
}
