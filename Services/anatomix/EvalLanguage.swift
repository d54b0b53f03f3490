import Contracts
import Evaluation
import Foundation
import Pipeline

/// `eval`'s language-model part: every manifest task example of the first `limit` plain (and, with
/// `--flipped`, flipped) studies asked of the model (greedy), scored against the manifest's answer.
struct LanguageEvaluation {
    /// Manifest task names per `--tasks` name.
    static let taskNames: [String: String] = [
        "phrase": "phrase_grounding", "anatomy_lm": "anatomy_grounding", "gd": "grounded_diagnosis", "gc": "grounded_captioning",
        "report": "report_generation", "vqa": "vqa", "understanding": "image_understanding",
    ]

    let limit: Int
    let flipped: Bool
    let tasks: Set<String>                         // manifest task names
    var groups: [String: LanguageTaskMetrics] = [:]
    var counts: [String: Int] = [:]
    /// Per phrase-grounding sample of plain studies: the study's index in the manifest.
    var phraseStudies: [Int] = []
    /// Anatomy-grounding answers for a sided anatomy whose box overlaps the true box of that side
    /// more than the other side's, per group (left/right identity of the language model's boxes).
    var leftRight: [String: (correct: Int, total: Int)] = [:]
    /// Display name -> catalog name (anatomy-grounding questions use display names).
    var catalogName: [String: String] = [:]
    var decodeSeconds = 0.0, generated = 0, prefillSeconds = 0.0, promptTokens = 0
    /// Phrase-grounding IoU per group and finding kind (the manifest finding whose box is the answer's).
    var phraseByKind: [String: [String: KindScore]] = [:]
    struct KindScore: Encodable { var iou = 0.0, n = 0 }
    /// Closed VQA per group and question form (its first words: "is there", "which side", "how large").
    var vqaByForm: [String: [String: FormScore]] = [:]
    struct FormScore: Encodable { var correct = 0, n = 0 }
    /// Per group and finding kind: how the generated reports of abnormal studies state each inserted
    /// finding — with its side (as `findings_stated` counts it), on the other side only, stated with
    /// no side or both sides, or not at all.
    var reportByKind: [String: [String: ReportKindScore]] = [:]
    struct ReportKindScore: Encodable {
        var stated = 0, otherSide = 0, unsided = 0, missed = 0, n = 0
        enum CodingKeys: String, CodingKey { case stated, otherSide = "other_side", unsided, missed, n }
    }
    /// Every question asked and its answer, for `answers.jsonl`.
    var answered: [AnsweredExample] = []

    /// One line of `answers.jsonl`: a task example, the manifest's answer and the model's.
    struct AnsweredExample: Encodable {
        let study: String, group: String, task: String, instruction: String, truth: String
        let text: String, raw: String, boxes: [[Double]], phrases: [TaskAnswer.Phrase], parsed: Bool
    }

    /// Which studies to ask (decided before the run, in manifest order) and with which examples; a
    /// grounding example whose answer has no box is an error here, before any model runs.
    func plan(_ studies: [ManifestStudy]) throws -> [[ManifestStudy.TaskExample]] {
        var taken = [String: Int]()
        return try studies.map { study in
            guard study.variant == nil, study.flipped == false || flipped, let examples = study.tasks else { return [] }
            let group = study.flipped ? "flipped" : "plain"
            guard taken[group, default: 0] < limit else { return [] }
            let picked = examples.filter { tasks.contains($0.task) }
            for e in picked where ["phrase_grounding", "anatomy_grounding"].contains(e.task) && TextMetrics.pixelBoxes(e.answer).isEmpty {
                throw EvaluationError("study \(study.id): the \(e.task) answer \"\(e.answer.prefix(120))\" has no <box>(x1,y1),(x2,y2)</box> to score against")
            }
            if !picked.isEmpty { taken[group, default: 0] += 1 }
            return picked
        }
    }

