import Foundation
import TestSupport
import Testing
@testable import Tokenizers

/// Token ids must equal the HF fast tokenizer's exactly (fixture from Training/export_minilm_fixtures.py).
@Suite struct MiniLMTokenizerParityTests {
    @Test func idsMatchHuggingFace() throws {
        let fixture = try MiniLMParityFixture.load()
        let path = Repository.miniLM.appendingPathComponent("tokenizer.json").path
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("MiniLM is not in \(Repository.miniLM.path): run `make deps`")
            return
        }
        let tokenizer = try WordPieceTokenizer(tokenizerJSON: path)
        for (text, expected) in zip(fixture.texts, fixture.token_ids) {
            #expect(tokenizer.encode(text, maxLength: fixture.max_length) == expected, "text: \(text.debugDescription)")
        }
    }

    @Test func vocabTxtGivesTheSameIds() throws {
        let fixture = try MiniLMParityFixture.load()
        let json = try WordPieceTokenizer(tokenizerJSON: Repository.miniLM.appendingPathComponent("tokenizer.json").path)
        let txt = try WordPieceTokenizer(vocabTxt: Repository.miniLM.appendingPathComponent("vocab.txt").path)
        for text in fixture.texts { #expect(json.encode(text, maxLength: 256) == txt.encode(text, maxLength: 256)) }
    }

    @Test func unreadableFilesNameThePath() {
        let error = #expect(throws: TokenizerError.self) { try WordPieceTokenizer(tokenizerJSON: "/nonexistent/tokenizer.json") }
        #expect(error?.path == "/nonexistent/tokenizer.json")
    }
}
