/// `cxr.results.v1`: a study's answers plus the stage-one summary a reader needs to draw it
/// (Schemas/cxr.results.v1.json). Readers keep one result per `id`.
public struct ResultMessage: Codable, Sendable, Equatable {
    public static let schema = "cxr.results.v1"

    public struct Anatomy: Codable, Sendable, Equatable {
        public let name: String
        public let box: [Double]
        /// The likely finding's sentence, its kinds (empty = healthy) and score.
        public let finding: String?
        public let kinds: [String]
        public let score: Float?
        public init(name: String, box: [Double], finding: String?, kinds: [String], score: Float?) {
            (self.name, self.box, self.finding, self.kinds, self.score) = (name, box, finding, kinds, score)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case name, box, finding, kinds, score }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "anatomy")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name); box = try c.decode([Double].self, forKey: .box)
            finding = try c.decodeIfPresent(String.self, forKey: .finding); kinds = try c.decode([String].self, forKey: .kinds)
            score = try c.decodeIfPresent(Float.self, forKey: .score)
        }
    }

    public struct Models: Codable, Sendable, Equatable {
        public let perception: ModelID
        public let bank: String
        public let language: ModelID?
        public let preprocessing: String
        public init(perception: ModelID, bank: String, language: ModelID?, preprocessing: String) {
            (self.perception, self.bank, self.language, self.preprocessing) = (perception, bank, language, preprocessing)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case perception, bank, language, preprocessing }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "models")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            perception = try c.decode(ModelID.self, forKey: .perception); bank = try c.decode(String.self, forKey: .bank)
            language = try c.decodeIfPresent(ModelID.self, forKey: .language); preprocessing = try c.decode(String.self, forKey: .preprocessing)
        }
    }

    public struct Timings: Codable, Sendable, Equatable {
        public let perceptionSeconds: Double, retrievalSeconds: Double, languageSeconds: Double
        public init(perceptionSeconds: Double, retrievalSeconds: Double, languageSeconds: Double) {
            (self.perceptionSeconds, self.retrievalSeconds, self.languageSeconds) = (perceptionSeconds, retrievalSeconds, languageSeconds)
        }
        enum CodingKeys: String, CodingKey, CaseIterable {
            case perceptionSeconds = "perception_seconds", retrievalSeconds = "retrieval_seconds", languageSeconds = "language_seconds"
        }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "timings")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            perceptionSeconds = try c.decode(Double.self, forKey: .perceptionSeconds)
            retrievalSeconds = try c.decode(Double.self, forKey: .retrievalSeconds)
            languageSeconds = try c.decode(Double.self, forKey: .languageSeconds)
        }
    }

    public let id: String
    public let studyID: String
    public let image: AnatomyMessage.ImageInfo
    public let anatomies: [Anatomy]
    public let labels: [String: Float]
    public let tasks: [TaskAnswer]
    public let metadata: [String: String]?
    public let models: Models
    public let promptVersion: Int
    public let timings: Timings

    public init(id: String, studyID: String, image: AnatomyMessage.ImageInfo, anatomies: [Anatomy], labels: [String: Float],
                tasks: [TaskAnswer], metadata: [String: String]?, models: Models, promptVersion: Int, timings: Timings) {
        (self.id, self.studyID, self.image, self.anatomies, self.labels) = (id, studyID, image, anatomies, labels)
        (self.tasks, self.metadata, self.models, self.promptVersion, self.timings) = (tasks, metadata, models, promptVersion, timings)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case schema, id, studyID = "study_id", image, anatomies, labels, tasks, metadata, models, promptVersion = "prompt_version", timings
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: Self.schema)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireSchema(Self.schema, forKey: .schema)
        id = try MessageID.validated(try c.decode(String.self, forKey: .id), in: c, key: .id)
        studyID = try StudyID.validated(try c.decode(String.self, forKey: .studyID), in: c, key: .studyID)
        image = try c.decode(AnatomyMessage.ImageInfo.self, forKey: .image)
        anatomies = try c.decode([Anatomy].self, forKey: .anatomies); labels = try c.decode([String: Float].self, forKey: .labels)
        tasks = try c.decode([TaskAnswer].self, forKey: .tasks); metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata)
        models = try c.decode(Models.self, forKey: .models); promptVersion = try c.decode(Int.self, forKey: .promptVersion)
        timings = try c.decode(Timings.self, forKey: .timings)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(id, forKey: .id); try c.encode(studyID, forKey: .studyID); try c.encode(image, forKey: .image)
        try c.encode(anatomies, forKey: .anatomies); try c.encode(labels, forKey: .labels); try c.encode(tasks, forKey: .tasks)
        try c.encodeIfPresent(metadata, forKey: .metadata); try c.encode(models, forKey: .models)
        try c.encode(promptVersion, forKey: .promptVersion); try c.encode(timings, forKey: .timings)
    }
}