    mutating func add(study: ManifestStudy, index: Int, examples: [ManifestStudy.TaskExample], answers: [TaskAnswer]) {
        guard !examples.isEmpty else { return }
        let group = study.flipped ? "flipped" : "plain"
        counts[group, default: 0] += 1
        let truth = StudyFindings(kinds: (study.findings ?? []).map { ($0.kind, $0.side) })
        for (example, answer) in zip(examples, answers) {
            let phrases = answer.phrases.map { TaskSample.Phrase(phrase: $0.phrase, boxes: $0.boxes) }
            groups[group, default: LanguageTaskMetrics()].add(
                TaskSample(task: example.task, instruction: example.instruction, truth: example.answer, text: answer.text,
                           boxes: answer.boxes, phrases: phrases),
                findings: truth)
            if group == "plain" && example.task == "phrase_grounding" { phraseStudies.append(index) }
            if example.task == "vqa", example.instruction.contains("Options:") {
                let form = example.instruction.lowercased().split(separator: " ").prefix(2).joined(separator: " ")
                let right = TextMetrics.normalizedAnswer(answer.text) == TextMetrics.normalizedAnswer(example.answer)
                vqaByForm[group, default: [:]][form, default: FormScore()].n += 1
                if right { vqaByForm[group, default: [:]][form, default: FormScore()].correct += 1 }
            }
            if example.task == "report_generation" {
                for finding in truth.kinds {
                    var score = reportByKind[group, default: [:]][finding.kind, default: ReportKindScore()]
                    score.n += 1
                    let other = ["left": "right", "right": "left"][finding.side ?? ""]
                    if FindingMentions.states(finding.kind, side: finding.side, in: answer.text) { score.stated += 1 }
                    else if let other, FindingMentions.states(finding.kind, side: other, in: answer.text) { score.otherSide += 1 }
                    else if FindingMentions.states(finding.kind, side: nil, in: answer.text) { score.unsided += 1 }
                    else { score.missed += 1 }
                    reportByKind[group, default: [:]][finding.kind] = score
                }
            }
            if example.task == "phrase_grounding", let kind = Self.kind(of: example, in: study) {
                let iou = GroundingTaskMetrics.sampleIoU(TaskSample(task: example.task, instruction: example.instruction, truth: example.answer,
                                                                    text: answer.text, boxes: answer.boxes))
                phraseByKind[group, default: [:]][kind, default: KindScore()].iou += iou
                phraseByKind[group, default: [:]][kind, default: KindScore()].n += 1
            }
            answered.append(AnsweredExample(study: study.id, group: group, task: example.task, instruction: example.instruction,
                                            truth: example.answer, text: answer.text, raw: answer.raw, boxes: answer.boxes,
                                            phrases: answer.phrases, parsed: answer.parsed))
            if example.task == "anatomy_grounding", let verdict = sideVerdict(example: example, answer: answer, study: study) {
                leftRight[group, default: (0, 0)].total += 1
                if verdict { leftRight[group, default: (0, 0)].correct += 1 }
            }
            decodeSeconds += answer.timings.decode; generated += answer.timings.generatedTokens
            prefillSeconds += answer.timings.prefill; promptTokens += answer.timings.promptTokens
        }
    }

    /// The kind of the study's finding whose box is the example's true box (IoU above 0.9), if the manifest gives boxes.
    static func kind(of example: ManifestStudy.TaskExample, in study: ManifestStudy) -> String? {
        guard let truth = TextMetrics.pixelBoxes(example.answer).first else { return nil }
        let scored = (study.findings ?? []).compactMap { f in f.box.flatMap { Box($0) }.map { (kind: f.kind, iou: $0.iou(truth)) } }
        return scored.max { $0.iou < $1.iou }.flatMap { $0.iou > 0.9 ? $0.kind : nil }
    }

    /// Phrase-grounding mean IoU per finding kind, for results.json (`n` samples each).
    var phraseKindScores: [String: [String: KindScore]] {
        phraseByKind.mapValues { $0.mapValues { KindScore(iou: $0.iou / Double(max($0.n, 1)), n: $0.n) } }
    }

    /// Whether the model's box for "left X" / "right X" lies on X's side (nil: not a sided anatomy or no box).
    func sideVerdict(example: ManifestStudy.TaskExample, answer: TaskAnswer, study: ManifestStudy) -> Bool? {
        guard let asked = GroundingTaskMetrics.referencePhrase(example.answer).map({ $0.lowercased() }).map({ catalogName[$0] ?? $0 }) else { return nil }
        let opposite: String
        if asked.hasPrefix("left ") { opposite = "right " + asked.dropFirst(5) }
        else if asked.hasPrefix("right ") { opposite = "left " + asked.dropFirst(6) }
        else { return nil }
        let truth = Dictionary(study.anatomies.map { ($0.name, $0.box) }, uniquingKeysWith: { a, _ in a })
        guard let same = truth[asked].flatMap({ Box($0) }), let other = truth[opposite].flatMap({ Box($0) }) else { return nil }
        guard let box = answer.boxes.first.flatMap({ Box($0) }) else { return false }     // no box: not on the right side
        return box.iou(same) > box.iou(other)
    }

