/// `cxr.bank.v1`: one sentence-bank entry on the compacted bank topic (Schemas/cxr.bank.v1.json).
/// Key = anatomy + U+001F + sentence; the last value of a key wins; `deleted` removes it.
public struct BankEntryMessage: Codable, Sendable, Equatable {
    public static let schema = "cxr.bank.v1"

    public let anatomy: String
    public let sentence: String
    public let kinds: [String]
    public let vector: [Float]
    public let temperature: Float
    public let healthyThreshold: Float
    public let deleted: Bool?
    public let source: String?

    public init(anatomy: String, sentence: String, kinds: [String], vector: [Float], temperature: Float, healthyThreshold: Float,
                deleted: Bool? = nil, source: String? = nil) {
        (self.anatomy, self.sentence, self.kinds, self.vector) = (anatomy, sentence, kinds, vector)
        (self.temperature, self.healthyThreshold, self.deleted, self.source) = (temperature, healthyThreshold, deleted, source)
    }

    /// The record key of this entry.
    public var key: String { Self.key(anatomy: anatomy, sentence: sentence) }
    public static func key(anatomy: String, sentence: String) -> String { anatomy + "\u{1F}" + sentence }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case schema, anatomy, sentence, kinds, vector, temperature, healthyThreshold = "healthy_threshold", deleted, source
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: Self.schema)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireSchema(Self.schema, forKey: .schema)
        anatomy = try c.decode(String.self, forKey: .anatomy); sentence = try c.decode(String.self, forKey: .sentence)
        kinds = try c.decode([String].self, forKey: .kinds); vector = try c.decode([Float].self, forKey: .vector)
        temperature = try c.decode(Float.self, forKey: .temperature); healthyThreshold = try c.decode(Float.self, forKey: .healthyThreshold)
        deleted = try c.decodeIfPresent(Bool.self, forKey: .deleted); source = try c.decodeIfPresent(String.self, forKey: .source)
        guard !anatomy.isEmpty, !sentence.isEmpty, sentence.count <= 1000 else {
            throw DecodingError.dataCorruptedError(forKey: .sentence, in: c, debugDescription: "anatomy and sentence must be non-empty (sentence up to 1,000 characters)")
        }
        guard (1...1024).contains(vector.count), vector.allSatisfy(\.isFinite) else {
            throw DecodingError.dataCorruptedError(forKey: .vector, in: c, debugDescription: "vector needs 1-1,024 finite values")
        }
        guard temperature > 0, temperature.isFinite, (0...1).contains(healthyThreshold) else {
            throw DecodingError.dataCorruptedError(forKey: .temperature, in: c, debugDescription: "temperature must be > 0 and healthy_threshold in [0, 1]")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(anatomy, forKey: .anatomy); try c.encode(sentence, forKey: .sentence); try c.encode(kinds, forKey: .kinds)
        try c.encode(vector, forKey: .vector); try c.encode(temperature, forKey: .temperature)
        try c.encode(healthyThreshold, forKey: .healthyThreshold); try c.encodeIfPresent(deleted, forKey: .deleted)
        try c.encodeIfPresent(source, forKey: .source)
    }
}
