import Tensor

/// A BERT encoder (Hugging Face `BertModel` without the pooler), mirrored by
/// `Training/anatomix/bert.py::BertModel`. Runs on *packed* sequences: the tokens of every
/// sequence in a batch are stacked into one `[N, D]` matrix, so no compute is spent on padding;
/// attention is done per sequence.
public struct BertModel: Sendable {
    public let configuration: BertConfiguration
    let wordEmbeddings: Tensor          // [V, D]
    let positionEmbeddings: Tensor      // [P, D]
    let tokenTypeEmbeddings: Tensor     // [T, D]
    let embeddingNorm: (weight: Tensor, bias: Tensor)
    let layers: [BertLayer]

    /// Builds the model from remapped weights, taking exactly the tensors it declares.
    public init(configuration: BertConfiguration, weights: inout WeightLoader) throws {
        let c = configuration
        MemoryPolicy.keepFreedMemory()                     // forward passes reuse freed buffers
        self.configuration = c
        wordEmbeddings = try weights.take("embeddings.word_embeddings.weight", [c.vocabularySize, c.hiddenSize])
        positionEmbeddings = try weights.take("embeddings.position_embeddings.weight", [c.maxPositions, c.hiddenSize])
        tokenTypeEmbeddings = try weights.take("embeddings.token_type_embeddings.weight", [c.typeVocabularySize, c.hiddenSize])
        embeddingNorm = (try weights.take("embeddings.LayerNorm.weight", [c.hiddenSize]),
                         try weights.take("embeddings.LayerNorm.bias", [c.hiddenSize]))
        layers = try (0..<c.layerCount).map { try BertLayer(configuration: c, prefix: "encoder.layer.\($0).", weights: &weights) }
    }

    /// The checkpoint-key remapping: drops the `bert.` prefix some checkpoints carry, the
    /// `position_ids` buffer, and the `[CLS]` pooler (unused: sentence embeddings are mean-pooled).
    public static func sanitize(_ key: String) -> String? {
        let name = key.hasPrefix("bert.") ? String(key.dropFirst(5)) : key
        if name == "embeddings.position_ids" || name.hasPrefix("pooler.") { return nil }
        return name
    }
}

/// One post-norm transformer layer; Q, K and V are fused into one `[3D, D]` projection at load.
struct BertLayer: Sendable {
    let qkvWeight: Tensor        // [3D, D]
    let qkvBias: Tensor          // [3D]
    let attentionOutWeight: Tensor, attentionOutBias: Tensor        // [D, D], [D]
    let attentionNorm: (weight: Tensor, bias: Tensor)
    let intermediateWeight: Tensor, intermediateBias: Tensor        // [I, D], [I]
    let outputWeight: Tensor, outputBias: Tensor                    // [D, I], [D]
    let outputNorm: (weight: Tensor, bias: Tensor)

    init(configuration c: BertConfiguration, prefix: String, weights: inout WeightLoader) throws {
        let (d, i) = (c.hiddenSize, c.intermediateSize)
        let attention = prefix + "attention."
        let projections = try ["query", "key", "value"].map {
            (try weights.take(attention + "self.\($0).weight", [d, d]), try weights.take(attention + "self.\($0).bias", [d]))
        }
        qkvWeight = Tensor.concatenate(rows: projections.map(\.0))
        qkvBias = Tensor.concatenate(rows: projections.map(\.1))
        attentionOutWeight = try weights.take(attention + "output.dense.weight", [d, d])
        attentionOutBias = try weights.take(attention + "output.dense.bias", [d])
        attentionNorm = (try weights.take(attention + "output.LayerNorm.weight", [d]),
                         try weights.take(attention + "output.LayerNorm.bias", [d]))
        intermediateWeight = try weights.take(prefix + "intermediate.dense.weight", [i, d])
        intermediateBias = try weights.take(prefix + "intermediate.dense.bias", [i])
        outputWeight = try weights.take(prefix + "output.dense.weight", [d, i])
        outputBias = try weights.take(prefix + "output.dense.bias", [d])
        outputNorm = (try weights.take(prefix + "output.LayerNorm.weight", [d]),
                      try weights.take(prefix + "output.LayerNorm.bias", [d]))
    }
}
