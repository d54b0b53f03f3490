import CBLAS

/// Every call into OpenBLAS lives in this file.
///
/// Matrices are row-major. `gemm` computes `C = alpha * op(A) * op(B) + beta * C` with
/// `op(A): [m, k]`, `op(B): [k, n]`, `C: [m, n]`, each with its own leading dimension so that
/// callers can address column blocks of wider matrices (for example one attention head).
public enum BLAS {
    /// The number of threads OpenBLAS uses for one call: 1, set once per process before the first
    /// product (`ComputeThreads` does the parallel work, so nothing flips this process-wide setting).
    public static var threads: Int {
        _ = singleThreaded
        return Int(openblas_get_num_threads())
    }

    private static let singleThreaded: Void = openblas_set_num_threads(1)

    /// OpenBLAS's build description (core type, threading), for benchmark logs.
    public static var configuration: String { String(cString: openblas_get_config()) }

    // swiftlint:disable:next function_parameter_count
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y = alpha * A x + beta * y` (or `Aᵀ x` with `transpose`) with row-major `A: [m, n]`, row stride `lda`.
    @inline(__always)
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0 else { return }
        _ = singleThreaded
        cblas_sgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha,
                    a, Int32(lda), x, 1, beta, y, 1)
    }
}
