import Evaluation
import Foundation

/// Per-stage wall time per study over an eval run (each study on one core).
struct EvalLatency: Encodable {
    struct Stage: Encodable { let mean: Double, p50: Double, p95: Double, n: Int }
    let perception: Stage?, retrieval: Stage?, language: Stage?

    init(outcomes: [StudyOutcome]) {
        func stage(_ values: [Double]) -> Stage? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            let at = { (q: Double) in sorted[min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))] }
            return Stage(mean: values.reduce(0, +) / Double(values.count), p50: at(0.5), p95: at(0.95), n: values.count)
        }
        perception = stage(outcomes.map(\.perceptionSeconds))
        retrieval = stage(outcomes.filter { $0.findings != nil }.map(\.retrievalSeconds))
        language = stage(outcomes.filter { !$0.answers.isEmpty }.map(\.languageSeconds))
    }

    var rows: [(String, Stage)] {
        [("perception (PNG decode, letterbox, APM)", perception), ("retrieval", retrieval),
         ("language (prompt prefill + all the study's answers)", language)].compactMap { name, s in s.map { (name, $0) } }
    }

    func print() {
        guard !rows.isEmpty else { return }
        Swift.print("\nlatency per study (one core each)")
        for (name, s) in rows {
            Swift.print("  " + name.padding(toLength: 52, withPad: " ", startingAt: 0)
                        + String(format: "mean %.3f s   p50 %.3f s   p95 %.3f s   (n %d)", s.mean, s.p50, s.p95, s.n))
        }
    }
}

/// table.md: the seed's Table 1 columns for this model (plain and flipped studies), then report,
/// VQA and understanding rows, flip robustness and latency.
struct EvalTable {
    let model: String, manifest: String
    let language: [String: LanguageScores]
    let leftRight: [String: Double]
    let leftRightCounts: [String: Int]
    let stageOne: [String: AnatomyResult]
    let latency: EvalLatency

