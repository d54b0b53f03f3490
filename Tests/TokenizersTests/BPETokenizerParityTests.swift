import Foundation
import TestSupport
import Testing
@testable import Tokenizers

/// Byte-level BPE ids must equal HF `tokenizers`' exactly, for a GPT-2-style and a Llama-3-style
/// tokenizer.json (fixtures from Training/export_tokenizer_fixtures.py).
@Suite struct BPETokenizerParityTests {
    struct Case: Decodable {
        let tokenizer: String, text: String, ids: [Int], ids_with_special: [Int]
        let decoded: String, decoded_skipping_special: String
    }
    struct Cases: Decodable { let cases: [Case] }

    static func load(_ name: String) throws -> BPETokenizer {
        try BPETokenizer(tokenizerJSON: Repository.fixture("tokenizer/\(name)").path)
    }

    @Test(arguments: ["gpt2.json", "llama3.json"])
    func idsAndTextMatchHuggingFace(_ name: String) throws {
        let tokenizer = try Self.load(name)
        let cases = try Repository.decodeFixture(Cases.self, "tokenizer/cases.json").cases.filter { $0.tokenizer == name }
        #expect(cases.count >= 20)
        for c in cases {
            #expect(tokenizer.encode(c.text) == c.ids, "\(name): \(c.text.debugDescription)")
            #expect(tokenizer.encode(c.text, addSpecialTokens: true) == c.ids_with_special, "\(name): \(c.text.debugDescription)")
            #expect(tokenizer.decode(c.ids) == c.decoded, "\(name): \(c.text.debugDescription)")
            #expect(tokenizer.decode(c.ids, skipSpecialTokens: true) == c.decoded_skipping_special, "\(name): \(c.text.debugDescription)")
        }
    }

    @Test func everyAnatomixSpecialTokenIsOneId() throws {
        let tokenizer = try Self.load("gpt2.json")
        let names = ["<image>", "<image_start>", "<image_end>", "<box>", "</box>", "<emb>", "</emb>", "<ref>", "</ref>",
                     "<|user|>", "<|assistant|>", "<|end|>"] + (0..<36).map { "<obj_\($0)>" } + (0..<128).map { "<loc_\($0)>" }
        var seen = Set<Int>()
        for name in names {
            let ids = tokenizer.encode(name)
            #expect(ids.count == 1 && ids[0] == tokenizer.id(of: name), "\(name) -> \(ids)")
            seen.formUnion(ids)
        }
        #expect(seen.count == names.count)
        #expect(tokenizer.encode("<obj_36>").count > 1, "<obj_36> is not a special token")
    }

    @Test func decodingUndoesEncodingForAnyText() throws {
        let tokenizer = try Self.load("llama3.json")
        for text in ["x\u{0}y", "\u{7f}\u{80}", "tab\tnew\nline\r", "ÿĀā", String(repeating: "ab", count: 500)] {
            #expect(tokenizer.decode(tokenizer.encode(text)) == text.precomposedStringWithCanonicalMapping)
        }
    }

    @Test func mergesRunInLinearithmicTime() throws {
        // 200k characters of one long "word": the heap-based merge stays fast (a quadratic loop would not finish).
        let tokenizer = try Self.load("gpt2.json")
        let ids = tokenizer.encode(String(repeating: "effusion", count: 25_000))
        #expect(tokenizer.decode(ids).count == 200_000)
        #expect(ids.count < 100_000, "merges applied")
    }

    @Test func badFilesGiveErrorsNamingTheProblem() throws {
        func reason(_ json: String) -> String {
            do {
                _ = try BPETokenizer(tokenizerJSONData: Data(json.utf8))
                return "no error"
            } catch let error as TokenizerError {
                return error.reason
            } catch {
                return "\(error)"
            }
        }
        #expect(reason("[1, 2]").contains("not a tokenizer.json"))
        #expect(reason(#"{"model": {"type": "WordPiece", "vocab": {"a": 0}}}"#).contains("expected BPE"))
        #expect(reason(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#).contains("missing from the vocabulary"))
        #expect(reason(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}}"#).contains("given to both"))
        #expect(reason(#"{"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Metaspace"}}"#).contains("Metaspace"))
        #expect(reason(#"{"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"}}"#).contains("does not compile"))
        #expect(reason(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "dropout": 0.1}}"#).contains("dropout"))
        let missing = #expect(throws: TokenizerError.self) { try BPETokenizer(tokenizerJSON: "/nonexistent/tokenizer.json") }
        #expect(missing?.path == "/nonexistent/tokenizer.json")
    }

    @Test func theGPT2PatternCompiles() throws {
        _ = try TextPattern(regex: PreTokenizer.gpt2Pattern)
    }
}
