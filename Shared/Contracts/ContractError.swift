/// Why a message could not be taken: a stable code (the dead-letter topic's `error.code`) and a
/// message that names the field, the problem and the fix.
public struct ContractError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let badJSON = Code(rawValue: "bad_json")
        public static let schemaViolation = Code(rawValue: "schema_violation")
        public static let unsupportedSchema = Code(rawValue: "unsupported_schema")
        public static let badImage = Code(rawValue: "bad_image")
        public static let imageNotFound = Code(rawValue: "image_not_found")
        public static let imageOutsideRoot = Code(rawValue: "image_outside_root")
        public static let oversize = Code(rawValue: "oversize")
        public static let unknownTask = Code(rawValue: "unknown_task")
        public static let badTask = Code(rawValue: "bad_task")
        public static let processingFailed = Code(rawValue: "processing_failed")
        public static let timeout = Code(rawValue: "timeout")

        /// Every code `cxr.deadletter.v1` allows (a test keeps the two in step).
        public static let all: [Code] = [.badJSON, .schemaViolation, .unsupportedSchema, .badImage, .imageNotFound, .imageOutsideRoot,
                                         .oversize, .unknownTask, .badTask, .processingFailed, .timeout]
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }

    public var description: String { "\(code): \(message)" }
}
