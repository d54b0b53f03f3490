import Contracts
import Dispatch
import Models
import Pipeline

/// The `analyze` output document (JSON, keys sorted): the three stages' messages flattened into the
/// form a person reads, from the same messages the pipeline's workers exchange.
struct AnalysisReport: Codable {
    struct Anatomy: Codable {
        let index: Int
        let name: String
        let box: [Double]
        let token: [Float]
        let likelyFinding: String?
        let findingKinds: [String]?
        let score: Float?
        let similarity: Float?
        enum CodingKeys: String, CodingKey {
            case index, name, box, token, likelyFinding = "likely_finding", findingKinds = "finding_kinds", score, similarity
        }
    }

    struct Model: Codable {
        let name: String
        let version: String
        let path: String
        init(card: ModelCard, path: String) {
            (name, version, self.path) = (card.name, card.version, path)
        }
    }

    /// Wall time of each step, in seconds.
    struct Timings: Codable {
        let decode: Double, load: Double, perception: Double, backbone: Double, transformer: Double, retrieval: Double
        /// Loading the language model and answering every task.
        let language: Double
        enum CodingKeys: String, CodingKey {
            case decode = "read_seconds", load = "load_seconds", perception = "perception_seconds"
            case backbone = "backbone_seconds", transformer = "transformer_seconds", retrieval = "retrieval_seconds"
            case language = "language_seconds"
        }
    }

    let image: String
    let studyID: String
    let model: Model
    let width: Int
    let height: Int
    let anatomies: [Anatomy]
    let labels: [String: Float]
    let positiveLabels: [String]
    let labelThreshold: Float
    /// One answer per requested task, in order (empty without a language model or tasks).
    let tasks: [TaskAnswer]
    let timings: Timings

    enum CodingKeys: String, CodingKey {
        case image, studyID = "study_id", model, width, height, anatomies, labels, positiveLabels = "positive_labels"
        case labelThreshold = "label_threshold", tasks, timings
    }

    init(image: String, model: Model, grounded: GroundedMessage, result: ResultMessage, decode: Double, load: Double) {
        let perception = grounded.perception
        let findings = Dictionary(grounded.findings.map { ($0.anatomy, $0) }, uniquingKeysWith: { a, _ in a })
        self.image = image
        studyID = result.studyID
        self.model = model
        (width, height) = (perception.image.width, perception.image.height)
        anatomies = perception.anatomies.map {
            Anatomy(index: $0.index, name: $0.name, box: $0.box, token: $0.token, likelyFinding: findings[$0.name]?.sentence,
                    findingKinds: findings[$0.name]?.kinds, score: findings[$0.name]?.score, similarity: findings[$0.name]?.similarity)
        }
        labels = perception.labels
        positiveLabels = perception.labels.filter { $0.value >= PerceptionStage.labelThreshold }.keys.sorted()
        labelThreshold = PerceptionStage.labelThreshold
        tasks = result.tasks
        let t = perception.timings
        timings = Timings(decode: decode, load: load, perception: t.perceptionSeconds, backbone: t.backboneSeconds,
                          transformer: t.transformerSeconds, retrieval: grounded.timings.retrievalSeconds,
                          language: result.timings.languageSeconds)
    }
}

/// Seconds between successive `lap()` calls.
struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds

    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}