    func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "-" }

    func markdown() -> String {
        var md = "# anatomix eval: \(model) on \(manifest)\n\n"
        md += "Text metrics are per-sample means except CheXpert-14 F1 (micro over all samples). BERTScore uses all-MiniLM-L6-v2 (layer 6), not roberta-large; "
        md += "finding-tuple F1 (finding, anatomy, side, present) is our stand-in for RadGraph-F1, not RadGraph; "
        md += "CheXpert-14 F1 comes from our rule labeler (present or uncertain = positive). A sample without a box scores IoU 0.\n\n"
        md += "| Model | BERTScore GD/GC | ROUGE-L GD/GC | METEOR GD/GC | finding-tuple F1 GD/GC | CheXpert-14 F1 GD/GC | Phrase IoU | Phrase mAP | Anatomy IoU | Anatomy mAP |\n"
        md += "|---|---|---|---|---|---|---|---|---|---|\n"
        for group in ["plain", "flipped"] {
            guard let s = language[group] else { continue }
            let (gd, gc) = (s.gd?.text, s.gc?.text)
            md += "| \(model)\(group == "flipped" ? " (flipped studies)" : "") | \(f(gd?.bertscore))/\(f(gc?.bertscore)) | \(f(gd?.rougeL))/\(f(gc?.rougeL)) "
            md += "| \(f(gd?.meteor))/\(f(gc?.meteor)) | \(f(gd?.findingF1))/\(f(gc?.findingF1)) | \(f(gd?.chexpertF1))/\(f(gc?.chexpertF1)) "
            md += "| \(f(s.phrase?.iou)) | \(f(s.phrase?.map)) | \(f(s.anatomy?.iou)) | \(f(s.anatomy?.map)) |\n"
        }
        md += "\nFlipped studies are other studies rendered mirrored (not mirrored copies of the plain ones): the difference is between two sets.\n"
        md += "\n| Task | Metric | Studies | Flipped studies | difference | n |\n|---|---|---|---|---|---|\n"
        let (p, q) = (language["plain"], language["flipped"])
        func row(_ task: String, _ metric: String, _ a: Double?, _ b: Double?, _ n: Int?) {
            guard a != nil || b != nil else { return }
            let change = a.flatMap { a in b.map { String(format: "%+.3f", $0 - a) } } ?? "-"
            md += "| \(task) | \(metric) | \(f(a)) | \(f(b)) | \(change) | \(n.map(String.init) ?? "-") |\n"
        }
        row("report generation", "ROUGE-L", p?.report?.text.rougeL, q?.report?.text.rougeL, p?.report?.text.n)
        row("report generation", "BLEU-4", p?.report?.text.bleu4, q?.report?.text.bleu4, p?.report?.text.n)
        row("report generation", "METEOR", p?.report?.text.meteor, q?.report?.text.meteor, p?.report?.text.n)
        row("report generation", "BERTScore", p?.report?.text.bertscore, q?.report?.text.bertscore, p?.report?.text.n)
        row("report generation", "CheXpert-14 micro F1", p?.report?.text.chexpertF1, q?.report?.text.chexpertF1, p?.report?.text.n)
        row("report generation", "CheXpert-14 macro F1", p?.report?.text.chexpertMacroF1, q?.report?.text.chexpertMacroF1, p?.report?.text.n)
        row("report generation", "CheXpert micro F1 without No Finding", p?.report?.text.chexpertF1Findings, q?.report?.text.chexpertF1Findings, p?.report?.text.n)
        row("report generation", "finding-tuple F1", p?.report?.text.findingF1, q?.report?.text.findingF1, p?.report?.text.n)
        row("report generation", "every inserted finding stated with its side", p?.report?.findingsStated, q?.report?.findingsStated, p?.report?.nAbnormal)
        row("grounded diagnosis", "correct finding", p?.gd?.accuracy, q?.gd?.accuracy, p?.gd?.text.n)
        row("grounded diagnosis", "CheXpert micro F1 without No Finding", p?.gd?.text.chexpertF1Findings, q?.gd?.text.chexpertF1Findings, p?.gd?.text.n)
        row("VQA (closed)", "accuracy", p?.vqa?.accuracy, q?.vqa?.accuracy, p?.vqa?.n)
        row("VQA (open)", "ROUGE-L", p?.vqaOpen?.rougeL, q?.vqaOpen?.rougeL, p?.vqaOpen?.n)
        row("image understanding", "micro-F1", p?.understanding?.microF1, q?.understanding?.microF1, p?.understanding?.n)
        row("phrase grounding", "mean IoU", p?.phrase?.iou, q?.phrase?.iou, p?.phrase?.n)
        row("phrase grounding", "mAP", p?.phrase?.map, q?.phrase?.map, p?.phrase?.n)
        row("phrase grounding", "samples without a box", p?.phrase.map { Double($0.noBox) }, q?.phrase.map { Double($0.noBox) }, p?.phrase?.n)
        row("anatomy grounding (LM)", "mean IoU", p?.anatomy?.iou, q?.anatomy?.iou, p?.anatomy?.n)
        row("anatomy grounding (LM)", "mAP", p?.anatomy?.map, q?.anatomy?.map, p?.anatomy?.n)
        row("anatomy grounding (LM)", "left/right identity (sided anatomies; no box = wrong)", leftRight["plain"], leftRight["flipped"], leftRightCounts["plain"])
        md += stageOneSection()
        if !latency.rows.isEmpty {
            md += "\n## Latency per study (one core each)\n\n| Stage | mean s | p50 s | p95 s | n |\n|---|---|---|---|---|\n"
            for (name, s) in latency.rows { md += "| \(name) | \(f(s.mean)) | \(f(s.p50)) | \(f(s.p95)) | \(s.n) |\n" }
        }
        return md
    }

    /// Stage one's anatomy boxes: flip robustness and the per-anatomy IoU table.
    func stageOneSection() -> String {
        guard let s = stageOne["anatomy"]?.scores else { return "" }
        var md = "\n## Stage one (APM boxes; change in IoU against the plain studies)\n\n| Group | mean IoU | mAP | left/right identity | boxes |\n|---|---|---|---|---|\n"
        let titled = [("anatomy", "studies"), ("anatomy_flipped", "flipped studies (other studies)"), ("anatomy_pad", "padded variants"),
                      ("anatomy_crop", "cropped variants"), ("anatomy_collimation", "collimated variants"), ("anatomy_hires", "512 px variants")]
        for (key, title) in titled {
            guard let g = stageOne[key] else { continue }
            let t = g.scores
            md += "| \(title) | \(f(t.iou))\(key == "anatomy" ? "" : String(format: " (%+.3f)", t.iou - s.iou)) | \(f(t.map)) | \(String(format: "%.1f%%", g.leftRightIdentity * 100)) | \(t.n) |\n"
        }
        md += "\n| Anatomy | IoU |\n|---|---|\n"
        for (name, v) in s.perAnatomy.sorted(by: { $0.value < $1.value }) { md += "| \(name) | \(f(v)) |\n" }
        return md
    }
}
