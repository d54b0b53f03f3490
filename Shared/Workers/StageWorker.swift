public import Contracts
import Foundation
public import Messaging

/// Counts a worker keeps (what tests check; `/metrics` serves each as `anatomix_<name>_total`).
public final class WorkerCounters: @unchecked Sendable {   // guarded by `lock`
    private let lock = NSLock()
    private var values: [String: Int] = [:]
    private let telemetry: WorkerTelemetry?
    public init(telemetry: WorkerTelemetry? = nil) { self.telemetry = telemetry }
    func add(_ name: String, _ n: Int = 1) {
        lock.withLock { values[name, default: 0] += n }
        telemetry?.count(name, n)
    }
    public subscript(_ name: String) -> Int { lock.withLock { values[name] ?? 0 } }
    public var all: [String: Int] { lock.withLock { values } }
}

/// A stage worker's loop over any transport: poll a record, run the handler, publish its outputs (or
/// a dead letter with the reason), and only once the broker acknowledged them mark the record
/// processed. A failed publish is retried with backoff and commits nothing; stopping mid-record
/// leaves it to be redelivered (at least once; ids make the repeat invisible).
public final class StageWorker: @unchecked Sendable {   // driven by one thread; `stopRequested` guarded by `lock`
    public struct Settings: Sendable {
        /// Identifies the worker in dead letters and logs.
        public var workerID: String
        /// Dead letters carry the original payload up to this size (else its digest).
        public var deadLetterInlineBytes = 1 << 20
        public var pollTimeout = 0.2
        /// Records whose outputs may await acknowledgement at once (bounded memory; marking stays in order).
        public var window = 16
        /// Payloads up to this size are read for the study id a dead letter names (larger: the key).
        public var peekBytes = 16 << 20
        /// Backoff of a failed publish: `initialBackoff` doubling up to `maximumBackoff` seconds.
        public var initialBackoff = 0.1
        public var maximumBackoff = 10.0
        /// Touched at most every 5 s while the loop runs (a container health check reads its age).
        public var heartbeatFile: String?
        /// Metrics and health state (`/metrics`, `/healthz`, `/readyz`); nil: none kept.
        public var telemetry: WorkerTelemetry?
        public init(workerID: String) { self.workerID = workerID }
    }

    /// Header naming the worker that produced a record.
    public static let workerHeader = "worker"

    public let handler: any StageHandler
    let consumer: any RecordConsumer
    let producer: any RecordProducer
    public let settings: Settings
    public let counters: WorkerCounters
    /// Called between records (the retrieval indexer follows the bank topic here).
    public var between: (() -> Void)?
    /// Told of every dead letter (logging: its code, valid study id and source, never the reason text).
    public var onDeadLetter: ((DeadLetterNotice) -> Void)?
    private let lock = NSLock()
    private var stopRequested = false
    /// Records polled while fetching was paused, handled before the next poll (the loop thread's own).
    private var backlog = [IncomingRecord]()
    /// Fetching was paused and not resumed yet (the loop thread's own).
    private var needsResume = false

    public init(handler: any StageHandler, consumer: any RecordConsumer, producer: any RecordProducer, settings: Settings) {
        (self.handler, self.consumer, self.producer, self.settings) = (handler, consumer, producer, settings)
        counters = WorkerCounters(telemetry: settings.telemetry)
    }

    /// Asks `run` to return after the record in hand (thread-safe).
    public func stop() { lock.withLock { stopRequested = true } }
    var isStopping: Bool { lock.withLock { stopRequested } }

    /// Processes records until `stop()`, `limit` records, or (with `idleExit`) that many seconds
    /// without a record once one arrived or `idleExit` passed; then commits what was processed.
    public func run(limit: Int = .max, idleExit: Double? = nil) throws(MessagingError) {
        var done = 0, lastRecord = Date(), lastBeat = Date.distantPast, lastLag = Date.distantPast
        var window = [InFlight]()
        defer {
            settle(&window, all: true)                   // what was acknowledged is marked; the rest is redelivered
            try? consumer.commit()
        }
        while !isStopping, done < limit {
            if let file = settings.heartbeatFile, Date().timeIntervalSince(lastBeat) > 5 {
                lastBeat = Date()
                FileManager.default.createFile(atPath: file, contents: Data(String(lastBeat.timeIntervalSince1970).utf8))
            }
            if let telemetry = settings.telemetry {
                telemetry.turn(ready: consumer.hasJoinedGroup)
                telemetry.inFlight.set(Int64(window.count))
                if Date().timeIntervalSince(lastLag) >= 1, let lag = consumer.lag() { lastLag = Date(); telemetry.lag.set(Int64(lag)) }
            }
            between?()
            if window.count >= settings.window { waitForRoom(&window) } else { settle(&window, all: false); resumeIfPaused() }
            let record: IncomingRecord?
            if !backlog.isEmpty {
                record = backlog.removeFirst()
            } else {
                do { record = try consumer.poll(timeout: window.isEmpty ? settings.pollTimeout : 0.02) } catch where error.isRetriable {
                    counters.add("poll_errors"); backoff(attempt: 0); continue
                }
            }
            guard let record else {
                // Nothing new: mark what was acknowledged and poll again (never block here waiting for
                // acknowledgements: a frozen broker must not stop the polls the group and /healthz see).
                settle(&window, all: false)
                if let idleExit, Date().timeIntervalSince(lastRecord) > idleExit { return }
                continue
            }
            lastRecord = Date()
            window.append(start(record))
            done += 1
        }
    }

