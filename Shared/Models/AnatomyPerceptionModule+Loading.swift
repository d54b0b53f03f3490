import Foundation
import Tensor

extension AnatomyPerceptionModule {
    /// Loads `config.json` and `apm.safetensors` from a model folder (strict: every tensor used).
    public init(directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        let configPath = dir.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw ModelError(.missingFile, "\(configPath) is missing: is \(directory) an AnatomiX model folder?")
        }
        let configuration: ApmConfiguration
        do {
            configuration = try JSONDecoder().decode(ApmConfiguration.self, from: data)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError(.invalidConfiguration, "\(configPath): \(error)")
        }
        let weightsPath = dir.appendingPathComponent("apm.safetensors").path
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            throw ModelError(.missingFile, "\(weightsPath) is missing")
        }
        var weights = try WeightLoader(file: SafeTensorsFile(path: weightsPath), sanitize: { $0 })
        try self.init(configuration: configuration, weights: &weights)
        try weights.finish()
    }
}
