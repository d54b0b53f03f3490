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

    func sample(_ task: String, _ instruction: String, truth: String, text: String, boxes: [[Double]] = []) -> TaskSample {
        TaskSample(task: task, instruction: instruction, truth: truth, text: text, boxes: boxes)
    }

    @Test func scoresFailForNoiseAndPassForTheTruth() {
        var right = LanguageTaskMetrics(), wrong = LanguageTaskMetrics()
        let none = StudyFindings(kinds: []), effusion = StudyFindings(kinds: [("pleural effusion", "left")])
        let truthBox = "<ref>left lung</ref><box>(10,10),(110,210)</box>"
        right.add(sample("anatomy_grounding", "Locate the left lung.", truth: truthBox, text: "left lung", boxes: [[10, 10, 110, 210]]), findings: none)
        wrong.add(sample("anatomy_grounding", "Locate the left lung.", truth: truthBox, text: "left lung", boxes: [[150, 10, 250, 210]]), findings: none)
        wrong.add(sample("anatomy_grounding", "Locate the left lung.", truth: truthBox, text: "no box"), findings: none)
        right.add(sample("grounded_diagnosis", "?", truth: "Edema: moderate pulmonary edema.", text: "Edema: mild edema."), findings: none)
        wrong.add(sample("grounded_diagnosis", "?", truth: "Edema: moderate pulmonary edema.", text: "Pneumothorax: small."), findings: none)
        right.add(sample("vqa", "Is there edema? Options: yes, no.", truth: "yes", text: "Yes."), findings: none)
        wrong.add(sample("vqa", "Is there edema? Options: yes, no.", truth: "yes", text: "no"), findings: none)
        right.add(sample("image_understanding", "Identify any diseases visible", truth: "Edema, Pleural Effusion.", text: "Pleural Effusion, Edema."), findings: none)
        wrong.add(sample("image_understanding", "Identify any diseases visible", truth: "Edema, Pleural Effusion.", text: "No Finding."), findings: none)
        right.add(sample("report_generation", "Generate report:\n", truth: "", text: "Small left pleural effusion."), findings: effusion)
        wrong.add(sample("report_generation", "Generate report:\n", truth: "", text: "Small right pleural effusion."), findings: effusion)
        right.add(sample("report_generation", "Generate report:\n", truth: "", text: "No pleural effusion. Lungs are clear."), findings: none)
        wrong.add(sample("report_generation", "Generate report:\n", truth: "", text: "Cardiomegaly."), findings: none)
        let r = right.scores(), w = wrong.scores()
        #expect(r.anatomy?.iou == 1 && r.gd?.accuracy == 1 && r.vqa?.accuracy == 1 && r.understanding?.microF1 == 1)
        #expect(r.report?.findingsStated == 1 && r.report?.noneInvented == 1)
        #expect(w.anatomy?.iou == 0 && w.anatomy?.noBox == 1 && w.anatomy?.n == 2)
        #expect(w.gd?.accuracy == 0 && w.vqa?.accuracy == 0 && w.understanding?.microF1 == 0)
        #expect(w.report?.findingsStated == 0 && w.report?.noneInvented == 0)
    }

    @Test func pixelBoxesAreReadFromGroundTruthAnswers() {
        let boxes = TextMetrics.pixelBoxes("The <ref>x</ref> is at <box>(1,2),(3.5,4)</box><box>(5,6),(7,8)</box>.")
        #expect(boxes == [Box(1, 2, 3.5, 4), Box(5, 6, 7, 8)])
    }
}
