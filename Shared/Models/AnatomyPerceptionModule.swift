import Dispatch
import Foundation
public import Tensor

/// What the APM returns for a batch of images.
public struct ApmOutput: Sendable {
    /// `[B, 36, 4]` normalised (cx, cy, w, h) on the letterboxed square.
    public let boxes: Tensor
    /// `[B, 14]` CheXpert label logits.
    public let logits: Tensor
    /// `[B, 36, 16]` anatomical tokens.
    public let tokens: Tensor
    /// `[B, 1 + N, d]` encoder memory (CLS first).
    public let memory: Tensor
    /// Wall time of the convolutional backbone (with the 1x1 projection and the fine label branch) and of the rest.
    public let backboneSeconds: Double, transformerSeconds: Double
}

/// AnatomiX stage one, twin of `Training/anatomix/apm.py::AnatomyPerceptionModule`: ResNet with
/// folded frozen batch norm -> 1x1 projection -> sine positions -> post-norm DETR with a CLS token
/// and 36 fixed anatomy queries -> box MLP, label head, feature module.
public struct AnatomyPerceptionModule: Sendable {
    public let configuration: ApmConfiguration
    let backbone: ResNet
    let projectionWeight: Tensor, projectionBias: Tensor   // [d, C, 1, 1], [d]
    let clsToken: Tensor                                    // [d]
    let queries: Tensor                                     // [36, d]
    let encoder: [DETREncoderLayer]
    let decoder: [DETRDecoderLayer]
    let decoderNorm: LayerNorm
    let boxHead: [Linear]
    let labelHead: Linear
    let tokenLabelHead: Linear?                             // with `token_labels`
    let fineLabelHead: FineLabelHead?                       // with `fine_label_width` > 0
    let denseLabelHead: DenseLabelHead?                     // with `dense_label_width` > 0
    let featureAttention: MultiheadAttention
    let featureProjection: Linear

    public init(configuration c: ApmConfiguration, weights w: inout WeightLoader) throws {
        configuration = c
        MemoryPolicy.keepFreedMemory()                     // forward passes reuse freed buffers
        backbone = try ResNet(&w, c: c)
        projectionWeight = try w.take("projection.weight", [c.dModel, c.backboneChannels, 1, 1])
        projectionBias = try w.take("projection.bias", [c.dModel])
        clsToken = try w.take("cls_token", [1, 1, c.dModel]).reshaped([c.dModel])
        queries = try w.take("query_embed", [c.anatomies, c.dModel])
        let grid = Tensor.sinePositionEncoding(height: c.featureSize, width: c.featureSize, dimension: c.dModel)
        // [1 + N, d]: zeros for the CLS slot, then the sine grid; the layers keep what they need of it
        let memoryPosition = Tensor.concatenate(rows: [Tensor(shape: [1, c.dModel]), grid]), anatomyQueries = queries
        encoder = try (0..<c.encoderLayers).map {
            try DETREncoderLayer(&w, prefix: "transformer.encoder.\($0).", c: c, position: memoryPosition)
        }
        decoder = try (0..<c.decoderLayers).map {
            try DETRDecoderLayer(&w, prefix: "transformer.decoder.\($0).", c: c, queryPosition: anatomyQueries,
                                 memoryPosition: memoryPosition)
        }
        decoderNorm = try LayerNorm(&w, prefix: "transformer.decoder_norm.", d: c.dModel)
        boxHead = try [(c.dModel, c.dModel), (c.dModel, c.dModel), (c.dModel, 4)].enumerated().map {
            try Linear(&w, prefix: "box_head.layers.\($0.offset).", input: $0.element.0, output: $0.element.1)
        }
        labelHead = try Linear(&w, prefix: "label_head.", input: c.dModel, output: c.labels)
        tokenLabelHead = c.tokenLabels ? try Linear(&w, prefix: "token_label_head.", input: c.dModel, output: c.labels) : nil
        fineLabelHead = c.fineLabelWidth > 0 ? try FineLabelHead(&w, c: c) : nil
        denseLabelHead = c.denseLabelWidth > 0 ? try DenseLabelHead(&w, c: c) : nil
        featureAttention = try MultiheadAttention(&w, prefix: "feature_attention.", d: c.dModel, heads: c.featureHeads)
        featureProjection = try Linear(&w, prefix: "feature_projection.", input: c.dModel, output: c.tokenDim)
    }

