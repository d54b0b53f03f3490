import Contracts
import Foundation
import Messaging
import TestSupport

/// Studies submitted at a steady rate on their own thread (records buffer in the producer while the
/// broker is away, as any client's do), for the fault tests to break things under. The thread holds
/// the stream until it is done: call `stop()` (a `defer`) so a failed test does not leave it sending.
final class StudyStream: @unchecked Sendable {   // `enqueued`, `failures` and `stopped` guarded by `lock`
    let studies: [StudyMessage]
    private let producer: KafkaProducer
    private let lock = NSLock()
    private var enqueued = 0
    private var failures = [String]()
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    /// `count` studies (no tasks: the language stage still answers each with a result) at `rate` per second.
    init(broker: Broker, count: Int, prefix: String, rate: Double, idempotence: Bool = true) throws {
        studies = PipelineIntegrationTests.studies(count, prefix: prefix)
        var configuration = broker.configuration(client: "stream-\(prefix)")
        configuration.idempotence = idempotence
        configuration.deliveryTimeout = 240              // outlives a 30 s freeze and a broker restart
        producer = try KafkaProducer(configuration: configuration)
        let records = try studies.map { OutgoingRecord(topic: Topic.studies.rawValue, key: $0.studyID, value: try MessageCodec.encode($0)) }
        let thread = Thread { [self] in
            var tickets = [DeliveryTicket]()
            let start = Date()
            for (i, record) in records.enumerated() where !lock.withLock({ stopped }) {
                let due = start.addingTimeInterval(Double(i) / rate)
                if due > Date() { Thread.sleep(until: due) }
                tickets.append(producer.enqueue([record]))
                lock.withLock { enqueued += 1 }
            }
            let deadline = Date().addingTimeInterval(300)      // for all acknowledgements together
            for (i, ticket) in tickets.enumerated() {
                let failure = ticket.wait(timeout: max(0, deadline.timeIntervalSinceNow))
                    ?? (ticket.isDone ? nil : MessagingError(.timedOut, "no acknowledgement within 300 s", retriable: false))
                if let failure { lock.withLock { failures.append("\(studies[i].studyID): \(failure)") } }
            }
            if lock.withLock({ enqueued < records.count }) { lock.withLock { failures.append("stopped after \(enqueued) of \(records.count)") } }
            producer.close()
            finished.signal()
        }
        thread.name = "study-stream"
        thread.start()
    }

    var submitted: Int { lock.withLock { enqueued } }

    /// Sends nothing more; what was sent is still waited for by `acknowledged`.
    func stop() { lock.withLock { stopped = true } }

    /// Waits until every study was acknowledged by the broker (or failed); the failures.
    func acknowledged(seconds: Double = 300) -> [String] {
        guard finished.wait(timeout: .now() + seconds) == .success else { return ["the stream's acknowledgements did not come within \(seconds) s"] }
        finished.signal()                                // later calls return at once
        return lock.withLock { failures }
    }

}

/// Every record of the pipeline's topics from the start, read on its own thread in a group of its own
/// and kept once per (topic, partition, offset): a rejoin after a broker fault re-reads, never doubles.
/// The thread holds the watcher until `stop()` (a `defer` in each test).
final class TopicWatcher: @unchecked Sendable {   // `seen`, `records` and `stopped` guarded by `lock`
    struct Arrival {
        let record: IncomingRecord
        let time: Date
    }

    private let lock = NSLock()
    private var seen = [String: Data]()
    /// (topic/partition/offset) read twice with different contents: the broker gave one offset to two records.
    private var reused = [String]()
    private var records = [String: [Arrival]]()
    private var stopped = false
    private var fatal: String?
    private let done = DispatchSemaphore(value: 0)
    private let consumer: KafkaConsumer                  // used by the reading thread only

    init(broker: Broker, topics: [Topic] = [.studies, .anatomy, .grounded, .results, .deadLetter]) throws {
        consumer = try KafkaConsumer(configuration: broker.configuration(client: "watcher", group: "watcher-\(UUID().uuidString)"),
                                         topics: topics.map(\.rawValue))
        let thread = Thread { [self] in
            while !lock.withLock({ stopped }) {
                let polled: IncomingRecord?
                do throws(MessagingError) { polled = try consumer.poll(timeout: 0.2) } catch where error.isRetriable {
                    Thread.sleep(forTimeInterval: 0.2); continue
                } catch {
                    lock.withLock { fatal = "\(error)" }
                    break
                }
                guard let r = polled else { continue }
                let place = "\(r.topic)/\(r.partition)/\(r.offset)"
                lock.withLock {
                    if let earlier = seen[place] {
                        if earlier != r.value { reused.append("\(place) (\(r.key ?? "?"))") }
                    } else {
                        seen[place] = r.value
                        records[r.topic, default: []].append(Arrival(record: r, time: Date()))
                    }
                }
            }
            consumer.close()
            done.signal()
        }
        thread.name = "topic-watcher"
        thread.start()
    }

    func arrivals(_ topic: Topic) -> [Arrival] { lock.withLock { records[topic.rawValue] ?? [] } }
    func count(_ topic: Topic) -> Int { lock.withLock { records[topic.rawValue]?.count ?? 0 } }
    var failure: String? { lock.withLock { fatal } }
    var reusedOffsets: [String] { lock.withLock { reused } }

    /// Distinct result ids per study id.
    func resultIDs() -> [String: Set<String>] {
        var out = [String: Set<String>]()
        for arrival in arrivals(.results) {
            guard let result = try? MessageCodec.decode(ResultMessage.self, schema: ResultMessage.schema, from: arrival.record.value, maximumBytes: 1 << 26)
            else { out["(undecodable)", default: []].insert("\(arrival.record.offset)"); continue }
            out[result.studyID, default: []].insert(result.id)
        }
        return out
    }

    /// Polls `condition` every 0.2 s for up to `seconds`; whether it held.
    @discardableResult
    func wait(seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return condition()
    }

    /// Stops reading; waits up to 30 s for the consumer to close (a dead broker can hold its close).
    func stop() {
        guard !lock.withLock({ let was = stopped; stopped = true; return was }) else { return }
        _ = done.wait(timeout: .now() + 30)
    }
}
