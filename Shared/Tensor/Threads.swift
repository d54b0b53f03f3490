import Dispatch

/// How many cores the numeric code may use: OpenBLAS threads inside one matrix product, and the
/// number of slices that `parallelFor` splits independent work into.
public enum ComputeThreads {
    nonisolated(unsafe) private static var current = 1
    nonisolated(unsafe) private static var pool: WorkerPool?

    /// The configured thread count.
    public static var count: Int { current }

    /// Sets both OpenBLAS's and `parallelFor`'s thread count (at least 1).
    public static func set(_ threads: Int) {
        current = max(1, threads)
        BLAS.setThreads(current)
        if current > 1, (pool?.threads ?? 1) < current { pool = WorkerPool(workers: current - 1) }
    }

    /// Runs `body(slice)` for `slice` in `0..<slices` on up to `count` threads (the caller's and
    /// persistent workers: see `WorkerPool`); returns when every slice is done.
    public static func parallelFor(_ slices: Int, _ body: @Sendable (Int) -> Void) {
        if current == 1 || slices <= 1 {
            for slice in 0..<slices { body(slice) }
        } else if let pool {
            pool.run(slices, body)
        } else {
            DispatchQueue.concurrentPerform(iterations: slices, execute: body)
        }
    }

    /// Runs `body` with single-threaded OpenBLAS calls, then restores `count` threads: for code that
    /// splits its products across `parallelFor` itself (small products scale better that way).
    public static func withSingleThreadedBLAS<T>(_ body: () throws -> T) rethrows -> T {
        guard current > 1 else { return try body() }
        BLAS.setThreads(1)
        defer { BLAS.setThreads(current) }
        return try body()
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
