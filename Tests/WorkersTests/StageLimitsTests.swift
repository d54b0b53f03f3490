import Contracts
import Foundation
import Messaging
import Pipeline
import Testing
@testable import Workers

/// The limits of the typed configuration: their documented defaults, a language study past its
/// deadline becoming a `timeout` dead letter while the next study goes through, and a deadline
/// the consumer group would not wait for refused at start.
@Suite(.serialized) struct StageLimitsTests {
    @Test func defaultsAreTheDocumentedOnes() throws {
        let c = try WorkerConfiguration.fromEnvironment(stage: "language", [:])
        #expect(c.stageTimeoutSeconds == 300 && c.stallSeconds == 360 && c.operationsPort == nil && c.operationsHost == "0.0.0.0")
        #expect(c.maximumMessageBytes == 16 << 20 && c.imageLimits.maximumPixels == 40_000_000 && c.kafka.maxPollInterval == 600)
        #expect(c.kafka.prefetchKilobytes == 32 << 10)
        let help = Dictionary(WorkerConfiguration.variables.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        #expect(try #require(help["ANATOMIX_STAGE_TIMEOUT_S"]) == "300" && (try #require(help["ANATOMIX_HEALTH_STALL_S"])) == "360",
                "--help shows the defaults the code uses")
        #expect(try #require(help["ANATOMIX_KAFKA_PREFETCH_KB"]) == "32768")
        let set = try WorkerConfiguration.fromEnvironment(stage: "language", ["ANATOMIX_STAGE_TIMEOUT_S": "30", "ANATOMIX_OPS_PORT": "9464"])
        #expect(set.stageTimeoutSeconds == 30 && set.operationsPort == 9464)
        let plain = try WorkerConfiguration.fromEnvironment(stage: "perception", ["ANATOMIX_KAFKA_IDEMPOTENCE": "false"])
        #expect(c.kafka.idempotence && !plain.kafka.idempotence)
        #expect { try WorkerConfiguration.fromEnvironment(stage: "perception", ["ANATOMIX_KAFKA_IDEMPOTENCE": "maybe"]) } throws: {
            "\($0)".contains("ANATOMIX_KAFKA_IDEMPOTENCE=maybe")
        }
    }

    @Test func aDeadlineTheGroupWouldNotWaitForIsRefused() {
        let env = ["ANATOMIX_STAGE_TIMEOUT_S": "700", "ANATOMIX_HEALTH_STALL_S": "800", "ANATOMIX_KAFKA_MAX_POLL_INTERVAL_MS": "600000"]
        #expect { try WorkerConfiguration.fromEnvironment(stage: "language", env) } throws: { error in
            "\(error)".contains("ANATOMIX_STAGE_TIMEOUT_S=700") && "\(error)".contains("MAX_POLL_INTERVAL")
        }
        #expect(throws: ConfigurationError.self) { try WorkerConfiguration.fromEnvironment(stage: "language", ["ANATOMIX_OPS_PORT": "70000"]) }
        #expect { try WorkerConfiguration.fromEnvironment(stage: "language", ["ANATOMIX_HEALTH_STALL_S": "200"]) } throws: { error in
            "\(error)".contains("ANATOMIX_HEALTH_STALL_S=200") && "\(error)".contains("ANATOMIX_STAGE_TIMEOUT_S")
        }
    }

    @Test func aLanguageStudyPastItsDeadlineIsATimeoutDeadLetterAndTheNextOneGoesThrough() throws {
        let steps = StageWorkerTests.steps
        let slow = StageWorkerTests.study(0, tasks: [TaskRequest(task: "report"), TaskRequest(task: "report")])
        let quick = StageWorkerTests.study(1)
        let grounded = try [slow, quick].map { try steps.retrieval.run(try steps.perception.run($0)) }
        let bus = InProcessBus(defaultPartitions: 1)
        try bus.send(try grounded.map { OutgoingRecord(topic: Topic.grounded.rawValue, key: $0.studyID, value: try MessageCodec.encode($0)) })
        let full = StageWorkerTests.language
        let limited = LanguageStep(stage: full.stage, model: full.model, catalog: full.catalog, timeoutSeconds: 0.2)
        let worker = StageWorker(handler: LanguageHandler(step: limited, maximumMessageBytes: 16 << 20),
                                 consumer: bus.consumer(group: "language", topics: [Topic.grounded.rawValue]), producer: bus,
                                 settings: .init(workerID: "l1"))
        let started = Date()
        try worker.run(limit: 2)
        #expect(Date().timeIntervalSince(started) < 5, "stopped at the deadline, not after two whole reports")
        let letters = try bus.records(Topic.deadLetter.rawValue).map {
            try MessageCodec.decode(DeadLetterMessage.self, schema: DeadLetterMessage.schema, from: $0.value, maximumBytes: 1 << 26)
        }
        #expect(letters.map(\.studyID) == [slow.studyID] && letters.first?.error.code == "timeout", "\(letters.map(\.error))")
        #expect(letters.first?.error.message.contains("ANATOMIX_STAGE_TIMEOUT_S") == true)
        #expect(bus.records(Topic.results.rawValue).compactMap(\.key) == [quick.studyID])
        #expect(bus.committed(group: "language", topic: Topic.grounded.rawValue) == [2])
        // Without the limit the same study is answered (the deadline, not the study, made the dead letter).
        let answered = try full.run(grounded[0])
        #expect(answered.tasks.count == 2 && answered.tasks.allSatisfy { !$0.text.isEmpty })
    }
}
