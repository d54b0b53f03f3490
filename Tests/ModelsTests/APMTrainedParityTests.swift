import Foundation
import Imaging
import TestSupport
import Testing
@testable import Models
import Tensor

/// The committed default model (Weights/anatomix-tiny, fp16 on disk) against its PyTorch twin on two
/// sample canvases, one of them flipped (Training/export_apm_fixtures.py --weights): boxes and labels
/// within 1e-3, tokens and encoder memory cosine >= 0.999.
@Suite struct APMTrainedParityTests {
    static let model = Result { try AnatomyPerceptionModule(directory: Repository.root.appendingPathComponent("Weights/anatomix-tiny").path) }

    /// The fixture's canvases as one `[2, 1, S, S]` batch.
    static func inputs(size: Int) throws -> Tensor {
        let images = try (0..<2).map { try PNGCodec.read(path: Repository.fixture("apm-trained/input-\($0).png").path) }
        for image in images { #expect(image.width == size && image.height == size) }
        return Tensor(shape: [2, 1, size, size], storage: images.flatMap(\.pixels))
    }

    @Test func defaultModelMatchesPyTorch() throws {
        let model = try Self.model.get()
        let out = try model(try Self.inputs(size: model.configuration.imageSize))
        let expected = try SafeTensorsFile(path: Repository.fixture("apm-trained/outputs.safetensors").path)
        #expect(out.boxes.maxAbsDifference(try expected.tensor("boxes")) < 1e-3)
        #expect(out.logits.maxAbsDifference(try expected.tensor("logits")) < 1e-3)
        for (name, got) in [("tokens", out.tokens), ("memory", out.memory)] {
            let want = try expected.tensor(name)
            #expect(got.shape == want.shape)
            let width = want.shape.last!
            for r in 0..<(want.count / width) {
                let a = Array(got.storage[(r * width)..<((r + 1) * width)]), b = Array(want.storage[(r * width)..<((r + 1) * width)])
                let dot = zip(a, b).map(*).reduce(0, +)
                let cosine = dot / (a.map { $0 * $0 }.reduce(0, +).squareRoot() * b.map { $0 * $0 }.reduce(0, +).squareRoot())
                #expect(cosine >= 0.999, "\(name) row \(r): cosine \(cosine)")
            }
        }
    }

    /// Convolutions, products and heads split across threads give the same outputs.
    @Test func threadsDoNotChangeOutputs() throws {
        let model = try Self.model.get()
        let image = try Self.inputs(size: model.configuration.imageSize)
        let one = try model(image, threads: 1)
        let two = try model(image, threads: 2)
        #expect(one.boxes.maxAbsDifference(two.boxes) < 1e-5)
        #expect(one.memory.maxAbsDifference(two.memory) < 1e-4)
    }
}
