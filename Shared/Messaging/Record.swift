public import Foundation

/// A record to publish: key = study id (the bank: anatomy + U+001F + sentence), value = a message's
/// JSON, headers such as the schema version and the trace id.
public struct OutgoingRecord: Sendable, Equatable {
    public let topic: String
    public let key: String?
    public let value: Data
    public let headers: [String: String]

    public init(topic: String, key: String?, value: Data, headers: [String: String] = [:]) {
        (self.topic, self.key, self.value, self.headers) = (topic, key, value, headers)
    }
}

/// A record read from a topic, with where it came from (what a dead letter names).
public struct IncomingRecord: Sendable, Equatable {
    public let topic: String
    public let partition: Int
    public let offset: Int64
    public let key: String?
    public let value: Data
    public let headers: [String: String]
    /// Broker or producer time, milliseconds since 1970, when known.
    public let timestampMilliseconds: Int64?

    public init(topic: String, partition: Int, offset: Int64, key: String?, value: Data, headers: [String: String] = [:],
                timestampMilliseconds: Int64? = nil) {
        (self.topic, self.partition, self.offset, self.key, self.value) = (topic, partition, offset, key, value)
        (self.headers, self.timestampMilliseconds) = (headers, timestampMilliseconds)
    }
}

/// Publishes records; `send` returns once the broker acknowledged every one of them (or throws);
/// `enqueue` returns at once with a ticket the acknowledgements complete (a worker keeps a bounded
/// window of them in flight instead of waiting out every round trip).
public protocol RecordProducer: Sendable {
    func send(_ records: [OutgoingRecord]) throws(MessagingError)
    func enqueue(_ records: [OutgoingRecord]) -> DeliveryTicket
}

extension RecordProducer {
    /// A producer without asynchronous delivery sends now.
    public func enqueue(_ records: [OutgoingRecord]) -> DeliveryTicket {
        do { try send(records); return DeliveryTicket(count: 0) } catch { return DeliveryTicket(failed: error) }
    }
}

/// The acknowledgements of one group of records: done when every one was acknowledged or failed.
public final class DeliveryTicket: @unchecked Sendable {   // guarded by `condition`
    let condition = NSCondition()
    var remaining: Int
    var failure: MessagingError?

    init(count: Int) { remaining = count }
    init(failed: MessagingError) { (remaining, failure) = (0, failed) }

    /// One record acknowledged (`error` nil) or failed.
    func complete(_ error: MessagingError?) {
        condition.lock(); defer { condition.unlock() }
        if let error, failure == nil { failure = error }
        remaining -= 1
        if remaining <= 0 { condition.broadcast() }
    }

    /// `count` records that will never be produced count as failed with `error`.
    func abandon(_ count: Int, error: MessagingError) {
        condition.lock(); defer { condition.unlock() }
        if failure == nil { failure = error }
        remaining -= count
        if remaining <= 0 { condition.broadcast() }
    }

    public var isDone: Bool { condition.withLock { remaining <= 0 } }

    /// Waits up to `timeout` seconds: nil when every record was acknowledged, else the failure
    /// (a timeout is a retriable `timedOut`).
    public func wait(timeout: Double) -> MessagingError? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock(); defer { condition.unlock() }
        while remaining > 0 {
            if !condition.wait(until: deadline), remaining > 0 {
                return MessagingError(.timedOut, "no delivery report within \(Int(timeout)) s", retriable: true)
            }
        }
        return failure
    }
}

/// Reads records as one member of a consumer group. Offsets are committed only for records marked
/// processed (`markProcessed` after their outputs were acknowledged), so a crash re-delivers what was
/// in flight and never skips it. One thread drives a consumer.
public protocol RecordConsumer: AnyObject {
    /// The next record, or nil when none arrived within `timeout` seconds.
    func poll(timeout: Double) throws(MessagingError) -> IncomingRecord?
    /// `record` is done: its offset + 1 is committed with the next commit.
    func markProcessed(_ record: IncomingRecord) throws(MessagingError)
    /// Commits what was marked, synchronously.
    func commit() throws(MessagingError)
    /// Stops / restarts fetching for every assigned partition (poll keeps serving the group).
    func pause() throws(MessagingError)
    func resume() throws(MessagingError)
    /// Commits what was marked and leaves the group.
    func close()
    /// Records waiting on the assigned partitions (nil: not known).
    func lag() -> Int?
    /// Whether the consumer is in its group and can be given work (readiness).
    var hasJoinedGroup: Bool { get }
}

extension RecordConsumer {
    public func lag() -> Int? { nil }
    public var hasJoinedGroup: Bool { true }
}
