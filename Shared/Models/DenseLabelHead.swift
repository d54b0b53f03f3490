import Tensor

/// Ours, twin of `Training/anatomix/apm.py::DenseLabelHead`: a small fully convolutional branch on the
/// pixels, trained densely on the generator's finding masks (`make train-dense-labels`), for lines and
/// tubes the stride-16 tokens do not separate from rib edges. Six conv + batch norm (folded) + ReLU
/// layers, channels w/3, 2w/3, 2w/3, w, w, w: 3x3/2, 3x3/2, 3x3, then 3x3 dilated 2, 4 and 8 at stride 4;
/// a 1x1 `classifier` to one map per label of `dense_label_indices`; the maximum over the positions,
/// `scale * max + bias` added to those labels' logits.
struct DenseLabelHead: Sendable {
    static let dilations = [1, 1, 1, 2, 4, 8], strides = [2, 2, 1, 1, 1, 1]

    let layers: [FoldedConv]
    let classifier: BiasedConv
    let scale: [Float], bias: [Float]
    let indices: [Int]
    let labels: Int

    init(_ w: inout WeightLoader, c: ApmConfiguration) throws {
        let width = c.denseLabelWidth, p = "dense_label_head."
        let widths = [width / 3, 2 * width / 3, 2 * width / 3, width, width, width]
        let inputs = [1] + widths.dropLast()
        layers = try (0..<widths.count).map { i in
            try FoldedConv(&w, conv: p + "convs.\(i)", bn: p + "norms.\(i)", cin: inputs[i], cout: widths[i], kernel: 3,
                           stride: Self.strides[i], dilation: Self.dilations[i])
        }
        let k = c.denseLabelIndices.count
        classifier = try BiasedConv(&w, prefix: p + "classifier.", cin: width, cout: k, kernel: 1, stride: 1)
        scale = try w.take(p + "scale", [k]).storage
        bias = try w.take(p + "bias", [k]).storage
        indices = c.denseLabelIndices
        labels = c.labels
    }

    /// `image: [B, 1, S, S]` -> `[B, K, S/4, S/4]`, the classifier's map before the maximum.
    func positionLogits(image: Tensor, threads: Int) -> Tensor {
        var x = image
        for layer in layers { x = layer(x, relu: true, threads: threads) }
        return classifier(x, relu: false, threads: threads)
    }

    /// `image: [B, 1, S, S]` -> `[B, labels]`, zero outside `indices`.
    func callAsFunction(image: Tensor, threads: Int) -> Tensor {
        let map = positionLogits(image: image, threads: threads)                               // [B, K, h, w]
        let (b, k, n) = (map.shape[0], map.shape[1], map.shape[2] * map.shape[3])
        var out = [Float](repeating: 0, count: b * labels)
        for i in 0..<b {
            for j in 0..<k {
                let start = (i * k + j) * n
                let peak = map.storage[start..<(start + n)].max()!
                out[i * labels + indices[j]] = scale[j] * peak + bias[j]
            }
        }
        return Tensor(shape: [b, labels], storage: out)
    }
}
