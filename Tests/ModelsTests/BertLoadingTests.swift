import Foundation
import Testing
@testable import Models
import Tensor

/// Strict loading and shape checks on a tiny random BERT (no download needed).
@Suite struct BertLoadingTests {
    let config = try! BertConfiguration(vocabularySize: 20, hiddenSize: 8, layerCount: 2, headCount: 2, intermediateSize: 16, maxPositions: 12)

    func weights(_ c: BertConfiguration) -> [String: Tensor] {
        var all = [String: Tensor]()
        var seed: Float = 0
        func add(_ name: String, _ shape: [Int]) {
            seed += 1
            let s = seed
            all[name] = Tensor(shape: shape) { i in sin(Float(i) * 0.37 + s) * 0.2 }
        }
        let (d, i) = (c.hiddenSize, c.intermediateSize)
        add("embeddings.word_embeddings.weight", [c.vocabularySize, d])
        add("embeddings.position_embeddings.weight", [c.maxPositions, d])
        add("embeddings.token_type_embeddings.weight", [c.typeVocabularySize, d])
        add("embeddings.LayerNorm.weight", [d]); add("embeddings.LayerNorm.bias", [d])
        for l in 0..<c.layerCount {
            let p = "encoder.layer.\(l)."
            for m in ["query", "key", "value"] { add(p + "attention.self.\(m).weight", [d, d]); add(p + "attention.self.\(m).bias", [d]) }
            add(p + "attention.output.dense.weight", [d, d]); add(p + "attention.output.dense.bias", [d])
            add(p + "attention.output.LayerNorm.weight", [d]); add(p + "attention.output.LayerNorm.bias", [d])
            add(p + "intermediate.dense.weight", [i, d]); add(p + "intermediate.dense.bias", [i])
            add(p + "output.dense.weight", [d, i]); add(p + "output.dense.bias", [d])
            add(p + "output.LayerNorm.weight", [d]); add(p + "output.LayerNorm.bias", [d])
        }
        return all
    }

    func load(_ tensors: [String: Tensor]) throws -> BertModel {
        var loader = WeightLoader(tensors: tensors, source: "test.safetensors")
        let model = try BertModel(configuration: config, weights: &loader)
        try loader.finish()
        return model
    }

    @Test func packedSequencesEqualSeparateRuns() throws {
        let model = try load(weights(config))
        let (packed, offsets) = try model.hiddenStates([[1, 2, 3], [4, 5], [6, 7, 8, 9]])
        #expect(packed.shape == [9, 8] && offsets == [0, 3, 5, 9])
        let alone = try model.hiddenStates([[4, 5]]).hidden
        #expect(packed.rows(3..<5).maxAbsDifference(alone) < 1e-6)
    }

    @Test func missingUnusedAndMisshapedWeightsAreErrors() throws {
        var missing = weights(config)
        missing["encoder.layer.1.output.dense.bias"] = nil
        #expect(throws: ModelError(.missingWeight, "test.safetensors: missing weight 'encoder.layer.1.output.dense.bias' (expected shape [8])")) { try load(missing) }
        var extra = weights(config)
        extra["encoder.layer.2.output.dense.bias"] = Tensor(shape: [8])
        #expect { try load(extra) } throws: { ($0 as? ModelError)?.kind == .unusedWeight }
        var wrong = weights(config)
        wrong["embeddings.LayerNorm.weight"] = Tensor(shape: [9])
        #expect { try load(wrong) } throws: { ($0 as? ModelError)?.kind == .shapeMismatch }
    }

    @Test func sanitizeDropsPoolerAndPrefix() {
        #expect(BertModel.sanitize("bert.embeddings.LayerNorm.weight") == "embeddings.LayerNorm.weight")
        #expect(BertModel.sanitize("pooler.dense.weight") == nil)
        #expect(BertModel.sanitize("embeddings.position_ids") == nil)
    }

    @Test func badInputsAreRejected() throws {
        let model = try load(weights(config))
        let id = #expect(throws: ModelError.self) { try model.hiddenStates([[1, 2], [1, 99]]) }
        #expect(id?.kind == .invalidInput && id?.message.hasPrefix("sequence 1 has token id 99 outside the vocabulary") == true)
        let long = #expect(throws: ModelError.self) { try model.hiddenStates([Array(repeating: 1, count: 13)]) }
        #expect(long?.kind == .invalidInput && long?.message.contains("has 13 tokens; this model takes at most") == true)
    }

    @Test func configurationValidates() throws {
        let heads = #expect(throws: ModelError.self) { try BertConfiguration(vocabularySize: 10, hiddenSize: 10, layerCount: 1, headCount: 3, intermediateSize: 4) }
        #expect(heads?.message == "BERT hidden_size 10 is not divisible by num_attention_heads 3")
        let json = #"{"vocab_size": 5, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "hidden_act": "relu"}"#
        let activation = #expect(throws: ModelError.self) { try JSONDecoder().decode(BertConfiguration.self, from: Data(json.utf8)) }
        #expect(activation?.message.contains("hidden_act 'relu' is not supported") == true)
    }

    @Test func missingModelFolderSaysRunMakeDeps() {
        let error = #expect(throws: ModelError.self) { try SentenceEncoder(directory: "/nonexistent/minilm") }
        #expect(error?.message.contains("make deps") == true)
    }
}
