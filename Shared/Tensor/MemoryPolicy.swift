import CKernels

/// How the process's allocator treats the numeric code's short-lived buffers.
///
/// A forward pass allocates and frees tens of arrays of 0.1-2 MB (convolution outputs, padded phases,
/// im2col columns). glibc's defaults hand freed memory at the top of the heap back to the kernel, so
/// the next pass page-faults it in again, zero-filled: on the tiny APM at one thread that was about 40%
/// of a 24x24 convolution's time and 15% of the whole forward (24.2 -> 20.6 ms once kept; `make bench`).
/// ONNX Runtime keeps its own arena for the same reason.
public enum MemoryPolicy {
    /// Freed memory kept at the top of the heap: a few forward passes' worth.
    public static let retainedBytes = 256 << 20
    /// Blocks up to this size come from the heap (larger ones, weights among them, are mapped).
    public static let heapBlockBytes = 32 << 20

    /// Keeps freed memory for reuse (glibc's `M_TRIM_THRESHOLD` / `M_MMAP_THRESHOLD`), once per
    /// process (each glibc arena may keep `retainedBytes`); model initialisers call it, before their
    /// compute threads start. Leaves glibc alone where the environment already sets
    /// `MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_` or `GLIBC_TUNABLES=glibc.malloc...`. Returns
    /// whether the policy is in force.
    @discardableResult
    public static func keepFreedMemory() -> Bool {
        anatomix_keep_freed_memory(Int64(retainedBytes), Int64(heapBlockBytes)) == 1
    }
}