    /// The window is full and its head unacknowledged (a slow or frozen broker): fetching is paused
    /// and the consumer keeps being polled, so the group sees a live member however long the
    /// acknowledgement takes (max.poll.interval.ms counts from the last poll) and /healthz stays
    /// green; a record that was fetched before the pause is kept for the loop, never dropped. The
    /// consumer holds the pause for partitions assigned meanwhile, and the resume for partitions
    /// that were revoked while paused and come back (a session lost in a freeze). Memory stays
    /// bounded: the window plus what librdkafka had prefetched (`prefetchKilobytes`).
    func waitForRoom(_ window: inout [InFlight]) {
        guard let head = window.first, !head.ticket.isDone else { settle(&window, all: false); return }
        needsResume = true                               // even when pausing fails: the state may be half set
        try? consumer.pause()
        counters.add("pauses")
        while let head = window.first, !head.ticket.isDone, !isStopping {
            _ = head.ticket.wait(timeout: 0.1)
            settings.telemetry?.turn(ready: consumer.hasJoinedGroup)
            if let early = try? consumer.poll(timeout: 0) { backlog.append(early) }
        }
        resumeIfPaused()
        settle(&window, all: isStopping)
    }

    /// Resumes fetching after a pause; a failed resume is retried on the next turn of the loop (a
    /// consumer left paused would never read again).
    func resumeIfPaused() {
        guard needsResume else { return }
        do { try consumer.resume(); needsResume = false } catch { counters.add("resume_failures") }
    }

    /// A record whose outputs are on their way.
    struct InFlight {
        let record: IncomingRecord
        var outputs: [OutgoingRecord]
        var deadLettered: Bool
        var ticket: DeliveryTicket
        /// Why it was dead-lettered, and whether the payload was already dropped from the dead letter.
        var reason: ContractError?
        var inlineDropped = false
    }

    /// Runs the handler and hands its outputs (or the dead letter) to the producer without waiting.
    func start(_ record: IncomingRecord) -> InFlight {
        counters.add("received")
        var outputs: [OutgoingRecord]
        var reason: ContractError?
        let started = ContinuousClock.now
        defer { settings.telemetry?.latency.record(ContinuousClock.now - started) }
        do {
            outputs = try handler.handle(record).map {      // which replica made it (tracing; tests of scaling)
                OutgoingRecord(topic: $0.topic, key: $0.key, value: $0.value, headers: $0.headers.merging([Self.workerHeader: settings.workerID]) { a, _ in a })
            }
        } catch {
            outputs = [deadLetter(record, error)]
            reason = error
        }
        return InFlight(record: record, outputs: outputs, deadLettered: reason != nil, ticket: producer.enqueue(outputs), reason: reason)
    }

    /// Marks records in arrival order as their outputs are acknowledged: the acknowledged head of the
    /// window, or (`all`) every record, waiting and republishing a failed one with backoff first. A
    /// record is never marked before the ones before it, so a stored offset never skips one in flight.
    /// False when the worker stopped with records unacknowledged (they stay unmarked).
    @discardableResult
    func settle(_ window: inout [InFlight], all: Bool) -> Bool {
        while var head = window.first {
            if !all, !head.ticket.isDone { return true }
            var waited = 0.0
            while !head.ticket.isDone {                    // in slices: a stop waits at most 30 s for acknowledgements
                _ = head.ticket.wait(timeout: 1); waited += 1
                if isStopping, waited >= 30 { window.removeAll(); return false }              // unmarked: redelivered later
            }
            if let failure = head.ticket.wait(timeout: 0) {
                guard republish(&head, after: failure) else { window.removeAll(); return false }   // stopping: redelivered later
            }
            counters.add(head.deadLettered ? "dead_lettered" : "processed")
            do { try consumer.markProcessed(head.record) } catch { counters.add("mark_failures") }   // revoked meanwhile: the new owner repeats it
            window.removeFirst()
        }
        return true
    }

