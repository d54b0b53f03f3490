import Evaluation
import Foundation
import Pipeline
import Retrieval

/// `eval --tasks language`: every manifest task example of the first `limit` plain and flipped
/// studies asked of the language model (greedy), scored against the manifest's answer.
struct LanguageEvaluation {
    let stage: LanguageStage
    let limit: Int
    var groups: [String: LanguageTaskMetrics] = [:]
    var counts: [String: Int] = [:]
    var decodeSeconds = 0.0, generated = 0, prefillSeconds = 0.0, promptTokens = 0

    mutating func add(study: ManifestStudy, perception: Perception, findings: [String: SentenceBank.Match]) throws {
        guard study.variant == nil, let examples = study.tasks else { return }
        let group = study.flipped ? "flipped" : "plain"
        guard counts[group, default: 0] < limit else { return }
        counts[group, default: 0] += 1
        let context = stage.context(perception, findings: findings)
        let answers = try stage.answer(examples.map { .instruction($0.instruction) }, study: context)
        let truth = StudyFindings(kinds: (study.findings ?? []).map { ($0.kind, $0.side) })
        for (example, answer) in zip(examples, answers) {
            groups[group, default: LanguageTaskMetrics()].add(
                TaskSample(task: example.task, instruction: example.instruction, truth: example.answer, text: answer.text, boxes: answer.boxes),
                findings: truth)
            decodeSeconds += answer.timings.decode; generated += answer.timings.generatedTokens
            prefillSeconds += answer.timings.prefill; promptTokens += answer.timings.promptTokens
        }
    }

    func blocks() -> [String: LanguageScores] {
        var out = [String: LanguageScores]()
        for group in ["plain", "flipped"] {
            guard let metrics = groups[group], !metrics.isEmpty else { continue }
            let s = metrics.scores()
            out[group] = s
            print("\nlanguage tasks, \(group == "plain" ? "studies" : "flipped studies") (\(counts[group] ?? 0), greedy)")
            if let g = s.phrase { print(String(format: "  phrase grounding      mean IoU %.3f   (n %d, no box %d)", g.iou, g.n, g.noBox)) }
            if let g = s.anatomy { print(String(format: "  anatomy grounding     mean IoU %.3f   (n %d, no box %d)", g.iou, g.n, g.noBox)) }
            if let a = s.gd { print(String(format: "  grounded diagnosis    correct finding %.3f   (n %d)", a.accuracy, a.n)) }
            if let r = s.gc { print(String(format: "  grounded captioning   ROUGE-L %.3f   (n %d)", r.rougeL, r.n)) }
            if let a = s.vqa { print(String(format: "  VQA (closed)          accuracy %.3f   (n %d)", a.accuracy, a.n)) }
            if let r = s.vqaOpen { print(String(format: "  VQA (open)            ROUGE-L %.3f   (n %d)", r.rougeL, r.n)) }
            if let u = s.understanding { print(String(format: "  image understanding   micro-F1 %.3f   (n %d)", u.microF1, u.n)) }
            if let r = s.report {
                print(String(format: "  reports               every finding stated with its side %.3f (n %d); none invented in normal studies %.3f (n %d)",
                             r.findingsStated, r.nAbnormal, r.noneInvented, r.nNormal))
            }
        }
        if generated > 0 {
            print(String(format: "  language model: prefill %.0f tokens/s, decode %.0f tokens/s", Double(promptTokens) / max(prefillSeconds, 1e-9),
                         Double(generated) / max(decodeSeconds, 1e-9)))
        }
        return out
    }
}
