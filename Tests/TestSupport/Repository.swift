public import Foundation

/// Where tests find committed fixtures and the fetched cache, independent of the working directory.
public enum Repository {
    /// The repository root (this file is Tests/TestSupport/Repository.swift).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Schemas/`.
    public static var schemas: URL { root.appendingPathComponent("Schemas") }

    /// Where tests leave the messages they produced, one folder per schema, for the Python run of
    /// `make test` to validate against Schemas/ with jsonschema (Training/tests/test_schemas.py).
    public static var producedMessages: URL { root.appendingPathComponent(".build/produced-messages") }

    /// Writes `data` as `producedMessages/<schema>/<name>.json`.
    public static func keepProducedMessage(_ data: Data, schema: String, name: String) throws {
        let folder = producedMessages.appendingPathComponent(schema)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try data.write(to: folder.appendingPathComponent(name + ".json"))
    }

    /// The trained default model folder, `Weights/anatomix-tiny`.
    public static var defaultModel: URL { root.appendingPathComponent("Weights/anatomix-tiny") }

    /// `Tests/Fixtures/<relative>`.
    public static func fixture(_ relative: String) -> URL {
        root.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative)
    }

    /// The cache folder `make deps` fills (`$ANATOMIX_CACHE`, default `<root>/.cache`).
    public static var cache: URL {
        if let env = ProcessInfo.processInfo.environment["ANATOMIX_CACHE"], !env.isEmpty {
            return URL(fileURLWithPath: env, relativeTo: root).standardizedFileURL
        }
        return root.appendingPathComponent(".cache")
    }

    /// The all-MiniLM-L6-v2 folder fetched by `make deps`.
    public static var miniLM: URL { cache.appendingPathComponent("minilm") }

    /// Reads and decodes a JSON fixture.
    public static func decodeFixture<T: Decodable>(_ type: T.Type, _ relative: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: fixture(relative)))
    }
}

/// The MiniLM parity fixture written by Training/export_minilm_fixtures.py.
public struct MiniLMParityFixture: Decodable, Sendable {
    public let model: String
    public let max_length: Int
    public let texts: [String]
    public let token_ids: [[Int]]

    public static func load() throws -> MiniLMParityFixture {
        try Repository.decodeFixture(MiniLMParityFixture.self, "minilm/parity.json")
    }
}
