/// A messaging failure: a stable code, whether retrying can help, and the context.
public struct MessagingError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let configuration = Code(rawValue: "configuration")
        public static let transport = Code(rawValue: "transport")
        public static let timedOut = Code(rawValue: "timed_out")
        public static let queueFull = Code(rawValue: "queue_full")
        public static let rejected = Code(rawValue: "rejected")
        public static let closed = Code(rawValue: "closed")
        public static let state = Code(rawValue: "state")
    }

    public let code: Code
    public let message: String
    /// True when the same call may succeed later (broker down, timeout, full queue).
    public let isRetriable: Bool

    public init(_ code: Code, _ message: String, retriable: Bool) { (self.code, self.message, isRetriable) = (code, message, retriable) }

    public var description: String { "\(code.rawValue): \(message)" }
}
