public import Foundation

/// `cxr.studies.v1`: a study to analyse (Schemas/cxr.studies.v1.json).
public struct StudyMessage: Codable, Sendable, Equatable {
    public static let schema = "cxr.studies.v1"

    /// The image inline (PNG bytes, base64 on the wire) or by a `file://` reference (claim check).
    public enum Image: Codable, Sendable, Equatable {
        case png(Data)
        case uri(String)

        enum CodingKeys: String, CodingKey, CaseIterable { case png = "png_base64", uri }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "image")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            switch (try c.decodeIfPresent(String.self, forKey: .png), try c.decodeIfPresent(String.self, forKey: .uri)) {
            case let (base64?, nil):
                guard !base64.isEmpty else {
                    throw DecodingError.dataCorruptedError(forKey: .png, in: c, debugDescription: "png_base64 is empty; send the PNG's bytes")
                }
                guard let data = Data(base64Encoded: base64) else {
                    throw DecodingError.dataCorruptedError(forKey: .png, in: c, debugDescription: "png_base64 is not base64")
                }
                self = .png(data)
            case let (nil, uri?):
                guard uri.hasPrefix("file:///"), uri.utf8.count <= 2048 else {
                    throw DecodingError.dataCorruptedError(forKey: .uri, in: c, debugDescription: "uri must be file:///... (at most 2,048 bytes)")
                }
                self = .uri(uri)
            default:
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "image needs exactly one of png_base64 and uri"))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case let .png(data): try c.encode(data.base64EncodedString(), forKey: .png)
            case let .uri(uri): try c.encode(uri, forKey: .uri)
            }
        }
    }

    public let studyID: String
    public let image: Image
    public let view: String?
    public let metadata: [String: String]?
    public let tasks: [TaskRequest]
    public let submittedAt: String?

    public init(studyID: String, image: Image, view: String? = nil, metadata: [String: String]? = nil, tasks: [TaskRequest],
                submittedAt: String? = nil) {
        (self.studyID, self.image, self.view, self.metadata, self.tasks, self.submittedAt) = (studyID, image, view, metadata, tasks, submittedAt)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case schema, studyID = "study_id", image, view, metadata, tasks, submittedAt = "submitted_at"
    }

    public static let views: Set<String> = ["PA", "AP", "LATERAL", "LL", "UNKNOWN"]
    public static let maximumTasks = 16

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: Self.schema)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireSchema(Self.schema, forKey: .schema)
        studyID = try StudyID.validated(try c.decode(String.self, forKey: .studyID), in: c, key: .studyID)
        image = try c.decode(Image.self, forKey: .image)
        view = try c.decodeIfPresent(String.self, forKey: .view)
        if let view, !Self.views.contains(view) {
            throw DecodingError.dataCorruptedError(forKey: .view, in: c, debugDescription: "view '\(view)' is not one of \(Self.views.sorted().joined(separator: ", "))")
        }
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata)
        if let metadata, metadata.count > 32 || metadata.contains(where: { $0.key.count > 64 || $0.value.count > 256 }) {
            throw DecodingError.dataCorruptedError(forKey: .metadata, in: c, debugDescription: "metadata holds at most 32 pairs, keys up to 64 and values up to 256 characters")
        }
        tasks = try c.decode([TaskRequest].self, forKey: .tasks)
        guard tasks.count <= Self.maximumTasks else {
            throw DecodingError.dataCorruptedError(forKey: .tasks, in: c, debugDescription: "\(tasks.count) tasks; a study asks at most \(Self.maximumTasks)")
        }
        submittedAt = try c.decodeIfPresent(String.self, forKey: .submittedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(studyID, forKey: .studyID)
        try c.encode(image, forKey: .image)
        try c.encodeIfPresent(view, forKey: .view)
        try c.encodeIfPresent(metadata, forKey: .metadata)
        try c.encode(tasks, forKey: .tasks)
        try c.encodeIfPresent(submittedAt, forKey: .submittedAt)
    }
}

/// Study ids: 1-128 characters of `[A-Za-z0-9._:-]`, starting with a letter or digit (they are
/// Kafka keys and file names of results).
public enum StudyID {
    public static func isValid(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, id.unicodeScalars.count <= 128, isAlphanumeric(first) else { return false }
        return id.unicodeScalars.allSatisfy { isAlphanumeric($0) || "._:-".unicodeScalars.contains($0) }
    }

    static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
    }

    static func validated<K>(_ id: String, in c: KeyedDecodingContainer<K>, key: K) throws -> String {
        guard isValid(id) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "study_id '\(id.prefix(40))' must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
        }
        return id
    }
}

/// One task of a study as `cxr.studies.v1` carries it: the name and its one parameter.
public struct TaskRequest: Codable, Sendable, Equatable {
    public let task: String
    public let box: [Double]?
    public let phrase: String?
    public let anatomy: String?
    public let question: String?

    public init(task: String, box: [Double]? = nil, phrase: String? = nil, anatomy: String? = nil, question: String? = nil) {
        (self.task, self.box, self.phrase, self.anatomy, self.question) = (task, box, phrase, anatomy, question)
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case task, box, phrase, anatomy, question }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "task")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        task = try c.decode(String.self, forKey: .task)
        box = try c.decodeIfPresent([Double].self, forKey: .box)
        phrase = try c.decodeIfPresent(String.self, forKey: .phrase)
        anatomy = try c.decodeIfPresent(String.self, forKey: .anatomy)
        question = try c.decodeIfPresent(String.self, forKey: .question)
    }
}
