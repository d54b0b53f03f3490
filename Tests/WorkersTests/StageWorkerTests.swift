import Contracts
import Foundation
import Imaging
import Messaging
import Pipeline
import TestSupport
import Testing
@testable import Workers

/// The three stage workers over the in-process bus (the broker-backed runs are the integration
/// tests): results equal the in-process steps', poison studies become dead letters with their
/// reason while the rest complete, failed publishes retry and commit nothing, a crashed worker's
/// studies are redone by the next one with the same ids.
@Suite(.serialized) struct StageWorkerTests {
    static let model = Repository.defaultModel.path
    static let steps = try! PipelineSteps(model: model, limits: PNGCodec.Limits())
    static let language = try! steps.language(loading: true)
    static let images = try! FileManager.default.contentsOfDirectory(atPath: Repository.root.appendingPathComponent("Samples/images").path)
        .filter { $0.hasSuffix(".png") }.sorted().prefix(4).map { try! Data(contentsOf: Repository.root.appendingPathComponent("Samples/images/" + $0)) }

    static func study(_ i: Int, tasks: [TaskRequest] = []) -> StudyMessage {
        StudyMessage(studyID: "study-\(i)", image: .png(images[i % images.count]), tasks: tasks)
    }

    static func submit(_ bus: InProcessBus, _ studies: [StudyMessage]) throws {
        try bus.send(try studies.map { OutgoingRecord(topic: Topic.studies.rawValue, key: $0.studyID, value: try MessageCodec.encode($0)) })
    }

    static func workers(_ bus: InProcessBus, suffix: String = "") throws -> [StageWorker] {
        let index = BankIndex()
        for entry in try BankIndex.seed(fromModel: model) { try index.apply(entry) }
        let handlers: [any StageHandler] = [PerceptionHandler(step: steps.perception, maximumMessageBytes: 16 << 20),
                                            RetrievalHandler(index: index, maximumMessageBytes: 16 << 20),
                                            LanguageHandler(step: language, maximumMessageBytes: 16 << 20)]
        return handlers.map { h in
            StageWorker(handler: h, consumer: bus.consumer(group: h.stage, topics: [h.inputTopic.rawValue]), producer: bus,
                        settings: .init(workerID: h.stage + suffix))
        }
    }

    /// Runs each worker until its input is drained.
    static func drain(_ workers: [StageWorker], bus: InProcessBus) throws {
        for w in workers {
            let pending = bus.records(w.handler.inputTopic.rawValue).count - w.counters["received"]
            if pending > 0 { try w.run(limit: pending) }
        }
    }

    static func results(_ bus: InProcessBus) throws -> [ResultMessage] {
        try bus.records(Topic.results.rawValue).map { try MessageCodec.decode(ResultMessage.self, schema: ResultMessage.schema, from: $0.value, maximumBytes: 1 << 26) }
    }

