import Foundation

/// Topics, partitions and consumer groups in memory, with the semantics the Kafka layer has: keyed
/// partitioning, offsets committed per group only for records marked processed, partitions split
/// between a group's members, redelivery after a member leaves without committing. For `analyze`-like
/// single-process runs and for testing stage workers without a broker. Thread-safe.
public final class InProcessBus: RecordProducer, @unchecked Sendable {   // state guarded by `condition`
    struct GroupState {
        var committed: [String: [Int64]] = [:]      // topic -> per-partition next offset
        var members: [ObjectIdentifier] = []
    }

    let condition = NSCondition()
    let defaultPartitions: Int
    var topics: [String: [[IncomingRecord]]] = [:]
    var groups: [String: GroupState] = [:]
    var failingSends = 0
    var holding = false
    var held: [DeliveryTicket] = []

    public init(defaultPartitions: Int = 4) {
        precondition(defaultPartitions >= 1)
        self.defaultPartitions = defaultPartitions
    }

    /// Creates `name` with `partitions` partitions (no-op when it exists).
    public func createTopic(_ name: String, partitions: Int) {
        precondition(partitions >= 1)
        condition.lock(); defer { condition.unlock() }
        if topics[name] == nil { topics[name] = Array(repeating: [], count: partitions) }
    }

    /// The next `count` sends fail with a retriable transport error (a broker outage, for tests).
    public func failNextSends(_ count: Int) {
        condition.lock(); defer { condition.unlock() }
        failingSends = count
    }

    /// From now on records are stored at once but acknowledged only by `releaseAcknowledgements`
    /// (a slow or frozen broker, for tests of back-pressure).
    public func holdAcknowledgements() {
        condition.lock(); defer { condition.unlock() }
        holding = true
    }

    /// Acknowledges everything held and stops holding.
    public func releaseAcknowledgements() {
        condition.lock()
        holding = false
        let tickets = held
        held = []
        condition.unlock()
        for t in tickets { t.complete(nil) }
    }

    public func enqueue(_ records: [OutgoingRecord]) -> DeliveryTicket {
        do { try send(records) } catch { return DeliveryTicket(failed: error) }
        condition.lock(); defer { condition.unlock() }
        guard holding else { return DeliveryTicket(count: 0) }
        let ticket = DeliveryTicket(count: 1)
        held.append(ticket)
        return ticket
    }

    public func send(_ records: [OutgoingRecord]) throws(MessagingError) {
        condition.lock(); defer { condition.unlock() }
        if failingSends > 0 {
            failingSends -= 1
            throw MessagingError(.transport, "in-process bus: injected send failure", retriable: true)
        }
        for r in records {
            if topics[r.topic] == nil { topics[r.topic] = Array(repeating: [], count: defaultPartitions) }
            let count = topics[r.topic]!.count
            let partition = r.key.map { Self.partition(of: $0, count: count) } ?? Int.random(in: 0..<count)
            let offset = Int64(topics[r.topic]![partition].count)
            topics[r.topic]![partition].append(IncomingRecord(topic: r.topic, partition: partition, offset: offset, key: r.key, value: r.value,
                                                              headers: r.headers, timestampMilliseconds: Int64(Date().timeIntervalSince1970 * 1000)))
        }
        condition.broadcast()
    }

    /// Every record of `topic`, partition by partition.
    public func records(_ topic: String) -> [IncomingRecord] {
        condition.lock(); defer { condition.unlock() }
        return (topics[topic] ?? []).flatMap { $0 }
    }

    /// The group's committed next offset of each partition of `topic`.
    public func committed(group: String, topic: String) -> [Int64] {
        condition.lock(); defer { condition.unlock() }
        return groups[group]?.committed[topic] ?? Array(repeating: 0, count: topics[topic]?.count ?? 0)
    }

    /// A new member of `group` reading `topics` from the group's committed offsets (earliest when none).
    public func consumer(group: String, topics names: [String]) -> InProcessConsumer {
        let member = InProcessConsumer(bus: self, group: group, topics: names)
        condition.lock(); defer { condition.unlock() }
        for name in names where topics[name] == nil { topics[name] = Array(repeating: [], count: defaultPartitions) }
        groups[group, default: GroupState()].members.append(ObjectIdentifier(member))
        return member
    }

