/// Sizes of the Anatomy Perception Module, decoded from `config.json` (written by
/// `Training/anatomix/apm.py::ApmConfiguration.save`).
public struct ApmConfiguration: Codable, Sendable, Equatable {
    public var imageSize: Int
    public var block: String          // "basic" or "bottleneck"
    public var blocks: [Int]
    public var widths: [Int]
    public var stemWidth: Int
    public var dModel: Int
    public var heads: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var feedForward: Int
    public var anatomies: Int
    public var labels: Int
    public var tokenDim: Int
    public var featureHeads: Int
    /// 32 (published) or 16: the last stage keeps its input's resolution (a finer map for small structures).
    public var outputStride: Int
    /// Ours: the label logits add the log-mean-exp over the memory tokens of a per-token label head
    /// (`token_label_head`), so a finding seen in a few tokens counts; absent = false.
    public var tokenLabels: Bool
    /// Ours: > 0 adds `FineLabelHead` (that many channels over the stride-4 and stride-8 backbone maps)
    /// to the label logits, for findings a few pixels wide; absent = 0 (no branch).
    public var fineLabelWidth: Int
    /// Ours: > 0 gives the fine branch its own two-convolution pixel stem with that many channels,
    /// concatenated with the stride-4 backbone map; absent = 0 (the backbone maps only).
    public var fineLabelStem: Int
    /// Ours: the fine branch computes its stride-4 and stride-8 maps with its own copy of the backbone's
    /// stem and first two stages (`fine_label_head.backbone.*`) instead of reading the APM's; absent = false.
    public var fineLabelBackbone: Bool
    /// Ours: r of the fine branch's pooling, (1/r) log mean exp(r x) over positions; absent = 8.
    public var fineLabelSharpness: Float
    /// Ours: > 0 adds `DenseLabelHead` (a stride-4 pixel branch, that many channels in its last layers,
    /// a multiple of 3) to the logits of `dense_label_indices`; absent = 0 (no branch).
    public var denseLabelWidth: Int
    /// Ours: the labels (indices in CheXpert order) the dense branch adds to; absent = none.
    public var denseLabelIndices: [Int]

    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size", block, blocks, widths, stemWidth = "stem_width", dModel = "d_model", heads
        case encoderLayers = "encoder_layers", decoderLayers = "decoder_layers", feedForward = "feed_forward"
        case anatomies, labels, tokenDim = "token_dim", featureHeads = "feature_heads", outputStride = "output_stride"
        case tokenLabels = "token_labels", fineLabelWidth = "fine_label_width", fineLabelSharpness = "fine_label_sharpness"
        case fineLabelStem = "fine_label_stem", fineLabelBackbone = "fine_label_backbone"
        case denseLabelWidth = "dense_label_width", denseLabelIndices = "dense_label_indices"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        block = try c.decode(String.self, forKey: .block)
        blocks = try c.decode([Int].self, forKey: .blocks)
        widths = try c.decode([Int].self, forKey: .widths)
        stemWidth = try c.decode(Int.self, forKey: .stemWidth)
        dModel = try c.decode(Int.self, forKey: .dModel)
        heads = try c.decode(Int.self, forKey: .heads)
        encoderLayers = try c.decode(Int.self, forKey: .encoderLayers)
        decoderLayers = try c.decode(Int.self, forKey: .decoderLayers)
        feedForward = try c.decode(Int.self, forKey: .feedForward)
        anatomies = try c.decode(Int.self, forKey: .anatomies)
        labels = try c.decode(Int.self, forKey: .labels)
        tokenDim = try c.decode(Int.self, forKey: .tokenDim)
        featureHeads = try c.decode(Int.self, forKey: .featureHeads)
        outputStride = try c.decodeIfPresent(Int.self, forKey: .outputStride) ?? 32
        tokenLabels = try c.decodeIfPresent(Bool.self, forKey: .tokenLabels) ?? false
        fineLabelWidth = try c.decodeIfPresent(Int.self, forKey: .fineLabelWidth) ?? 0
        fineLabelSharpness = try c.decodeIfPresent(Float.self, forKey: .fineLabelSharpness) ?? 8
        fineLabelStem = try c.decodeIfPresent(Int.self, forKey: .fineLabelStem) ?? 0
        fineLabelBackbone = try c.decodeIfPresent(Bool.self, forKey: .fineLabelBackbone) ?? false
        denseLabelWidth = try c.decodeIfPresent(Int.self, forKey: .denseLabelWidth) ?? 0
        denseLabelIndices = try c.decodeIfPresent([Int].self, forKey: .denseLabelIndices) ?? []
        try validate()
    }

    public var expansion: Int { block == "bottleneck" ? 4 : 1 }
    public var featureSize: Int { imageSize / outputStride }

    /// Stride of the first block of `stage` (twin of `ApmConfiguration.stage_stride` in apm.py).
    public func stageStride(_ stage: Int) -> Int {
        stage == 0 || (outputStride == 16 && stage == blocks.count - 1) ? 1 : 2
    }
    public var backboneChannels: Int { widths.last! * expansion }

    func validate() throws {
        let sizes = ["image_size": imageSize, "stem_width": stemWidth, "d_model": dModel, "heads": heads,
                     "encoder_layers": encoderLayers, "decoder_layers": decoderLayers, "feed_forward": feedForward,
                     "anatomies": anatomies, "labels": labels, "token_dim": tokenDim, "feature_heads": featureHeads]
        if let (name, value) = sizes.sorted(by: { $0.key < $1.key }).first(where: { $0.value <= 0 }) {
            throw ModelError(.invalidConfiguration, "APM \(name) is \(value); it must be positive")
        }
        guard fineLabelSharpness > 0, fineLabelSharpness.isFinite, fineLabelSharpness <= 100 else {
            throw ModelError(.invalidConfiguration, "APM fine_label_sharpness \(fineLabelSharpness) must be in (0, 100]")
        }
        guard fineLabelWidth >= 0 else {
            throw ModelError(.invalidConfiguration, "APM fine_label_width \(fineLabelWidth) must be 0 (no fine label branch) or positive")
        }
        guard fineLabelStem >= 0, fineLabelStem == 0 || fineLabelWidth > 0 else {
            throw ModelError(.invalidConfiguration, "APM fine_label_stem \(fineLabelStem) must be 0, or positive with a fine_label_width")
        }
        guard !fineLabelBackbone || fineLabelWidth > 0 else {
            throw ModelError(.invalidConfiguration, "APM fine_label_backbone needs a fine_label_width > 0 (the branch it belongs to)")
        }
        guard denseLabelWidth >= 0, denseLabelWidth <= 4096, denseLabelWidth % 3 == 0 else {
            throw ModelError(.invalidConfiguration, "APM dense_label_width \(denseLabelWidth) must be 0 (no dense label branch) or a positive multiple of 3 up to 4096")
        }
        guard denseLabelWidth == 0 || !denseLabelIndices.isEmpty else {
            throw ModelError(.invalidConfiguration, "APM dense_label_width \(denseLabelWidth) needs dense_label_indices (the labels the branch adds to)")
        }
        guard denseLabelIndices.allSatisfy({ (0..<labels).contains($0) }), Set(denseLabelIndices).count == denseLabelIndices.count else {
            throw ModelError(.invalidConfiguration, "APM dense_label_indices \(denseLabelIndices) must be distinct label indices below labels (\(labels))")
        }
        guard block == "basic" || block == "bottleneck" else {
            throw ModelError(.invalidConfiguration, "APM block '\(block)' is not 'basic' or 'bottleneck'")
        }
        guard blocks.count == widths.count, !blocks.isEmpty, blocks.allSatisfy({ $0 > 0 }), widths.allSatisfy({ $0 > 0 }) else {
            throw ModelError(.invalidConfiguration, "APM blocks \(blocks) and widths \(widths) must be positive and of equal length")
        }
        guard blocks.count == 4 else {
            throw ModelError(.invalidConfiguration, "APM has \(blocks.count) stages; the stem, max-pool and four stages give the output stride (16 or 32), so blocks must list 4")
        }
        guard outputStride == 16 || outputStride == 32 else {
            throw ModelError(.invalidConfiguration, "APM output_stride \(outputStride) must be 16 or 32")
        }
        guard imageSize >= 64, imageSize % 32 == 0 else {
            throw ModelError(.invalidConfiguration, "APM image_size \(imageSize) must be a multiple of 32, at least 64")
        }
        guard dModel % heads == 0, dModel % featureHeads == 0, dModel % 4 == 0 else {
            throw ModelError(.invalidConfiguration, "APM d_model \(dModel) must divide by heads \(heads), feature_heads \(featureHeads) and 4")
        }
    }
}
