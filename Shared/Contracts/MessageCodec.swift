public import Foundation

/// Bytes <-> messages, with the error codes the dead-letter topic uses: not JSON -> `bad_json`,
/// another `schema` -> `unsupported_schema`, a field wrong or unknown -> `schema_violation` (naming
/// the field), more than `maximumBytes` -> `oversize`.
public enum MessageCodec {
    struct Peek: Decodable { let schema: String? }

    public static func encode(_ message: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(message)
    }

    public static func decode<M: Decodable>(_ type: M.Type, schema: String, from data: Data, maximumBytes: Int) throws(ContractError) -> M {
        guard data.count <= maximumBytes else {
            throw ContractError(.oversize, "the message has \(data.count) bytes; the limit is \(maximumBytes) (send the image by file:// reference, or raise the limit)")
        }
        let peek: Peek
        do { peek = try JSONDecoder().decode(Peek.self, from: data) } catch {
            throw ContractError(.badJSON, "the message is not a JSON object (\(shortReason(error))); producers must send UTF-8 JSON")
        }
        guard peek.schema == schema else {
            throw ContractError(.unsupportedSchema, "the message's schema is \(peek.schema.map { "'\($0.prefix(64))'" } ?? "missing"); this topic carries '\(schema)'")
        }
        do { return try JSONDecoder().decode(M.self, from: data) } catch {
            if case let DecodingError.dataCorrupted(context) = error, context.codingPath.isEmpty {
                // The peek read only `schema`: invalid UTF-8 or syntax elsewhere in the document is bad JSON too.
                throw ContractError(.badJSON, "the message is not valid JSON (\(shortReason(error))); producers must send UTF-8 JSON")
            }
            throw ContractError(.schemaViolation, "\(schema): \(shortReason(error)) (see Schemas/\(schema).json)")
        }
    }

    /// One line naming the field path and the problem.
    static func shortReason(_ error: any Error) -> String {
        func path(_ p: [any CodingKey]) -> String {
            p.isEmpty ? "the message" : p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let DecodingError.keyNotFound(key, context): return "\(path(context.codingPath + [key])) is missing"
        case let DecodingError.typeMismatch(type, context): return "\(path(context.codingPath)) is not a \(type)"
        case let DecodingError.valueNotFound(type, context): return "\(path(context.codingPath)) is null; a \(type) is required"
        case let DecodingError.dataCorrupted(context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
