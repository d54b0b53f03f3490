import Foundation
import TestSupport
import Testing
@testable import Models
import Tensor

/// Swift all-MiniLM-L6-v2 against sentence-transformers (fixture from Training/export_minilm_fixtures.py):
/// cosine ≥ 0.9999 and max |Δ| ≤ 1e-4 per sentence.
@Suite struct MiniLMParityTests {
    static let encoder: Result<SentenceEncoder, any Error> = Result { try SentenceEncoder(directory: Repository.miniLM.path) }

    @Test func embeddingsMatchSentenceTransformers() throws {
        let encoder = try Self.encoder.get()
        let fixture = try MiniLMParityFixture.load()
        let expected = try SafeTensorsFile(path: Repository.fixture("minilm/parity.safetensors").path).tensor("embeddings")
        #expect(expected.shape == [fixture.texts.count, 384])
        #expect(encoder.maxLength == 256 && encoder.normalizes)
        let got = try encoder.embed(fixture.texts, batchSize: 7)
        for (i, text) in fixture.texts.enumerated() {
            let a = got.rows(i..<(i + 1)), b = expected.rows(i..<(i + 1))
            let cosine = zip(a.storage, b.storage).map(*).reduce(0, +)
            #expect(cosine >= 0.9999, "cosine \(cosine) for \(text.debugDescription)")
            #expect(a.maxAbsDifference(b) <= 1e-4, "max |Δ| \(a.maxAbsDifference(b)) for \(text.debugDescription)")
        }
    }

    @Test func batchSizeAndThreadsDoNotChangeResults() throws {
        let encoder = try Self.encoder.get()
        let texts = try MiniLMParityFixture.load().texts
        let one = try encoder.embed(texts, batchSize: 1, threads: 1)
        let parallel = try encoder.embed(texts, batchSize: 4, threads: 2)
        #expect(one.maxAbsDifference(parallel) < 1e-5)
    }

    @Test func embeddingsAreUnitVectors() throws {
        let e = try Self.encoder.get().embed(["No pleural effusion.", ""])
        for r in 0..<2 { #expect(abs(e.rows(r..<(r + 1)).storage.map { $0 * $0 }.reduce(0, +) - 1) < 1e-5) }
    }
}
