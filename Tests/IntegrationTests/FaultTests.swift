import Contracts
import Foundation
import Messaging
import Testing

/// A 200-study stream through Tansu and the three worker executables while something breaks:
/// each worker type SIGKILLed once and restarted; the broker frozen (SIGSTOP) for 30 s; the broker
/// SIGKILLed and restarted on durable storage; a replica stalled past its session so the group
/// rebalances. Each time every study ends with exactly one result after dedupe by id, nothing is
/// dead-lettered, and no worker was restarted by hand for a broker fault (they are the same
/// processes at the end). Run by `make test-faults` (CI runs it too); each test takes a few minutes.
@Suite(.serialized) struct FaultTests {
    static let count = 200

    /// The three stages, one replica each; `instance` gives static membership ids (a restart with the
    /// same id takes its partitions back without waiting out the session).
    static func workers(_ broker: Broker, tag: String, isStatic: Bool = false, idempotence: Bool = true) throws -> [String: WorkerProcess] {
        var out = [String: WorkerProcess]()
        for (stage, executable) in [("perception", "perception-worker"), ("retrieval", "retrieval-indexer"), ("language", "language-worker")] {
            out[stage] = try worker(executable, broker: broker, id: "\(stage)-\(tag)", isStatic: isStatic, idempotence: idempotence)
        }
        return out
    }

    /// A worker with its operations endpoints (read when a test fails); `isStatic` gives it static
    /// membership (its id as group.instance.id). Only the SIGKILL test uses it: on Tansu 0.6.0 a static
    /// member whose session expires (a freeze, a stall) is answered on rejoin with its expired member
    /// id as the group's leader and no member metadata ("JoinGroup response: GenerationId 0, ...
    /// LeaderId perception-slow-b65f..., member metadata count 0"), so nobody assigns and its
    /// partitions stay unowned; restarting a static member with the same id works.
    static func worker(_ executable: String, broker: Broker, id: String, isStatic: Bool = false, idempotence: Bool = true) throws -> WorkerProcess {
        try WorkerProcess(executable, broker: broker, id: id,
                          environment: ["ANATOMIX_KAFKA_INSTANCE_ID": isStatic ? id : "", "ANATOMIX_OPS_PORT": String(try Broker.freePort()),
                                        "ANATOMIX_KAFKA_IDEMPOTENCE": String(idempotence)])
    }

    /// The worker's counters and lag from /metrics (what an operator would look at).
    static func metrics(_ worker: WorkerProcess) -> String { metricLines(worker).joined(separator: " ") }

    static func metricLines(_ worker: WorkerProcess) -> [String] {
        guard let port = worker.environment["ANATOMIX_OPS_PORT"],
              let read = try? PipelineIntegrationTests.run("/usr/bin/curl", ["-sS", "-m", "5", "http://127.0.0.1:\(port)/metrics"]) else { return [] }
        return read.output.split(separator: "\n").filter { !$0.hasPrefix("#") && ($0.contains("_total") || $0.contains("lag") || $0.contains("in_flight")) }
            .map(String.init)
    }

