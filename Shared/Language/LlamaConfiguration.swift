public import Foundation
public import Models

/// The sizes of a Llama-architecture decoder, read from a HF `config.json` (`LlamaForCausalLM`, and
/// the families that share its layout: SmolLM, TinyLlama, Llama 3.x, ours).
public struct LlamaConfiguration: Decodable, Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var keyValueHeads: Int
    public var headDim: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Float
    public var ropeScaling: RopeScaling?
    public var maxPositions: Int
    public var tiedEmbeddings: Bool
    public var attentionBias: Bool
    public var mlpBias: Bool
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]

    /// HF `rope_scaling`: `llama3` (Llama 3.1's frequency-dependent factor) or `linear`.
    public struct RopeScaling: Decodable, Sendable, Equatable {
        public var type: String
        public var factor: Float
        public var lowFrequencyFactor: Float?
        public var highFrequencyFactor: Float?
        public var originalMaxPositions: Int?

        enum CodingKeys: String, CodingKey {
            case type = "rope_type", legacyType = "type", factor, lowFrequencyFactor = "low_freq_factor"
            case highFrequencyFactor = "high_freq_factor", originalMaxPositions = "original_max_position_embeddings"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type) ?? c.decode(String.self, forKey: .legacyType)
            factor = try c.decodeIfPresent(Float.self, forKey: .factor) ?? 1
            lowFrequencyFactor = try c.decodeIfPresent(Float.self, forKey: .lowFrequencyFactor)
            highFrequencyFactor = try c.decodeIfPresent(Float.self, forKey: .highFrequencyFactor)
            originalMaxPositions = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositions)
        }
    }

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case layers = "num_hidden_layers", heads = "num_attention_heads", keyValueHeads = "num_key_value_heads"
        case headDim = "head_dim", rmsNormEpsilon = "rms_norm_eps", ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case maxPositions = "max_position_embeddings", tiedEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias", bosTokenID = "bos_token_id", eosTokenIDs = "eos_token_id"
        case hiddenAct = "hidden_act", architectures, ropeParameters = "rope_parameters"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        keyValueHeads = try c.decodeIfPresent(Int.self, forKey: .keyValueHeads) ?? heads
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? (heads > 0 ? hiddenSize / heads : 0)
        rmsNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .rmsNormEpsilon) ?? 1e-6
        // transformers 5 moved theta and scaling into `rope_parameters`; older files keep them at the top
        let parameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? parameters?.ropeTheta ?? 10_000
        ropeScaling = try c.decodeIfPresent(RopeScaling.self, forKey: .ropeScaling)
            ?? parameters?.scaling.flatMap { $0.type == "default" ? nil : $0 }
        if ropeScaling?.type == "default" { ropeScaling = nil }
        maxPositions = try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 2048
        tiedEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tiedEmbeddings) ?? false
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        if let many = try? c.decodeIfPresent([Int].self, forKey: .eosTokenIDs) {
            eosTokenIDs = many
        } else {
            eosTokenIDs = (try c.decodeIfPresent(Int.self, forKey: .eosTokenIDs)).map { [$0] } ?? []
        }
        let activation = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        guard activation == "silu" else {
            throw ModelError(.invalidConfiguration, "Llama hidden_act '\(activation)' is not supported (SwiGLU needs 'silu')")
        }
        if let architectures = try c.decodeIfPresent([String].self, forKey: .architectures),
           let name = architectures.first, name != "LlamaForCausalLM" {
            throw ModelError(.invalidConfiguration, "architecture \(name) is not LlamaForCausalLM")
        }
        try validate()
    }

    struct RopeParameters: Decodable {
        let ropeTheta: Float?
        let scaling: RopeScaling?
        enum CodingKeys: String, CodingKey { case ropeTheta = "rope_theta", ropeType = "rope_type" }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta)
            scaling = try? RopeScaling(from: decoder)
        }
    }

    public static func load(_ path: String) throws -> LlamaConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError(.missingFile, "cannot read the Llama config \(path)")
        }
        do {
            return try JSONDecoder().decode(LlamaConfiguration.self, from: data)
        } catch let error as ModelError {
            throw ModelError(error.kind, "\(path): \(error.message)")
        } catch {
            throw ModelError(.invalidConfiguration, "\(path) is not a Llama config.json: \(error)")
        }
    }

    public var keyValueWidth: Int { keyValueHeads * headDim }

    func validate() throws {
        let sizes = ["vocab_size": vocabularySize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize,
                     "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": keyValueHeads,
                     "head_dim": headDim, "max_position_embeddings": maxPositions]
        if let (name, value) = sizes.sorted(by: { $0.key < $1.key }).first(where: { $0.value <= 0 }) {
            throw ModelError(.invalidConfiguration, "Llama \(name) is \(value); it must be positive")
        }
        guard heads % keyValueHeads == 0 else {
            throw ModelError(.invalidConfiguration, "Llama num_attention_heads \(heads) is not a multiple of num_key_value_heads \(keyValueHeads)")
        }
        guard headDim % 2 == 0 else { throw ModelError(.invalidConfiguration, "Llama head_dim \(headDim) must be even (RoPE)") }
        guard ropeTheta > 0 else { throw ModelError(.invalidConfiguration, "Llama rope_theta \(ropeTheta) must be positive") }
        if let s = ropeScaling {
            guard s.type == "llama3" || s.type == "linear" else {
                throw ModelError(.invalidConfiguration, "Llama rope_scaling type '\(s.type)' is not supported (llama3, linear)")
            }
            guard s.factor > 0 else { throw ModelError(.invalidConfiguration, "Llama rope_scaling factor must be positive") }
            if s.type == "llama3" {
                guard let low = s.lowFrequencyFactor, let high = s.highFrequencyFactor, high > low, (s.originalMaxPositions ?? 0) > 0 else {
                    throw ModelError(.invalidConfiguration, "Llama llama3 rope_scaling needs low_freq_factor < high_freq_factor and original_max_position_embeddings")
                }
            }
        }
        let parameters = layers * (4 * hiddenSize * hiddenSize + 3 * hiddenSize * intermediateSize) + vocabularySize * hiddenSize
        guard parameters < 4_000_000_000 else {
            throw ModelError(.invalidConfiguration, "Llama config describes ~\(parameters / 1_000_000)M parameters; CPU fp32 inference here takes at most 4B")
        }
    }
}
