/// Schemas/ are closed (`additionalProperties: false`); Swift's `Decodable` ignores unknown keys, so
/// every message type checks the keys it was given against the keys it knows.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Throws `DecodingError.dataCorrupted` naming the first key that `Keys` does not declare.
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type, in type: String) throws {
        let known = Set(Keys.allCases.map(\.stringValue))
        let given = try container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
        if let unknown = given.sorted().first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [AnyCodingKey(stringValue: unknown)],
                debugDescription: "\(type) has no field '\(unknown)' (the schema is closed; known fields: \(known.sorted().joined(separator: ", ")))"))
        }
    }
}

extension KeyedDecodingContainer {
    /// The `schema` field must name exactly `expected`.
    func requireSchema(_ expected: String, forKey key: Key) throws {
        let schema = try decode(String.self, forKey: key)
        guard schema == expected else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "schema is '\(schema)'; this consumer reads '\(expected)'")
        }
    }
}
