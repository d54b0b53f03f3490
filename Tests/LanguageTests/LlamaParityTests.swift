import Foundation
import Models
import TestSupport
import Tensor
import Testing
@testable import Language

/// Random-weight `LlamaForCausalLM` checkpoints written by transformers (Training/export_llama_fixtures.py):
/// the Swift decoder must give their logits and their greedy tokens.
@Suite struct LlamaParityTests {
    static func load(_ name: String) throws -> (LlamaModel, prompt: [Int], logits: Tensor, greedy: [Int]) {
        let directory = Repository.fixture("llama/\(name)").path
        let model = try LlamaModel(directory: directory)
        let io = try SafeTensorsFile(path: directory + "/io.safetensors")
        return (model, try io.tensor("prompt").storage.map { Int($0) }, try io.tensor("logits"),
                try io.tensor("greedy").storage.map { Int($0) })
    }

    @Test(arguments: ["gqa-untied", "tied"])
    func prefillLogitsMatchTransformers(_ name: String) throws {
        let (model, prompt, expected, _) = try Self.load(name)
        var cache = model.makeCache(capacity: 64)
        let logits = try model.forward(try model.embed(prompt), count: prompt.count, cache: &cache, allLogits: true)
        let got = Tensor(shape: expected.shape, storage: logits)
        #expect(got.maxAbsDifference(expected) < 1e-3, "\(name): max |Δ| \(got.maxAbsDifference(expected))")
        #expect(cache.count == prompt.count)
    }

    @Test(arguments: ["gqa-untied", "tied"])
    func greedyTokensMatchTransformers(_ name: String) throws {
        let (model, prompt, _, greedy) = try Self.load(name)
        for threads in [1, 2] {
            let generator = try TokenGenerator(model: model, prompt: try model.embed(prompt), count: prompt.count,
                                               settings: GenerationSettings(maxNewTokens: greedy.count), sampler: GreedySampler(),
                                               threads: threads)
            #expect(Array(generator) == greedy, "\(name) at \(threads) thread(s)")
            #expect(generator.failure == nil)
        }
    }

    @Test func decodingStepByStepEqualsOnePrefill() throws {
        // the KV cache must give the same last-position logits as running the whole sequence at once
        let (model, prompt, expected, _) = try Self.load("gqa-untied")
        var cache = model.makeCache(capacity: 64)
        var last = [Float]()
        for token in prompt { last = try model.forward(try model.embed([token]), count: 1, cache: &cache) }
        let vocabulary = model.configuration.vocabularySize
        let reference = Array(expected.storage[((prompt.count - 1) * vocabulary)...])
        let delta = zip(last, reference).map { abs($0 - $1) }.max() ?? 1
        #expect(delta < 1e-3, "max |Δ| \(delta)")
    }

    @Test func configurationsFromTransformers5AndOlderFilesAgree() throws {
        let modern = try LlamaConfiguration.load(Repository.fixture("llama/gqa-untied/config.json").path)
        #expect(modern.ropeScaling?.type == "llama3" && modern.ropeScaling?.factor == 8 && modern.ropeTheta == 10_000)
        #expect(modern.keyValueHeads == 2 && modern.headDim == 16 && !modern.tiedEmbeddings)
        let legacy = #"{"vocab_size": 256, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rope_theta": 10000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32}, "max_position_embeddings": 128, "rms_norm_eps": 1e-05, "eos_token_id": [2, 7]}"#
        let old = try JSONDecoder().decode(LlamaConfiguration.self, from: Data(legacy.utf8))
        #expect(old.ropeScaling == modern.ropeScaling && old.headDim == 16 && old.eosTokenIDs == [2, 7])
        let tied = try LlamaConfiguration.load(Repository.fixture("llama/tied/config.json").path)
        #expect(tied.ropeScaling == nil && tied.ropeTheta == 500_000 && tied.tiedEmbeddings && tied.attentionBias)
    }

    @Test func badConfigurationsAndInputsAreErrors() throws {
        func reason(_ json: String) -> String {
            do { _ = try JSONDecoder().decode(LlamaConfiguration.self, from: Data(json.utf8)); return "no error" } catch { return "\(error)" }
        }
        let base = #""vocab_size": 256, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2"#
        #expect(reason("{\(base), \"num_attention_heads\": 4, \"num_key_value_heads\": 3}").contains("multiple"))
        #expect(reason("{\(base), \"num_attention_heads\": 0}").contains("positive"))
        #expect(reason("{\(base), \"num_attention_heads\": 4, \"hidden_act\": \"gelu\"}").contains("silu"))
        #expect(reason("{\(base), \"num_attention_heads\": 4, \"rope_scaling\": {\"type\": \"yarn\", \"factor\": 2}}").contains("yarn"))
        #expect(reason("{\(base), \"num_attention_heads\": 4, \"architectures\": [\"MistralForCausalLM\"]}").contains("Mistral"))
        let (model, _, _, _) = try Self.load("tied")
        #expect(throws: ModelError.self) { try model.embed([256]) }
        var cache = model.makeCache(capacity: 2)
        #expect(throws: ModelError.self) { try model.forward(try model.embed([1, 2, 3]), count: 3, cache: &cache) }
        #expect(throws: ModelError.self) {
            try TokenGenerator(model: model, prompt: try model.embed([1]), count: 1, settings: GenerationSettings(maxNewTokens: 500),
                               sampler: GreedySampler())
        }
        #expect(throws: ModelError.self) { try NucleusSampler(temperature: 0) }
    }
}
