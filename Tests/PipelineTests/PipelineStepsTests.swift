import Contracts
import Foundation
import Imaging
import TestSupport
import Testing
@testable import Pipeline

/// The three stage steps on the trained default model and a committed sample, as the workers and
/// `analyze` run them: messages that decode back to themselves, deterministic ids, answers in
/// original pixels, and every bad input a dead-letter code naming the problem.
@Suite struct PipelineStepsTests {
    static let root = Repository.root.appendingPathComponent("Samples/images").path
    static let steps = try! PipelineSteps(model: Repository.defaultModel.path, limits: PNGCodec.Limits(), imageRoot: root)
    static let sample = try! FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasSuffix(".png") }.sorted()[0]

    static func study(_ id: String, image: StudyMessage.Image, tasks: [TaskRequest] = []) -> StudyMessage {
        StudyMessage(studyID: id, image: image, tasks: tasks)
    }

    func failure(_ body: () throws(ContractError) -> Void) -> ContractError? {
        do { try body(); return nil } catch { return error }
    }

    @Test func aStudyGoesThroughAllThreeStepsAndEveryMessageRoundTrips() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/" + Self.sample))
        let picture = try PNGCodec.decode(bytes)
        let tasks = [TaskRequest(task: "report"), TaskRequest(task: "anatomy-grounding", anatomy: "right lung"),
                     TaskRequest(task: "grounded-diagnosis", box: [10, 10, Double(picture.width) / 2, Double(picture.height) / 2])]
        let study = Self.study("sample-1", image: .png(bytes), tasks: tasks)
        let anatomy = try Self.steps.perception.run(study)
        let grounded = try Self.steps.retrieval.run(anatomy)
        let result = try Self.steps.language(loading: true).run(grounded)
        #expect(anatomy.anatomies.count == 36 && grounded.findings.count > 0 && result.tasks.count == 3)
        #expect(anatomy.image.width == picture.width && anatomy.image.sha256 == Digest.sha256Hex(bytes))
        // The same study by reference gives the same perception id (same image, tasks, model).
        let byReference = try Self.steps.perception.run(Self.study("sample-1", image: .uri("file://" + Self.root + "/" + Self.sample), tasks: tasks))
        #expect(byReference.id == anatomy.id && byReference.anatomies == anatomy.anatomies)
        // Anatomy grounding answers with a box in original pixels near stage one's box for that anatomy.
        let right = try #require(anatomy.anatomies.first { $0.name == "right lung" })
        let answered = try #require(result.tasks[1].boxes.first)
        #expect(abs(answered[0] - right.box[0]) < Double(picture.width) * 0.1 && abs(answered[3] - right.box[3]) < Double(picture.height) * 0.1,
                "answer \(answered) vs stage one \(right.box)")
        for (message, schema) in [(try MessageCodec.encode(study), StudyMessage.schema), (try MessageCodec.encode(anatomy), AnatomyMessage.schema),
                                  (try MessageCodec.encode(grounded), GroundedMessage.schema), (try MessageCodec.encode(result), ResultMessage.schema)] {
            try Repository.keepProducedMessage(message, schema: schema, name: "pipeline-sample")
        }
        #expect(try MessageCodec.decode(GroundedMessage.self, schema: GroundedMessage.schema, from: MessageCodec.encode(grounded), maximumBytes: 1 << 24) == grounded)
        #expect(try MessageCodec.decode(ResultMessage.self, schema: ResultMessage.schema, from: MessageCodec.encode(result), maximumBytes: 1 << 24) == result)
        // Decoded messages give the language step the same answers (what a replay of cxr.grounded.v1 relies on).
        let replayed = try Self.steps.language(loading: true).run(
            try MessageCodec.decode(GroundedMessage.self, schema: GroundedMessage.schema, from: MessageCodec.encode(grounded), maximumBytes: 1 << 24))
        #expect(replayed.id == result.id && replayed.tasks.map(\.raw) == result.tasks.map(\.raw))
    }

    @Test func badInputsAreDeadLetterCodes() throws {
        let p = Self.steps.perception
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .png(Data("GIF89a".utf8)))) }?.code == .badImage)
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .png(Data()))) }?.code == .badImage)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/" + Self.sample))
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .png(bytes.prefix(bytes.count / 2)))) }?.code == .badImage)
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .png(bytes), tasks: [TaskRequest(task: "summarise")])) }?.code == .unknownTask)
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .png(bytes), tasks: [TaskRequest(task: "vqa")])) }?.code == .badTask)
        let outside = failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .png(bytes), tasks: [TaskRequest(task: "grounded-caption", box: [5000, 5000, 6000, 6000])])) }
        #expect(outside?.code == .badTask && outside?.message.contains("outside") == true)
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .uri("file:///etc/passwd"))) }?.code == .imageOutsideRoot)
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .uri("file://" + Self.root + "/../manifest.jsonl"))) }?.code == .imageOutsideRoot)
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .uri("file://" + Self.root + "/missing.png"))) }?.code == .imageNotFound)
        let link = Self.root + "/.escape-\(getpid()).png"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/etc/hostname")
        defer { try? FileManager.default.removeItem(atPath: link) }
        #expect(failure { () throws(ContractError) in _ = try p.run(Self.study("a", image: .uri("file://" + link))) }?.code == .imageOutsideRoot)
        let noRoot = PerceptionStep(stage: p.stage, images: StudyImageSource(root: nil, limits: PNGCodec.Limits()))
        #expect(failure { () throws(ContractError) in _ = try noRoot.run(Self.study("a", image: .uri("file://" + Self.root + "/" + Self.sample))) }?.code == .imageOutsideRoot)
        let small = PerceptionStep(stage: p.stage, images: StudyImageSource(root: nil, limits: PNGCodec.Limits(maximumBytes: 1000)))
        #expect(failure { () throws(ContractError) in _ = try small.run(Self.study("a", image: .png(bytes))) }?.code == .oversize)
    }

    @Test func aLanguageStepWithoutAModelRefusesTasksButSummarisesStudiesWithout() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/" + Self.sample))
        let grounded = try Self.steps.retrieval.run(try Self.steps.perception.run(Self.study("b", image: .png(bytes), tasks: [TaskRequest(task: "report")])))
        let bare = try Self.steps.language(loading: false)
        #expect(failure { () throws(ContractError) in _ = try bare.run(grounded) }?.code == .processingFailed)
        let plain = try Self.steps.retrieval.run(try Self.steps.perception.run(Self.study("b", image: .png(bytes))))
        let result = try bare.run(plain)
        #expect(result.tasks.isEmpty && result.models.language == nil && result.anatomies.count == 36)
    }
}
