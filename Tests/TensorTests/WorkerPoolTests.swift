import Foundation
import Synchronization
import Testing
@testable import Tensor

/// `ComputeThreads.parallelFor` and its `WorkerPool`: slices really run on several threads, every
/// slice runs exactly once with many callers at once, and growing the pool under load loses nothing.
@Suite struct WorkerPoolTests {
    /// Identity of the running thread (pthread_self as an integer).
    static func threadID() -> UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self())))) }

    @Test(arguments: [2, 3])
    func slicesRunOnAsManyThreadsAsAskedFor(threads: Int) {
        // a pool of its own (the shared one may be busy with another test, and then runs in turn)
        let pool = WorkerPool(workers: 4)
        defer { pool.shutdown() }
        let seen = Locked<Set<UInt>>([])
        // each slice takes 30 ms, so the caller cannot finish them all before the workers join;
        // 6 slices on `threads` threads: the seat limit keeps the other workers out
        pool.run(6, threads: threads) { _ in
            seen.withLock { _ = $0.insert(Self.threadID()) }
            Thread.sleep(forTimeInterval: 0.03)
        }
        #expect(seen.withLock { $0.count } == threads)
    }

    @Test func aShutDownPoolsThreadsExit() async throws {
        let pool = WorkerPool(workers: 3)
        pool.run(3, threads: 3) { _ in Thread.sleep(forTimeInterval: 0.01) }
        for _ in 0..<200 where pool.runningWorkers < 3 { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(pool.runningWorkers == 3)
        pool.shutdown()
        for _ in 0..<200 where pool.runningWorkers > 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(pool.runningWorkers == 0)
        pool.run(4, threads: 4) { _ in }                  // a late job on it still completes, on the caller
    }

    @Test func oneSliceRunsOnTheCaller() {
        let caller = Self.threadID(), ran = Locked<UInt>(0)
        ComputeThreads.parallelFor(1) { _ in ran.withLock { $0 = Self.threadID() } }
        #expect(ran.withLock { $0 } == caller)
    }

    @Test func concurrentCallersEachRunEverySliceOnce() async {
        let callers = 8, jobs = 150
        let counts = Counts(callers * jobs * 8)                    // [caller][job][slice]
        await withTaskGroup(of: Void.self) { group in
            for caller in 0..<callers {
                group.addTask {
                    for job in 0..<jobs {
                        let slices = 1 + (job + caller) % 5          // 1...5 slices, threads 1...5
                        ComputeThreads.parallelFor(slices) { s in counts.add(at: (caller * jobs + job) * 8 + s) }
                        if caller == 0, job == jobs / 2 { _ = ComputeThreads.pool(threads: 7) }   // grow mid-way
                    }
                }
            }
        }
        let got = counts.values
        for caller in 0..<callers {
            for job in 0..<jobs {
                let (slices, base) = (1 + (job + caller) % 5, (caller * jobs + job) * 8)
                #expect(got[base..<(base + slices)].allSatisfy { $0 == 1 }, "caller \(caller) job \(job)")
                #expect(got[(base + slices)..<(base + 8)].allSatisfy { $0 == 0 })
            }
        }
    }

    @Test func threadCountsAreClamped() {
        #expect(ComputeThreads.clamped(100_000) == ComputeThreads.maximum)
        #expect(ComputeThreads.clamped(-3) == 1 && ComputeThreads.clamped(2) == 2)
    }
}

/// Slice counters shared by concurrent callers.
final class Counts: Sendable {
    private let counts: Locked<[Int]>
    init(_ n: Int) { counts = Locked([Int](repeating: 0, count: n)) }
    func add(at index: Int) { counts.withLock { $0[index] += 1 } }
    var values: [Int] { counts.withLock { $0 } }
}
