import Foundation

/// `cxr.anatomy.v1`: stage one of a study (Schemas/cxr.anatomy.v1.json).
public struct AnatomyMessage: Codable, Sendable, Equatable {
    public static let schema = "cxr.anatomy.v1"

    public struct ImageInfo: Codable, Sendable, Equatable {
        public let width: Int, height: Int
        /// SHA-256 of the PNG bytes, lowercase hex.
        public let sha256: String
        public init(width: Int, height: Int, sha256: String) { (self.width, self.height, self.sha256) = (width, height, sha256) }
        enum CodingKeys: String, CodingKey, CaseIterable { case width, height, sha256 }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "image")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (width, height, sha256) = (try c.decode(Int.self, forKey: .width), try c.decode(Int.self, forKey: .height), try c.decode(String.self, forKey: .sha256))
            guard width > 0, height > 0 else { throw DecodingError.dataCorruptedError(forKey: .width, in: c, debugDescription: "image width and height must be positive") }
        }
    }

    public struct Anatomy: Codable, Sendable, Equatable {
        public let index: Int
        public let name: String
        /// `[x1, y1, x2, y2]` in original pixels, rounded to 0.1.
        public let box: [Double]
        /// The same box on the letterboxed canvas, unrounded (the language model's prompt reads these).
        public let canvasBox: [Double]
        public let token: [Float]

        public init(index: Int, name: String, box: [Double], canvasBox: [Double], token: [Float]) {
            (self.index, self.name, self.box, self.canvasBox, self.token) = (index, name, box, canvasBox, token)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case index, name, box, canvasBox = "canvas_box", token }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "anatomy")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            index = try c.decode(Int.self, forKey: .index)
            name = try c.decode(String.self, forKey: .name)
            box = try c.decode([Double].self, forKey: .box)
            canvasBox = try c.decode([Double].self, forKey: .canvasBox)
            token = try c.decode([Float].self, forKey: .token)
            guard box.count == 4, canvasBox.count == 4 else {
                throw DecodingError.dataCorruptedError(forKey: .box, in: c, debugDescription: "anatomy '\(name)': boxes are [x1, y1, x2, y2]")
            }
            guard (1...1024).contains(token.count) else {
                throw DecodingError.dataCorruptedError(forKey: .token, in: c, debugDescription: "anatomy '\(name)': a token has 1-1,024 values")
            }
        }
    }

    public struct Timings: Codable, Sendable, Equatable {
        /// Letterbox + APM + mapping back; of which the convolutional backbone and the transformer (with heads).
        public let perceptionSeconds: Double, backboneSeconds: Double, transformerSeconds: Double
        public init(perceptionSeconds: Double, backboneSeconds: Double, transformerSeconds: Double) {
            (self.perceptionSeconds, self.backboneSeconds, self.transformerSeconds) = (perceptionSeconds, backboneSeconds, transformerSeconds)
        }
        enum CodingKeys: String, CodingKey, CaseIterable {
            case perceptionSeconds = "perception_seconds", backboneSeconds = "backbone_seconds", transformerSeconds = "transformer_seconds"
        }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "timings")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            perceptionSeconds = try c.decode(Double.self, forKey: .perceptionSeconds)
            backboneSeconds = try c.decode(Double.self, forKey: .backboneSeconds)
            transformerSeconds = try c.decode(Double.self, forKey: .transformerSeconds)
        }
    }

    public let id: String
    public let studyID: String
    public let image: ImageInfo
    public let canvas: Int
    public let anatomies: [Anatomy]
    public let labels: [String: Float]
    public let imageTokens: HalfTensor
    public let tasks: [TaskRequest]
    public let metadata: [String: String]?
    public let model: ModelID
    public let preprocessing: String
    public let timings: Timings

    public init(id: String, studyID: String, image: ImageInfo, canvas: Int, anatomies: [Anatomy], labels: [String: Float],
                imageTokens: HalfTensor, tasks: [TaskRequest], metadata: [String: String]?, model: ModelID, preprocessing: String,
                timings: Timings) {
        (self.id, self.studyID, self.image, self.canvas, self.anatomies, self.labels) = (id, studyID, image, canvas, anatomies, labels)
        (self.imageTokens, self.tasks, self.metadata, self.model, self.preprocessing, self.timings) = (imageTokens, tasks, metadata, model, preprocessing, timings)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case schema, id, studyID = "study_id", image, canvas, anatomies, labels, imageTokens = "image_tokens", tasks, metadata
        case model, preprocessing, timings
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: Self.schema)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireSchema(Self.schema, forKey: .schema)
        id = try MessageID.validated(try c.decode(String.self, forKey: .id), in: c, key: .id)
        studyID = try StudyID.validated(try c.decode(String.self, forKey: .studyID), in: c, key: .studyID)
        image = try c.decode(ImageInfo.self, forKey: .image)
        canvas = try c.decode(Int.self, forKey: .canvas)
        anatomies = try c.decode([Anatomy].self, forKey: .anatomies)
        guard canvas > 0, (1...64).contains(anatomies.count) else {
            throw DecodingError.dataCorruptedError(forKey: .anatomies, in: c, debugDescription: "a positive canvas and 1-64 anatomies are required")
        }
        labels = try c.decode([String: Float].self, forKey: .labels)
        imageTokens = try c.decode(HalfTensor.self, forKey: .imageTokens)
        tasks = try c.decode([TaskRequest].self, forKey: .tasks)
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata)
        model = try c.decode(ModelID.self, forKey: .model)
        preprocessing = try c.decode(String.self, forKey: .preprocessing)
        timings = try c.decode(Timings.self, forKey: .timings)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(id, forKey: .id); try c.encode(studyID, forKey: .studyID); try c.encode(image, forKey: .image)
        try c.encode(canvas, forKey: .canvas); try c.encode(anatomies, forKey: .anatomies); try c.encode(labels, forKey: .labels)
        try c.encode(imageTokens, forKey: .imageTokens); try c.encode(tasks, forKey: .tasks); try c.encodeIfPresent(metadata, forKey: .metadata)
        try c.encode(model, forKey: .model); try c.encode(preprocessing, forKey: .preprocessing); try c.encode(timings, forKey: .timings)
    }
}

/// A model's name and version (its `model.json`).
public struct ModelID: Codable, Sendable, Equatable {
    public let name: String, version: String
    public init(name: String, version: String) { (self.name, self.version) = (name, version) }
    enum CodingKeys: String, CodingKey, CaseIterable { case name, version }
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "model")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        (name, version) = (try c.decode(String.self, forKey: .name), try c.decode(String.self, forKey: .version))
    }
}
