import Foundation
import Tensor

extension AnatomyPerceptionModule {
    /// Loads `config.json` and `apm.safetensors` from a model folder (strict: every tensor used).
    public init(directory: String) throws {
        let folder = ModelFolder(directory, hint: "is \(directory) an AnatomiX model folder? (make train-apm writes one)")
        let configuration = try folder.configuration(ApmConfiguration.self)
        var weights = try folder.weights("apm.safetensors")
        try self.init(configuration: configuration, weights: &weights)
        try weights.finish()
    }
}
