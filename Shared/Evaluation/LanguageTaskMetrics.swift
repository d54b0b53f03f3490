import Foundation

/// One generated answer next to the manifest's answer for the same instruction.
public struct TaskSample: Sendable {
    /// A phrase the model wrapped in `<ref>` and the boxes it gave it (original pixels).
    public struct Phrase: Sendable {
        public let phrase: String, boxes: [[Double]]
        public init(phrase: String, boxes: [[Double]]) { (self.phrase, self.boxes) = (phrase, boxes) }
    }

    public let task: String                  // manifest task name (phrase_grounding, vqa, ...)
    public let instruction: String
    public let truth: String                 // the manifest answer, boxes in original pixels
    public let text: String                  // the model's readable answer
    public let boxes: [[Double]]             // the model's boxes, original pixels
    public let phrases: [Phrase]
    public init(task: String, instruction: String, truth: String, text: String, boxes: [[Double]], phrases: [Phrase] = []) {
        (self.task, self.instruction, self.truth, self.text, self.boxes, self.phrases) = (task, instruction, truth, text, boxes, phrases)
    }
}

/// A study's inserted findings, for the report checks.
public struct StudyFindings: Sendable {
    public let kinds: [(kind: String, side: String?)]
    public init(kinds: [(kind: String, side: String?)]) { self.kinds = kinds }
}

/// The language tasks' scores of one group of studies (plain or flipped); `results.json` keys.
public struct LanguageScores: Encodable, Sendable {
    /// A generating task's text scores, with the grounded diagnosis's finding accuracy.
    public struct Generated: Encodable, Sendable {
        public let accuracy: Double?
        public let text: TextGenerationScores
        public func encode(to encoder: any Encoder) throws {
            try text.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encodeIfPresent(accuracy, forKey: .accuracy)
        }
        enum Keys: String, CodingKey { case accuracy }
    }
    public struct Accuracy: Encodable, Sendable { public let accuracy: Double, n: Int }
    public struct Rouge: Encodable, Sendable { public let rougeL: Double, n: Int
        enum CodingKeys: String, CodingKey { case rougeL = "rouge_l", n } }
    public struct MicroF1: Encodable, Sendable { public let microF1: Double, n: Int
        enum CodingKeys: String, CodingKey { case microF1 = "micro_f1", n } }
    public struct Report: Encodable, Sendable {
        public let findingsStated: Double, nAbnormal: Int, noneInvented: Double, nNormal: Int
        public let text: TextGenerationScores
        enum CodingKeys: String, CodingKey {
            case findingsStated = "findings_stated", nAbnormal = "n_abnormal", noneInvented = "none_invented", nNormal = "n_normal"
        }
        public func encode(to encoder: any Encoder) throws {
            try text.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(findingsStated, forKey: .findingsStated); try c.encode(nAbnormal, forKey: .nAbnormal)
            try c.encode(noneInvented, forKey: .noneInvented); try c.encode(nNormal, forKey: .nNormal)
        }
    }
    public var phrase: GroundingTaskMetrics.Scores?, anatomy: GroundingTaskMetrics.Scores?
    public var gd: Generated?, gc: Generated?, report: Report?
    public var vqa: Accuracy?, vqaOpen: Rouge?, understanding: MicroF1?
    enum CodingKeys: String, CodingKey {
        case phrase, anatomy = "anatomy_lm", gd, gc, vqa, vqaOpen = "vqa_open", understanding, report
    }
}

/// Gathers samples and scores them: phrase and anatomy grounding (`GroundingTaskMetrics`: IoU with
/// no box scored 0 and counted, COCO mAP), grounded diagnosis (the finding named before ':' right,
/// and the text scores), grounded captioning and reports (`TextGenerationMetrics`), closed VQA exact
/// answers, open VQA ROUGE-L, image-understanding micro-F1 over label sets; and per report: every
/// inserted finding stated with its side (abnormal studies), none stated (normal studies).
public struct LanguageTaskMetrics: Sendable {
    var samples: [TaskSample] = []
    var reports: [(sample: TaskSample, findings: StudyFindings)] = []

    public init() {}

    public mutating func add(_ sample: TaskSample, findings: StudyFindings) {
        if sample.task == "report_generation" { reports.append((sample, findings)) } else { samples.append(sample) }
    }

    public var isEmpty: Bool { samples.isEmpty && reports.isEmpty }

    /// The samples of one task, in the order added.
    public func samples(of task: String) -> [TaskSample] {
        task == "report_generation" ? reports.map(\.sample) : samples.filter { $0.task == task }
    }

    public func scores(with text: TextGenerationMetrics) throws -> LanguageScores {
        var s = LanguageScores()
        s.phrase = try GroundingTaskMetrics.score(samples(of: "phrase_grounding"), embedder: text.embedder)
        s.anatomy = try GroundingTaskMetrics.score(samples(of: "anatomy_grounding"), embedder: text.embedder)
        let gd = samples(of: "grounded_diagnosis")
        if let scores = try text.score(gd.map { ($0.text, $0.truth) }) {
            let label = { (t: String) in TextMetrics.normalizedAnswer(String(t.split(separator: ":").first ?? "")) }
            s.gd = .init(accuracy: Double(gd.filter { label($0.text) == label($0.truth) }.count) / Double(gd.count), text: scores)
        }
        if let scores = try text.score(samples(of: "grounded_captioning").map { ($0.text, $0.truth) }) { s.gc = .init(accuracy: nil, text: scores) }
        let vqa = samples(of: "vqa")
        let closed = vqa.filter { $0.instruction.contains("Options:") }, open = vqa.filter { !$0.instruction.contains("Options:") }
        if !closed.isEmpty {
            let right = closed.filter { TextMetrics.normalizedAnswer($0.text) == TextMetrics.normalizedAnswer($0.truth) }.count
            s.vqa = .init(accuracy: Double(right) / Double(closed.count), n: closed.count)
        }
        if !open.isEmpty { s.vqaOpen = .init(rougeL: open.map { TextMetrics.rougeL($0.text, $0.truth) }.reduce(0, +) / Double(open.count), n: open.count) }
        let understanding = samples(of: "image_understanding").filter { $0.instruction.hasPrefix("Identify any diseases") }
        if !understanding.isEmpty {
            var tp = 0, fp = 0, fn = 0
            for u in understanding {
                let p = TextMetrics.labelSet(u.text), t = TextMetrics.labelSet(u.truth)
                tp += p.intersection(t).count; fp += p.subtracting(t).count; fn += t.subtracting(p).count
            }
            s.understanding = .init(microF1: tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn), n: understanding.count)
        }
        if let scores = try text.score(reports.map { ($0.sample.text, $0.sample.truth) }) {
            let abnormal = reports.filter { !$0.findings.kinds.isEmpty }, normal = reports.filter { $0.findings.kinds.isEmpty }
            let stated = abnormal.filter { r in r.findings.kinds.allSatisfy { FindingMentions.states($0.kind, side: $0.side, in: r.sample.text) } }
            let clean = normal.filter { r in FindingMentions.kinds.allSatisfy { FindingMentions.sentences(stating: $0, in: r.sample.text).isEmpty } }
            let statedFraction: Double = abnormal.isEmpty ? 0 : Double(stated.count) / Double(abnormal.count)
            let cleanFraction: Double = normal.isEmpty ? 0 : Double(clean.count) / Double(normal.count)
            s.report = .init(findingsStated: statedFraction, nAbnormal: abnormal.count, noneInvented: cleanFraction, nNormal: normal.count, text: scores)
        }
        return s
    }
}
