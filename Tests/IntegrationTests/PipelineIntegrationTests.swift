import Contracts
import Foundation
import Imaging
import Messaging
import Pipeline
import TestSupport
import Testing

/// The three worker executables on a real broker (Tansu): 50 studies give what `analyze`'s steps give,
/// poison lands in the dead-letter topic, a replay of one stage re-produces its outputs without
/// running the stages before it, a generic client (kcat) can submit and read, and two perception
/// replicas split the work and lose nothing when one is SIGKILLed.
@Suite(.serialized) struct PipelineIntegrationTests {
    static let imagesFolder = Repository.root.appendingPathComponent("Samples/images")
    static let images = try! FileManager.default.contentsOfDirectory(atPath: imagesFolder.path).filter { $0.hasSuffix(".png") }.sorted()
        .map { try! Data(contentsOf: imagesFolder.appendingPathComponent($0)) }

    static func studies(_ n: Int, prefix: String, tasks: (Int) -> [TaskRequest] = { _ in [] }) -> [StudyMessage] {
        (0..<n).map { StudyMessage(studyID: "\(prefix)-\($0)", image: .png(images[$0 % images.count]), tasks: tasks($0)) }
    }

    static func submit(_ studies: [StudyMessage], broker: Broker) throws {
        let producer = try KafkaProducer(configuration: broker.configuration(client: "submit"))
        defer { producer.close() }
        try producer.send(try studies.map { OutgoingRecord(topic: Topic.studies.rawValue, key: $0.studyID, value: try MessageCodec.encode($0)) })
    }

    /// Every record of `topic` until `count` arrived (or `seconds` passed), from the start, in a new group.
    static func read(_ topic: Topic, broker: Broker, count: Int, seconds: Double, until: ([IncomingRecord]) -> Bool = { _ in false }) throws -> [IncomingRecord] {
        let consumer = try KafkaConsumer(configuration: broker.configuration(client: "reader", group: "reader-\(UUID().uuidString)"), topics: [topic.rawValue])
        defer { consumer.close() }
        var out = [IncomingRecord]()
        let deadline = Date().addingTimeInterval(seconds)
        while out.count < count, !until(out), Date() < deadline {
            if let r = try consumer.poll(timeout: 0.5) { out.append(r) }
        }
        return out
    }

    static func decode<M: Decodable>(_ type: M.Type, _ schema: String, _ records: [IncomingRecord]) throws -> [M] {
        try records.map { try MessageCodec.decode(type, schema: schema, from: $0.value, maximumBytes: 1 << 26) }
    }

    static func distinctResults(_ records: [IncomingRecord]) -> Int {
        Set(records.compactMap { try? MessageCodec.decode(ResultMessage.self, schema: ResultMessage.schema, from: $0.value, maximumBytes: 1 << 26).id }).count
    }

