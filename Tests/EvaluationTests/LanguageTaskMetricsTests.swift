import Foundation
import Testing
@testable import Evaluation

@Suite struct LanguageTaskMetricsTests {
    @Test func rougeLIsTheLCSF1OverWords() {
        #expect(TextMetrics.rougeL("Left lung is healthy.", "left lung is healthy") == 1)
        // LCS "the cat the" = 3 of 4 and 5 words: P 3/4, R 3/5 -> F 2/3
        #expect(abs(TextMetrics.rougeL("the cat sat the", "the cat on the mat") - 2.0 / 3.0) < 1e-12)
        #expect(TextMetrics.rougeL("", "x") == 0 && TextMetrics.rougeL("a b", "c d") == 0)
    }

    @Test func findingsAreStatedOnlyWhenPositiveAndOnTheirSide() {
        let report = "Findings:\nNo pneumothorax. There is a small right pleural effusion.\n\nImpression:\nLarge pleural effusion (right)."
        #expect(FindingMentions.states("pleural effusion", side: "right", in: report))
        #expect(!FindingMentions.states("pleural effusion", side: "left", in: report))
        #expect(!FindingMentions.states("pneumothorax", side: nil, in: report), "negated")
        #expect(FindingMentions.states("pleural effusion", side: "bilateral", in: report), "bilateral: any side")
        #expect(FindingMentions.sentences(stating: "cardiomegaly", in: "The heart is enlarged.").count == 1)
    }

    func sample(_ task: String, _ instruction: String, truth: String, text: String, boxes: [[Double]] = [],
                phrases: [TaskSample.Phrase] = []) -> TaskSample {
        TaskSample(task: task, instruction: instruction, truth: truth, text: text, boxes: boxes, phrases: phrases)
    }

    @Test func scoresFailForNoiseAndPassForTheTruth() throws {
        var right = LanguageTaskMetrics(), wrong = LanguageTaskMetrics()
        let none = StudyFindings(kinds: []), effusion = StudyFindings(kinds: [("pleural effusion", "left")])
        let truthBox = "The <ref>left lung</ref> is located at the coordinates <box>(10,10),(110,210)</box> on the image."
        let named = [TaskSample.Phrase(phrase: "left lung", boxes: [[10, 10, 110, 210]])]
        right.add(sample("anatomy_grounding", "Where is the left lung?", truth: truthBox, text: "left lung", boxes: [[10, 10, 110, 210]], phrases: named), findings: none)
        wrong.add(sample("anatomy_grounding", "Where is the left lung?", truth: truthBox, text: "left lung", boxes: [[150, 10, 250, 210]],
                         phrases: [.init(phrase: "left lung", boxes: [[150, 10, 250, 210]])]), findings: none)
        wrong.add(sample("anatomy_grounding", "Where is the left lung?", truth: truthBox, text: "no box"), findings: none)
        right.add(sample("grounded_diagnosis", "?", truth: "Edema: moderate pulmonary edema.", text: "Edema: moderate pulmonary edema."), findings: none)
        wrong.add(sample("grounded_diagnosis", "?", truth: "Edema: moderate pulmonary edema.", text: "Pneumothorax: small."), findings: none)
        right.add(sample("vqa", "Is there edema? Options: yes, no.", truth: "yes", text: "Yes."), findings: none)
        wrong.add(sample("vqa", "Is there edema? Options: yes, no.", truth: "yes", text: "no"), findings: none)
        right.add(sample("image_understanding", "Identify any diseases visible", truth: "Edema, Pleural Effusion.", text: "Pleural Effusion, Edema."), findings: none)
        wrong.add(sample("image_understanding", "Identify any diseases visible", truth: "Edema, Pleural Effusion.", text: "No Finding."), findings: none)
        let effusionReport = "Findings:\nSmall left pleural effusion.\n\nImpression:\nLeft pleural effusion."
        right.add(sample("report_generation", "Generate report:\n", truth: effusionReport, text: effusionReport), findings: effusion)
        wrong.add(sample("report_generation", "Generate report:\n", truth: effusionReport, text: "Small right pneumothorax."), findings: effusion)
        right.add(sample("report_generation", "Generate report:\n", truth: "No pleural effusion. Lungs are clear.", text: "No pleural effusion. Lungs are clear."), findings: none)
        wrong.add(sample("report_generation", "Generate report:\n", truth: "No pleural effusion. Lungs are clear.", text: "Cardiomegaly."), findings: none)
        let metrics = try textMetrics(anatomies: ["left lung", "right lung"])
        let r = try right.scores(with: metrics), w = try wrong.scores(with: metrics)
        #expect(r.anatomy?.iou == 1)
        #expect(abs((r.anatomy?.map ?? 0) - 1) < 1e-9, "pycocotools divides by tp + fp + eps")
        #expect(r.gd?.accuracy == 1 && r.vqa?.accuracy == 1 && r.understanding?.microF1 == 1)
        #expect(r.report?.findingsStated == 1 && r.report?.noneInvented == 1)
        #expect(r.gd?.text.rougeL == 1 && r.gd?.text.bleu4 ?? 0 > 0.99 && r.gd?.text.meteor ?? 0 > 0.99 && abs((r.gd?.text.bertscore ?? 0) - 1) < 1e-9)
        #expect(r.report?.text.chexpertF1 == 1 && r.report?.text.findingF1 ?? 0 > 0.99)
        #expect(w.anatomy?.iou == 0 && w.anatomy?.map == 0 && w.anatomy?.noBox == 1 && w.anatomy?.n == 2)
        #expect(w.gd?.accuracy == 0 && w.vqa?.accuracy == 0 && w.understanding?.microF1 == 0)
        #expect(w.report?.findingsStated == 0 && w.report?.noneInvented == 0)
        #expect((w.gd?.text.rougeL ?? 1) < 0.3 && (w.gd?.text.meteor ?? 1) < 0.3 && (w.report?.text.chexpertF1 ?? 1) < 0.5)
    }

