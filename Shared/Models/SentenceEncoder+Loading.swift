import Foundation
import Tensor
import Tokenizers

extension SentenceEncoder {
    /// Loads a sentence-transformers folder: `config.json`, `model.safetensors`, `tokenizer.json`
    /// (or `vocab.txt`), and optionally `sentence_bert_config.json`, `1_Pooling/config.json`,
    /// `modules.json`. Only mean pooling is supported.
    public init(directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError(.missingFile, "no model folder at \(dir.path): run `make deps` to fetch all-MiniLM-L6-v2, or pass --model-dir")
        }
        func file(_ name: String) -> URL { dir.appendingPathComponent(name) }
        func json(_ name: String) throws -> [String: Any]? {
            guard let data = FileManager.default.contents(atPath: file(name).path) else { return nil }
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ModelError(.invalidConfiguration, "\(file(name).path) is not a JSON object")
            }
            return object
        }

        let folder = ModelFolder(directory, hint: "run `make deps` or check --model-dir")
        let configuration = try folder.configuration(BertConfiguration.self)
        var weights = try folder.weights("model.safetensors", sanitize: BertModel.sanitize)
        let model = try BertModel(configuration: configuration, weights: &weights)
        try weights.finish()

        let tokenizer: WordPieceTokenizer
        if FileManager.default.fileExists(atPath: file("tokenizer.json").path) {
            tokenizer = try WordPieceTokenizer(tokenizerJSON: file("tokenizer.json").path)
        } else {
            tokenizer = try WordPieceTokenizer(vocabTxt: file("vocab.txt").path)
        }
        if let pooling = try json("1_Pooling/config.json"), pooling["pooling_mode_mean_tokens"] as? Bool != true {
            throw ModelError(.invalidConfiguration, "\(file("1_Pooling/config.json").path): only mean pooling is supported")
        }
        let maxLength = try json("sentence_bert_config.json")?["max_seq_length"] as? Int ?? configuration.maxPositions
        var normalizes = true
        if let data = FileManager.default.contents(atPath: file("modules.json").path),
           let modules = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] {
            normalizes = modules.contains { ($0["type"] as? String)?.hasSuffix("Normalize") == true }
        }
        self.init(tokenizer: tokenizer, model: model, maxLength: maxLength, normalizes: normalizes)
    }
}
