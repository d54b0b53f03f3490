import Synchronization

/// How many cores the numeric code uses, passed explicitly: every parallel entry point takes a
/// thread count (`threads:`, or the `slices` it derives from one), and `count` is only the default
/// that a command's `--threads` sets for calls that do not give one. OpenBLAS always runs one
/// thread per call (set once per process, see `BLAS`); the parallelism is ours, so two studies in
/// flight at once never change each other's settings.
public enum ComputeThreads {
    /// Upper bound on any thread count (a typo in a config must not start thousands of threads).
    public static let maximum = 256

    private static let defaultCount = Atomic<Int>(1)
    private static let shared = Locked<WorkerPool?>(nil)

    /// The default thread count (1 until `set`).
    public static var count: Int { defaultCount.load(ordering: .relaxed) }

    /// Sets the default thread count, clamped to 1...maximum.
    public static func set(_ threads: Int) {
        defaultCount.store(clamped(threads), ordering: .relaxed)
    }

    /// `threads` within 1...maximum.
    public static func clamped(_ threads: Int) -> Int { min(max(1, threads), maximum) }

    /// Runs `body(slice)` for `slice` in `0..<slices`, in parallel on the caller's thread and up to
    /// `slices - 1` workers of the process-wide pool (callers make `slices` at most the threads
    /// they were given); returns when every slice is done. While another caller holds the pool,
    /// this one runs its slices itself, in turn: correct, just not parallel.
    public static func parallelFor(_ slices: Int, _ body: @Sendable (Int) -> Void) {
        let threads = min(slices, maximum)
        guard threads > 1 else {
            for slice in 0..<slices { body(slice) }
            return
        }
        pool(threads: threads).run(slices, threads: threads, body)
    }

    /// The shared pool, grown (a new pool replaces the old, whose threads then exit) to `threads`.
    static func pool(threads: Int) -> WorkerPool {
        shared.withLock { pool in
            if let current = pool, current.threads >= threads { return current }
            pool?.shutdown()
            let grown = WorkerPool(workers: threads - 1)
            pool = grown
            return grown
        }
    }
}

/// A read-only pointer handed to `parallelFor` slices that read disjoint or shared memory.
public struct SharedPointer: @unchecked Sendable {
    public let base: UnsafePointer<Float>
    public init(_ base: UnsafePointer<Float>) { self.base = base }
}

/// A mutable pointer handed to `parallelFor` slices that each write their own disjoint part.
public struct SharedMutablePointer: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
}