    @Test func resultsJSONBlocksHaveExactlyTheDocumentedKeys() throws {
        var m = LanguageTaskMetrics()
        let none = StudyFindings(kinds: [])
        let box = "<ref>left lung</ref><box>(10,10),(110,210)</box>"
        m.add(sample("phrase_grounding", "Please locate the following phrase: left lung", truth: box, text: "left lung",
                     boxes: [[10, 10, 110, 210]], phrases: [.init(phrase: "left lung", boxes: [[10, 10, 110, 210]])]), findings: none)
        m.add(sample("anatomy_grounding", "Where is the left lung?", truth: box, text: "left lung", boxes: [[10, 10, 110, 210]]), findings: none)
        m.add(sample("grounded_diagnosis", "?", truth: "Edema: mild edema.", text: "Edema: mild edema."), findings: none)
        m.add(sample("grounded_captioning", "?", truth: "Left lung is healthy.", text: "Left lung is healthy."), findings: none)
        m.add(sample("vqa", "Is there edema? Options: yes, no.", truth: "yes", text: "yes"), findings: none)
        m.add(sample("vqa", "What is seen in the left lung?", truth: "Left lung is healthy.", text: "Left lung is healthy."), findings: none)
        m.add(sample("image_understanding", "Identify any diseases visible", truth: "Edema.", text: "Edema."), findings: none)
        m.add(sample("report_generation", "Generate report:\n", truth: "No effusion.", text: "No effusion."), findings: none)
        let metrics = try textMetrics(anatomies: ["left lung"])
        let object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(try m.scores(with: metrics))) as? [String: [String: Any]]
        let blocks = try #require(object)
        let text: Set<String> = ["rouge_l", "bleu4", "meteor", "bertscore", "chexpert_f1", "chexpert_macro_f1", "chexpert_f1_findings", "finding_f1", "n"]
        let grounding: Set<String> = ["iou", "map", "n", "no_box", "map_per_threshold"]
        let expected: [String: Set<String>] = [
            "phrase": grounding, "anatomy_lm": grounding, "gd": text.union(["accuracy"]), "gc": text,
            "report": text.union(["findings_stated", "n_abnormal", "none_invented", "n_normal"]),
            "vqa": ["accuracy", "n"], "vqa_open": ["rouge_l", "n"], "understanding": ["micro_f1", "n"],
        ]
        #expect(Set(blocks.keys) == Set(expected.keys))
        for (block, keys) in expected { #expect(Set(blocks[block]?.keys ?? [:].keys) == keys, "\(block): \(blocks[block] ?? [:])") }
    }

    /// The text scores with the word-hash embedder and the installed WordNet (loaded now, so a missing one fails here).
    func textMetrics(anatomies: [String]) throws -> TextGenerationMetrics {
        let wordNet = WordNet()
        try wordNet.load()
        return TextGenerationMetrics(embedder: WordHashEmbedder(), meteor: Meteor(wordNet: wordNet), clinical: ClinicalMetrics(anatomyNames: anatomies))
    }

    @Test func pixelBoxesAreReadFromGroundTruthAnswers() {
        let boxes = TextMetrics.pixelBoxes("The <ref>x</ref> is at <box>(1,2),(3.5,4)</box><box>(5,6),(7,8)</box>.")
        #expect(boxes == [Box(1, 2, 3.5, 4), Box(5, 6, 7, 8)])
    }
}

/// A real (if simple) embedder for the scores' tests: each word hashed (FNV-1a) to one of 64
/// dimensions; a text's tokens are [CLS], its words, [SEP]; its sentence vector the normalised sum.
struct WordHashEmbedder: TextEmbedder {
    static let dimension = 64

    static func vector(_ word: String) -> [Float] {
        var h: UInt64 = 0xcbf29ce484222325
        for b in word.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        var v = [Float](repeating: 0, count: dimension)
        v[Int(h % UInt64(dimension - 2)) + 2] = 1
        return v
    }

    func tokenStates(_ texts: [String]) throws -> [BERTScore.TokenStates] {
        texts.map { text in
            var rows = [Float](repeating: 0, count: Self.dimension); rows[0] = 1
            for w in TextMetrics.words(text) { rows += Self.vector(w) }
            var sep = [Float](repeating: 0, count: Self.dimension); sep[1] = 1
            return BERTScore.TokenStates(rows: rows + sep, dimension: Self.dimension)
        }
    }

    func sentenceEmbeddings(_ texts: [String]) throws -> [[Float]] {
        texts.map { text in
            var sum = [Float](repeating: 0, count: Self.dimension)
            for w in TextMetrics.words(text) { for (k, x) in Self.vector(w).enumerated() { sum[k] += x } }
            let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? sum.map { $0 / norm } : sum
        }
    }
}
