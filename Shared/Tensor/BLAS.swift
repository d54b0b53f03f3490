import CBLAS

/// Every call into OpenBLAS lives in this file.
///
/// Matrices are row-major. `gemm` computes `C = alpha * op(A) * op(B) + beta * C` with
/// `op(A): [m, k]`, `op(B): [k, n]`, `C: [m, n]`, each with its own leading dimension so that
/// callers can address column blocks of wider matrices (for example one attention head).
public enum BLAS {
    /// The number of threads OpenBLAS uses for one call.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses for one call (at least 1).
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

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
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
