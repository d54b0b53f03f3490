public import Foundation

/// `cxr.deadletter.v1`: a message a stage could not process, with where it came from and why
/// (Schemas/cxr.deadletter.v1.json).
public struct DeadLetterMessage: Codable, Sendable, Equatable {
    public static let schema = "cxr.deadletter.v1"
    public static let stages: Set<String> = ["perception", "retrieval", "language"]

    public struct Source: Codable, Sendable, Equatable {
        public let topic: String, partition: Int, offset: Int64
        public init(topic: String, partition: Int, offset: Int64) { (self.topic, self.partition, self.offset) = (topic, partition, offset) }
        enum CodingKeys: String, CodingKey, CaseIterable { case topic, partition, offset }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "source")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (topic, partition, offset) = (try c.decode(String.self, forKey: .topic), try c.decode(Int.self, forKey: .partition), try c.decode(Int64.self, forKey: .offset))
        }
    }

    public struct Failure: Codable, Sendable, Equatable {
        public let code: String, message: String
        public init(code: String, message: String) { (self.code, self.message) = (code, message) }
        enum CodingKeys: String, CodingKey, CaseIterable { case code, message }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "error")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (code, message) = (try c.decode(String.self, forKey: .code), try c.decode(String.self, forKey: .message))
            guard ContractError.Code.all.map(\.rawValue).contains(code) else {
                throw DecodingError.dataCorruptedError(forKey: .code, in: c, debugDescription: "error code '\(code)' is not one of the schema's")
            }
        }
    }

    public let studyID: String?
    public let source: Source
    public let stage: String
    public let error: Failure
    /// The original payload when it fits the inline limit; its digest and size always.
    public let payload: Data?
    public let payloadSHA256: String
    public let payloadBytes: Int
    public let attempts: Int
    public let worker: String?
    public let failedAt: String?

    /// `inlineLimit`: payloads up to this many bytes travel inside the dead letter.
    public init(studyID: String?, source: Source, stage: String, error: ContractError, payload: Data, inlineLimit: Int,
                attempts: Int, worker: String?, failedAt: Date = Date()) {
        precondition(Self.stages.contains(stage), "unknown stage \(stage)")
        self.studyID = studyID.flatMap { StudyID.isValid($0) ? $0 : nil }
        self.source = source
        self.stage = stage
        self.error = Failure(code: error.code.rawValue, message: String(error.message.prefix(4000)))
        self.payload = payload.count <= inlineLimit ? payload : nil
        payloadSHA256 = Digest.sha256Hex(payload)
        payloadBytes = payload.count
        self.attempts = max(1, attempts)
        self.worker = worker
        self.failedAt = ISO8601DateFormatter().string(from: failedAt)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case schema, studyID = "study_id", source, stage, error, payload = "payload_base64", payloadSHA256 = "payload_sha256"
        case payloadBytes = "payload_bytes", attempts, worker, failedAt = "failed_at"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: Self.schema)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireSchema(Self.schema, forKey: .schema)
        studyID = try c.decodeIfPresent(String.self, forKey: .studyID)
        source = try c.decode(Source.self, forKey: .source)
        stage = try c.decode(String.self, forKey: .stage)
        guard Self.stages.contains(stage) else { throw DecodingError.dataCorruptedError(forKey: .stage, in: c, debugDescription: "stage '\(stage)' is unknown") }
        error = try c.decode(Failure.self, forKey: .error)
        payload = try c.decodeIfPresent(String.self, forKey: .payload).map {
            guard let data = Data(base64Encoded: $0) else { throw DecodingError.dataCorruptedError(forKey: .payload, in: c, debugDescription: "payload_base64 is not base64") }
            return data
        }
        payloadSHA256 = try c.decode(String.self, forKey: .payloadSHA256)
        payloadBytes = try c.decode(Int.self, forKey: .payloadBytes)
        attempts = try c.decode(Int.self, forKey: .attempts)
        worker = try c.decodeIfPresent(String.self, forKey: .worker)
        failedAt = try c.decodeIfPresent(String.self, forKey: .failedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encodeIfPresent(studyID, forKey: .studyID); try c.encode(source, forKey: .source); try c.encode(stage, forKey: .stage)
        try c.encode(error, forKey: .error); try c.encodeIfPresent(payload?.base64EncodedString(), forKey: .payload)
        try c.encode(payloadSHA256, forKey: .payloadSHA256); try c.encode(payloadBytes, forKey: .payloadBytes)
        try c.encode(attempts, forKey: .attempts); try c.encodeIfPresent(worker, forKey: .worker); try c.encodeIfPresent(failedAt, forKey: .failedAt)
    }
}
