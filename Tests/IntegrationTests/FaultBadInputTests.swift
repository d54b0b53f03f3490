import Contracts
import Foundation
import Messaging
import TestSupport
import Testing

/// The bad-input corpus through the perception-worker executable on a real broker, between valid
/// studies: every case ends as `expected.json` says (a dead letter with that code in the dead-letter
/// topic, or an anatomy message), the valid studies sent after the poison all come through (the
/// worker kept going), and nothing else is dead-lettered. Run by `make test-faults`.
@Suite(.serialized) struct FaultBadInputTests {
    @Test func theCorpusThroughKafkaEndsAsExpectedAndTheWorkerKeepsGoing() throws {
        let expected = try BadInputCorpus.expected()
        let root = try BadInputCorpus.makeRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let cases = try BadInputCorpus.cases(root: root)
        let broker = try Broker(partitions: 1)
        let worker = try WorkerProcess("perception-worker", broker: broker, id: "perception-bad",
                                       environment: ["ANATOMIX_IMAGE_ROOT": root.path, "ANATOMIX_MAX_MESSAGE_BYTES": String(BadInputCorpus.messageLimit)])
        defer { worker.stop() }
        let after = PipelineIntegrationTests.studies(5, prefix: "after-bad")
        let producer = try KafkaProducer(configuration: broker.configuration(client: "bad-inputs"))
        defer { producer.close() }
        try producer.send(cases.map { OutgoingRecord(topic: Topic.studies.rawValue, key: $0.0, value: $0.1) }
            + after.map { OutgoingRecord(topic: Topic.studies.rawValue, key: $0.studyID, value: try MessageCodec.encode($0)) })

        let rejected = expected.values.filter { $0 != "accepted" }.count
        let acceptedCount = expected.values.count - rejected
        let anatomy = try PipelineIntegrationTests.read(.anatomy, broker: broker, count: acceptedCount + after.count, seconds: 180)
        let letters = try PipelineIntegrationTests.read(.deadLetter, broker: broker, count: rejected + 1, seconds: 10).map { r in
            (r.key ?? "?", try MessageCodec.decode(DeadLetterMessage.self, schema: DeadLetterMessage.schema, from: r.value, maximumBytes: 1 << 26))
        }
        let outcome = BadInputCorpus.outcomes(cases, deadLetters: letters.map { ($0.0, $0.1.error.code) }, outputKeys: anatomy.compactMap(\.key))
        for (name, want) in expected.sorted(by: { $0.key < $1.key }) {
            let reason = letters.first { $0.0 == name }?.1.error.message ?? ""
            #expect(outcome[name] == want, "\(name): \(outcome[name] ?? "nothing") (\(reason.prefix(300))), expected \(want)")
        }
        #expect(letters.count == rejected, "one dead letter per rejected case, nothing else: \(letters.count) for \(rejected)")
        #expect(letters.allSatisfy { !$0.1.error.message.isEmpty && $0.1.stage == "perception" && $0.1.worker == "perception-bad" })
        #expect(Set(after.map(\.studyID)).isSubset(of: Set(anatomy.compactMap(\.key))), "the studies after the poison came through: \(worker.output.suffix(2000))")
        #expect(worker.process.isRunning)
    }
}
