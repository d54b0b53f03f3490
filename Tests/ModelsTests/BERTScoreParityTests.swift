import Foundation
import Models
import Testing
import TestSupport
@testable import Evaluation

/// BERTScore from the Swift MiniLM's token states against the `bert-score` package with the same
/// MiniLM (Tests/Fixtures/metrics/bertscore.json, from Training/export_score_fixtures.py).
@Suite struct BERTScoreParityTests {
    struct Fixture: Decodable {
        struct Pair: Decodable { let candidate: String, reference: String, precision: Double, recall: Double, f1: Double }
        let pairs: [Pair]
    }

    @Test func matchesBertScoreWithTheSameEncoder() throws {
        let fixture = try Repository.decodeFixture(Fixture.self, "metrics/bertscore.json")
        let encoder = try SentenceEncoder(directory: Repository.miniLM.path)
        let states = try encoder.tokenStates(fixture.pairs.flatMap { [$0.candidate, $0.reference] })
        var spread = [Double]()
        for (i, pair) in fixture.pairs.enumerated() {
            let (c, r) = (states[2 * i], states[2 * i + 1])
            let s = BERTScore.score(candidate: .init(rows: c.storage, dimension: c.shape[1]), reference: .init(rows: r.storage, dimension: r.shape[1]))
            #expect(abs(s.precision - pair.precision) < 1e-3 && abs(s.recall - pair.recall) < 1e-3 && abs(s.f1 - pair.f1) < 1e-3,
                    "\(pair.candidate) / \(pair.reference): \(s) vs bert-score \(pair.precision) \(pair.recall) \(pair.f1)")
            spread.append(s.f1)
        }
        #expect((spread.max() ?? 0) - (spread.min() ?? 0) > 0.5, "the pairs span related and unrelated texts")
    }

    @Test func identicalTextsScoreOneAndEmptyZero() throws {
        let rows: [Float] = [1, 0, 0, 1, 1, 0, 0, 0, 1]     // [CLS], one token, [SEP]
        let t = BERTScore.TokenStates(rows: rows, dimension: 3)
        #expect(abs(BERTScore.score(candidate: t, reference: t).f1 - 1) < 1e-12)
        let empty = BERTScore.TokenStates(rows: [1, 0, 0, 0, 0, 1], dimension: 3)
        #expect(BERTScore.score(candidate: empty, reference: t).f1 == 0)
    }
}
