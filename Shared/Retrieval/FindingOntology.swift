import Foundation

/// Which finding kinds may be stated for which anatomy (Schemas/findings.v1.json, copied into every
/// model folder as findings.json). Python's generator attaches findings by the same file.
public struct FindingOntology: Codable, Sendable, Equatable {
    public struct Finding: Codable, Sendable, Equatable {
        public let kind: String
        public let name: String
        public let labels: [String]
        public let anatomies: [String]
    }

    public let version: Int
    public let findings: [Finding]

    /// Finding kinds in the file's order (the order region sentences list them in).
    public var kinds: [String] { findings.map(\.kind) }

    /// Whether `kind` may be stated for `anatomy`.
    public func allows(_ kind: String, for anatomy: String) -> Bool {
        findings.first { $0.kind == kind }?.anatomies.contains(anatomy) ?? false
    }

    public static func load(path: String) throws -> FindingOntology {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RetrievalError(message: "\(path) is missing: the model folder needs the finding ontology (Schemas/findings.v1.json)")
        }
        let ontology: FindingOntology
        do { ontology = try JSONDecoder().decode(FindingOntology.self, from: data) } catch {
            throw RetrievalError(message: "\(path) is not a finding ontology: \(error)")
        }
        var seen = Set<String>()
        for f in ontology.findings {
            guard seen.insert(f.kind).inserted else {
                throw RetrievalError(message: "\(path): finding kind '\(f.kind)' is listed twice")
            }
            guard !f.anatomies.isEmpty else {
                throw RetrievalError(message: "\(path): finding kind '\(f.kind)' allows no anatomy")
            }
        }
        return ontology
    }
}
