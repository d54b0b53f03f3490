/// An idempotent Kafka producer (acks=all): `send` returns once every record is acknowledged.
public final class KafkaProducer: RecordProducer, @unchecked Sendable {   // the RDKafka layer is thread-safe
    let client: RDKafkaProducer

    public init(configuration: KafkaConfiguration) throws(MessagingError) {
        try configuration.validate(.producer)
        client = try RDKafkaProducer(settings: configuration.librdkafkaSettings(.producer), deliveryTimeout: configuration.deliveryTimeout)
    }

    public func send(_ records: [OutgoingRecord]) throws(MessagingError) { try client.send(records) }
    public func enqueue(_ records: [OutgoingRecord]) -> DeliveryTicket { client.enqueue(records) }

    /// Delivers what is queued (up to `timeout` seconds) and stops.
    public func close(timeout: Double = 10) { client.close(timeout: timeout) }
}

/// A member of a Kafka consumer group (cooperative-sticky assignment, offsets stored only for records
/// marked processed and committed in the background, on revoke and on close).
public final class KafkaConsumer: RecordConsumer {
    /// Where a member starts reading partitions it is assigned for the first time, overriding the
    /// group's committed offsets (a replay under a new group).
    public enum StartPosition: Sendable, Equatable {
        case offset(Int64)
        /// Milliseconds since 1970: the first record at or after it.
        case timestamp(Int64)
    }

    let client: RDKafkaConsumer

    public init(configuration: KafkaConfiguration, topics: [String], start: StartPosition? = nil) throws(MessagingError) {
        try configuration.validate(.consumer)
        client = try RDKafkaConsumer(settings: configuration.librdkafkaSettings(.consumer), topics: topics, start: start)
    }

    public func poll(timeout: Double) throws(MessagingError) -> IncomingRecord? { try client.poll(timeout: timeout) }

    public func markProcessed(_ record: IncomingRecord) throws(MessagingError) {
        try client.store(topic: record.topic, partition: record.partition, next: record.offset + 1)
    }

    public func commit() throws(MessagingError) { try client.commit() }
    public func pause() throws(MessagingError) { try client.setPaused(true) }
    public func resume() throws(MessagingError) { try client.setPaused(false) }
    public func close() { client.close() }
    public func lag() -> Int? { client.lag() }
    public var hasJoinedGroup: Bool { client.rebalances.hasJoined }

    /// Partitions assigned and revoked so far (rebalance callbacks).
    public var rebalanceCounts: (assigned: Int, revoked: Int) { client.rebalances.counts }
}
