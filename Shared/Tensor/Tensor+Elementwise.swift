import Foundation

extension Tensor {
    /// NumPy-style broadcast of two shapes, or nil when they are incompatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        var out = [Int]()
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else { return nil }
            out.append(x == 1 ? y : x)
        }
        return out
    }

    /// Strides of `self` when read as `outShape` (0 along broadcast axes).
    func broadcastStrides(to outShape: [Int]) -> [Int] {
        let pad = outShape.count - rank
        let own = strides
        return outShape.indices.map { axis in
            axis < pad || shape[axis - pad] == 1 ? 0 : own[axis - pad]
        }
    }

    /// The one broadcasting binary kernel; `+ - * /` and friends are one-line wrappers (inlined
    /// into them, so that `op` is a known function in the loops).
    @inline(__always)
    public func zipWith(_ other: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        guard let outShape = Tensor.broadcastShape(shape, other.shape) else {
            preconditionFailure("shapes \(shape) and \(other.shape) do not broadcast")
        }
        if shape == other.shape {
            let total = count
            let out = [Float](unsafeUninitializedCapacity: total) { c, initialized in
                storage.withUnsafeBufferPointer { a in
                    other.storage.withUnsafeBufferPointer { b in for i in 0..<total { c[i] = op(a[i], b[i]) } }
                }
                initialized = total
            }
            return Tensor(shape: shape, storage: out)
        }
        if let tiled = zipTiled(other, outShape: outShape, op) { return tiled }
        let sa = broadcastStrides(to: outShape), sb = other.broadcastStrides(to: outShape)
        let total = outShape.reduce(1, *)
        var out = [Float](repeating: 0, count: total)
        guard total > 0 else { return Tensor(shape: outShape, storage: out) }
        let inner = outShape.last ?? 1
        let (ia, ib) = (sa.last ?? 0, sb.last ?? 0)
        var index = [Int](repeating: 0, count: max(outShape.count - 1, 0))
        storage.withUnsafeBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    var row = 0
                    while row * inner < total {
                        var oa = 0, ob = 0
                        for axis in index.indices { oa += index[axis] * sa[axis]; ob += index[axis] * sb[axis] }
                        let base = row * inner
                        for j in 0..<inner { c[base + j] = op(a[oa + j * ia], b[ob + j * ib]) }
                        row += 1
                        var axis = index.count - 1
                        while axis >= 0 {
                            index[axis] += 1
                            if index[axis] < outShape[axis] { break }
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
        return Tensor(shape: outShape, storage: out)
    }

    /// The common broadcast where one operand repeats whole: `[B, N, d] op [1, N, d]` (or `[d]`).
    @inline(__always)
    private func zipTiled(_ other: Tensor, outShape: [Int], _ op: (Float, Float) -> Float) -> Tensor? {
        let total = outShape.reduce(1, *)
        func tiles(_ small: [Int]) -> Bool {
            let trimmed = Array(small.drop { $0 == 1 })
            return trimmed.count <= outShape.count && Array(outShape.suffix(trimmed.count)) == trimmed
        }
        let (aWhole, bWhole) = (storage.count == total, other.storage.count == total)
        guard total > 0, aWhole || bWhole, aWhole ? tiles(other.shape) : tiles(shape) else { return nil }
        let period = aWhole ? other.storage.count : storage.count
        guard period > 0 else { return nil }
        var out = [Float](unsafeUninitializedCapacity: total) { _, count in count = total }
        storage.withUnsafeBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    var start = 0
                    while start < total {
                        if aWhole {
                            for j in 0..<period { c[start + j] = op(a[start + j], b[j]) }
                        } else {
                            for j in 0..<period { c[start + j] = op(a[j], b[start + j]) }
                        }
                        start += period
                    }
                }
            }
        }
        return Tensor(shape: outShape, storage: out)
    }

    /// Applies `op` to every element.
    public func map(_ op: (Float) -> Float) -> Tensor {
        Tensor(shape: shape, storage: storage.map(op))
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, *) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, /) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }

    /// GELU in its exact erf form, `x · Φ(x)`, as BERT and PyTorch's default `nn.GELU` use.
    public func gelu() -> Tensor {
        var out = self
        out.storage.withUnsafeMutableBufferPointer { Activation.geluInPlace($0) }
        return out
    }

    /// Largest absolute elementwise difference (for tests and parity reports); NaN when any difference is
    /// NaN (a NaN in either tensor), so that `d < tolerance` fails (Swift's `max` would drop it).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        var largest: Float = 0
        for (a, b) in zip(storage, other.storage) {
            let difference = abs(a - b)
            if difference.isNaN { return .nan }
            largest = max(largest, difference)
        }
        return largest
    }
}

/// Elementwise activations over raw buffers, shared by `Tensor` and the fused model kernels.
public enum Activation {
    /// `x · 0.5 · (1 + erf(x / √2))` in place, with `erf` from `fastErf` (8 lanes at a time).
    public static func geluInPlace(_ x: UnsafeMutableBufferPointer<Float>) {
        guard let base = x.baseAddress else { return }
        let invSqrt2: Float = 0.70710678118654752
        let lanes = x.count / 8 * 8
        var i = 0
        while i < lanes {
            let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
            let y = 0.5 * v * (1 + fastErf(v * invSqrt2))
            UnsafeMutableRawPointer(base + i).storeBytes(of: y, as: SIMD8<Float>.self)
            i += 8
        }
        for j in lanes..<x.count {
            let v = x[j]
            x[j] = 0.5 * v * (1 + fastErf(SIMD8(repeating: v * invSqrt2))[0])
        }
    }

    /// erf for fp32 as a rational function `x·P(x²)/Q(x²)` on `[-4, 4]` (the minimax form used by
    /// Eigen and XLA; erf is ±1 in fp32 beyond). Max abs error about 2e-7 (tested against `erf`).
    @inline(__always)
    public static func fastErf(_ input: SIMD8<Float>) -> SIMD8<Float> {
        var x = input.replacing(with: 4, where: input .> 4)
        x.replace(with: -4, where: x .< -4)
        let x2 = x * x
        var p = SIMD8<Float>(repeating: -2.72614225801306e-10)
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q = SIMD8<Float>(repeating: -1.45660718464996e-05)
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return x * p / q
    }
}
