import Foundation

/// Who a model folder is: `model.json` as `Training/anatomix/export.py` writes it (name, version =
/// export date + the first 12 hex digits of the weights' SHA-256, how it was trained). A folder
/// without one is named after itself, version "unknown".
public struct ModelCard: Codable, Sendable, Equatable {
    public let name: String
    public let version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }

    /// Reads `directory/model.json`; a missing file gives the fallback, a malformed one is an error.
    public static func load(directory: String) throws -> ModelCard {
        let url = URL(fileURLWithPath: directory)
        guard let data = FileManager.default.contents(atPath: url.appendingPathComponent("model.json").path) else {
            return ModelCard(name: url.standardizedFileURL.lastPathComponent, version: "unknown")
        }
        do {
            return try JSONDecoder().decode(ModelCard.self, from: data)
        } catch {
            throw ModelError(.invalidConfiguration, "\(url.appendingPathComponent("model.json").path): \(error)")
        }
    }
}
