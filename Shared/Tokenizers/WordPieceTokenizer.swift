import Foundation

/// Errors loading a tokenizer; each names the file and what is wrong with it.
public struct TokenizerError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// BERT WordPiece tokenizer: `BertNormalizer`, then greedy longest-match-first sub-words with a
/// `##` continuation prefix, wrapped as `[CLS] ... [SEP]` and truncated to `maxLength` ids.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String: Int]
    public let normalizer: BertNormalizer
    public let unknownToken: String
    public let continuationPrefix: String
    public let maxInputCharsPerWord: Int
    /// Tokens matched verbatim in the raw text before normalisation (HF "added tokens"), e.g. `[MASK]`.
    public let specialTokens: [String: Int]
    public let clsID: Int, sepID: Int, padID: Int, unknownID: Int

    public static let bertSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    public init(vocabulary: [String: Int], normalizer: BertNormalizer = BertNormalizer(), unknownToken: String = "[UNK]",
                continuationPrefix: String = "##", maxInputCharsPerWord: Int = 100, specialTokens: [String: Int]? = nil) throws {
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary[token] else { throw TokenizerError(path: "<vocabulary>", reason: "special token \(token) is missing") }
            return id
        }
        self.vocabulary = vocabulary
        self.normalizer = normalizer
        self.unknownToken = unknownToken
        self.continuationPrefix = continuationPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.specialTokens = specialTokens ?? Dictionary(uniqueKeysWithValues: Self.bertSpecialTokens.compactMap { token in
            vocabulary[token].map { (token, $0) }
        })
        (clsID, sepID, padID, unknownID) = (try id("[CLS]"), try id("[SEP]"), try id("[PAD]"), try id(unknownToken))
    }

    /// Sub-word pieces of `text`; special tokens written in the text stay whole. No `[CLS]`/`[SEP]`, no truncation.
    public func tokenize(_ text: String) -> [String] {
        splitSpecialTokens(text).flatMap { segment, isSpecial in
            isSpecial ? [segment] : normalizer.preTokenize(normalizer.normalize(segment)).flatMap(wordPieces)
        }
    }

    /// Token ids `[CLS] pieces [SEP]`, keeping at most `maxLength` ids in all (pieces are cut at the end).
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        var ids = tokenize(text).map { specialTokens[$0] ?? vocabulary[$0] ?? unknownID }
        if let maxLength { ids = Array(ids.prefix(max(maxLength - 2, 0))) }
        return [clsID] + ids + [sepID]
    }

    /// Splits raw text around verbatim special tokens (leftmost match first, longest on ties).
    func splitSpecialTokens(_ text: String) -> [(String, Bool)] {
        guard !specialTokens.isEmpty else { return [(text, false)] }
        let tokens = specialTokens.keys.sorted { $0.count > $1.count }
        var segments = [(String, Bool)]()
        var rest = Substring(text)
        while !rest.isEmpty {
            let hits = tokens.compactMap { token in rest.range(of: token).map { (token, $0) } }
            guard let (token, range) = hits.min(by: { $0.1.lowerBound < $1.1.lowerBound }) else { break }
            if range.lowerBound > rest.startIndex { segments.append((String(rest[..<range.lowerBound]), false)) }
            segments.append((token, true))
            rest = rest[range.upperBound...]
        }
        if !rest.isEmpty { segments.append((String(rest), false)) }
        return segments
    }

    func wordPieces(_ word: String) -> [String] {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count <= maxInputCharsPerWord else { return [unknownToken] }
        var pieces = [String]()
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var match: String?
            while start < end {
                var candidate = String(String.UnicodeScalarView(scalars[start..<end]))
                if start > 0 { candidate = continuationPrefix + candidate }
                if vocabulary[candidate] != nil { match = candidate; break }
                end -= 1
            }
            guard let match else { return [unknownToken] }
            pieces.append(match)
            start = end
        }
        return pieces
    }
}
