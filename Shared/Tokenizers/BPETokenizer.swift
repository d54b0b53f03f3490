/// A token matched verbatim in the raw text before anything else (HF "added tokens"): special
/// tokens such as `<image>`, `<obj_12>` or the turn markers.
public struct AddedToken: Sendable, Equatable {
    public let content: String
    public let id: Int
    public let special: Bool
    /// Whitespace on that side of the token is swallowed with it.
    public let leftStrip: Bool, rightStrip: Bool

    public init(content: String, id: Int, special: Bool = true, leftStrip: Bool = false, rightStrip: Bool = false) {
        (self.content, self.id, self.special, self.leftStrip, self.rightStrip) = (content, id, special, leftStrip, rightStrip)
    }
}

/// Byte-level BPE (GPT-2, Llama 3, SmolLM, Qwen, ours), the model of a HF `tokenizer.json`:
/// added tokens split out first, the normalizer, the pre-tokenizer, then each piece's characters
/// merged by rank (lowest first, leftmost on ties) until no merge applies. Decoding maps the
/// byte characters back to UTF-8.
public struct BPETokenizer: Sendable {
    public let vocabulary: [String: Int]
    public let tokens: [Int: String]
    public let addedTokens: [AddedToken]
    public let normalizer: TextNormalizer?
    public let preTokenizer: PreTokenizer?
    /// HF `ignore_merges`: a piece that is a whole vocabulary entry is that token, unmerged (Llama 3).
    public let ignoreMerges: Bool
    public let unknownID: Int?
    /// Special tokens added around every encoded text with `addSpecialTokens` (HF TemplateProcessing).
    public let prefixIDs: [Int], suffixIDs: [Int]
    let merges: [MergePair: Merge]
    let addedByContent: [String: AddedToken]
    let addedFirstCharacters: Set<Character>

    struct MergePair: Hashable { let left: Int32, right: Int32 }
    struct Merge { let rank: Int32, id: Int32 }

    public init(vocabulary: [String: Int], merges pairs: [(String, String)], addedTokens: [AddedToken] = [],
                normalizer: TextNormalizer? = nil, preTokenizer: PreTokenizer? = .byteLevel(addPrefixSpace: false, useRegex: true),
                ignoreMerges: Bool = false, unknownToken: String? = nil, prefixIDs: [Int] = [], suffixIDs: [Int] = []) throws {
        var tokens = [Int: String]()
        for (token, id) in vocabulary {
            guard id >= 0, id < Int(Int32.max) else { throw TokenizerError(path: "<vocabulary>", reason: "token \(token.debugDescription) has id \(id)") }
            if let other = tokens[id] {
                throw TokenizerError(path: "<vocabulary>", reason: "id \(id) is given to both \(other.debugDescription) and \(token.debugDescription)")
            }
            tokens[id] = token
        }
        for added in addedTokens {
            guard !added.content.isEmpty, added.id >= 0, added.id < Int(Int32.max) else {
                throw TokenizerError(path: "<added_tokens>", reason: "added token \(added.content.debugDescription) with id \(added.id): it needs content and an id in 0..<\(Int32.max)")
            }
            if let existing = tokens[added.id], existing != added.content {
                throw TokenizerError(path: "<added_tokens>", reason: "added token \(added.content.debugDescription) reuses id \(added.id) of \(existing.debugDescription)")
            }
            tokens[added.id] = added.content
        }
        var table = [MergePair: Merge]()
        for (rank, (left, right)) in pairs.enumerated() {
            guard let a = vocabulary[left], let b = vocabulary[right], let merged = vocabulary[left + right] else {
                throw TokenizerError(path: "<merges>", reason: "merge \(rank) (\(left.debugDescription) \(right.debugDescription)) names a token missing from the vocabulary")
            }
            let key = MergePair(left: Int32(a), right: Int32(b))
            if table[key] == nil { table[key] = Merge(rank: Int32(rank), id: Int32(merged)) }
        }
        if let unknownToken, vocabulary[unknownToken] == nil {
            throw TokenizerError(path: "<vocabulary>", reason: "unknown token \(unknownToken.debugDescription) is not in the vocabulary")
        }
        self.vocabulary = vocabulary
        self.tokens = tokens
        self.addedTokens = addedTokens.sorted { $0.content.count > $1.content.count }    // longest first at one position
        self.addedByContent = Dictionary(addedTokens.map { ($0.content, $0) }, uniquingKeysWith: { first, _ in first })
        self.addedFirstCharacters = Set(addedTokens.compactMap(\.content.first))
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.ignoreMerges = ignoreMerges
        self.unknownID = unknownToken.flatMap { vocabulary[$0] }
        self.prefixIDs = prefixIDs
        self.suffixIDs = suffixIDs
        self.merges = table
    }

