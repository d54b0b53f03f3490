import Foundation
public import Imaging
public import Models
import Tensor

/// One anatomy found in an image: its box in original-image pixels and its anatomical token.
public struct AnatomyFinding: Codable, Sendable, Equatable {
    public let index: Int
    public let name: String
    public let box: [Double]        // [x1, y1, x2, y2] in original pixels
    public let token: [Float]       // 16-d anatomical token
}

/// The APM's view of one image (stage one of AnatomiX).
public struct Perception: Codable, Sendable {
    public let width: Int
    public let height: Int
    public let anatomies: [AnatomyFinding]
    public let labels: [String: Float]      // CheXpert label -> probability
    /// The letterboxed canvas side the boxes were predicted on, and the boxes on it (unrounded, the
    /// language model's prompt reads these).
    public let canvas: Int
    public let canvasBoxes: [[Double]]
    /// `[imageTokens, d]` row-major: the APM memory's CLS row, then its grid average-pooled to 4x4
    /// (the language model's image tokens; `cxr.anatomy.v1` carries them as fp16).
    public let imageFeatures: [Float]
    public let imageFeatureShape: [Int]
    /// Letterbox + APM + mapping back; of which the backbone and the transformer (with heads).
    public let seconds: Double, backboneSeconds: Double, transformerSeconds: Double
}

/// Stage one without transport: letterbox -> APM -> boxes back to original pixels.
public struct PerceptionStage: Sendable {
    /// A label is reported positive at this probability or above (`analyze`; `eval --tasks labels` reports it).
    public static let labelThreshold: Float = 0.5

    public let model: AnatomyPerceptionModule
    public let catalog: AnatomyCatalog
    public let card: ModelCard

    public init(modelDirectory: String) throws {
        model = try AnatomyPerceptionModule(directory: modelDirectory)
        card = try ModelCard.load(directory: modelDirectory)
        catalog = try AnatomyCatalog.load(path: URL(fileURLWithPath: modelDirectory).appendingPathComponent("anatomies.json").path)
        guard catalog.anatomies.count == model.configuration.anatomies, catalog.chexpertLabels.count == model.configuration.labels else {
            throw PipelineError("\(modelDirectory): anatomies.json lists \(catalog.anatomies.count) anatomies and \(catalog.chexpertLabels.count) labels; the model has \(model.configuration.anatomies) and \(model.configuration.labels)")
        }
    }

    public func perceive(_ image: GrayImage) throws -> Perception {
        let start = DispatchTime.now().uptimeNanoseconds
        let size = model.configuration.imageSize
        let letterbox = Letterbox(width: image.width, height: image.height, canvas: size)
        let canvas = letterbox.apply(image)
        let out = try model(Tensor(shape: [1, 1, size, size], storage: canvas.pixels))
        let s = Float(size)
        let canvasBoxes = catalog.anatomies.map { a -> [Double] in
            let b = Array(out.boxes.storage[(a.index * 4)..<(a.index * 4 + 4)])   // cx, cy, w, h in [0, 1], as PyTorch's float arithmetic
            return [(b[0] - b[2] / 2) * s, (b[1] - b[3] / 2) * s, (b[0] + b[2] / 2) * s, (b[1] + b[3] / 2) * s].map(Double.init)
        }
        let anatomies = catalog.anatomies.map { a -> AnatomyFinding in
            let d = model.configuration.tokenDim
            return AnatomyFinding(index: a.index, name: a.name, box: letterbox.toOriginal(canvasBoxes[a.index]).map { ($0 * 10).rounded() / 10 },
                                  token: Array(out.tokens.storage[(a.index * d)..<((a.index + 1) * d)]))
        }
        var labels = [String: Float]()
        for (i, name) in catalog.chexpertLabels.enumerated() { labels[name] = 1 / (1 + exp(-out.logits.storage[i])) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let pooled = Self.pooledImageFeatures(out.memory, grid: model.configuration.featureSize)
        return Perception(width: image.width, height: image.height, anatomies: anatomies, labels: labels, canvas: size, canvasBoxes: canvasBoxes,
                          imageFeatures: pooled, imageFeatureShape: [17, model.configuration.dModel], seconds: seconds,
                          backboneSeconds: out.backboneSeconds, transformerSeconds: out.transformerSeconds)
    }

    /// Memory `[1, 1 + g², d]` -> `[17, d]`: the CLS row, then the g x g grid averaged over 4 x 4
    /// equal cells, row-major (twin of `anatomix.language.pooled_image_features`; g divisible by 4).
    static func pooledImageFeatures(_ memory: Tensor, grid: Int) -> [Float] {
        let d = memory.shape[2], cell = grid / 4
        var out = Array(memory.storage[0..<d])
        for cy in 0..<4 {
            for cx in 0..<4 {
                var sum = [Float](repeating: 0, count: d)
                for y in (cy * cell)..<((cy + 1) * cell) {
                    for x in (cx * cell)..<((cx + 1) * cell) {
                        let row = (1 + y * grid + x) * d
                        for k in 0..<d { sum[k] += memory.storage[row + k] }
                    }
                }
                out += sum.map { $0 / Float(cell * cell) }
            }
        }
        return out
    }
}