    /// One record end to end, synchronously; false when the worker stopped before its outputs were acknowledged.
    func process(_ record: IncomingRecord) throws(MessagingError) -> Bool {
        var window = [start(record)]
        return settle(&window, all: true)
    }

    /// Sends `entry`'s outputs again until acknowledged (a refused output becomes a dead letter; a
    /// refused dead letter keeps being retried); false when the worker is stopping first.
    func republish(_ entry: inout InFlight, after failure: MessagingError) -> Bool {
        var error = failure, attempt = 0
        while true {
            if !error.isRetriable, entry.deadLettered, entry.outputs.first.map({ !$0.value.isEmpty }) ?? false, !entry.inlineDropped {
                // A dead letter the broker refuses (too large with its payload inline): its digest alone.
                entry.outputs = [deadLetter(entry.record, entry.reason ?? ContractError(.processingFailed, error.message), inline: false)]
                entry.inlineDropped = true
            } else if error.isRetriable || entry.deadLettered {
                counters.add("publish_retries")
                if isStopping { return false }            // not marked: redelivered after the restart
                backoff(attempt: attempt); attempt += 1
            } else {
                let reason = ContractError(.processingFailed, "the broker refused the \(handler.stage) output: \(error.message)")
                entry.outputs = [deadLetter(entry.record, reason)]
                entry.deadLettered = true
                entry.reason = reason
            }
            do { try producer.send(entry.outputs); return true } catch let next { error = next }
        }
    }

    /// Leaves the group after committing what was processed (the thread that ran `run` calls it).
    public func close() {
        consumer.close()
        (producer as? KafkaProducer)?.close()
    }

    /// The dead letter of `record`; `inline: false` leaves the payload out (its digest and size stay).
    func deadLetter(_ record: IncomingRecord, _ error: ContractError, inline: Bool = true) -> OutgoingRecord {
        if inline {
            let id = Self.studyID(in: record, peekLimit: settings.peekBytes)
            onDeadLetter?(DeadLetterNotice(code: error.code.rawValue, studyID: id.flatMap { StudyID.isValid($0) ? $0 : nil },
                                           topic: record.topic, partition: record.partition, offset: record.offset))
            settings.telemetry?.deadLetter(code: error.code.rawValue)
        }
        let message = DeadLetterMessage(studyID: Self.studyID(in: record, peekLimit: settings.peekBytes),
                                        source: .init(topic: record.topic, partition: record.partition, offset: record.offset),
                                        stage: handler.stage, error: error, payload: record.value, inlineLimit: inline ? settings.deadLetterInlineBytes : -1,
                                        attempts: 1, worker: settings.workerID)
        let value = (try? MessageCodec.encode(message)) ?? Data()     // a plain struct of strings and numbers: encoding cannot fail
        return OutgoingRecord(topic: Topic.deadLetter.rawValue, key: record.key, value: value,
                              headers: [Topic.schemaHeader: Topic.deadLetter.rawValue, "error-code": error.code.rawValue,
                                        Topic.traceHeader: record.headers[Topic.traceHeader] ?? record.key ?? "", Self.workerHeader: settings.workerID])
    }

    /// The study id a payload names, when it is JSON with one (else the record key).
    static func studyID(in record: IncomingRecord, peekLimit: Int) -> String? {
        struct Peek: Decodable { let study_id: String? }
        if record.value.count <= peekLimit, let peek = try? JSONDecoder().decode(Peek.self, from: record.value), let id = peek.study_id { return id }
        return record.key
    }

    func backoff(attempt: Int) {
        let seconds = min(settings.maximumBackoff, settings.initialBackoff * pow(2, Double(min(attempt, 20))))
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !isStopping { Thread.sleep(forTimeInterval: min(0.05, seconds)) }
    }
}

/// What a worker may log about a dead letter: the code, the study id when it is a valid one, and
/// where the record sits. Never the reason text: a reason can quote the input (a malformed id, a
/// file path, a field value), and inputs may carry patient data; the reason is in the dead letter.
public struct DeadLetterNotice: Sendable, Equatable {
    public let code: String
    public let studyID: String?
    public let topic: String
    public let partition: Int
    public let offset: Int64
}
