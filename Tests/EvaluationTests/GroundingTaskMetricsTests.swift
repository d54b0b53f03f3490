import Testing
@testable import Evaluation

/// Phrase-grounding scores: IoU with a missing box scored 0, and mAP whose classes follow the MiniLM
/// (here: word-hash) cosine of the predicted and true phrases at >= 0.8.
@Suite struct GroundingTaskMetricsTests {
    func sample(truthPhrase: String, truthBox: String, said: String?, box: [Double]?) -> TaskSample {
        let truth = "<ref>\(truthPhrase)</ref>\(truthBox)"
        let boxes = box.map { [$0] } ?? []
        let phrases = said.map { [TaskSample.Phrase(phrase: $0, boxes: boxes)] } ?? []
        return TaskSample(task: "phrase_grounding", instruction: "Please locate the following phrase: \(truthPhrase)", truth: truth,
                          text: said ?? "", boxes: boxes, phrases: phrases)
    }

    @Test func theRightBoxUnderTheWrongPhraseIsNotAHit() throws {
        let box = "<box>(10,10),(60,60)</box>"
        let same = sample(truthPhrase: "small left pleural effusion", truthBox: box, said: "small left pleural effusion", box: [10, 10, 60, 60])
        let other = sample(truthPhrase: "small left pleural effusion", truthBox: box, said: "large pneumothorax", box: [10, 10, 60, 60])
        let right = try #require(try GroundingTaskMetrics.score([same, same], embedder: WordHashEmbedder()))
        let wrong = try #require(try GroundingTaskMetrics.score([other, other], embedder: WordHashEmbedder()))
        #expect(right.iou == 1 && abs(right.map - 1) < 1e-9)
        #expect(wrong.iou == 1, "IoU ignores the phrase")
        #expect(wrong.map == 0, "mAP needs the phrase to match (cosine >= 0.8)")
    }

    @Test func aSampleWithoutABoxScoresZeroAndIsCounted() throws {
        let box = "<box>(10,10),(60,60)</box>"
        let found = sample(truthPhrase: "cardiomegaly", truthBox: box, said: "cardiomegaly", box: [10, 10, 60, 60])
        let silent = sample(truthPhrase: "cardiomegaly", truthBox: box, said: nil, box: nil)
        let s = try #require(try GroundingTaskMetrics.score([found, silent], embedder: WordHashEmbedder()))
        #expect(s.iou == 0.5 && s.noBox == 1 && s.n == 2)
        #expect(abs(s.map - 51.0 / 101.0) < 1e-9, "recall stops at 0.5")
        #expect(GroundingTaskMetrics.referencePhrase("The <ref>left lung</ref> is at <box>(1,2),(3,4)</box>") == "left lung")
    }

    @Test func aBoxUnderAnotherSamplesPhraseIsAFalsePositiveOfThatClass() throws {
        // Sample 1 asks for "cardiomegaly" and is answered right; sample 2 asks for "pleural effusion"
        // but names "cardiomegaly": its box counts against the cardiomegaly class (precision 1/2 after
        // the first hit, recall 1) and the effusion goes unfound.
        let box = "<box>(10,10),(60,60)</box>"
        let hit = sample(truthPhrase: "cardiomegaly", truthBox: box, said: "cardiomegaly", box: [10, 10, 60, 60])
        let misnamed = sample(truthPhrase: "pleural effusion", truthBox: box, said: "cardiomegaly", box: [10, 10, 60, 60])
        let s = try #require(try GroundingTaskMetrics.score([hit, misnamed], embedder: WordHashEmbedder()))
        // cardiomegaly: AP 1 (the hit comes first); effusion: AP 0 -> mean 0.5 at every threshold
        #expect(abs(s.map - 0.5) < 1e-9 && s.iou == 1)
        let alone = try #require(try GroundingTaskMetrics.score([hit], embedder: WordHashEmbedder()))
        #expect(abs(alone.map - 1) < 1e-9)
    }

    @Test func aTrueAnswerWithoutABoxIsAnError() {
        let broken = sample(truthPhrase: "cardiomegaly", truthBox: "(10, 10), (60, 60)", said: "cardiomegaly", box: [10, 10, 60, 60])
        #expect(throws: EvaluationError.self) { try GroundingTaskMetrics.score([broken], embedder: WordHashEmbedder()) }
    }
}