    /// FNV-1a of the key's bytes, so one study always lands in one partition.
    static func partition(of key: String, count: Int) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return Int(hash % UInt32(count))
    }

    // MARK: called by members, lock held

    /// Partitions of `topic` a member owns: partition p goes to member p mod n, in join order.
    func assignment(group: String, member: ObjectIdentifier, topic: String) -> [Int] {
        let members = groups[group]?.members ?? []
        guard let rank = members.firstIndex(of: member), let count = topics[topic]?.count else { return [] }
        return (0..<count).filter { $0 % members.count == rank }
    }

    func leave(group: String, member: ObjectIdentifier) {
        groups[group]?.members.removeAll { $0 == member }
        condition.broadcast()
    }
}

/// A member of an in-process consumer group (see `InProcessBus`).
public final class InProcessConsumer: RecordConsumer {
    let bus: InProcessBus
    let group: String
    let topics: [String]
    var positions: [String: [Int: Int64]] = [:]     // next offset to deliver, per owned partition
    var marked: [String: [Int: Int64]] = [:]
    var paused = false, closed = false
    var pollCount = 0
    /// Records a paused poll still returns, as librdkafka returns what it fetched before the pause (tests).
    public var deliveredWhilePaused = 0

    init(bus: InProcessBus, group: String, topics: [String]) { (self.bus, self.group, self.topics) = (bus, group, topics) }

    public func poll(timeout: Double) throws(MessagingError) -> IncomingRecord? {
        let deadline = Date().addingTimeInterval(max(0, timeout))
        bus.condition.lock(); defer { bus.condition.unlock() }
        pollCount += 1
        while true {
            guard !closed else { throw MessagingError(.closed, "consumer of group \(group) is closed", retriable: false) }
            if paused, deliveredWhilePaused > 0, let record = nextRecord() { deliveredWhilePaused -= 1; return record }
            if !paused, let record = nextRecord() { return record }
            if !bus.condition.wait(until: deadline) { return nil }
        }
    }

    /// Lock held. Owned partitions start at the group's committed offset; a partition this member
    /// lost is forgotten (its new owner starts from the commit).
    func nextRecord() -> IncomingRecord? {
        for topic in topics {
            let owned = bus.assignment(group: group, member: ObjectIdentifier(self), topic: topic)
            positions[topic] = (positions[topic] ?? [:]).filter { owned.contains($0.key) }
            for p in owned {
                let committed = bus.groups[group]?.committed[topic]?[p] ?? 0
                let position = positions[topic]?[p] ?? committed
                let log = bus.topics[topic]?[p] ?? []
                if position < Int64(log.count) {
                    positions[topic, default: [:]][p] = position + 1
                    return log[Int(position)]
                }
                positions[topic, default: [:]][p] = position
            }
        }
        return nil
    }

    public func markProcessed(_ record: IncomingRecord) throws(MessagingError) {
        bus.condition.lock(); defer { bus.condition.unlock() }
        marked[record.topic, default: [:]][record.partition] = record.offset + 1
    }

    public func commit() throws(MessagingError) {
        bus.condition.lock(); defer { bus.condition.unlock() }
        commitLocked()
    }

    func commitLocked() {
        for (topic, partitions) in marked {
            var offsets = bus.groups[group]?.committed[topic] ?? Array(repeating: 0, count: bus.topics[topic]?.count ?? 0)
            for (p, next) in partitions where p < offsets.count { offsets[p] = max(offsets[p], next) }
            bus.groups[group, default: .init()].committed[topic] = offsets
        }
        marked = [:]
    }

    /// Polls so far and whether fetching is paused (tests of back-pressure).
    public var polls: Int { bus.condition.withLock { pollCount } }
    public var isPaused: Bool { bus.condition.withLock { paused } }

    public func pause() throws(MessagingError) { bus.condition.lock(); paused = true; bus.condition.unlock() }
    public func resume() throws(MessagingError) { bus.condition.lock(); paused = false; bus.condition.broadcast(); bus.condition.unlock() }

    public func close() {
        bus.condition.lock(); defer { bus.condition.unlock() }
        guard !closed else { return }
        commitLocked()
        closed = true
        bus.leave(group: group, member: ObjectIdentifier(self))
    }

    /// Leaves the group without committing (what a SIGKILL does), for tests.
    public func crash() {
        bus.condition.lock(); defer { bus.condition.unlock() }
        marked = [:]
        closed = true
        bus.leave(group: group, member: ObjectIdentifier(self))
    }
}
