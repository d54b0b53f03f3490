import Tensor

/// A convolution with its frozen batch norm folded in: `W' = W * s`, `b' = β - μ s`, `s = γ / √(σ² + ε)`.
struct FoldedConv: Sendable {
    let weight: Tensor   // [Cout, Cin, k, k]
    let bias: Tensor     // [Cout]
    let stride: Int
    let padding: Int
    let dilation: Int
    /// The folded weights transformed for Winograd F(2x2, 3x3), where `Convolution.prefersWinograd`.
    let winograd: WinogradWeights?

    /// Padding `dilation * (kernel / 2)`: a stride-1 convolution keeps the map's size.
    init(_ w: inout WeightLoader, conv: String, bn: String, cin: Int, cout: Int, kernel: Int, stride: Int,
         dilation: Int = 1) throws {
        var weight = try w.take(conv + ".weight", [cout, cin, kernel, kernel])
        let gamma = try w.take(bn + ".weight", [cout]), beta = try w.take(bn + ".bias", [cout])
        let mean = try w.take(bn + ".running_mean", [cout]), variance = try w.take(bn + ".running_var", [cout])
        let per = cin * kernel * kernel
        var bias = [Float](repeating: 0, count: cout)
        for o in 0..<cout {
            let scale = gamma.storage[o] / (variance.storage[o] + 1e-5).squareRoot()
            for i in 0..<per { weight.storage[o * per + i] *= scale }
            bias[o] = beta.storage[o] - mean.storage[o] * scale
        }
        self.weight = weight
        self.bias = Tensor(shape: [cout], storage: bias)
        winograd = Convolution.prefersWinograd(inputChannels: cin, outputChannels: cout, kernel: (kernel, kernel), stride: stride)
            ? WinogradWeights(weight) : nil
        self.stride = stride
        self.dilation = dilation
        self.padding = dilation * (kernel / 2)
    }

    func callAsFunction(_ x: Tensor, relu: Bool, threads: Int) -> Tensor {
        x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, relu: relu, threads: threads,
                 winograd: winograd)
    }
}

/// One residual block (basic or bottleneck), twin of `Training/anatomix/apm.py::ResNetBlock`.
struct ResNetBlock: Sendable {
    let convs: [FoldedConv]
    let downsample: FoldedConv?

    init(_ w: inout WeightLoader, prefix p: String, c: ApmConfiguration, cin: Int, width: Int, stride: Int) throws {
        let cout = width * c.expansion
        if c.block == "bottleneck" {
            convs = [try FoldedConv(&w, conv: p + "conv1", bn: p + "bn1", cin: cin, cout: width, kernel: 1, stride: 1),
                     try FoldedConv(&w, conv: p + "conv2", bn: p + "bn2", cin: width, cout: width, kernel: 3, stride: stride),
                     try FoldedConv(&w, conv: p + "conv3", bn: p + "bn3", cin: width, cout: cout, kernel: 1, stride: 1)]
        } else {
            convs = [try FoldedConv(&w, conv: p + "conv1", bn: p + "bn1", cin: cin, cout: width, kernel: 3, stride: stride),
                     try FoldedConv(&w, conv: p + "conv2", bn: p + "bn2", cin: width, cout: width, kernel: 3, stride: 1)]
        }
        downsample = stride != 1 || cin != cout
            ? try FoldedConv(&w, conv: p + "downsample.0", bn: p + "downsample.1", cin: cin, cout: cout, kernel: 1, stride: stride)
            : nil
    }

    func callAsFunction(_ x: Tensor, threads: Int) -> Tensor {
        var out = x
        for (i, conv) in convs.enumerated() { out = conv(out, relu: i < convs.count - 1, threads: threads) }
        out.formAddingReLU(downsample?(x, relu: false, threads: threads) ?? x)
        return out
    }
}

/// 1-channel ResNet: 7x7/2 stem, 3x3/2 max-pool, stages with strides 1, 2, 2, 2 (/32 overall), or
/// 1, 2, 2, 1 (/16) with `output_stride` 16. `stageCount` below 4 keeps the first stages only, read
/// under `prefix` (the fine label branch's copy: `fine_label_head.backbone.`).
struct ResNet: Sendable {
    let stem: FoldedConv
    let stages: [[ResNetBlock]]

    init(_ w: inout WeightLoader, c: ApmConfiguration, prefix: String = "backbone.", stageCount: Int? = nil) throws {
        stem = try FoldedConv(&w, conv: prefix + "conv1", bn: prefix + "bn1", cin: 1, cout: c.stemWidth, kernel: 7, stride: 2)
        var cin = c.stemWidth
        var stages = [[ResNetBlock]]()
        for (i, (count, width)) in zip(c.blocks, c.widths).enumerated().prefix(stageCount ?? c.blocks.count) {
            var blocks = [ResNetBlock]()
            for b in 0..<count {
                blocks.append(try ResNetBlock(&w, prefix: prefix + "layers.\(i).\(b).", c: c, cin: cin, width: width,
                                              stride: b == 0 ? c.stageStride(i) : 1))
                cin = width * c.expansion
            }
            stages.append(blocks)
        }
        self.stages = stages
    }

    /// `[B, 1, S, S]` -> `[B, C, S/s, S/s]` (s = output stride); each convolution split across `threads` slices.
    func callAsFunction(_ image: Tensor, threads: Int) -> Tensor {
        stageOutputs(image, keeping: 0, threads: threads).last!
    }

    /// The outputs of the first `keeping` stages (strides 4, 8, ...), then the last stage's.
    func stageOutputs(_ image: Tensor, keeping: Int, threads: Int) -> [Tensor] {
        var x = stem(image, relu: true, threads: threads).maxPool2d(kernel: 3, stride: 2, padding: 1)
        var kept = [Tensor]()
        for (i, stage) in stages.enumerated() {
            for block in stage { x = block(x, threads: threads) }
            if i < keeping { kept.append(x) }
        }
        return kept + [x]
    }
}
