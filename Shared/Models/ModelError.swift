/// Errors loading or running a model; each says what is wrong and, where it can, how to fix it.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        case missingFile, invalidConfiguration, missingWeight, unusedWeight, shapeMismatch, invalidInput
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
