import Foundation
import Tensor

/// Reading a model folder: its `config.json` and its safetensors, with errors that name the file
/// and say what to do (`hint`).
struct ModelFolder {
    let url: URL
    let hint: String

    init(_ path: String, hint: String) {
        url = URL(fileURLWithPath: path)
        self.hint = hint
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Decodes `config.json` (validation errors of the configuration pass through unchanged).
    func configuration<T: Decodable>(_ type: T.Type) throws -> T {
        let file = path("config.json")
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ModelError(.missingFile, "\(file) is missing: \(hint)")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError(.invalidConfiguration, "\(file): \(error)")
        }
    }

    /// Every tensor of `name`, renamed or dropped by `sanitize`, ready for strict loading.
    func weights(_ name: String, sanitize: (String) -> String? = { $0 }) throws -> WeightLoader {
        let file = path(name)
        guard FileManager.default.fileExists(atPath: file) else {
            throw ModelError(.missingFile, "\(file) is missing: \(hint)")
        }
        return try WeightLoader(file: SafeTensorsFile(path: file), sanitize: sanitize)
    }
}
