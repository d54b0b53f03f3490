import Foundation
public import Tensor

/// Errors loading or querying the sentence bank; each names the file and the problem.
public struct RetrievalError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

/// The AnatomiX vector database: every region sentence of the training corpus, per anatomy, as a
/// 16-d unit vector from the trained text side (MiniLM + text head). At inference each anatomy's
/// token is compared with that anatomy's sentences only; the best one is its "likely finding".
public struct SentenceBank: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public let anatomy: String
        public let sentence: String
    }

    /// A retrieved sentence with its cosine similarity to the query token.
    public struct Match: Sendable, Equatable {
        public let sentence: String
        public let similarity: Float
    }

    public let entries: [Entry]
    public let dimension: Int
    let vectors: [Float]                 // [N, dimension], unit rows
    let rowsByAnatomy: [String: [Int]]

    public init(entries: [Entry], vectors: Tensor) throws {
        guard vectors.rank == 2, vectors.shape[0] == entries.count else {
            throw RetrievalError(message: "sentence bank has \(entries.count) entries but vectors of shape \(vectors.shape)")
        }
        self.entries = entries
        dimension = vectors.shape[1]
        self.vectors = vectors.l2Normalized().storage
        rowsByAnatomy = Dictionary(grouping: entries.indices, by: { entries[$0].anatomy })
    }

    /// Loads `bank.json` (entries) and `bank.safetensors` ("vectors") from a model folder.
    public init(directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        let json = dir.appendingPathComponent("bank.json").path
        guard let data = FileManager.default.contents(atPath: json) else {
            throw RetrievalError(message: "\(json) is missing: the model folder has no sentence bank")
        }
        struct File: Decodable { let entries: [Entry] }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw RetrievalError(message: "\(json) is not a sentence bank: \(error)")
        }
        let vectors = try SafeTensorsFile(path: dir.appendingPathComponent("bank.safetensors").path).tensor("vectors")
        try self.init(entries: file.entries, vectors: vectors)
    }

    /// Anatomies that have at least one sentence.
    public var anatomies: Set<String> { Set(rowsByAnatomy.keys) }

    /// The sentence of `anatomy` closest (cosine) to `token`, or nil when the anatomy has none.
    public func bestMatch(anatomy: String, token: [Float]) throws -> Match? {
        guard token.count == dimension else {
            throw RetrievalError(message: "query token has \(token.count) values; the bank holds \(dimension)-d vectors")
        }
        guard let rows = rowsByAnatomy[anatomy] else { return nil }
        let norm = max(token.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
        var best = (row: rows[0], score: -Float.infinity)
        for row in rows {
            var dot: Float = 0
            for k in 0..<dimension { dot += vectors[row * dimension + k] * token[k] }
            if dot > best.score { best = (row, dot) }
        }
        return Match(sentence: entries[best.row].sentence, similarity: best.score / norm)
    }
}
