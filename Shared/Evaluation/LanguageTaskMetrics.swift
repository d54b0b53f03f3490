import Foundation

/// One generated answer next to the manifest's answer for the same instruction.
public struct TaskSample: Sendable {
    public let task: String                  // manifest task name (phrase_grounding, vqa, ...)
    public let instruction: String
    public let truth: String                 // the manifest answer, boxes in original pixels
    public let text: String                  // the model's readable answer
    public let boxes: [[Double]]             // the model's boxes, original pixels
    public init(task: String, instruction: String, truth: String, text: String, boxes: [[Double]]) {
        (self.task, self.instruction, self.truth, self.text, self.boxes) = (task, instruction, truth, text, boxes)
    }
}

/// A study's inserted findings, for the report checks.
public struct StudyFindings: Sendable {
    public let kinds: [(kind: String, side: String?)]
    public init(kinds: [(kind: String, side: String?)]) { self.kinds = kinds }
}

/// The language tasks' scores of one group of studies (plain or flipped).
public struct LanguageScores: Encodable, Sendable {
    public struct Grounding: Encodable, Sendable { public let iou: Double, n: Int, noBox: Int
        enum CodingKeys: String, CodingKey { case iou, n, noBox = "no_box" } }
    public struct Accuracy: Encodable, Sendable { public let accuracy: Double, n: Int }
    public struct Rouge: Encodable, Sendable { public let rougeL: Double, n: Int
        enum CodingKeys: String, CodingKey { case rougeL = "rouge_l", n } }
    public struct MicroF1: Encodable, Sendable { public let microF1: Double, n: Int
        enum CodingKeys: String, CodingKey { case microF1 = "micro_f1", n } }
    public struct Report: Encodable, Sendable {
        public let findingsStated: Double, nAbnormal: Int, noneInvented: Double, nNormal: Int
        enum CodingKeys: String, CodingKey {
            case findingsStated = "findings_stated", nAbnormal = "n_abnormal", noneInvented = "none_invented", nNormal = "n_normal"
        }
    }
    public var phrase: Grounding?, anatomy: Grounding?, gd: Accuracy?, gc: Rouge?, vqa: Accuracy?, vqaOpen: Rouge?
    public var understanding: MicroF1?, report: Report?
    enum CodingKeys: String, CodingKey {
        case phrase, anatomy = "anatomy_lm", gd, gc, vqa, vqaOpen = "vqa_open", understanding, report
    }
}

/// Gathers samples and scores them: grounding IoU (best predicted box against the true box; no
/// box scores 0 and is counted), grounded-diagnosis finding accuracy (the label before ':'),
/// captioning ROUGE-L, closed VQA exact answers, image-understanding micro-F1 over label sets, and
/// per report: every inserted finding stated with its side (abnormal studies), none stated (normal).
public struct LanguageTaskMetrics {
    var samples: [TaskSample] = []
    var reports: [(text: String, findings: StudyFindings)] = []

    public init() {}

    public mutating func add(_ sample: TaskSample, findings: StudyFindings) {
        if sample.task == "report_generation" { reports.append((sample.text, findings)) } else { samples.append(sample) }
    }

    public var isEmpty: Bool { samples.isEmpty && reports.isEmpty }

    public func scores() -> LanguageScores {
        var s = LanguageScores()
        func grounding(_ task: String) -> LanguageScores.Grounding? {
            let picked = samples.filter { $0.task == task }
            guard !picked.isEmpty else { return nil }
            var total = 0.0, noBox = 0
            for sample in picked {
                let truth = TextMetrics.pixelBoxes(sample.truth)
                let predicted = sample.boxes.compactMap { Box($0) }
                if predicted.isEmpty { noBox += 1; continue }
                // per predicted box, its best IoU with a true box; the sample scores their mean
                total += predicted.map { p in truth.map { p.iou($0) }.max() ?? 0 }.reduce(0, +) / Double(predicted.count)
            }
            return .init(iou: total / Double(picked.count), n: picked.count, noBox: noBox)
        }
        s.phrase = grounding("phrase_grounding")
        s.anatomy = grounding("anatomy_grounding")
        let gd = samples.filter { $0.task == "grounded_diagnosis" }
        if !gd.isEmpty {
            let label = { (t: String) in TextMetrics.normalizedAnswer(String(t.split(separator: ":").first ?? "")) }
            s.gd = .init(accuracy: Double(gd.filter { label($0.text) == label($0.truth) }.count) / Double(gd.count), n: gd.count)
        }
        let gc = samples.filter { $0.task == "grounded_captioning" }
        if !gc.isEmpty { s.gc = .init(rougeL: gc.map { TextMetrics.rougeL($0.text, $0.truth) }.reduce(0, +) / Double(gc.count), n: gc.count) }
        let vqa = samples.filter { $0.task == "vqa" }
        let closed = vqa.filter { $0.instruction.contains("Options:") }, open = vqa.filter { !$0.instruction.contains("Options:") }
        if !closed.isEmpty {
            let right = closed.filter { TextMetrics.normalizedAnswer($0.text) == TextMetrics.normalizedAnswer($0.truth) }.count
            s.vqa = .init(accuracy: Double(right) / Double(closed.count), n: closed.count)
        }
        if !open.isEmpty { s.vqaOpen = .init(rougeL: open.map { TextMetrics.rougeL($0.text, $0.truth) }.reduce(0, +) / Double(open.count), n: open.count) }
        let understanding = samples.filter { $0.task == "image_understanding" && $0.instruction.hasPrefix("Identify any diseases") }
        if !understanding.isEmpty {
            var tp = 0, fp = 0, fn = 0
            for u in understanding {
                let p = TextMetrics.labelSet(u.text), t = TextMetrics.labelSet(u.truth)
                tp += p.intersection(t).count; fp += p.subtracting(t).count; fn += t.subtracting(p).count
            }
            s.understanding = .init(microF1: tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn), n: understanding.count)
        }
        if !reports.isEmpty {
            let abnormal = reports.filter { !$0.findings.kinds.isEmpty }, normal = reports.filter { $0.findings.kinds.isEmpty }
            let stated = abnormal.filter { r in r.findings.kinds.allSatisfy { FindingMentions.states($0.kind, side: $0.side, in: r.text) } }
            let clean = normal.filter { r in FindingMentions.kinds.allSatisfy { FindingMentions.sentences(stating: $0, in: r.text).isEmpty } }
            let statedFraction: Double = abnormal.isEmpty ? 0 : Double(stated.count) / Double(abnormal.count)
            let cleanFraction: Double = normal.isEmpty ? 0 : Double(clean.count) / Double(normal.count)
            s.report = .init(findingsStated: statedFraction, nAbnormal: abnormal.count, noneInvented: cleanFraction, nNormal: normal.count)
        }
        return s
    }
}
