import Foundation
import TestSupport
import Testing
@testable import Language

@Suite struct GenerationTests {
    static let model = try! LlamaModel(directory: Repository.fixture("llama/gqa-untied").path)

    func generate<S: TokenSampler>(_ sampler: S, stop: Set<Int> = [], max: Int = 12) throws -> TokenGenerator<S> {
        try TokenGenerator(model: Self.model, prompt: try Self.model.embed([1, 17, 200]), count: 3,
                           settings: GenerationSettings(maxNewTokens: max, stopTokens: stop), sampler: sampler)
    }

    @Test func sameSeedSameTokensOtherSeedOtherTokens() throws {
        let a = Array(try generate(try NucleusSampler(temperature: 1.0, topP: 0.95, seed: 7)))
        let b = Array(try generate(try NucleusSampler(temperature: 1.0, topP: 0.95, seed: 7)))
        let c = Array(try generate(try NucleusSampler(temperature: 1.0, topP: 0.95, seed: 8)))
        #expect(a == b && a.count == 12)
        #expect(a != c)
    }

    @Test func aTinyNucleusIsGreedy() throws {
        let greedy = Array(try generate(GreedySampler()))
        #expect(Array(try generate(try NucleusSampler(temperature: 1.0, topP: 1e-6, seed: 3))) == greedy)
    }

    @Test func stopTokensEndGenerationAndAreNotYielded() throws {
        let greedy = Array(try generate(GreedySampler()))
        let stopAt = try #require(greedy.indices.dropFirst(2).first)
        let stopped = try generate(GreedySampler(), stop: [greedy[stopAt]])
        let tokens = Array(stopped)
        #expect(tokens == Array(greedy.prefix(upTo: greedy.firstIndex(of: greedy[stopAt])!)))
        #expect(stopped.generated == tokens && stopped.prefillSeconds > 0)
    }

    @Test func zeroNewTokensYieldsNothing() throws {
        #expect(Array(try generate(GreedySampler(), max: 0)).isEmpty)
    }

    @Test func duplicateSentencesAreRemovedOnce() {
        let text = "The heart is enlarged. No effusion. the heart is enlarged.  No effusion.\nNo effusion. Left lung clear"
        #expect(TextCleanup.removingDuplicateSentences(text) == "The heart is enlarged. No effusion.\nLeft lung clear")
        #expect(TextCleanup.removingDuplicateSentences("A. B. C.") == "A. B. C.")
        #expect(TextCleanup.removingDuplicateSentences("") == "")
    }
}
