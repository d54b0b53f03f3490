public import Contracts
import Foundation
public import Pipeline
import Retrieval
import Tensor

/// The retrieval indexer's copy of the sentence bank, built from `cxr.bank.v1` records (last value
/// per key wins, `deleted` or an empty value removes). Entries keep the order their keys first
/// appeared (a bank seeded from a model folder equals that folder's, float for float); the bank's
/// version is order-free and the calibration is the one of the greatest live key, so replicas that
/// read a compacted log in another order hold the same bank version and give the same ids.
public final class BankIndex: @unchecked Sendable {   // guarded by `lock`
    private let lock = NSLock()
    private var order = [String: Int]()
    private var entries = [String: BankEntryMessage]()
    private var cached: RetrievalStep?
    private var dirty = true
    public let lookup: RetrievalStage.Lookup

    public init(lookup: RetrievalStage.Lookup = .calibrated) { self.lookup = lookup }

    /// Applies one record; entries whose vector length differs from the bank's are refused.
    public func apply(_ entry: BankEntryMessage) throws(ContractError) {
        lock.lock(); defer { lock.unlock() }
        do {
            if let other = entries.values.first, other.vector.count != entry.vector.count, entry.deleted != true {
                throw ContractError(.schemaViolation, "bank entry '\(entry.key.prefix(80))' has a \(entry.vector.count)-d vector; the bank holds \(other.vector.count)-d ones")
            }
            if order[entry.key] == nil { order[entry.key] = order.count }
            if entry.deleted == true { entries[entry.key] = nil } else { entries[entry.key] = entry }
            dirty = true
        }
    }

    /// A tombstone (a record with a key and no value): removes the entry.
    public func remove(key: String) {
        lock.withLock {
            if entries.removeValue(forKey: key) != nil { dirty = true }
        }
    }

    public var count: Int { lock.withLock { entries.count } }

    /// The retrieval step over the current bank (nil while it is empty); rebuilt after changes.
    public var step: RetrievalStep? {
        lock.withLock {
            if dirty {
                cached = try? build()
                dirty = false
            }
            return cached
        }
    }

    /// Lock held.
    private func build() throws -> RetrievalStep? {
        let live = entries.values.sorted { order[$0.key]! < order[$1.key]! }
        guard let last = live.last, let calibration = entries[entries.keys.max()!] else { return nil }
        let bank = try SentenceBank(entries: live.map { .init(anatomy: $0.anatomy, sentence: $0.sentence, kinds: $0.kinds) },
                                    vectors: Tensor(shape: [live.count, last.vector.count], storage: live.flatMap(\.vector)),
                                    temperature: calibration.temperature, healthyThreshold: calibration.healthyThreshold)
        return RetrievalStep(stage: RetrievalStage(bank: bank, lookup: lookup))
    }

    /// The bank of a model folder as `cxr.bank.v1` records (its stored vectors, before normalisation).
    public static func seed(fromModel folder: String) throws -> [BankEntryMessage] {
        let bank = try SentenceBank(directory: folder)           // checks the entries against the folder's ontology
        let raw = try SafeTensorsFile(path: folder + "/bank.safetensors").tensor("vectors")
        let d = raw.shape[1]
        return bank.entries.enumerated().map { i, e in
            BankEntryMessage(anatomy: e.anatomy, sentence: e.sentence, kinds: e.kinds, vector: Array(raw.storage[(i * d)..<((i + 1) * d)]),
                             temperature: bank.temperature, healthyThreshold: bank.healthyThreshold, source: URL(fileURLWithPath: folder).lastPathComponent)
        }
    }
}
