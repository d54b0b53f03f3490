import Contracts
import Foundation

/// Fully populated messages of every type (each optional field set in at least one example), so a
/// field the schema declares and the type never writes, or the reverse, shows up.
enum Examples {
    static let tasks = [TaskRequest(task: "report"), TaskRequest(task: "grounded-diagnosis", box: [10, 20, 110, 220]),
                        TaskRequest(task: "phrase-grounding", phrase: "right pleural effusion"),
                        TaskRequest(task: "anatomy-grounding", anatomy: "left lung"), TaskRequest(task: "vqa", question: "Is there a pneumothorax?")]

    static let studies = [
        StudyMessage(studyID: "s00001-000001", image: .png(Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3])), view: "PA",
                     metadata: ["site": "north"], tasks: tasks, submittedAt: "2026-12-02T10:00:00Z"),
        StudyMessage(studyID: "study.2:b", image: .uri("file:///data/images/a.png"), tasks: []),
    ]

    static let anatomy = AnatomyMessage(
        id: MessageID.make(studyID: "s00001-000001", stage: "perception", modelVersion: "v1", inputDigest: "abc"),
        studyID: "s00001-000001", image: .init(width: 632, height: 552, sha256: String(repeating: "ab", count: 32)), canvas: 256,
        anatomies: [.init(index: 0, name: "abdomen", box: [1.5, 2, 300.1, 400], canvasBox: [0.25, 1, 120.5, 200.125], token: [0.5, -1.25, 3e-5])],
        labels: ["Cardiomegaly": 0.25], imageTokens: HalfTensor(shape: [2, 3], values: [0, 1, -2, 0.1, 65504, -0.333]),
        tasks: tasks, metadata: ["site": "north"], model: .init(name: "anatomix-tiny", version: "2026-12-02.abc"),
        preprocessing: "letterbox-v1", timings: .init(perceptionSeconds: 0.012, backboneSeconds: 0.008, transformerSeconds: 0.003))

    static let grounded = GroundedMessage(
        id: MessageID.make(studyID: "s00001-000001", stage: "retrieval", modelVersion: "bank", inputDigest: anatomy.id),
        studyID: "s00001-000001", perception: anatomy,
        findings: [.init(anatomy: "abdomen", sentence: "Abdomen is healthy.", kinds: [], similarity: 0.75, score: 0.9),
                   .init(anatomy: "right lung", sentence: "Right lung shows effusion.", kinds: ["effusion"], similarity: -0.5, score: nil)],
        bank: .init(version: "0123456789abcdef", lookup: "calibrated", entries: 1200), timings: .init(retrievalSeconds: 0.001))

    static let answer = TaskAnswer(task: "phrase-grounding", instruction: "Please locate the following phrase: effusion", text: "effusion (1,2),(3,4)",
                                   phrases: [.init(phrase: "effusion", boxes: [[1, 2, 3, 4]])], boxes: [[1, 2, 3, 4]], parsed: true,
                                   raw: "<ref>effusion</ref><box><loc_1><loc_2><loc_3><loc_4></box>",
                                   timings: .init(prefill: 0.1, decode: 0.2, tokensPerSecond: 50, promptTokens: 220, generatedTokens: 10))

    static let result = ResultMessage(
        id: MessageID.make(studyID: "s00001-000001", stage: "language", modelVersion: "lm", inputDigest: grounded.id),
        studyID: "s00001-000001", image: anatomy.image,
        anatomies: [.init(name: "abdomen", box: [1, 2, 3, 4], finding: "Abdomen is healthy.", kinds: [], score: 0.9)],
        labels: ["Cardiomegaly": 0.25], tasks: [answer], metadata: ["site": "north"],
        models: .init(perception: anatomy.model, bank: "0123456789abcdef", language: .init(name: "anatomix-tiny/lm", version: "x"), preprocessing: "letterbox-v1"),
        promptVersion: 1, timings: .init(perceptionSeconds: 0.01, retrievalSeconds: 0.001, languageSeconds: 1.5))

    static let deadLetter = DeadLetterMessage(
        studyID: "s00001-000001", source: .init(topic: "cxr.studies.v1", partition: 3, offset: 1234), stage: "perception",
        error: ContractError(.badImage, "not a PNG"), payload: Data("{}".utf8), inlineLimit: 1 << 20, attempts: 1, worker: "perception-1")

    static let bankEntry = BankEntryMessage(anatomy: "left lung", sentence: "Left lung shows pneumothorax.", kinds: ["pneumothorax"],
                                            vector: [0.25, -0.5], temperature: 0.03, healthyThreshold: 0.67, deleted: false, source: "Weights/anatomix-tiny")

    /// (schema name, encoded examples) for every message type.
    static func all() throws -> [(String, [Data])] {
        [(StudyMessage.schema, try studies.map(MessageCodec.encode)), (AnatomyMessage.schema, [try MessageCodec.encode(anatomy)]),
         (GroundedMessage.schema, [try MessageCodec.encode(grounded)]), (ResultMessage.schema, [try MessageCodec.encode(result)]),
         (DeadLetterMessage.schema, [try MessageCodec.encode(deadLetter)]), (BankEntryMessage.schema, [try MessageCodec.encode(bankEntry)])]
    }
}
