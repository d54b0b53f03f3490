public import Foundation

/// A float array carried as IEEE half floats (little-endian, row-major, base64 on the wire) with its
/// shape: the image tokens of `cxr.anatomy.v1`. Values round to the nearest half when made, so every
/// reader (Kafka or the in-process bus) sees the same numbers.
public struct HalfTensor: Codable, Sendable, Equatable {
    public let shape: [Int]
    public let values: [Float]

    /// Rounds `values` to half precision.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "HalfTensor shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values.map { Float(Float16($0)) }
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case dtype, shape, data }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "image_tokens")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let dtype = try c.decode(String.self, forKey: .dtype)
        guard dtype == "float16" else { throw DecodingError.dataCorruptedError(forKey: .dtype, in: c, debugDescription: "dtype '\(dtype)' is not float16") }
        shape = try c.decode([Int].self, forKey: .shape)
        guard (1...4).contains(shape.count), shape.allSatisfy({ (1...1 << 20).contains($0) }) else {
            throw DecodingError.dataCorruptedError(forKey: .shape, in: c, debugDescription: "shape \(shape) must have 1-4 positive dimensions")
        }
        let (count, overflow) = shape.dropFirst().reduce((shape[0], false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
        }
        guard !overflow, count <= 1 << 22 else {
            throw DecodingError.dataCorruptedError(forKey: .shape, in: c, debugDescription: "shape \(shape) holds more than 4,194,304 values")
        }
        guard let bytes = Data(base64Encoded: try c.decode(String.self, forKey: .data)), bytes.count == count * 2 else {
            throw DecodingError.dataCorruptedError(forKey: .data, in: c, debugDescription: "data must be base64 of \(count) half floats (\(count * 2) bytes) for shape \(shape)")
        }
        values = bytes.withUnsafeBytes { raw in
            (0..<count).map { i in Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("float16", forKey: .dtype)
        try c.encode(shape, forKey: .shape)
        var bytes = Data(capacity: values.count * 2)
        for v in values {
            let bits = Float16(v).bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        try c.encode(bytes.base64EncodedString(), forKey: .data)
    }
}
