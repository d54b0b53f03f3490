public import Foundation

/// Writes tensors in the safetensors format, stored as fp32 or fp16.
public enum SafeTensorsWriter {
    public enum StoredType: Sendable { case f32, f16 }

    /// Serialises `tensors` (sorted by name, header padded to 8 bytes as the reference writer does).
    public static func data(_ tensors: [String: Tensor], metadata: [String: String] = [:], as stored: StoredType = .f32) throws -> Data {
        let names = tensors.keys.sorted()
        let width = stored == .f32 ? 4 : 2
        var header = [String: Any]()
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            header[name] = ["dtype": stored == .f32 ? "F32" : "F16", "shape": tensor.shape,
                            "data_offsets": [offset, offset + tensor.count * width]] as [String: Any]
            offset += tensor.count * width
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            let values = tensors[name]!.storage
            switch stored {
            case .f32:
                values.withUnsafeBufferPointer { buffer in
                    for v in buffer { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
                }
            case .f16:
                for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            }
        }
        return out
    }

    /// Writes `tensors` to `path` atomically.
    public static func write(_ tensors: [String: Tensor], to path: String, metadata: [String: String] = [:], as stored: StoredType = .f32) throws {
        do {
            try data(tensors, metadata: metadata, as: stored).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SafeTensorsError(path: path, reason: "cannot write: \(error)")
        }
    }
}