    /// Left/right identity of the anatomy-grounding boxes per group (an answer without a box counts as wrong).
    var leftRightIdentity: [String: Double] {
        leftRight.compactMapValues { $0.total == 0 ? nil : Double($0.correct) / Double($0.total) }
    }

    func blocks(with text: TextGenerationMetrics) throws -> [String: LanguageScores] {
        var out = [String: LanguageScores]()
        for group in ["plain", "flipped"] {
            guard let metrics = groups[group], !metrics.isEmpty else { continue }
            let s = try metrics.scores(with: text)
            out[group] = s
            print("\nlanguage tasks, \(group == "plain" ? "studies" : "flipped studies") (\(counts[group] ?? 0), greedy)")
            for (name, g) in [("phrase grounding", s.phrase), ("anatomy grounding", s.anatomy)] {
                guard let g else { continue }
                print("  " + name.padding(toLength: 22, withPad: " ", startingAt: 0)
                      + String(format: "mean IoU %.3f   mAP %.3f   (n %d, no box %d)", g.iou, g.map, g.n, g.noBox))
            }
            for (name, g) in [("grounded diagnosis", s.gd?.text), ("grounded captioning", s.gc?.text), ("reports", s.report?.text)] {
                guard let g else { continue }
                print("  " + name.padding(toLength: 22, withPad: " ", startingAt: 0)
                      + String(format: "ROUGE-L %.3f  BLEU-4 %.3f  METEOR %.3f  BERTScore %.3f  CheXpert-14 F1 %.3f (macro %.3f, without No Finding %.3f)  finding-tuple F1 %.3f  (n %d)",
                             g.rougeL, g.bleu4, g.meteor, g.bertscore, g.chexpertF1, g.chexpertMacroF1, g.chexpertF1Findings, g.findingF1, g.n))
            }
            if let a = s.gd?.accuracy { print(String(format: "  grounded diagnosis    correct finding %.3f", a)) }
            if let a = s.vqa { print(String(format: "  VQA (closed)          accuracy %.3f   (n %d)", a.accuracy, a.n)) }
            if let r = s.vqaOpen { print(String(format: "  VQA (open)            ROUGE-L %.3f   (n %d)", r.rougeL, r.n)) }
            if let u = s.understanding { print(String(format: "  image understanding   micro-F1 %.3f   (n %d)", u.microF1, u.n)) }
            if let forms = vqaByForm[group], !forms.isEmpty {
                let line = forms.sorted { ($0.value.n, $1.key) > ($1.value.n, $0.key) }.map {
                    String(format: "\"%@ ...\" %.3f (%d)", $0.key, Double($0.value.correct) / Double($0.value.n), $0.value.n)
                }
                print("  VQA (closed) by question: " + line.joined(separator: ", "))
            }
            if let kinds = phraseKindScores[group], !kinds.isEmpty {
                let line = kinds.sorted { ($0.value.n, $1.key) > ($1.value.n, $0.key) }.map { String(format: "%@ %.2f (%d)", $0.key, $0.value.iou, $0.value.n) }
                print("  phrase grounding by finding kind: " + line.joined(separator: ", "))
            }
            if let kinds = reportByKind[group], !kinds.isEmpty {
                let line = kinds.sorted { ($0.value.n, $1.key) > ($1.value.n, $0.key) }.map {
                    "\($0.key) \($0.value.stated)/\($0.value.n)" + ($0.value.otherSide > 0 ? " (\($0.value.otherSide) other side)" : "")
                        + ($0.value.unsided > 0 ? " (\($0.value.unsided) no side)" : "")
                }
                print("  reports by finding kind (stated with its side / inserted): " + line.joined(separator: ", "))
            }
            if let lr = leftRight[group], lr.total > 0 {
                print(String(format: "  anatomy grounding     left/right identity %.1f%% (%d of %d sided anatomies)", 100 * Double(lr.correct) / Double(lr.total), lr.correct, lr.total))
            }
            if let r = s.report {
                print(String(format: "  reports               every finding stated with its side %.3f (n %d); none invented in normal studies %.3f (n %d)",
                             r.findingsStated, r.nAbnormal, r.noneInvented, r.nNormal))
            }
        }
        if generated > 0 {
            print(String(format: "  language model: prefill %.0f tokens/s, decode %.0f tokens/s (one thread per study)",
                         Double(promptTokens) / max(prefillSeconds, 1e-9), Double(generated) / max(decodeSeconds, 1e-9)))
        }
        return out
    }
}
