import Foundation
import Synchronization

/// Persistent worker threads for `ComputeThreads.parallelFor`: the caller publishes a job of
/// `slices` indices, then it and the workers claim indices from one atomic counter until none
/// are left.
///
/// Why not `DispatchQueue.concurrentPerform`: on Linux its workers wake too slowly for the
/// 50-500 µs slices of one convolution (measured: two 250 µs halves took 200 µs, not 125), so
/// the caller ends up doing most slices itself. Here idle workers spin on an atomic generation
/// counter for a short while after each job (a forward pass publishes one every few hundred µs),
/// and only then sleep on a condition variable.
final class WorkerPool: @unchecked Sendable {
    /// Spin iterations (atomic loads) before an idle worker sleeps: on the order of 1 ms. A decode
    /// step of the default language model runs ~100-200 µs of single-threaded work between its
    /// parallel products; at 100 µs the worker slept and each product paid a wake-up (2-thread
    /// decode, `anatomix-bench lm ... 2 256 64 5`, 5 runs each: median 1,368 tok/s at 100 µs,
    /// 2,468 at 1 ms; 1 thread: 2,183-2,337).
    private static let spinLimit = 200_000

    /// Threads a job runs on: the workers and the caller.
    var threads: Int { workers + 1 }
    private let workers: Int
    private let generation = Atomic<Int>(0)
    private let next = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let seats = Atomic<Int>(0)          // workers that may still join the current job
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)        // worker threads started and not yet exited
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var job: (@Sendable (Int) -> Void)?
    private var slices = 0
    private var active = 0
    private var sleeping = 0

    /// A pool of `workers` threads besides the caller's. Each thread holds the pool until it exits
    /// (after `shutdown`), so a replaced pool stays valid for a job still running on it.
    init(workers: Int) {
        self.workers = workers
        for index in 0..<workers {
            let thread = Thread { self.work() }
            thread.name = "anatomix-compute-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, on the caller and at most `threads - 1` workers;
    /// returns when all are done. A call made while another is running (nested, or from a second
    /// thread) runs its slices itself, in turn.
    func run(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for index in 0..<count { body(index) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            condition.lock()
            job = body
            slices = count
            seats.store(min(threads, count) - 1, ordering: .relaxed)
            next.store(0, ordering: .relaxed)
            done.store(0, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            if sleeping > 0 { condition.broadcast() }
            condition.unlock()
            claim(body, count)
            while done.load(ordering: .acquiring) < count {}
            // no worker may still hold the (non-escaping) body when this returns
            condition.lock()
            job = nil
            while active > 0 { condition.wait() }
            condition.unlock()
        }
    }

    private func claim(_ body: (Int) -> Void, _ count: Int) {
        while true {
            let index = next.add(1, ordering: .relaxed).oldValue
            guard index < count else { return }
            body(index)
            done.add(1, ordering: .releasing)
        }
    }

    /// Lets the workers exit once idle (a job already running still completes: its caller claims
    /// whatever slices no worker takes).
    func shutdown() {
        stopping.store(true, ordering: .releasing)
        condition.lock()
        generation.add(1, ordering: .releasing)      // wakes spinning and sleeping workers
        condition.broadcast()
        condition.unlock()
    }

    /// Worker threads that are running (0 once a shut-down pool's threads have exited).
    var runningWorkers: Int { running.load(ordering: .acquiring) }

    private func work() {
        running.add(1, ordering: .releasing)
        defer { running.subtract(1, ordering: .releasing) }
        var seen = 0
        while !stopping.load(ordering: .acquiring) {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                guard spins > Self.spinLimit else { continue }
                condition.lock()
                sleeping += 1
                while generation.load(ordering: .acquiring) == seen { condition.wait() }
                sleeping -= 1
                condition.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            participate()
            condition.lock()
            active -= 1
            if active == 0 { condition.broadcast() }
            condition.unlock()
        }
    }

    /// Joins the published job, if it is still there (counted in `active` either way); the local
    /// reference to the job's body ends with this call, before `active` drops.
    @inline(never)
    private func participate() {
        condition.lock()
        active += 1
        let body = job, count = slices
        condition.unlock()
        if let body, seats.subtract(1, ordering: .relaxed).newValue >= 0 { claim(body, count) }
    }
}