    /// Every study once after dedupe, none lost, no dead letter, every submission acknowledged.
    static func expectEveryStudyOnce(_ stream: StudyStream, _ watcher: TopicWatcher, _ workers: [WorkerProcess], broker: Broker,
                                     seconds: Double = 240, sourceLocation: SourceLocation = #_sourceLocation) {
        let wanted = Set(stream.studies.map(\.studyID))
        let complete = watcher.wait(seconds: seconds) { Set(watcher.resultIDs().keys).isSuperset(of: wanted) }
        let failures = stream.acknowledged()
        #expect(failures.isEmpty, "submissions failed: \(failures.prefix(5))", sourceLocation: sourceLocation)
        Thread.sleep(forTimeInterval: 3)                 // a late duplicate or dead letter would arrive by now
        let ids = watcher.resultIDs()
        let logs = workers.map { "\($0.name):\n\($0.output.suffix(1500))" }.joined(separator: "\n")
            + "\nbroker (running: \(broker.process.isRunning)):\n\(broker.output.suffix(3000))"
        #expect(complete && Set(ids.keys) == wanted,
                "\(ids.count) of \(wanted.count) studies have results; missing \(wanted.subtracting(ids.keys).sorted().prefix(5)); logs:\n\(logs)",
                sourceLocation: sourceLocation)
        if !complete {                                   // where the missing ones stopped
            let missing = wanted.subtracting(ids.keys)
            let partitions = Set(watcher.arrivals(.studies).filter { missing.contains($0.record.key ?? "") }.map(\.record.partition))
            Issue.record("missing studies are on partitions \(partitions.sorted()); metrics: \(workers.map { "\($0.name): \(metrics($0))" })",
                         sourceLocation: sourceLocation)
            for topic in [Topic.studies, .anatomy, .grounded] {
                let keys = Set(watcher.arrivals(topic).compactMap(\.record.key))
                Issue.record("\(missing.subtracting(keys).count) of the \(missing.count) missing never reached \(topic.rawValue) (\(watcher.count(topic)) records)",
                             sourceLocation: sourceLocation)
            }
        }
        let doubled = ids.filter { $0.value.count != 1 }
        #expect(doubled.isEmpty, "studies with more than one distinct result: \(doubled.prefix(5))", sourceLocation: sourceLocation)
        let dead = watcher.arrivals(.deadLetter).map { $0.record.headers["error-code"] ?? "?" }
        #expect(dead.isEmpty, "dead letters that should not be: \(dead.prefix(10))", sourceLocation: sourceLocation)
        #expect(watcher.failure == nil, "\(watcher.failure ?? "")", sourceLocation: sourceLocation)
        #expect(watcher.reusedOffsets.isEmpty, "offsets given to two different records: \(watcher.reusedOffsets.prefix(10))", sourceLocation: sourceLocation)
    }

    @Test func eachWorkerTypeSIGKILLedOnceAndRestartedLosesNothing() throws {
        let broker = try Broker()
        let watcher = try TopicWatcher(broker: broker)
        defer { watcher.stop() }
        var workers = try Self.workers(broker, tag: "kill", isStatic: true)
        defer { workers.values.forEach { $0.stop() } }
        let stream = try StudyStream(broker: broker, count: Self.count, prefix: "fault-kill", rate: 10)
        defer { stream.stop() }
        var killed = [WorkerProcess]()
        for (stage, executable, topic, after) in [("perception", "perception-worker", Topic.anatomy, 30),
                                                  ("retrieval", "retrieval-indexer", .grounded, 80),
                                                  ("language", "language-worker", .results, 120)] {
            let reached = watcher.wait(seconds: 180) { watcher.count(topic) >= after }
            #expect(reached, "\(topic.rawValue) reached \(after) before the \(stage) kill (\(watcher.count(topic)))")
            workers[stage]!.kill()
            killed.append(workers[stage]!)
            workers[stage] = try Self.worker(executable, broker: broker, id: "\(stage)-kill", isStatic: true)   // same instance id
        }
        #expect(killed.allSatisfy { $0.process.terminationReason == .uncaughtSignal }, "each was SIGKILLed")
        Self.expectEveryStudyOnce(stream, watcher, Array(workers.values) + killed, broker: broker)
    }

    @Test func aBrokerFrozenForThirtySecondsLosesNothingAndNeedsNoRestart() throws {
        let broker = try Broker()
        let watcher = try TopicWatcher(broker: broker)
        defer { watcher.stop() }
        let workers = try Self.workers(broker, tag: "freeze")
        defer { workers.values.forEach { $0.stop() } }
        let stream = try StudyStream(broker: broker, count: Self.count, prefix: "fault-freeze", rate: 10)
        defer { stream.stop() }
        #expect(watcher.wait(seconds: 180) { watcher.count(.results) >= 20 }, "results flow before the freeze")
        broker.freeze()
        Thread.sleep(forTimeInterval: 30)
        let duringFreeze = watcher.count(.results)
        broker.thaw()
        // A worker whose window filled pauses fetching; its session expires in the freeze and its
        // partitions come back in the rejoin. librdkafka keeps a partition's pause across that, so
        // the consumer sets every assignment to its own state (KafkaMockClusterTests has the unit
        // case): before, this worker never read again (38 and 49 of 200 results in 2 of 3 runs).
        Self.expectEveryStudyOnce(stream, watcher, Array(workers.values), broker: broker)
        // Whether a window filled (and fetching paused) depends on what was in flight at the freeze:
        // printed, so a run shows whether it went through the pause and the rejoin.
        print("freeze: " + workers.values.map { w in
            "\(w.name) " + Self.metricLines(w).filter { $0.contains("pauses") || $0.contains("resume_failures") }.joined(separator: ", ")
        }.sorted().joined(separator: "; "))
        #expect(duringFreeze < Self.count, "the freeze came mid-stream (\(duringFreeze) results by its end)")
        let running = workers.values.allSatisfy { $0.process.isRunning }
        #expect(running, "no worker exited: none needs a restart by hand")
    }

    /// The producers run without idempotence here (acks=all, one request in flight): Tansu 0.6.0's
    /// idempotent produce on S3 stores the producer's sequence before the batch, so a batch in
    /// flight at the SIGKILL is answered DUPLICATE_SEQUENCE_NUMBER on retry, which librdkafka
    /// counts as delivered though it was never written (7 of 10 runs here lost 1 to 43 studies so).
    /// Without it a retry can only duplicate, and the ids make duplicates invisible.
    @Test func aBrokerSIGKILLedAndRestartedOnDurableStorageLosesNothing() throws {
        let store = try S3Store()
        let broker = try Broker(store: store)
        let watcher = try TopicWatcher(broker: broker)
        defer { watcher.stop() }
        let workers = try Self.workers(broker, tag: "crash", idempotence: false)
        defer { workers.values.forEach { $0.stop() } }
        let stream = try StudyStream(broker: broker, count: Self.count, prefix: "fault-crash", rate: 10, idempotence: false)
        defer { stream.stop() }
        #expect(watcher.wait(seconds: 180) { watcher.count(.results) >= 40 }, "results flow before the crash")
        let atCrash = watcher.count(.results)
        try broker.crashAndRestart(after: 3)
        Self.expectEveryStudyOnce(stream, watcher, Array(workers.values), broker: broker)
        #expect(atCrash < Self.count, "the crash came mid-stream (\(atCrash) results before it)")
        let running = workers.values.allSatisfy { $0.process.isRunning }
        #expect(running, "no worker exited: none needs a restart by hand")
    }

    /// The storage fact the durable test broker rests on: 200 records produced with acks=all survive a
    /// SIGKILL of the broker and are all consumed from the restarted one.
    @Test func twoHundredAcknowledgedRecordsSurviveABrokerSIGKILL() throws {
        let store = try S3Store(bucket: "anatomix-durability")
        let broker = try Broker(partitions: 2, store: store)
        let producer = try KafkaProducer(configuration: broker.configuration(client: "durable"))
        try producer.send((0..<200).map { OutgoingRecord(topic: Topic.studies.rawValue, key: "d-\($0)", value: Data("\($0)".utf8)) })
        producer.close()
        try broker.crashAndRestart()
        let records = try PipelineIntegrationTests.read(.studies, broker: broker, count: 200, seconds: 60)
        #expect(Set(records.compactMap(\.key)) == Set((0..<200).map { "d-\($0)" }), "\(records.count) of 200 after the restart")
    }

    @Test func aStalledReplicaIsRebalancedAwayAndRejoinsLosingNothing() throws {
        let broker = try Broker()
        let watcher = try TopicWatcher(broker: broker)
        defer { watcher.stop() }
        let slow = try Self.worker("perception-worker", broker: broker, id: "perception-slow")
        var workers = try Self.workers(broker, tag: "stall")
        workers["perception-slow"] = slow
        defer { workers.values.forEach { $0.stop() } }
        Thread.sleep(forTimeInterval: 8)                 // both perception replicas joined the group
        let stream = try StudyStream(broker: broker, count: Self.count, prefix: "fault-stall", rate: 5)
        defer { stream.stop() }
        func made(_ worker: String) -> Int { watcher.arrivals(.anatomy).filter { $0.record.headers["worker"] == worker }.count }
        #expect(watcher.wait(seconds: 120) { made("perception-slow") >= 4 && made("perception-stall") >= 4 }, "both replicas worked before the stall")
        kill(slow.process.processIdentifier, SIGSTOP)    // stalled: no polls, no heartbeats
        let stalled = Date()
        Thread.sleep(forTimeInterval: 15)                // past the 6 s session: the group rebalances
        kill(slow.process.processIdentifier, SIGCONT)
        let resumed = Date()
        Self.expectEveryStudyOnce(stream, watcher, Array(workers.values), broker: broker)

        // Which study partitions the stalled replica owned, and who did them while it was stalled.
        let partition = Dictionary(watcher.arrivals(.studies).compactMap { a in a.record.key.map { ($0, a.record.partition) } }) { a, _ in a }
        let anatomy = watcher.arrivals(.anatomy)
        // Owned just before the stall (8 s: the split between the two replicas, not the start-up when it had all four).
        let owned = Set(anatomy.filter { $0.time < stalled && $0.time > stalled.addingTimeInterval(-8) && $0.record.headers["worker"] == "perception-slow" }
            .compactMap { $0.record.key.flatMap { partition[$0] } })
        let other = Set(anatomy.filter { $0.time < stalled && $0.time > stalled.addingTimeInterval(-8) && $0.record.headers["worker"] == "perception-stall" }
            .compactMap { $0.record.key.flatMap { partition[$0] } })
        #expect(!other.isEmpty && owned.isDisjoint(with: other), "the two replicas split the partitions before the stall: \(owned) and \(other)")
        let takenOver = anatomy.filter { $0.time > stalled.addingTimeInterval(10) && $0.time < resumed && $0.record.headers["worker"] == "perception-stall" }
            .compactMap { $0.record.key.flatMap { partition[$0] } }
        #expect(!owned.isEmpty && !owned.isDisjoint(with: takenOver), "the other replica took over partitions \(owned) while it was stalled: \(Set(takenOver))")
        #expect(anatomy.contains { $0.time > resumed.addingTimeInterval(5) && $0.record.headers["worker"] == "perception-slow" },
                "the stalled replica rejoined and worked again, without a restart")
        #expect(slow.process.isRunning)
    }
}