    @Test func fiftyStudiesThroughTheWorkersMatchAnalyzeAndPoisonIsDeadLettered() throws {
        let broker = try Broker()
        let opsPort = try Broker.freePort()
        let workers = [try WorkerProcess("perception-worker", broker: broker, id: "perception-a", environment: ["ANATOMIX_OPS_PORT": String(opsPort)]),
                       try WorkerProcess("retrieval-indexer", broker: broker, id: "retrieval-a"),
                       try WorkerProcess("language-worker", broker: broker, id: "language-a")]
        defer { workers.forEach { $0.stop() } }
        var studies = Self.studies(50, prefix: "it") { i in
            i % 17 == 0 ? [TaskRequest(task: "anatomy-grounding", anatomy: "left lung")] : i % 17 == 1 ? [TaskRequest(task: "report")] : []
        }
        let patient = "Doe^Jane Q"                         // a fake patient name in metadata: no log line may carry it
        studies[3] = StudyMessage(studyID: studies[3].studyID, image: studies[3].image, metadata: ["PatientName": patient], tasks: [])
        try Self.submit(studies, broker: broker)
        let producer = try KafkaProducer(configuration: broker.configuration(client: "poison"))
        try producer.send([OutgoingRecord(topic: Topic.studies.rawValue, key: "poison-image",
                                          value: try MessageCodec.encode(StudyMessage(studyID: "poison-image", image: .png(Data("not a png".utf8)),
                                                                                      metadata: ["PatientName": patient], tasks: []))),
                           OutgoingRecord(topic: Topic.studies.rawValue, key: "poison-json", value: Data("{\"schema\": ".utf8)),
                           // the name as the study id: a schema violation whose reason quotes the id; logs must not
                           OutgoingRecord(topic: Topic.studies.rawValue, key: "poison-id",
                                          value: Data(#"{"schema": "cxr.studies.v1", "study_id": "\#(patient)", "image": {"uri": "file:///x.png"}, "tasks": []}"#.utf8))])
        producer.close()
        let records = try Self.read(.results, broker: broker, count: 50, seconds: 300)
        let results = try Self.decode(ResultMessage.self, ResultMessage.schema, records)
        #expect(Set(results.map(\.studyID)) == Set(studies.map(\.studyID)), "\(results.count) results; logs:\n\(workers.map { $0.output.suffix(2000) })")
        // What the in-process steps (anatomix analyze) give for the same studies.
        let steps = try PipelineSteps(model: Repository.defaultModel.path, limits: PNGCodec.Limits())
        let language = try steps.language(loading: true)
        for study in studies {
            guard let piped = results.first(where: { $0.studyID == study.studyID }) else { continue }
            let direct = try language.run(try steps.retrieval.run(try steps.perception.run(study)))
            // Same ids, findings and text; boxes and scores to float noise (this test process may run other
            // suites' thread settings: 1 and 2 threads agree within 1e-5, a box is rounded to 0.1 px).
            #expect(piped.id == direct.id && piped.anatomies.map(\.finding) == direct.anatomies.map(\.finding), "\(study.studyID)")
            for (p, d) in zip(piped.anatomies, direct.anatomies) {
                #expect(zip(p.box, d.box).allSatisfy { abs($0 - $1) <= 0.11 } && abs((p.score ?? 0) - (d.score ?? 0)) < 1e-4, "\(study.studyID) \(p.name)")
            }
            #expect(piped.labels.keys == direct.labels.keys && piped.labels.allSatisfy { abs($0.value - direct.labels[$0.key]!) < 1e-5 }, "\(study.studyID)")
            #expect(piped.tasks.map(\.raw) == direct.tasks.map(\.raw), "\(study.studyID)")
        }
        let letters = try Self.decode(DeadLetterMessage.self, DeadLetterMessage.schema, try Self.read(.deadLetter, broker: broker, count: 3, seconds: 30))
        #expect(Set(letters.map(\.error.code)) == ["bad_image", "bad_json", "schema_violation"] && letters.allSatisfy { $0.stage == "perception" })
        #expect(letters.contains { $0.error.message.contains("Doe^Jane") }, "the dead letter keeps the reason; the logs below do not")
        // The perception worker's operations endpoints, as an operator reads them (curl).
        let metrics = try Self.run("/usr/bin/curl", ["-sS", "http://127.0.0.1:\(opsPort)/metrics"])
        #expect(metrics.output.contains(#"anatomix_received_total{stage="perception"} 53"#), "\(metrics.output.prefix(3000))")
        #expect(metrics.output.contains(#"anatomix_processed_total{stage="perception"} 50"#))
        #expect(metrics.output.contains(#"anatomix_dead_letters_total{stage="perception",code="bad_image"} 1"#))
        #expect(metrics.output.contains(#"anatomix_stage_duration_seconds_count{stage="perception"} 53"#))
        #expect(metrics.output.contains(#"anatomix_dead_letters_total{stage="perception",code="schema_violation"} 1"#))
        #expect(metrics.output.contains(#"anatomix_consumer_lag{stage="perception"} 0"#))
        #expect(metrics.output.contains("anatomix_model_load_seconds{stage=\"perception\"}"))
        #expect(try Self.run("/usr/bin/curl", ["-sS", "http://127.0.0.1:\(opsPort)/healthz"]).output == "ok\n")
        #expect(try Self.run("/usr/bin/curl", ["-sS", "http://127.0.0.1:\(opsPort)/readyz"]).output == "ready\n")
        for w in workers { #expect(!w.output.contains("Doe") && !w.output.contains("Jane"), "\(w.name) logged patient data: \(w.output.suffix(2000))") }
        #expect(workers[0].output.contains("dead letter") && workers[0].output.contains("(invalid id)"), "dead letters are logged, by code and source")
        // Every produced message is kept for the jsonschema run.
        for topic in [Topic.anatomy, .grounded] {
            for (i, r) in try Self.read(topic, broker: broker, count: 2, seconds: 30).enumerated() {
                try Repository.keepProducedMessage(r.value, schema: topic.rawValue, name: "broker-\(i)")
            }
        }
        for (i, r) in records.prefix(3).enumerated() { try Repository.keepProducedMessage(r.value, schema: Topic.results.rawValue, name: "broker-\(i)") }
        for (i, l) in letters.enumerated() { try Repository.keepProducedMessage(try MessageCodec.encode(l), schema: Topic.deadLetter.rawValue, name: "broker-\(i)") }
        for (i, r) in try Self.read(.bank, broker: broker, count: 2, seconds: 30).enumerated() {
            try Repository.keepProducedMessage(r.value, schema: Topic.bank.rawValue, name: "broker-\(i)")
        }

        // Replay: the language stage again from the retained cxr.grounded.v1, nothing upstream.
        let anatomyBefore = try Self.read(.anatomy, broker: broker, count: 50, seconds: 30).count
        let replay = Process()
        replay.executableURL = WorkerProcess.executable("anatomix")
        replay.arguments = ["replay", "--stage", "language", "--from-offset", "0", "--idle", "6", "--bootstrap", broker.bootstrap]
        var env = ProcessInfo.processInfo.environment
        env["ANATOMIX_MODEL"] = Repository.defaultModel.path
        replay.environment = env
        let pipe = Pipe()
        replay.standardOutput = pipe
        try replay.run()
        while replay.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        let summary = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(replay.terminationStatus == 0 && summary.contains(#""processed": 50"#), "\(summary)")
        let after = try Self.read(.results, broker: broker, count: 100, seconds: 60)
        #expect(after.count == 100 && Self.distinctResults(after) == 50, "replayed results carry the same ids")
        #expect(try Self.read(.anatomy, broker: broker, count: 51, seconds: 5).count == anatomyBefore, "perception did not run again")

        // A client that is not ours: kcat submits a study and reads its result back.
        let study = try String(decoding: MessageCodec.encode(StudyMessage(studyID: "kcat-1", image: .png(Self.images[0]), tasks: [])), as: UTF8.self)
        let kcat = try Self.kcat(["-P", "-b", broker.bootstrap, "-t", Topic.studies.rawValue, "-K", "\t"], input: "kcat-1\t" + study + "\n")
        #expect(kcat.status == 0, "\(kcat.output)")
        let deadline = Date().addingTimeInterval(60)
        var found = false
        while !found, Date() < deadline {
            let read = try Self.kcat(["-C", "-b", broker.bootstrap, "-t", Topic.results.rawValue, "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n"], input: nil)
            found = read.output.split(separator: "\n").contains { $0.hasPrefix("kcat-1\t") && $0.contains(#""study_id":"kcat-1""#) }
            if !found { Thread.sleep(forTimeInterval: 1) }
        }
        #expect(found, "kcat read the result of the study it submitted")
    }

    static func kcat(_ arguments: [String], input: String?) throws -> (status: Int32, output: String) {
        try run("/usr/bin/kcat", arguments, input: input)
    }

    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe(), stdin = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = stdin
        try p.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        while p.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func twoPerceptionReplicasSplitTheWorkAndASIGKILLLosesNothing() throws {
        let broker = try Broker()
        let a = try WorkerProcess("perception-worker", broker: broker, id: "perception-1")
        let b = try WorkerProcess("perception-worker", broker: broker, id: "perception-2")
        let rest = [try WorkerProcess("retrieval-indexer", broker: broker, id: "retrieval-1"),
                    try WorkerProcess("language-worker", broker: broker, id: "language-1")]
        defer { ([a, b] + rest).forEach { $0.stop() } }
        Thread.sleep(forTimeInterval: 8)                // both replicas joined the group
        let studies = Self.studies(50, prefix: "kill")
        try Self.submit(studies, broker: broker)
        _ = try Self.read(.anatomy, broker: broker, count: 12, seconds: 120)
        a.kill()                                         // mid-stream: its uncommitted studies go to the other replica
        let records = try Self.read(.results, broker: broker, count: 200, seconds: 240) { Self.distinctResults($0) >= 50 }
        let results = try Self.decode(ResultMessage.self, ResultMessage.schema, records)
        #expect(Set(results.map(\.studyID)) == Set(studies.map(\.studyID)), "every study has a result")
        #expect(Set(results.map(\.id)).count == 50, "one result per study after dedupe by id")
        let producers = Set(try Self.read(.anatomy, broker: broker, count: 1000, seconds: 15).compactMap { $0.headers["worker"] })
        #expect(producers == ["perception-1", "perception-2"], "both replicas worked: \(producers)")
    }

    @Test func aSIGTERMDrainsTheStudyInHandAndCommitsBeforeExit() throws {
        let broker = try Broker(partitions: 1)
        let first = try WorkerProcess("perception-worker", broker: broker, id: "perception-drain-1")
        let studies = Self.studies(150, prefix: "drain")          // far more than it does before the SIGTERM
        try Self.submit(studies, broker: broker)
        _ = try Self.read(.anatomy, broker: broker, count: 15, seconds: 120)     // mid-stream
        first.stop()                                                             // SIGTERM, then wait
        #expect(first.process.terminationReason == .exit && first.process.terminationStatus == 0, "\(first.output.suffix(2000))")
        #expect(first.output.contains("draining") && first.output.contains("stopped"), "\(first.output.suffix(2000))")
        let produced = try Self.read(.anatomy, broker: broker, count: 150, seconds: 10).count
        #expect(produced >= 15 && produced < 150, "stopped mid-stream: \(produced)")
        // Its successor starts from the committed offset: every study once, none twice (what the first one
        // produced was committed before it exited, nothing it had in hand was lost).
        let second = try WorkerProcess("perception-worker", broker: broker, id: "perception-drain-2")
        defer { second.stop() }
        let records = try Self.read(.anatomy, broker: broker, count: 150, seconds: 300)
        Thread.sleep(forTimeInterval: 5)                                         // a duplicate would arrive by now
        let all = try Self.read(.anatomy, broker: broker, count: 300, seconds: 15)
        #expect(records.count == 150 && all.count == 150, "\(all.count) anatomy records for 150 studies")
        #expect(Set(all.compactMap(\.key)) == Set(studies.map(\.studyID)))
        #expect(Set(all.compactMap { $0.headers["worker"] }) == ["perception-drain-1", "perception-drain-2"])
    }
}