    /// The id of a token (an added token or a vocabulary entry), if there is one.
    public func id(of token: String) -> Int? { addedByContent[token]?.id ?? vocabulary[token] }

    public var vocabularySize: Int { (tokens.keys.max() ?? -1) + 1 }

    /// Token ids of `text`; with `addSpecialTokens` the post-processor's prefix and suffix are added.
    public func encode(_ text: String, addSpecialTokens: Bool = false) -> [Int] {
        var ids = addSpecialTokens ? prefixIDs : []
        for segment in splitAddedTokens(text) {
            switch segment {
            case let .added(token): ids.append(token.id)
            case let .text(raw): ids += encodeText(raw)
            }
        }
        return addSpecialTokens ? ids + suffixIDs : ids
    }

    /// Text of `ids`: the byte characters back to UTF-8 (invalid sequences become U+FFFD), special
    /// tokens kept unless `skipSpecialTokens`; unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes = [UInt8]()
        for id in ids {
            guard let token = tokens[id] else { continue }
            if let added = addedByContent[token], added.id == id {
                if !(skipSpecialTokens && added.special) { bytes += Array(token.utf8) }
            } else if preTokenizer?.mapsBytes ?? false {
                bytes += ByteLevel.decode(token)
            } else {
                bytes += Array(token.utf8)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    enum Segment { case text(String), added(AddedToken) }

    /// The raw text cut around added tokens (the longest at the leftmost position wins), with the
    /// whitespace they strip removed from the neighbouring text.
    func splitAddedTokens(_ text: String) -> [Segment] {
        guard !addedTokens.isEmpty else { return [.text(text)] }
        var segments = [Segment]()
        var rest = Substring(text)
        var pending = rest.prefix(0)
        while let first = rest.first {
            if addedFirstCharacters.contains(first), let token = addedTokens.first(where: { rest.hasPrefix($0.content) }) {
                if token.leftStrip { while let last = pending.last, last.isWhitespace { pending = pending.dropLast() } }
                if !pending.isEmpty { segments.append(.text(String(pending))) }
                segments.append(.added(token))
                rest = rest.dropFirst(token.content.count)
                if token.rightStrip { rest = rest.drop(while: \.isWhitespace) }
                pending = rest.prefix(0)
            } else {
                pending = text[pending.startIndex..<rest.index(after: rest.startIndex)]
                rest = rest.dropFirst()
            }
        }
        if !pending.isEmpty { segments.append(.text(String(pending))) }
        return segments
    }

    func encodeText(_ raw: String) -> [Int] {
        let normalized = normalizer.map { $0(raw) } ?? raw
        guard !normalized.isEmpty else { return [] }
        let pieces = preTokenizer.map { $0([normalized]) } ?? [normalized]
        let bytes = preTokenizer?.mapsBytes ?? false
        var ids = [Int]()
        for piece in pieces {
            let symbols = bytes ? ByteLevel.encode(Substring(piece)) : piece.map(String.init)
            if ignoreMerges, let whole = vocabulary[symbols.joined()] {
                ids.append(whole)
                continue
            }
            ids += merge(symbols)
        }
        return ids
    }
}
