/// `cxr.grounded.v1`: a study's perception plus each anatomy's likely finding
/// (Schemas/cxr.grounded.v1.json). The language worker reads only this topic.
public struct GroundedMessage: Codable, Sendable, Equatable {
    public static let schema = "cxr.grounded.v1"

    public struct Finding: Codable, Sendable, Equatable {
        public let anatomy: String
        public let sentence: String
        /// Ontology finding kinds the sentence names; empty = healthy.
        public let kinds: [String]
        public let similarity: Float
        /// The chosen sentence's probability (calibrated lookup only).
        public let score: Float?

        public init(anatomy: String, sentence: String, kinds: [String], similarity: Float, score: Float?) {
            (self.anatomy, self.sentence, self.kinds, self.similarity, self.score) = (anatomy, sentence, kinds, similarity, score)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case anatomy, sentence, kinds, similarity, score }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "finding")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            anatomy = try c.decode(String.self, forKey: .anatomy); sentence = try c.decode(String.self, forKey: .sentence)
            kinds = try c.decode([String].self, forKey: .kinds); similarity = try c.decode(Float.self, forKey: .similarity)
            score = try c.decodeIfPresent(Float.self, forKey: .score)
        }
    }

    public struct Bank: Codable, Sendable, Equatable {
        /// Digest of the entries the index held.
        public let version: String
        /// "nearest" (the published lookup) or "calibrated".
        public let lookup: String
        public let entries: Int
        public init(version: String, lookup: String, entries: Int) { (self.version, self.lookup, self.entries) = (version, lookup, entries) }
        enum CodingKeys: String, CodingKey, CaseIterable { case version, lookup, entries }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "bank")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (version, lookup, entries) = (try c.decode(String.self, forKey: .version), try c.decode(String.self, forKey: .lookup), try c.decode(Int.self, forKey: .entries))
            guard lookup == "nearest" || lookup == "calibrated" else {
                throw DecodingError.dataCorruptedError(forKey: .lookup, in: c, debugDescription: "lookup '\(lookup)' is not nearest or calibrated")
            }
        }
    }

    public struct Timings: Codable, Sendable, Equatable {
        public let retrievalSeconds: Double
        public init(retrievalSeconds: Double) { self.retrievalSeconds = retrievalSeconds }
        enum CodingKeys: String, CodingKey, CaseIterable { case retrievalSeconds = "retrieval_seconds" }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "timings")
            retrievalSeconds = try decoder.container(keyedBy: CodingKeys.self).decode(Double.self, forKey: .retrievalSeconds)
        }
    }

    public let id: String
    public let studyID: String
    public let perception: AnatomyMessage
    public let findings: [Finding]
    public let bank: Bank
    public let timings: Timings

    public init(id: String, studyID: String, perception: AnatomyMessage, findings: [Finding], bank: Bank, timings: Timings) {
        (self.id, self.studyID, self.perception, self.findings, self.bank, self.timings) = (id, studyID, perception, findings, bank, timings)
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case schema, id, studyID = "study_id", perception, findings, bank, timings }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: Self.schema)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireSchema(Self.schema, forKey: .schema)
        id = try MessageID.validated(try c.decode(String.self, forKey: .id), in: c, key: .id)
        studyID = try StudyID.validated(try c.decode(String.self, forKey: .studyID), in: c, key: .studyID)
        perception = try c.decode(AnatomyMessage.self, forKey: .perception)
        findings = try c.decode([Finding].self, forKey: .findings)
        bank = try c.decode(Bank.self, forKey: .bank)
        timings = try c.decode(Timings.self, forKey: .timings)
        guard perception.studyID == studyID else {
            throw DecodingError.dataCorruptedError(forKey: .perception, in: c, debugDescription: "perception is of study '\(perception.studyID)', not '\(studyID)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(id, forKey: .id); try c.encode(studyID, forKey: .studyID); try c.encode(perception, forKey: .perception)
        try c.encode(findings, forKey: .findings); try c.encode(bank, forKey: .bank); try c.encode(timings, forKey: .timings)
    }
}