    /// Runs `images: [B, 1, S, S]` (S = image_size, values in [0, 1]) on `threads` threads (default
    /// `ComputeThreads.count`): convolutions, products and attention heads are split across them.
    public func callAsFunction(_ images: Tensor, threads: Int? = nil) throws -> ApmOutput {
        let c = configuration
        guard images.rank == 4, images.shape[1] == 1, images.shape[2] == c.imageSize, images.shape[3] == c.imageSize else {
            throw ModelError(.invalidInput, "APM input must be [B, 1, \(c.imageSize), \(c.imageSize)], got \(images.shape)")
        }
        return forward(images, threads: ComputeThreads.clamped(threads ?? ComputeThreads.count))
    }

    private func forward(_ images: Tensor, threads: Int) -> ApmOutput {
        let c = configuration
        let b = images.shape[0], d = c.dModel
        let start = DispatchTime.now().uptimeNanoseconds
        let readsMaps = fineLabelHead != nil && fineLabelHead?.backbone == nil    // else the branch has its own
        let stages = backbone.stageOutputs(images, keeping: readsMaps ? 2 : 0, threads: threads)
        let features = stages.last!.conv2d(weight: projectionWeight, bias: projectionBias, threads: threads)  // [B, d, h, w]
        let fineLogits = fineLabelHead?(image: images, stride4: readsMaps ? stages[0] : nil,
                                        stride8: readsMaps ? stages[1] : nil, threads: threads)
        let denseLogits = denseLabelHead?(image: images, threads: threads)
        let backboneDone = DispatchTime.now().uptimeNanoseconds
        let n = c.featureSize * c.featureSize
        var tokens = [Float](repeating: 0, count: b * (1 + n) * d)                              // [B, 1 + N, d]
        for i in 0..<b {
            let base = i * (1 + n) * d
            for k in 0..<d { tokens[base + k] = clsToken.storage[k] }
            for k in 0..<d { for p in 0..<n { tokens[base + (1 + p) * d + k] = features.storage[(i * d + k) * n + p] } }
        }
        var memory = Tensor(shape: [b, 1 + n, d], storage: tokens)
        for layer in encoder { memory = layer(memory, threads: threads) }
        var t: Tensor?                                                                            // zeros
        for layer in decoder { t = layer(t, memory: memory, threads: threads) }
        let decoded = decoderNorm(t ?? Tensor(shape: [b, c.anatomies, d]))                        // [B, 36, d]
        var box = decoded
        for (i, layer) in boxHead.enumerated() { box = layer(box, relu: i < boxHead.count - 1, threads: threads) }
        var clsRows = [Float]()
        for i in 0..<b {
            let start = i * (1 + n) * d
            clsRows += memory.storage[start..<(start + d)]
        }
        let cls = Tensor(shape: [b, d], storage: clsRows)                                        // [B, d]
        let attended = featureAttention.crossAttention(query: decoded, memory: memory, threads: threads)
        var logits = labelHead(cls)
        if let tokenLabelHead { logits = logits + Self.logMeanExp(tokenLabelHead(memory), skippingFirst: 1) }   // not the CLS row
        if let fineLogits { logits = logits + fineLogits }
        if let denseLogits { logits = logits + denseLogits }
        let (boxes, anatomical) = (box.map { 1 / (1 + exp(-$0)) }, featureProjection(attended))
        let end = DispatchTime.now().uptimeNanoseconds
        return ApmOutput(boxes: boxes, logits: logits, tokens: anatomical, memory: memory,
                         backboneSeconds: Double(backboneDone - start) / 1e9, transformerSeconds: Double(end - backboneDone) / 1e9)
    }

    /// `[B, N, L]` -> `[B, L]`: log(mean over rows `first..<N` of exp(x)), computed stably (max subtracted first).
    static func logMeanExp(_ x: Tensor, skippingFirst first: Int) -> Tensor {
        let (b, n, l) = (x.shape[0], x.shape[1], x.shape[2])
        var out = [Float](repeating: 0, count: b * l)
        for i in 0..<b {
            for k in 0..<l {
                var peak = -Float.infinity
                for p in first..<n { peak = max(peak, x.storage[(i * n + p) * l + k]) }
                var sum: Float = 0
                for p in first..<n { sum += exp(x.storage[(i * n + p) * l + k] - peak) }
                out[i * l + k] = peak + log(sum / Float(n - first))
            }
        }
        return Tensor(shape: [b, l], storage: out)
    }
}
