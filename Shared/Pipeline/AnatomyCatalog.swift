import Foundation

/// The 36 anatomies and 14 CheXpert labels (Schemas/anatomies.v1.json, copied into every model folder
/// as anatomies.json so a model folder is self-describing).
public struct AnatomyCatalog: Codable, Sendable, Equatable {
    public struct Anatomy: Codable, Sendable, Equatable {
        public let index: Int
        public let name: String
        public let displayName: String
        public let side: String

        enum CodingKeys: String, CodingKey { case index, name, displayName = "display_name", side }
    }

    public let anatomies: [Anatomy]
    public let chexpertLabels: [String]

    enum CodingKeys: String, CodingKey { case anatomies, chexpertLabels = "chexpert_labels" }

    public static func load(path: String) throws -> AnatomyCatalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError("\(path) is missing: the model folder needs the anatomy list (Schemas/anatomies.v1.json)")
        }
        do {
            let catalog = try JSONDecoder().decode(AnatomyCatalog.self, from: data)
            guard catalog.anatomies.map(\.index) == Array(catalog.anatomies.indices) else {
                throw PipelineError("\(path): anatomy indices are not 0..<\(catalog.anatomies.count) in order")
            }
            var seen = Set<String>()
            if let twice = catalog.anatomies.map(\.name).first(where: { !seen.insert($0).inserted }) {
                throw PipelineError("\(path): anatomy '\(twice)' is listed twice; each name must be unique")
            }
            return catalog
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError("\(path) is not an anatomy list: \(error)")
        }
    }
}

/// A pipeline failure with a message that names the input and the fix.
public struct PipelineError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
