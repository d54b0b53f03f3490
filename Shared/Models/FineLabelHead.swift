import Foundation
import Tensor

/// Ours, twin of `Training/anatomix/apm.py::FineLabelHead`: label logits from fine maps, for findings a
/// few pixels wide (a nodule, a rib fracture, a line) that the stride-16 tokens blur. With
/// `fine_label_stem` > 0 its own pixel stem (`stem1` 3x3/2 -> ReLU -> `stem2` 3x3/2 -> ReLU) is
/// concatenated with the stride-4 backbone map. `reduce` (3x3/2) -> ReLU, concatenated with the stride-8
/// map -> `conv1` 3x3 -> ReLU -> `conv2` 3x3 -> ReLU -> `classifier` 1x1 -> (1/r) log mean exp(r x) over
/// the positions (r = `fine_label_sharpness`), added to the logits. With `fine_label_backbone` the two
/// maps come from the branch's own copy of the backbone's stem and first two stages (`backbone`).
struct FineLabelHead: Sendable {
    let backbone: ResNet?
    let stem: (BiasedConv, BiasedConv)?
    let reduce: BiasedConv, conv1: BiasedConv, conv2: BiasedConv, classifier: BiasedConv
    let sharpness: Float

    init(_ w: inout WeightLoader, c: ApmConfiguration) throws {
        let fine = c.widths[0] * c.expansion, mid = c.widths[1] * c.expansion, width = c.fineLabelWidth
        let p = "fine_label_head.", s = c.fineLabelStem
        backbone = c.fineLabelBackbone ? try ResNet(&w, c: c, prefix: p + "backbone.", stageCount: 2) : nil
        stem = s > 0 ? (try BiasedConv(&w, prefix: p + "stem1.", cin: 1, cout: s, kernel: 3, stride: 2),
                        try BiasedConv(&w, prefix: p + "stem2.", cin: s, cout: s, kernel: 3, stride: 2)) : nil
        reduce = try BiasedConv(&w, prefix: p + "reduce.", cin: fine + s, cout: width, kernel: 3, stride: 2)
        conv1 = try BiasedConv(&w, prefix: p + "conv1.", cin: width + mid, cout: width, kernel: 3, stride: 1)
        conv2 = try BiasedConv(&w, prefix: p + "conv2.", cin: width, cout: width, kernel: 3, stride: 1)
        classifier = try BiasedConv(&w, prefix: p + "classifier.", cin: width, cout: c.labels, kernel: 1, stride: 1)
        sharpness = c.fineLabelSharpness
    }

    /// `image: [B, 1, S, S]`, `stride4: [B, C1, S/4, S/4]`, `stride8: [B, C2, S/8, S/8]` -> `[B, labels]`
    /// (with its own `backbone` the two maps are computed here and the arguments are not read).
    func callAsFunction(image: Tensor, stride4: Tensor?, stride8: Tensor?, threads: Int) -> Tensor {
        let maps = backbone.map { $0.stageOutputs(image, keeping: 1, threads: threads) }
        guard let stride4 = maps?[0] ?? stride4, let stride8 = maps?[1] ?? stride8 else {
            preconditionFailure("FineLabelHead without its own backbone needs the stride-4 and stride-8 maps")
        }
        var fine = stride4
        if let (stem1, stem2) = stem {
            fine = Tensor.concatenate(channels: stem2(stem1(image, relu: true, threads: threads), relu: true, threads: threads),
                                      stride4)
        }
        let reduced = reduce(fine, relu: true, threads: threads)
        let joined = Tensor.concatenate(channels: reduced, stride8)
        let map = classifier(conv2(conv1(joined, relu: true, threads: threads), relu: true, threads: threads),
                             relu: false, threads: threads)                           // [B, L, h, w]
        let (b, l, n) = (map.shape[0], map.shape[1], map.shape[2] * map.shape[3])
        var out = [Float](repeating: 0, count: b * l)
        for row in 0..<(b * l) {                       // (1/r) log(mean(exp(r x))), the largest value subtracted first
            let values = map.storage[(row * n)..<((row + 1) * n)]
            let peak = values.max()!
            var sum: Float = 0
            for v in values { sum += exp(sharpness * (v - peak)) }
            out[row] = peak + log(sum / Float(n)) / sharpness
        }
        return Tensor(shape: [b, l], storage: out)
    }
}

/// A convolution with its own bias (no batch norm), padding `kernel / 2`.
struct BiasedConv: Sendable {
    let weight: Tensor, bias: Tensor
    let stride: Int, padding: Int

    init(_ w: inout WeightLoader, prefix: String, cin: Int, cout: Int, kernel: Int, stride: Int) throws {
        weight = try w.take(prefix + "weight", [cout, cin, kernel, kernel])
        bias = try w.take(prefix + "bias", [cout])
        self.stride = stride
        padding = kernel / 2
    }

    func callAsFunction(_ x: Tensor, relu: Bool, threads: Int) -> Tensor {
        x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, relu: relu, threads: threads)
    }
}
