import Dispatch

/// How many cores the numeric code may use: OpenBLAS threads inside one matrix product, and the
/// number of slices that `parallelFor` splits independent work into.
public enum ComputeThreads {
    nonisolated(unsafe) private static var current = 1

    /// The configured thread count.
    public static var count: Int { current }

    /// Sets both OpenBLAS's and `parallelFor`'s thread count (at least 1).
    public static func set(_ threads: Int) {
        current = max(1, threads)
        BLAS.setThreads(current)
    }

    /// Runs `body(slice)` for `slice` in `0..<slices` on up to `count` threads.
    public static func parallelFor(_ slices: Int, _ body: @Sendable (Int) -> Void) {
        if current == 1 || slices <= 1 {
            for slice in 0..<slices { body(slice) }
        } else {
            DispatchQueue.concurrentPerform(iterations: slices, execute: body)
        }
    }
}
