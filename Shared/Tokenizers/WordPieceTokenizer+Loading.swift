import Foundation

extension WordPieceTokenizer {
    /// Loads a HF `tokenizer.json` whose model is WordPiece (normaliser flags are read from it).
    public init(tokenizerJSON path: String) throws {
        let fail = { (reason: String) in TokenizerError(path: path, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let model = root["model"] as? [String: Any] else { throw fail("not a tokenizer.json (no \"model\" object)") }
        guard model["type"] as? String == "WordPiece" else {
            throw fail("model type is \(model["type"] ?? "missing"), expected WordPiece")
        }
        guard let vocab = model["vocab"] as? [String: Int], !vocab.isEmpty else { throw fail("model.vocab is missing or empty") }
        var normalizer = BertNormalizer()
        if let n = root["normalizer"] as? [String: Any] {
            guard n["type"] as? String == "BertNormalizer" else { throw fail("normalizer \(n["type"] ?? "?") is not BertNormalizer") }
            normalizer = BertNormalizer(cleanText: n["clean_text"] as? Bool ?? true,
                                        handleChineseChars: n["handle_chinese_chars"] as? Bool ?? true,
                                        stripAccents: n["strip_accents"] as? Bool,
                                        lowercase: n["lowercase"] as? Bool ?? true)
        }
        var special = [String: Int]()
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            if let content = entry["content"] as? String, let id = entry["id"] as? Int { special[content] = id }
        }
        do {
            try self.init(vocabulary: vocab, normalizer: normalizer,
                          unknownToken: model["unk_token"] as? String ?? "[UNK]",
                          continuationPrefix: model["continuing_subword_prefix"] as? String ?? "##",
                          maxInputCharsPerWord: model["max_input_chars_per_word"] as? Int ?? 100,
                          specialTokens: special)
        } catch let error as TokenizerError {
            throw fail(error.reason)
        }
    }

    /// Loads a BERT `vocab.txt` (one token per line, id = line number) with lower-casing BERT defaults.
    public init(vocabTxt path: String, normalizer: BertNormalizer = BertNormalizer()) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TokenizerError(path: path, reason: "cannot read the file as UTF-8")
        }
        var vocab = [String: Int]()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            vocab[String(line)] = index
        }
        do {
            try self.init(vocabulary: vocab, normalizer: normalizer)
        } catch let error as TokenizerError {
            throw TokenizerError(path: path, reason: error.reason)
        }
    }
}