    @Test func studiesFlowThroughAndPoisonBecomesDeadLetters() throws {
        let bus = InProcessBus(defaultPartitions: 3)
        var studies = (0..<4).map { Self.study($0) }
        studies[1] = Self.study(1, tasks: [TaskRequest(task: "anatomy-grounding", anatomy: "left lung")])
        try Self.submit(bus, studies)
        let poison: [(String, Data)] = [("bad-png", try MessageCodec.encode(StudyMessage(studyID: "bad-png", image: .png(Data("GIF89a....".utf8)), tasks: []))),
                                        ("bad-task", try MessageCodec.encode(StudyMessage(studyID: "bad-task", image: .png(Self.images[0]), tasks: [TaskRequest(task: "summarise")]))),
                                        ("not-json", Data([0xFF, 0xFE, 0x00, 0x01])),
                                        ("old-schema", Data(#"{"schema": "cxr.studies.v0", "study_id": "old-schema"}"#.utf8))]
        try bus.send(poison.map { OutgoingRecord(topic: Topic.studies.rawValue, key: $0.0, value: $0.1) })
        let workers = try Self.workers(bus)
        try Self.drain(workers, bus: bus)
        let results = try Self.results(bus)
        #expect(Set(results.map(\.studyID)) == Set(studies.map(\.studyID)))
        let letters = try bus.records(Topic.deadLetter.rawValue).map {
            try MessageCodec.decode(DeadLetterMessage.self, schema: DeadLetterMessage.schema, from: $0.value, maximumBytes: 1 << 26)
        }
        let codes = Dictionary(letters.map { ($0.studyID ?? "?", $0.error.code) }, uniquingKeysWith: { a, _ in a })
        #expect(codes == ["bad-png": "bad_image", "bad-task": "unknown_task", "not-json": "bad_json", "old-schema": "unsupported_schema"])
        #expect(letters.allSatisfy { $0.stage == "perception" && $0.source.topic == Topic.studies.rawValue && $0.payload != nil })
        // Every input record of every stage is committed, poison included (the worker moved on).
        for (group, topic) in [("perception", Topic.studies), ("retrieval", .anatomy), ("language", .grounded)] {
            #expect(bus.committed(group: group, topic: topic.rawValue).reduce(0, +) == Int64(bus.records(topic.rawValue).count))
        }
        // The same studies through the steps in one process (what `analyze` runs) give the same results.
        for study in studies {
            let direct = try Self.language.run(try Self.steps.retrieval.run(try Self.steps.perception.run(study)))
            let piped = try #require(results.first { $0.studyID == study.studyID })
            #expect(piped.id == direct.id && piped.anatomies == direct.anatomies && piped.labels == direct.labels)
            #expect(piped.tasks.map(\.raw) == direct.tasks.map(\.raw))
            try Repository.keepProducedMessage(try MessageCodec.encode(piped), schema: ResultMessage.schema, name: "worker-\(study.studyID)")
        }
        for (i, letter) in letters.enumerated() {
            try Repository.keepProducedMessage(try MessageCodec.encode(letter), schema: DeadLetterMessage.schema, name: "worker-\(i)")
        }
    }

    @Test func aFailedPublishIsRetriedAndCommitsNothingUntilItSucceeds() throws {
        let bus = InProcessBus(defaultPartitions: 1)
        try Self.submit(bus, [Self.study(0)])
        let perception = try Self.workers(bus)[0]
        bus.failNextSends(3)
        try perception.run(limit: 1)
        #expect(perception.counters["publish_retries"] == 3 && perception.counters["processed"] == 1)
        #expect(bus.records(Topic.anatomy.rawValue).count == 1)
        #expect(bus.committed(group: "perception", topic: Topic.studies.rawValue) == [1])
    }

    @Test func aStopDuringAnOutageCommitsNothing() throws {
        let bus = InProcessBus(defaultPartitions: 1)
        try Self.submit(bus, [Self.study(0)])
        let perception = try Self.workers(bus)[0]
        bus.failNextSends(.max)                          // the broker never takes the output
        let stopper = Thread { Thread.sleep(forTimeInterval: 1.5); perception.stop() }
        stopper.start()
        try perception.run(limit: 1)
        #expect(perception.counters["publish_retries"] > 0 && perception.counters["processed"] == 0)
        #expect(bus.committed(group: "perception", topic: Topic.studies.rawValue) == [0], "the study is redelivered after a restart")
        bus.failNextSends(0)
    }

    @Test func aCrashedWorkersStudiesAreRedoneWithTheSameIds() throws {
        let bus = InProcessBus(defaultPartitions: 1)
        try Self.submit(bus, (0..<4).map { Self.study($0) })
        let consumer = bus.consumer(group: "perception", topics: [Topic.studies.rawValue])
        let first = StageWorker(handler: PerceptionHandler(step: Self.steps.perception, maximumMessageBytes: 16 << 20), consumer: consumer,
                                producer: bus, settings: .init(workerID: "p1"))
        // Two studies published, but only the first marked and committed before the "SIGKILL".
        let a = try #require(try consumer.poll(timeout: 1)), b = try #require(try consumer.poll(timeout: 1))
        #expect(try first.process(a))
        try consumer.commit()
        _ = try first.process(b)
        consumer.crash()
        let second = try Self.workers(bus, suffix: "-2")[0]
        try second.run(limit: 3)                        // b again, then the two never read
        let anatomy = try bus.records(Topic.anatomy.rawValue).map {
            try MessageCodec.decode(AnatomyMessage.self, schema: AnatomyMessage.schema, from: $0.value, maximumBytes: 1 << 26)
        }
        #expect(anatomy.count == 5)                      // one duplicate on the wire ...
        #expect(Set(anatomy.map(\.id)).count == 4)       // ... which the deterministic id collapses
        #expect(Set(anatomy.map(\.studyID)) == Set((0..<4).map { "study-\($0)" }))
    }
}
