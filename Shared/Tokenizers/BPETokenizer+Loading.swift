public import Foundation

extension BPETokenizer {
    /// Largest `tokenizer.json` read (a 128k-token Llama 3 file is ~9 MB).
    public static let maximumFileBytes = 64 << 20

    /// Loads a HF `tokenizer.json` whose model is BPE: vocabulary, merges (either spelling), added
    /// tokens, `ignore_merges`, the normalizer and pre-tokenizer (the kinds byte-level BPE files use)
    /// and a TemplateProcessing post-processor's special tokens. Anything else is an error naming it.
    public init(tokenizerJSON path: String) throws {
        let fail = { (reason: String) in TokenizerError(path: path, reason: reason) }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int else { throw fail("cannot read the file") }
        guard size <= Self.maximumFileBytes else { throw fail("the file has \(size) bytes; the limit is \(Self.maximumFileBytes)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
        do {
            try self.init(tokenizerJSONData: data)
        } catch let error as TokenizerError {
            throw fail(error.reason)
        }
    }

    public init(tokenizerJSONData data: Data) throws {
        let fail = { (reason: String) in TokenizerError(path: "tokenizer.json", reason: reason) }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let model = root["model"] as? [String: Any] else { throw fail("not a tokenizer.json (no \"model\" object)") }
        guard model["type"] as? String == "BPE" else { throw fail("model type is \(model["type"] ?? "missing"), expected BPE") }
        guard let vocab = model["vocab"] as? [String: Int], !vocab.isEmpty else { throw fail("model.vocab is missing or empty") }
        if let dropout = model["dropout"] as? Double, dropout > 0 { throw fail("BPE dropout \(dropout) is for training; inference needs none") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = model[key] as? String, !affix.isEmpty { throw fail("BPE \(key) \(affix.debugDescription) is not supported (byte-level BPE has none)") }
        }
        var pairs = [(String, String)]()
        for (i, entry) in (model["merges"] as? [Any] ?? []).enumerated() {
            if let line = entry as? String {
                let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw fail("merge \(i) \(line.debugDescription) is not two tokens") }
                pairs.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry as? [String], pair.count == 2 {
                pairs.append((pair[0], pair[1]))
            } else {
                throw fail("merge \(i) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        var added = [AddedToken]()
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = entry["content"] as? String, !content.isEmpty, let id = entry["id"] as? Int else {
                throw fail("an added token lacks its content or id")
            }
            added.append(AddedToken(content: content, id: id, special: entry["special"] as? Bool ?? false,
                                    leftStrip: entry["lstrip"] as? Bool ?? false, rightStrip: entry["rstrip"] as? Bool ?? false))
        }
        let normalizer = try (root["normalizer"] as? [String: Any]).map { try Self.normalizer($0) }
        let preTokenizer = try (root["pre_tokenizer"] as? [String: Any]).map { try Self.preTokenizer($0) }
        let (prefix, suffix) = try Self.template(root["post_processor"] as? [String: Any], vocabulary: vocab, added: added)
        try self.init(vocabulary: vocab, merges: pairs, addedTokens: added, normalizer: normalizer, preTokenizer: preTokenizer,
                      ignoreMerges: model["ignore_merges"] as? Bool ?? false, unknownToken: model["unk_token"] as? String,
                      prefixIDs: prefix, suffixIDs: suffix)
    }

    static func pattern(_ json: Any?, in kind: String) throws -> TextPattern {
        if let p = json as? [String: Any], let regex = p["Regex"] as? String { return try TextPattern(regex: regex) }
        if let p = json as? [String: Any], let literal = p["String"] as? String { return try TextPattern(literal: literal) }
        throw TokenizerError(path: "tokenizer.json", reason: "\(kind) pattern is neither {\"Regex\": ...} nor {\"String\": ...}")
    }

    static func normalizer(_ n: [String: Any]) throws -> TextNormalizer {
        switch n["type"] as? String {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip": return .strip(left: n["strip_left"] as? Bool ?? true, right: n["strip_right"] as? Bool ?? true)
        case "Replace": return .replace(try pattern(n["pattern"], in: "Replace normalizer"), with: n["content"] as? String ?? "")
        case "Prepend": return .prepend(n["prepend"] as? String ?? "")
        case "Sequence": return .sequence(try (n["normalizers"] as? [[String: Any]] ?? []).map(normalizer))
        case let other:
            throw TokenizerError(path: "tokenizer.json", reason: "normalizer \(other ?? "without a type") is not supported")
        }
    }

    static func preTokenizer(_ p: [String: Any]) throws -> PreTokenizer {
        switch p["type"] as? String {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: p["add_prefix_space"] as? Bool ?? true, useRegex: p["use_regex"] as? Bool ?? true)
        case "Split":
            guard let name = p["behavior"] as? String, let behavior = SplitBehavior(rawValue: name) else {
                throw TokenizerError(path: "tokenizer.json", reason: "Split behavior \(p["behavior"] ?? "missing") is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous")
            }
            return .split(try pattern(p["pattern"], in: "Split"), behavior: behavior, invert: p["invert"] as? Bool ?? false)
        case "Digits":
            return .digits(individual: p["individual_digits"] as? Bool ?? false)
        case "Sequence":
            return .sequence(try (p["pretokenizers"] as? [[String: Any]] ?? []).map(preTokenizer))
        case let other:
            throw TokenizerError(path: "tokenizer.json", reason: "pre_tokenizer \(other ?? "without a type") is not supported (byte-level BPE uses ByteLevel, Split, Digits, Sequence)")
        }
    }

    /// The special tokens a TemplateProcessing post-processor puts before and after a single text.
    static func template(_ post: [String: Any]?, vocabulary: [String: Int], added: [AddedToken]) throws -> ([Int], [Int]) {
        guard let post else { return ([], []) }
        switch post["type"] as? String {
        case "ByteLevel": return ([], [])                                  // offsets only; ids unchanged
        case "Sequence":
            var result = ([Int](), [Int]())
            for step in post["processors"] as? [[String: Any]] ?? [] {
                let (p, s) = try template(step, vocabulary: vocabulary, added: added)
                result.0 += p; result.1 = s + result.1
            }
            return result
        case "TemplateProcessing":
            var prefix = [Int](), suffix = [Int](), seenSequence = false
            for item in post["single"] as? [[String: Any]] ?? [] {
                if item["Sequence"] != nil { seenSequence = true; continue }
                guard let special = item["SpecialToken"] as? [String: Any], let name = special["id"] as? String else { continue }
                guard let id = added.first(where: { $0.content == name })?.id ?? vocabulary[name] else {
                    throw TokenizerError(path: "tokenizer.json", reason: "post_processor names special token \(name.debugDescription), which has no id")
                }
                if seenSequence { suffix.append(id) } else { prefix.append(id) }
            }
            return (prefix, suffix)
        case let other:
            throw TokenizerError(path: "tokenizer.json", reason: "post_processor \(other ?? "without a type") is not supported")
        }
    }
}
