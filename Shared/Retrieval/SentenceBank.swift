import Foundation
public import Tensor

/// Errors loading or querying the sentence bank; each names the file and the problem.
public struct RetrievalError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The AnatomiX vector database: every region sentence of the training corpus, per anatomy, as a
/// 16-d unit vector from the trained text side (MiniLM + text head), with the finding kinds it names.
/// Twin of `Training/anatomix/retrieval.py`.
///
/// Two lookups: `nearest` is the published one (the sentence with the best cosine). `retrieve` is
/// the calibrated one: a softmax over the anatomy's sentences of cosine / temperature (the
/// temperature learned with the retrieval loss), healthy unless the healthy sentence's probability
/// falls below `healthyThreshold` (chosen on the validation set), and the chosen sentence's
/// probability as its score.
public struct SentenceBank: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public let anatomy: String
        public let sentence: String
        /// Finding kinds the sentence names (ontology kinds; empty = healthy).
        public let kinds: [String]

        public init(anatomy: String, sentence: String, kinds: [String]) {
            (self.anatomy, self.sentence, self.kinds) = (anatomy, sentence, kinds)
        }
    }

    /// A retrieved sentence: its cosine with the token and, for the calibrated lookup, its probability.
    public struct Match: Sendable, Equatable {
        public let sentence: String
        public let kinds: [String]
        public let similarity: Float
        public let probability: Float?
        public var isHealthy: Bool { kinds.isEmpty }
    }

    public let entries: [Entry]
    public let dimension: Int
    public let temperature: Float
    public let healthyThreshold: Float
    /// `[N, dimension]` row-major, unit rows.
    public let vectors: [Float]
    let rowsByAnatomy: [String: [Int]]

    public init(entries: [Entry], vectors: Tensor, temperature: Float = 0.05, healthyThreshold: Float = 0.5) throws {
        guard vectors.rank == 2, vectors.shape[0] == entries.count else {
            throw RetrievalError(message: "sentence bank has \(entries.count) entries but vectors of shape \(vectors.shape)")
        }
        guard temperature > 0, temperature.isFinite, (0...1).contains(healthyThreshold) else {
            throw RetrievalError(message: "sentence bank temperature \(temperature) must be > 0 and healthy_threshold \(healthyThreshold) in [0, 1]")
        }
        self.entries = entries
        dimension = vectors.shape[1]
        self.vectors = vectors.l2Normalized().storage
        rowsByAnatomy = Dictionary(grouping: entries.indices, by: { entries[$0].anatomy })
        (self.temperature, self.healthyThreshold) = (temperature, healthyThreshold)
    }

    /// Loads `bank.json` and `bank.safetensors` ("vectors") from a model folder, and checks every
    /// entry against the folder's `findings.json` ontology.
    public init(directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        let json = dir.appendingPathComponent("bank.json").path
        guard let data = FileManager.default.contents(atPath: json) else {
            throw RetrievalError(message: "\(json) is missing: the model folder has no sentence bank")
        }
        struct File: Decodable {
            let temperature: Float
            let healthyThreshold: Float
            let entries: [Entry]
            enum CodingKeys: String, CodingKey { case temperature, healthyThreshold = "healthy_threshold", entries }
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw RetrievalError(message: "\(json) is not a sentence bank (entries with anatomy, sentence, kinds; temperature; healthy_threshold): \(error)")
        }
        let ontology = try FindingOntology.load(path: dir.appendingPathComponent("findings.json").path)
        for (i, e) in file.entries.enumerated() {
            for kind in e.kinds where !ontology.allows(kind, for: e.anatomy) {
                throw RetrievalError(message: "\(json): entry \(i) states '\(kind)' for '\(e.anatomy)', which findings.json does not allow")
            }
        }
        let vectors = try SafeTensorsFile(path: dir.appendingPathComponent("bank.safetensors").path).tensor("vectors")
        try self.init(entries: file.entries, vectors: vectors, temperature: file.temperature, healthyThreshold: file.healthyThreshold)
    }

    /// Anatomies that have at least one sentence.
    public var anatomies: Set<String> { Set(rowsByAnatomy.keys) }

    /// Cosines of `token` with every sentence of `anatomy`: (rows, cosines), or nil when it has none.
    func cosines(anatomy: String, token: [Float]) throws -> (rows: [Int], cosines: [Float])? {
        guard token.count == dimension else {
            throw RetrievalError(message: "query token has \(token.count) values; the bank holds \(dimension)-d vectors")
        }
        guard let rows = rowsByAnatomy[anatomy] else { return nil }
        let norm = max(token.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
        let cosines = rows.map { row in
            var dot: Float = 0
            for k in 0..<dimension { dot += vectors[row * dimension + k] * token[k] }
            return dot / norm
        }
        return (rows, cosines)
    }

    /// The published lookup: the sentence of `anatomy` closest (cosine) to `token`, or nil when the anatomy has none.
    public func nearest(anatomy: String, token: [Float]) throws -> Match? {
        guard let (rows, cosines) = try cosines(anatomy: anatomy, token: token) else { return nil }
        let best = cosines.indices.max { cosines[$0] < cosines[$1] }!
        let e = entries[rows[best]]
        return Match(sentence: e.sentence, kinds: e.kinds, similarity: cosines[best], probability: nil)
    }

    /// The calibrated lookup (see the type's documentation), or nil when the anatomy has no sentence.
    public func retrieve(anatomy: String, token: [Float]) throws -> Match? {
        guard let (rows, cosines) = try cosines(anatomy: anatomy, token: token) else { return nil }
        let top = cosines.max()!
        let weights = cosines.map { Foundation.exp(($0 - top) / temperature) }
        let total = weights.reduce(0, +)
        let probability = weights.map { $0 / total }
        let healthy = rows.indices.filter { entries[rows[$0]].kinds.isEmpty }
        let abnormal = rows.indices.filter { !entries[rows[$0]].kinds.isEmpty }
        let pHealthy = healthy.map { probability[$0] }.reduce(0, +)
        let pick: Int
        if abnormal.isEmpty || (!healthy.isEmpty && pHealthy >= healthyThreshold) {
            pick = healthy.max { probability[$0] < probability[$1] } ?? abnormal[0]
        } else {
            pick = abnormal.max { probability[$0] < probability[$1] }!
        }
        let e = entries[rows[pick]]
        let score = e.kinds.isEmpty ? pHealthy : probability[pick]
        return Match(sentence: e.sentence, kinds: e.kinds, similarity: cosines[pick], probability: score)
    }
}
