import Foundation
import Testing
import TestSupport
@testable import Evaluation

@Suite struct ClinicalMetricsTests {
    static func anatomyNames() throws -> [String] {
        let data = try Data(contentsOf: Repository.schemas.appendingPathComponent("anatomies.v1.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(schema["anatomies"] as? [[String: Any]]).compactMap { $0["name"] as? String }
    }

    @Test func chexpertF1CountsUncertainAsPositiveAndPoolsLabels() throws {
        let metrics = ClinicalMetrics(anatomyNames: try Self.anatomyNames())
        let same = metrics.chexpertF1(generated: ["Possible pneumonia.", "No acute disease."], references: ["Pneumonia.", "Lungs are clear."])
        #expect(same.microF1 == 1 && same.macroF1 == 1 && same.perSample == [1, 1] && same.n == 2)
        // pair 1: Pleural Effusion TP, Cardiomegaly FN; pair 2: No Finding FP, Cardiomegaly FN
        let s = metrics.chexpertF1(generated: ["Small right pleural effusion.", "No acute disease."],
                                   references: ["Small left pleural effusion. Mild cardiomegaly.", "Cardiomegaly."])
        #expect(abs(s.microF1 - 2.0 / 5.0) < 1e-12)                        // 2·1 / (2·1 + 1 + 2)
        #expect(abs(s.macroF1 - 1.0 / 3.0) < 1e-12)                        // (1 + 0 + 0) / 3 labels with a positive
        #expect(s.perLabelF1 == ["Pleural Effusion": 1, "Cardiomegaly": 0, "No Finding": 0])
        #expect(abs(s.perSample[0] - 2.0 / 3.0) < 1e-12 && s.perSample[1] == 0 && abs(s.mean - 1.0 / 3.0) < 1e-12)
    }

    @Test func tuplesNameTheFindingItsAnatomyAndSide() throws {
        let metrics = ClinicalMetrics(anatomyNames: try Self.anatomyNames())
        #expect(metrics.findingTuples("Right lower lobe atelectasis.")
            == [FindingTuple(finding: "Atelectasis", anatomy: "right lower lung zone", side: .right, present: true)])
        #expect(metrics.findingTuples("Heart size is normal. No pneumothorax.")
            == [FindingTuple(finding: "Cardiomegaly", anatomy: "cardiac silhouette", side: nil, present: false),
                FindingTuple(finding: "Pneumothorax", anatomy: nil, side: nil, present: false)])
        let bibasilar = metrics.findingTuples("Bibasilar opacities.").map(\.anatomy)
        #expect(Set(bibasilar) == ["left lower lung zone", "right lower lung zone"])
        #expect(metrics.findingTuples("Opacity in the lingula.").map(\.anatomy) == ["left mid lung zone"])
        #expect(AnatomyLexicon(names: ["left lung"]).anatomies(in: "right lung opacity", side: nil).isEmpty, "only the names given")
    }

    @Test func microF1FindingsLeavesOutNoFinding() throws {
        let metrics = ClinicalMetrics(anatomyNames: try Self.anatomyNames())
        // a generator that always writes a normal report: No Finding TP 2, FP 1; Pleural Effusion FN 1
        let normal = metrics.chexpertF1(generated: Array(repeating: "No acute cardiopulmonary disease.", count: 3),
                                        references: ["Lungs are clear.", "No acute disease.", "Small left pleural effusion."])
        #expect(abs(normal.microF1 - 4.0 / 6.0) < 1e-12 && normal.microF1Findings == 0)
        let s = metrics.chexpertF1(generated: ["Small right pleural effusion.", "No acute disease."],
                                   references: ["Small left pleural effusion. Mild cardiomegaly.", "Cardiomegaly."])
        #expect(abs(s.microF1Findings - 2.0 / 4.0) < 1e-12)                // Pleural Effusion TP 1, Cardiomegaly FN 2
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any])
        #expect(json["micro_f1_findings"] as? Double == s.microF1Findings && json["micro_f1"] as? Double == s.microF1)
    }

    @Test func tuplesTakeTheAnatomyOfTheMentionsClause() throws {
        let metrics = ClinicalMetrics(anatomyNames: try Self.anatomyNames())
        let one = metrics.findingTuples("Right lower lobe consolidation and left upper lobe atelectasis.")
        #expect(one == [FindingTuple(finding: "Consolidation", anatomy: "right lower lung zone", side: .right, present: true),
                        FindingTuple(finding: "Atelectasis", anatomy: "left upper lung zone", side: .left, present: true)])
        #expect(one == metrics.findingTuples("Right lower lobe consolidation. Left upper lobe atelectasis."))
        #expect(metrics.findingTuples("Small left pleural effusion, no pneumothorax in the right apex.")
            == [FindingTuple(finding: "Pleural Effusion", anatomy: nil, side: .left, present: true),
                FindingTuple(finding: "Pneumothorax", anatomy: "right apical zone", side: .right, present: false)])
    }

    @Test func findingTupleF1SeesTheSideTheLabelsMiss() throws {
        let metrics = ClinicalMetrics(anatomyNames: try Self.anatomyNames())
        let generated = ["Small right pleural effusion.", "The lungs are clear.", "Left lower lobe consolidation."]
        let references = ["Small left pleural effusion.", "Lungs clear.", "Left lower lobe consolidation. No pneumothorax."]
        #expect(metrics.chexpertF1(generated: generated, references: references).perSample == [1, 1, 1])
        let t = metrics.findingTupleF1(generated: generated, references: references)
        // pair 1 shares nothing; pair 2 has no tuples on either side; pair 3 shares 1 of 1 and 2
        #expect(t.perSample == [0, 1, 2.0 / 3.0] && t.n == 3)
        #expect(abs(t.mean - 5.0 / 9.0) < 1e-12 && abs(t.microF1 - 2.0 / 5.0) < 1e-12)  // pooled: TP 1, FP 1, FN 2
    }
}
