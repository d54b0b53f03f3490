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
    static let corpus = Repository.root.appendingPathComponent("Tests/Fixtures/bad")

    /// Each case as (name, record value); `{ROOT}` filled in, the symlink and 10 MB cases made here.
    /// Records are keyed by case name; an accepted case's output is keyed by its study id.
    static func cases(root: URL) throws -> [(String, Data)] {
        let expected = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: corpus.appendingPathComponent("expected.json")))
        var out = [(String, Data)]()
        for name in expected.keys.sorted() {
            if name.hasPrefix("images/") {
                let png = try Data(contentsOf: corpus.appendingPathComponent(name))
                let id = "img-" + name.dropFirst(7).replacingOccurrences(of: ".", with: "-")
                out.append((name, try MessageCodec.encode(StudyMessage(studyID: id, image: .png(png), tasks: []))))
            } else if name.hasPrefix("messages/") {
                let text = try Data(contentsOf: corpus.appendingPathComponent(name))
                let filled = String(data: text, encoding: .utf8).map { Data($0.replacingOccurrences(of: "{ROOT}", with: root.path).utf8) } ?? text
                out.append((name, filled))
            }
        }
        // A symlink under the root pointing out of it, and a 10 MB message (over the worker's 8 MiB limit here).
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString).png")
        try Data(contentsOf: corpus.appendingPathComponent("images/gray8.png")).write(to: outside)
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("escape.png"), withDestinationURL: outside)
        out.append(("made-by-test/symlink-escaping-root",
                    try MessageCodec.encode(StudyMessage(studyID: "bad-symlink", image: .uri("file://\(root.path)/escape.png"), tasks: []))))
        let big = try MessageCodec.encode(StudyMessage(studyID: "bad-10mb", image: .png(Data(repeating: 0x89, count: 7_500_000)), tasks: []))
        #expect(big.count > 10_000_000)
        out.append(("made-by-test/10-mb-message", big))
        return out
    }

    @Test func everyCaseEndsAsExpectedAndTheWorkerKeepsGoing() throws {
        let expected = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: Self.corpus.appendingPathComponent("expected.json")))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bad-root-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: Self.corpus.appendingPathComponent("images/gray8.png"), to: root.appendingPathComponent("gray8.png"))
        let cases = try Self.cases(root: root)
        #expect(Set(cases.map(\.0)) == Set(expected.keys), "every expected case is sent")

        let bus = InProcessBus(defaultPartitions: 1)
        try bus.send(cases.map { OutgoingRecord(topic: Topic.studies.rawValue, key: $0.0, value: $0.1) })
        let limit = 8 << 20
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
        struct Peek: Decodable { let study_id: String? }
        let caseOfStudy = Dictionary(cases.compactMap { c in (try? JSONDecoder().decode(Peek.self, from: c.1))?.study_id.map { ($0, c.0) } },
                                     uniquingKeysWith: { a, _ in a })
        let accepted = Set(bus.records(Topic.anatomy.rawValue).compactMap { $0.key.flatMap { caseOfStudy[$0] } })
        var outcome = [String: String]()
        for (key, letter) in letters { outcome[key] = letter.error.code }
        for name in accepted { outcome[name] = "accepted" }
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
