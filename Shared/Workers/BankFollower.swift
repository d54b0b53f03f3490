public import Contracts
import Foundation
public import Messaging

/// The retrieval indexer's reader of the compacted `cxr.bank.v1` topic: every replica reads it whole
/// (its own throwaway group, from the earliest record) into its `BankIndex` at start, seeds it from
/// the model folder when it is empty, and keeps applying new records between studies.
public final class BankFollower {
    let consumer: any RecordConsumer
    let producer: any RecordProducer
    public let index: BankIndex
    public private(set) var applied = 0, refused = 0

    public init(consumer: any RecordConsumer, producer: any RecordProducer, index: BankIndex) {
        (self.consumer, self.producer, self.index) = (consumer, producer, index)
    }

    /// Reads until no record came for `idle` seconds (after `ready()` says the partitions are assigned),
    /// then, when the bank is still empty, publishes `seed` and reads it back.
    public func start(seed: () throws -> [BankEntryMessage], idle: Double = 1.5, timeout: Double = 60,
                      ready: () -> Bool = { true }) throws {
        let deadline = Date().addingTimeInterval(timeout)
        try catchUp(idle: idle, until: deadline, ready: ready)
        guard index.count == 0 else { return }
        let entries = try seed()
        try producer.send(try entries.map {
            OutgoingRecord(topic: Topic.bank.rawValue, key: $0.key, value: try MessageCodec.encode($0), headers: [Topic.schemaHeader: Topic.bank.rawValue])
        })
        while index.count < Set(entries.map(\.key)).count, Date() < deadline { try catchUp(idle: idle, until: deadline, ready: ready) }
        guard index.count > 0 else { throw ConfigurationError("the sentence bank did not arrive on \(Topic.bank.rawValue) within \(Int(timeout)) s") }
    }

    func catchUp(idle: Double, until deadline: Date, ready: () -> Bool) throws {
        var lastRecord = Date()
        while Date() < deadline {
            if let record = try consumer.poll(timeout: 0.2) {
                apply(record)
                lastRecord = Date()
            } else if ready(), Date().timeIntervalSince(lastRecord) >= idle {
                return
            }
        }
    }

    /// Applies whatever arrived since (non-blocking); called between studies.
    public func follow(maximum: Int = 1000) {
        for _ in 0..<maximum {
            guard let record = try? consumer.poll(timeout: 0) else { return }
            apply(record)
        }
    }

    func apply(_ record: IncomingRecord) {
        if record.value.isEmpty, let key = record.key {          // a tombstone
            index.remove(key: key); applied += 1; return
        }
        do {
            let entry = try MessageCodec.decode(BankEntryMessage.self, schema: BankEntryMessage.schema, from: record.value, maximumBytes: 1 << 20)
            guard record.key == entry.key else { refused += 1; return }      // the key is what compaction keeps
            try index.apply(entry)
            applied += 1
        } catch {
            refused += 1                                     // a bad bank record is skipped, the rest of the log still applies
        }
    }
}
