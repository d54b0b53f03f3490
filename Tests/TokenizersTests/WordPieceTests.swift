import Testing
@testable import Tokenizers

@Suite struct WordPieceTests {
    let tokenizer = try! WordPieceTokenizer(vocabulary: Dictionary(uniqueKeysWithValues: [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "lung", "##s", "are", "clear", ".", "pneum", "##onia",
        "cafe", "a", ",", "肺", "-", "x", "ray",
    ].enumerated().map { ($1, $0) }))

    @Test func normalizerLowercasesStripsAccentsAndCleans() {
        let n = BertNormalizer()
        #expect(n.normalize("Café NAÏVE") == "cafe naive")
        #expect(n.normalize("a\u{0}b\u{7}c\u{FFFD}d") == "abcd")
        #expect(n.normalize("a\tb\nc") == "a b c")
        #expect(n.normalize("肺炎") == " 肺  炎 ")
        #expect(BertNormalizer(stripAccents: false, lowercase: true).normalize("Café") == "café")
    }

    @Test func preTokenizerSplitsPunctuation() {
        let n = BertNormalizer()
        #expect(n.preTokenize("x-ray, o'brien's $5") == ["x", "-", "ray", ",", "o", "'", "brien", "'", "s", "$", "5"])
        #expect(n.preTokenize("   ") == [])
    }

    @Test func wordPieceGreedyLongestMatch() {
        #expect(tokenizer.tokenize("The lungs are clear.") == ["the", "lung", "##s", "are", "clear", "."])
        #expect(tokenizer.tokenize("Pneumonia, café") == ["pneum", "##onia", ",", "cafe"])
        #expect(tokenizer.tokenize("lungz") == ["[UNK]"])
        #expect(tokenizer.tokenize(String(repeating: "a", count: 101)) == ["[UNK]"])
    }

    @Test func specialTokensInTextStayWhole() {
        #expect(tokenizer.tokenize("the [MASK] lung[SEP]") == ["the", "[MASK]", "lung", "[SEP]"])
        #expect(tokenizer.encode("[MASK]") == [2, 4, 3])
    }

    @Test func encodeWrapsAndTruncates() {
        #expect(tokenizer.encode("the lungs") == [2, 5, 6, 7, 3])
        #expect(tokenizer.encode("") == [2, 3])
        #expect(tokenizer.encode("the lungs are clear", maxLength: 4) == [2, 5, 6, 3])
    }

    @Test func batchPadsAndMasks() {
        let batch = tokenizer.encodeBatch(["the lungs", "clear"])
        #expect(batch.ids == [[2, 5, 6, 7, 3], [2, 9, 3, 0, 0]])
        #expect(batch.attentionMask == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
        #expect(batch.lengths == [5, 3])
    }

    @Test func missingSpecialTokenIsAnError() {
        #expect(throws: TokenizerError.self) { try WordPieceTokenizer(vocabulary: ["a": 0]) }
    }
}
