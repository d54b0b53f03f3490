public import Tensor

/// Strict weight loading: every declared tensor must be present with its declared shape, and every
/// tensor in the checkpoint must be taken (after the model's own `sanitize` remapping).
///
/// Usage: `var w = try WeightLoader(...); let x = try w.take("a.weight", [4, 8]); ...; try w.finish()`.
public struct WeightLoader {
    public let source: String
    private var remaining: [String: Tensor]

    /// Wraps already-remapped tensors; `source` names the file in error messages.
    public init(tensors: [String: Tensor], source: String) {
        self.remaining = tensors
        self.source = source
    }

    /// Reads every float tensor of a safetensors file, renaming or dropping keys with `sanitize`
    /// (return nil to drop a key that the model deliberately does not use).
    public init(file: SafeTensorsFile, sanitize: (String) -> String?) throws {
        var tensors = [String: Tensor]()
        for name in file.names {
            guard let key = sanitize(name) else { continue }
            guard tensors[key] == nil else { throw ModelError(.invalidConfiguration, "\(file.path): two tensors map to '\(key)'") }
            tensors[key] = try file.tensor(name)
        }
        self.init(tensors: tensors, source: file.path)
    }

    /// Removes and returns tensor `name`, which must have exactly `shape`.
    public mutating func take(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let tensor = remaining.removeValue(forKey: name) else {
            throw ModelError(.missingWeight, "\(source): missing weight '\(name)' (expected shape \(shape))")
        }
        guard tensor.shape == shape else {
            throw ModelError(.shapeMismatch, "\(source): weight '\(name)' has shape \(tensor.shape), expected \(shape)")
        }
        return tensor
    }

    /// Fails if any tensor was not taken.
    public func finish() throws {
        guard remaining.isEmpty else {
            let names = remaining.keys.sorted()
            throw ModelError(.unusedWeight, "\(source): \(names.count) unused weight(s): \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", ..." : "")")
        }
    }
}
