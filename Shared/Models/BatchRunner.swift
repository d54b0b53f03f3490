import Dispatch
import Foundation
import Tensor

/// Runs independent batches on up to `threads` threads, keeping their order: each batch on one
/// thread (BLAS is single-threaded), which for the small matrices of a sentence encoder scales
/// better than splitting each product.
enum BatchRunner {
    static func map<T: Sendable>(_ items: [Range<Int>], threads: Int,
                                 _ body: @Sendable (Range<Int>) throws -> T) throws -> [T] {
        let threads = ComputeThreads.clamped(threads)
        guard threads > 1, items.count > 1 else { return try items.map(body) }
        let results = ResultSlots<T>(count: items.count)
        let next = WorkIndex()
        DispatchQueue.concurrentPerform(iterations: min(threads, items.count)) { _ in
            while let index = next.take(below: items.count) {
                results.set(index, Result { try body(items[index]) })
            }
        }
        return try results.values().map { try $0.get() }
    }
}

/// Fixed slots written once each from worker threads.
final class ResultSlots<T: Sendable>: @unchecked Sendable {
    private var slots: [Result<T, any Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<T, any Error>) { lock.withLock { slots[index] = value } }
    func values() -> [Result<T, any Error>] { lock.withLock { slots.map { $0! } } }
}

/// The next work item for worker threads (a lock-guarded counter).
final class WorkIndex: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func take(below limit: Int) -> Int? {
        lock.withLock {
            guard value < limit else { return nil }
            defer { value += 1 }
            return value
        }
    }
}
