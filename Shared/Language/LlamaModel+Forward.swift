import Foundation
public import Models
import Tensor

/// Keys and values of every position run so far, per layer (`[capacity, kvHeads * headDim]` each,
/// RoPE already applied to the keys). Fixed capacity: memory is known up front and bounded.
public struct KVCache: Sendable {
    public let capacity: Int
    public private(set) var count = 0
    let width: Int
    var keys: [[Float]], values: [[Float]]

    init(layers: Int, width: Int, capacity: Int) {
        self.capacity = capacity
        self.width = width
        keys = Array(repeating: [Float](repeating: 0, count: capacity * width), count: layers)
        values = keys
    }

    /// Forgets every position (the buffers are kept).
    public mutating func reset() { count = 0 }

    mutating func advance(by n: Int) { count += n }
}

extension LlamaModel {
    /// Runs `count` new positions whose input embeddings are `inputs` (`[count, d]`) after the
    /// cached ones, appends their keys and values to `cache`, and returns the logits of the last
    /// position (or of every new position with `allLogits`: `[count, vocab]`).
    public func forward(_ inputs: [Float], count t: Int, cache: inout KVCache, allLogits: Bool = false,
                        threads: Int? = nil) throws -> [Float] {
        let c = configuration, d = c.hiddenSize
        guard cache.keys.count == layers.count, cache.width == c.keyValueWidth else {
            throw ModelError(.invalidInput, "the KV cache has \(cache.keys.count) layers of width \(cache.width); this model needs \(layers.count) of \(c.keyValueWidth) (makeCache)")
        }
        guard t > 0, t <= inputs.count, inputs.count == t * d else {
            throw ModelError(.invalidInput, "Llama input has \(inputs.count) values for \(t) positions of width \(d)")
        }
        guard cache.count + t <= cache.capacity else {
            throw ModelError(.invalidInput, "\(cache.count) cached + \(t) new positions exceed the cache's \(cache.capacity) (max_position_embeddings \(c.maxPositions))")
        }
        let threads = ComputeThreads.clamped(threads ?? ComputeThreads.count)
        var x = inputs
        var normed = [Float](repeating: 0, count: t * d)
        let qWidth = c.heads * c.headDim, kvWidth = c.keyValueWidth, fused = qWidth + 2 * kvWidth
        var qkv = [Float](repeating: 0, count: t * fused)
        var attended = [Float](repeating: 0, count: t * qWidth)
        var gateUp = [Float](repeating: 0, count: t * 2 * c.intermediateSize)
        var hidden = [Float](repeating: 0, count: t * c.intermediateSize)
        let start = cache.count
        let angles = (0..<t).map { rotary.angles(at: start + $0) }
        for (l, layer) in layers.enumerated() {
            layer.inputNorm.apply(x, rows: t, into: &normed)
            normed.withUnsafeBufferPointer { layer.qkv.apply($0.baseAddress!, rows: t, into: &qkv, threads: threads) }
            qkv.withUnsafeMutableBufferPointer { buffer in
                let p = buffer.baseAddress!
                for (i, (cos, sin)) in angles.enumerated() {
                    rotary.rotate(p + i * fused, count: c.heads, stride: c.headDim, cos: cos, sin: sin)
                    rotary.rotate(p + i * fused + qWidth, count: c.keyValueHeads, stride: c.headDim, cos: cos, sin: sin)
                }
            }
            for i in 0..<t {                                                     // new keys and values into the cache
                let row = i * fused, slot = (start + i) * kvWidth
                cache.keys[l].replaceSubrange(slot..<(slot + kvWidth), with: qkv[(row + qWidth)..<(row + qWidth + kvWidth)])
                cache.values[l].replaceSubrange(slot..<(slot + kvWidth), with: qkv[(row + qWidth + kvWidth)..<(row + fused)])
            }
            attend(qkv, rows: t, rowStride: fused, start: start, keys: cache.keys[l], values: cache.values[l],
                   into: &attended, threads: threads)
            attended.withUnsafeBufferPointer { layer.output.apply($0.baseAddress!, rows: t, into: &x, accumulate: true, threads: threads) }
            layer.postAttentionNorm.apply(x, rows: t, into: &normed)
            normed.withUnsafeBufferPointer { layer.gateUp.apply($0.baseAddress!, rows: t, into: &gateUp, threads: threads) }
            let m = c.intermediateSize
            for i in 0..<t {                                                     // SwiGLU: silu(gate) * up
                for j in 0..<m {
                    let g = gateUp[i * 2 * m + j]
                    hidden[i * m + j] = g / (1 + exp(-g)) * gateUp[i * 2 * m + m + j]
                }
            }
            hidden.withUnsafeBufferPointer { layer.down.apply($0.baseAddress!, rows: t, into: &x, accumulate: true, threads: threads) }
        }
        cache.advance(by: t)
        let rows = allLogits ? t : 1
        let first = (t - rows) * d
        var last = [Float](repeating: 0, count: rows * d)
        x.withUnsafeBufferPointer { finalNorm.apply($0.baseAddress! + first, rows: rows, into: &last) }
        var logits = [Float](repeating: 0, count: rows * c.vocabularySize)
        last.withUnsafeBufferPointer { head.apply($0.baseAddress!, rows: rows, into: &logits, threads: threads) }
        return logits
    }

    /// Causal grouped-query attention of `rows` new queries (positions `start...`) over the cache's
    /// first `start + rows` keys; query head h reads key/value head `h / (heads / kvHeads)`.
    func attend(_ qkv: [Float], rows: Int, rowStride: Int, start: Int, keys: [Float], values: [Float],
                into out: inout [Float], threads: Int) {
        let c = configuration, hd = c.headDim, kvWidth = c.keyValueWidth, total = start + rows
        let group = c.heads / c.keyValueHeads, scale = 1 / Float(hd).squareRoot()
        let slices = rows * total * c.heads < 4096 ? 1 : min(threads, c.heads)
        qkv.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        let (qp, kp, vp, op) = (SharedPointer(q.baseAddress!), SharedPointer(k.baseAddress!),
                                                SharedPointer(v.baseAddress!), SharedMutablePointer(o.baseAddress!))
                        let outStride = c.heads * hd
                        ComputeThreads.parallelFor(slices) { slice in
                            var scores = [Float](repeating: 0, count: rows * total)
                            scores.withUnsafeMutableBufferPointer { s in
                                let sp = s.baseAddress!
                                for h in (c.heads * slice / slices)..<(c.heads * (slice + 1) / slices) {
                                    let kv = h / group
                                    BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: total, k: hd, alpha: scale,
                                              a: qp.base + h * hd, lda: rowStride, b: kp.base + kv * hd, ldb: kvWidth,
                                              c: sp, ldc: total)
                                    for i in 0..<rows {                          // query i sees keys 0...start + i
                                        let visible = start + i + 1
                                        if visible < total { (sp + i * total + visible).update(repeating: -.infinity, count: total - visible) }
                                    }
                                    Normalization.softmaxRows(sp, rows: rows, width: total)
                                    BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: hd, k: total,
                                              a: sp, lda: total, b: vp.base + kv * hd, ldb: kvWidth,
                                              c: op.base + h * hd, ldc: outStride)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
