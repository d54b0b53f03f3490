import Contracts
import Foundation
import Imaging
import Messaging
import Pipeline
import TestSupport
import Testing
@testable import Workers

/// The bad-input corpus (`Tests/Fixtures/bad`, made by `Training/make_bad_inputs.py`) through one
/// perception worker in one run: every case ends as its `expected.json` outcome, a dead letter with
/// that code (and a reason naming the problem) or an anatomy message, and the worker takes the next
/// record after each; every input offset is committed.
@Suite(.serialized) struct BadInputCorpusTests {
    @Test func everyCaseEndsAsExpectedAndTheWorkerKeepsGoing() throws {
        let expected = try BadInputCorpus.expected()
        let root = try BadInputCorpus.makeRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let cases = try BadInputCorpus.cases(root: root)
        #expect(Set(cases.map(\.0)) == Set(expected.keys), "every expected case is sent")
        #expect(cases.first { $0.0 == "made-by-test/10-mb-message" }!.1.count > 10_000_000)

        let bus = InProcessBus(defaultPartitions: 1)
        try bus.send(cases.map { OutgoingRecord(topic: Topic.studies.rawValue, key: $0.0, value: $0.1) })
        let limit = BadInputCorpus.messageLimit
        var limits = PNGCodec.Limits()
        limits.maximumBytes = limit
        let step = PerceptionStep(stage: StageWorkerTests.steps.perception.stage, images: StudyImageSource(root: root.path, limits: limits))
        let worker = StageWorker(handler: PerceptionHandler(step: step, maximumMessageBytes: limit),
                                 consumer: bus.consumer(group: "perception", topics: [Topic.studies.rawValue]), producer: bus,
                                 settings: .init(workerID: "corpus"))
        try worker.run(limit: cases.count)

        let letters = try bus.records(Topic.deadLetter.rawValue).map { r in
            (r.key ?? "?", try MessageCodec.decode(DeadLetterMessage.self, schema: DeadLetterMessage.schema, from: r.value, maximumBytes: 1 << 26))
        }
        let caseOfStudy = BadInputCorpus.caseOfStudy(cases)
        let outputKeys = bus.records(Topic.anatomy.rawValue).compactMap(\.key)
        let accepted = Set(outputKeys.compactMap { caseOfStudy[$0] })
        let outcome = BadInputCorpus.outcomes(cases, deadLetters: letters.map { ($0.0, $0.1.error.code) }, outputKeys: outputKeys)
        for (name, want) in expected.sorted(by: { $0.key < $1.key }) {
            let reason = letters.first { $0.0 == name }?.1.error.message ?? ""
            #expect(outcome[name] == want, "\(name): \(outcome[name] ?? "nothing") (\(reason.prefix(300))), expected \(want)")
        }
        #expect(accepted.count == expected.values.filter { $0 == "accepted" }.count)
        #expect(letters.count == expected.values.filter { $0 != "accepted" }.count, "one dead letter per rejected case, nothing else")
        #expect(letters.allSatisfy { !$0.1.error.message.isEmpty && $0.1.stage == "perception" })
        #expect(worker.counters["processed"] + worker.counters["dead_lettered"] == cases.count)
        #expect(bus.committed(group: "perception", topic: Topic.studies.rawValue) == [Int64(cases.count)], "every offset committed")
        // Specific reasons, not just codes: the bomb is refused from its header, the JPEG by its signature.
        let reasons = Dictionary(letters.map { ($0.0, $0.1.error.message) }, uniquingKeysWith: { a, _ in a })
        #expect(reasons["images/bomb-60000x60000.png"]?.contains("60000x60000") == true, "\(reasons["images/bomb-60000x60000.png"] ?? "")")
        #expect(reasons["images/bomb-16000x16000.png"]?.contains("(256 MP); the limit is 40 MP") == true, "\(reasons["images/bomb-16000x16000.png"] ?? "")")
        #expect(reasons["images/jpeg-named.png"]?.contains("not a PNG") == true)
    }
}
