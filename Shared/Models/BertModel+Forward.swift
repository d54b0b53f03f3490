public import Tensor

extension BertModel {
    /// Last hidden states of packed sequences: returns `[N, D]` where rows
    /// `offsets[s]..<offsets[s + 1]` belong to sequence `s` (`N = Σ lengths`).
    public func hiddenStates(_ sequences: [[Int]]) throws -> (hidden: Tensor, offsets: [Int]) {
        let c = configuration
        var offsets = [0]
        for (index, ids) in sequences.enumerated() {
            guard ids.count <= c.maxPositions else {
                throw ModelError(.invalidInput, "sequence \(index) has \(ids.count) tokens; this model takes at most \(c.maxPositions)")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= c.vocabularySize }) {
                throw ModelError(.invalidInput, "sequence \(index) has token id \(bad) outside the vocabulary (0..<\(c.vocabularySize))")
            }
            offsets.append(offsets.last! + ids.count)
        }
        let (n, d) = (offsets.last!, c.hiddenSize)
        var hidden = [Float](repeating: 0, count: n * d)
        embed(sequences, into: &hidden)
        var scratch = BertScratch(tokens: n, configuration: c, longest: sequences.map(\.count).max() ?? 0)
        for layer in layers {
            layer.forward(&hidden, offsets: offsets, configuration: c, scratch: &scratch)
        }
        return (Tensor(shape: [n, d], storage: hidden), offsets)
    }

    /// word + position + token-type(0) embeddings, then LayerNorm.
    func embed(_ sequences: [[Int]], into hidden: inout [Float]) {
        let d = configuration.hiddenSize
        hidden.withUnsafeMutableBufferPointer { h in
            wordEmbeddings.storage.withUnsafeBufferPointer { word in
                positionEmbeddings.storage.withUnsafeBufferPointer { position in
                    tokenTypeEmbeddings.storage.withUnsafeBufferPointer { type in
                        var row = 0
                        for ids in sequences {
                            for (p, id) in ids.enumerated() {
                                let out = h.baseAddress! + row * d
                                for k in 0..<d { out[k] = word[id * d + k] + position[p * d + k] + type[k] }
                                row += 1
                            }
                        }
                    }
                }
            }
            embeddingNorm.weight.storage.withUnsafeBufferPointer { w in
                embeddingNorm.bias.storage.withUnsafeBufferPointer { b in
                    Normalization.layerNormRows(h.baseAddress!, rows: h.count / d, width: d, weight: w.baseAddress!,
                                                bias: b.baseAddress!, epsilon: configuration.layerNormEpsilon)
                }
            }
        }
    }
}

/// Activation buffers reused by every layer of one forward pass.
struct BertScratch {
    var qkv: [Float]          // [N, 3D]
    var context: [Float]      // [N, D]
    var intermediate: [Float] // [N, I]
    var scores: [Float]       // [Lmax, Lmax]

    init(tokens n: Int, configuration c: BertConfiguration, longest: Int) {
        qkv = [Float](repeating: 0, count: n * 3 * c.hiddenSize)
        context = [Float](repeating: 0, count: n * c.hiddenSize)
        intermediate = [Float](repeating: 0, count: n * c.intermediateSize)
        scores = [Float](repeating: 0, count: Attention.scratchCount(queries: longest, keys: longest))
    }
}

extension BertLayer {
    /// hidden ← LN(hidden + Attn(hidden)); hidden ← LN(hidden + FFN(hidden)), in place.
    func forward(_ hidden: inout [Float], offsets: [Int], configuration c: BertConfiguration, scratch: inout BertScratch) {
        let (n, d, inner) = (offsets.last!, c.hiddenSize, c.intermediateSize)
        guard n > 0 else { return }
        hidden.withUnsafeMutableBufferPointer { h in
            scratch.qkv.withUnsafeMutableBufferPointer { qkv in
                scratch.context.withUnsafeMutableBufferPointer { ctx in
                    scratch.intermediate.withUnsafeMutableBufferPointer { mid in
                        scratch.scores.withUnsafeMutableBufferPointer { scores in
                            let h = h.baseAddress!, qkv = qkv.baseAddress!, ctx = ctx.baseAddress!, mid = mid.baseAddress!
                            // qkv [N, 3D] = h · Wqkvᵀ + b
                            Dense.apply(h, rows: n, inFeatures: d, weight: qkvWeight, bias: qkvBias, into: qkv)
                            // ctx [N, D]: attention inside each sequence; Q, K, V are column blocks of qkv
                            for s in 0..<(offsets.count - 1) {
                                let (start, length) = (offsets[s], offsets[s + 1] - offsets[s])
                                let row = qkv + start * 3 * d
                                Attention.sequence(
                                    q: .init(row, rowStride: 3 * d), k: .init(row + d, rowStride: 3 * d),
                                    v: .init(row + 2 * d, rowStride: 3 * d), queries: length, keys: length,
                                    heads: c.headCount, headDim: c.headDim, keyMask: nil,
                                    out: ctx + start * d, outStride: d, scratch: scores.baseAddress!)
                            }
                            // h = LN(h + ctx · Woᵀ + bo)
                            Dense.apply(ctx, rows: n, inFeatures: d, weight: attentionOutWeight, bias: attentionOutBias,
                                        into: h, accumulate: true)
                            Dense.layerNorm(h, rows: n, norm: attentionNorm, epsilon: c.layerNormEpsilon)
                            // mid [N, I] = gelu(h · W1ᵀ + b1)
                            Dense.apply(h, rows: n, inFeatures: d, weight: intermediateWeight, bias: intermediateBias, into: mid)
                            Activation.geluInPlace(UnsafeMutableBufferPointer(start: mid, count: n * inner))
                            // h = LN(h + mid · W2ᵀ + b2)
                            Dense.apply(mid, rows: n, inFeatures: inner, weight: outputWeight, bias: outputBias,
                                        into: h, accumulate: true)
                            Dense.layerNorm(h, rows: n, norm: outputNorm, epsilon: c.layerNormEpsilon)
                        }
                    }
                }
            }
        }
    }
}
