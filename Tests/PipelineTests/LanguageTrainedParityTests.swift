import Foundation
import Imaging
import Language
import Models
import Tensor
import TestSupport
import Testing
@testable import Pipeline

/// The default model folder and the global-features ablation end to end against PyTorch (Training/export_language_fixtures.py
/// --weights): on the APM fixture's two canvases, Swift's perception -> retrieval -> prompt ->
/// language model gives PyTorch's pooled image features, retrieved kinds, prompt ids, logits
/// (within 1e-3) and greedy answers (identical tokens).
@Suite struct LanguageTrainedParityTests {
    struct Case: Decodable { let image: String, question: String, findings: [[String]], ids: [Int], greedy: [Int] }
    struct Cases: Decodable { let cases: [Case] }

    /// The default folder, and the global-features ablation (Weights/anatomix-tiny-global: image tokens only).
    @Test(arguments: [("Weights/anatomix-tiny", "language-trained"), ("Weights/anatomix-tiny-global", "language-ablation")])
    func stagesMatchPyTorch(folder: String, fixture: String) throws {
        let model = Repository.root.appendingPathComponent(folder).path
        let cases = try Repository.decodeFixture(Cases.self, "\(fixture)/cases.json").cases
        let outputs = try SafeTensorsFile(path: Repository.fixture("\(fixture)/outputs.safetensors").path)
        let perception = try PerceptionStage(modelDirectory: model), retrieval = try RetrievalStage(modelDirectory: model)
        let language = try LanguageStage(modelDirectory: model, catalog: perception.catalog)
        let lm = language.model
        var checked = 0
        for (i, image) in Array(Set(cases.map(\.image))).sorted().enumerated() {
            let picture = try PNGCodec.read(path: Repository.fixture("apm-trained/\(image)").path)
            let p = try perception.perceive(picture)
            let features = Tensor(shape: [17, lm.imageDimension], storage: p.imageFeatures)
            #expect(features.maxAbsDifference(try outputs.tensor("image_features_\(i)")) < 1e-3)
            let study = language.context(p, findings: try retrieval.likelyFindings(p))
            for (q, c) in cases.filter({ $0.image == image }).enumerated() {
                #expect(study.findings == c.findings, "\(image): retrieved kinds")
                let (prefix, count) = try lm.studyEmbeddings(study)
                let question = lm.tokenizer.encode(lm.prompt.questionText(c.question))
                let studyIDs = lm.tokenizer.encode(lm.settings.ablation ? lm.prompt.globalStudyText()
                                                   : lm.prompt.studyText(canvasBoxes: study.canvasBoxes, findings: study.findings, side: 256))
                #expect(studyIDs + question == c.ids, "\(image) \(c.question.debugDescription): prompt ids")
                var cache = lm.llm.makeCache(capacity: 512)
                _ = try lm.llm.forward(prefix, count: count, cache: &cache)
                let logits = try lm.llm.forward(try lm.llm.embed(question), count: question.count, cache: &cache)
                let reference = try outputs.tensor("logits_\(i)_\(q)")
                let delta = zip(logits, reference.storage).map { abs($0 - $1) }.max() ?? 1
                #expect(delta < 1e-3, "\(image) \(c.question.debugDescription): logits max |Δ| \(delta)")
                let answers = try language.answer([task(for: c.question)], study: study, maxNewTokens: 24)
                let tokens = lm.tokenizer.encode(answers[0].raw)
                #expect(tokens == c.greedy || answers[0].raw == lm.tokenizer.decode(c.greedy), "\(image) \(c.question.debugDescription)")
                if c.question.hasPrefix("Locate the left lung") {
                    // the default model's answer box is stage one's left lung (AnatomySnap); the ablation keeps what it wrote
                    let left = try #require(p.anatomies.first { $0.name == "left lung" }).box
                    #expect(answers[0].boxes.count == 1, "\(answers[0].raw)")
                    #expect((answers[0].boxes.first.map { zip($0, left).allSatisfy { abs($0 - $1) <= 0.051 } } ?? false) == (language.snap != nil),
                            "\(folder): \(answers[0].boxes) vs stage one's \(left)")
                }
                checked += 1
            }
        }
        #expect(checked == cases.count && checked >= 6)
        #expect(lm.settings.ablation == (folder.hasSuffix("-global")), "\(folder)/language.json: ablation flag")
        #expect((language.snap != nil) == !lm.settings.ablation, "\(folder)/language.json: anatomy_snap_iou in the default model only")
    }

    func task(for question: String) throws -> StudyTask {
        if question.hasPrefix("Generate report") { return .report }
        if question.hasPrefix("Locate the ") { return .anatomyGrounding(anatomy: "left lung") }
        return .vqa(question: question)
    }
}
