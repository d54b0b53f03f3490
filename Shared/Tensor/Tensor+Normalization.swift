import CKernels
import Foundation

extension Tensor {
    /// Layer normalisation over the last axis with affine `weight` and `bias` (both `[D]`).
    public func layerNorm(weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
        var out = self
        out.formLayerNorm(weight: weight, bias: bias, epsilon: epsilon)
        return out
    }

    /// `layerNorm` in place.
    public mutating func formLayerNorm(weight: Tensor, bias: Tensor, epsilon: Float) {
        let width = shape.last ?? 1
        precondition(weight.shape == [width] && bias.shape == [width], "layerNorm params for width \(width)")
        let count = count
        storage.withUnsafeMutableBufferPointer { x in
            weight.storage.withUnsafeBufferPointer { w in
                bias.storage.withUnsafeBufferPointer { b in
                    Normalization.layerNormRows(x.baseAddress!, rows: count / max(width, 1), width: width,
                                                weight: w.baseAddress!, bias: b.baseAddress!, epsilon: epsilon)
                }
            }
        }
    }

    /// Softmax over the last axis (max-subtracted).
    public func softmax() -> Tensor {
        let width = shape.last ?? 1
        var out = self
        let rows = count / max(width, 1)
        out.storage.withUnsafeMutableBufferPointer { x in
            if let base = x.baseAddress { Normalization.softmaxRows(base, rows: rows, width: width) }
        }
        return out
    }

    /// Each row of the last axis divided by its L2 norm (rows of zeros stay zero).
    public func l2Normalized(epsilon: Float = 1e-12) -> Tensor {
        let width = shape.last ?? 1
        var out = self
        out.storage.withUnsafeMutableBufferPointer { x in
            for r in 0..<(count / max(width, 1)) {
                let row = UnsafeMutableBufferPointer(rebasing: x[(r * width)..<((r + 1) * width)])
                let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), epsilon)
                for i in row.indices { row[i] /= norm }
            }
        }
        return out
    }

    /// Mean over the sequence axis of `[B, L, D]` counting only positions where `mask[b, l] != 0`.
    /// Returns `[B, D]`; a sequence with no valid position pools to zeros.
    public func meanPooled(mask: Tensor) -> Tensor {
        precondition(rank == 3 && mask.shape == [shape[0], shape[1]], "meanPooled needs [B, L, D] and mask [B, L]; got \(shape), \(mask.shape)")
        let (batch, length, width) = (shape[0], shape[1], shape[2])
        var out = [Float](repeating: 0, count: batch * width)
        for b in 0..<batch {
            var valid: Float = 0
            for l in 0..<length where mask.storage[b * length + l] != 0 {
                valid += 1
                let base = (b * length + l) * width
                for d in 0..<width { out[b * width + d] += storage[base + d] }
            }
            for d in 0..<width { out[b * width + d] /= max(valid, 1e-9) }
        }
        return Tensor(shape: [batch, width], storage: out)
    }
}

/// Row kernels over raw memory, shared by `Tensor` and the fused model code.
public enum Normalization {
    /// In-place layer norm of `rows` rows of `width` floats (biased variance, as PyTorch).
    public static func layerNormRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                                     weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, epsilon: Float) {
        let n = Float(width)
        let lanes = width / 8 * 8
        for r in 0..<rows {
            let row = x + r * width
            var sum8 = SIMD8<Float>(), i = 0
            while i < lanes { sum8 += load8(row + i); i += 8 }
            var sum = sum8.sum()
            for j in lanes..<width { sum += row[j] }
            let mean = sum / n
            var sq8 = SIMD8<Float>()
            i = 0
            while i < lanes { let d = load8(row + i) - mean; sq8 += d * d; i += 8 }
            var sq = sq8.sum()
            for j in lanes..<width { let d = row[j] - mean; sq += d * d }
            let inv = 1 / (sq / n + epsilon).squareRoot()
            i = 0
            while i < lanes {
                store8((load8(row + i) - mean) * inv * load8(weight + i) + load8(bias + i), row + i)
                i += 8
            }
            for j in lanes..<width { row[j] = (row[j] - mean) * inv * weight[j] + bias[j] }
        }
    }

    @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load8(UnsafePointer(p)) }

    @inline(__always) static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// In-place softmax of each of `rows` rows of `width` floats (the C kernel's vectorised exp at
    /// AVX2 and AVX-512 level; a -inf entry gets exactly 0).
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        anatomix_softmax_rows(x, Int64(rows), Int64(width))
    }
}
