import Foundation
import TestSupport
import Testing
@testable import Models
import Tensor

/// The Swift APM against its PyTorch twin on a tiny random model (Training/export_apm_fixtures.py):
/// boxes and labels within 1e-3, tokens and encoder memory with cosine >= 0.999; `apm` has the fine label
/// branch reading the backbone's maps, `apm-fine-backbone` the branch with its own backbone copy; both
/// have the dense label branch, whose every position (not only the maximum the logits see) is compared.
@Suite struct APMParityTests {
    static let directory = Repository.fixture("apm").path

    func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).map(*).reduce(0, +)
        return dot / (a.map { $0 * $0 }.reduce(0, +).squareRoot() * b.map { $0 * $0 }.reduce(0, +).squareRoot())
    }

    @Test(arguments: ["apm", "apm-fine-backbone"])
    func outputsMatchPyTorch(fixture: String) throws {
        let model = try AnatomyPerceptionModule(directory: Repository.fixture(fixture).path)
        #expect((model.fineLabelHead?.backbone != nil) == (fixture == "apm-fine-backbone"))
        let io = try SafeTensorsFile(path: Repository.fixture(fixture + "/io.safetensors").path)
        let out = try model(try io.tensor("image"))
        let boxes = try io.tensor("boxes"), logits = try io.tensor("logits")
        #expect(out.boxes.shape == boxes.shape && out.logits.shape == logits.shape)
        #expect(out.boxes.maxAbsDifference(boxes) < 1e-3, "boxes max |Δ| \(out.boxes.maxAbsDifference(boxes))")
        #expect(out.logits.maxAbsDifference(logits) < 1e-3, "logits max |Δ| \(out.logits.maxAbsDifference(logits))")
        let dense = try #require(model.denseLabelHead).positionLogits(image: try io.tensor("image"), threads: 1)
        let expectedDense = try io.tensor("dense_positions")
        #expect(dense.shape == expectedDense.shape && dense.shape[2] == model.configuration.imageSize / 4)
        #expect(dense.maxAbsDifference(expectedDense) < 1e-3, "dense positions max |Δ| \(dense.maxAbsDifference(expectedDense))")
        for name in ["tokens", "memory"] {
            let expected = try io.tensor(name)
            let got = name == "tokens" ? out.tokens : out.memory
            #expect(got.shape == expected.shape)
            let width = expected.shape.last!
            for r in 0..<(expected.count / width) {
                let c = cosine(Array(got.storage[(r * width)..<((r + 1) * width)]), Array(expected.storage[(r * width)..<((r + 1) * width)]))
                #expect(c >= 0.999, "\(name) row \(r) cosine \(c)")
            }
        }
    }

    @Test func sinePositionEncodingMatchesPyTorchLayout() {
        // y features first: row 0 of a 1x1 grid is sin/cos of 2π (y) then of 2π (x).
        let e = Tensor.sinePositionEncoding(height: 1, width: 1, dimension: 8)
        let twoPi = 2 * Float.pi
        let expectedAxis: [Float] = [sin(twoPi), cos(twoPi), sin(twoPi / 100), cos(twoPi / 100)]
        for (g, x) in zip(e.storage, expectedAxis + expectedAxis) { #expect(abs(g - x) < 1e-5) }
    }

    @Test func wrongInputShapeIsAnError() throws {
        let model = try AnatomyPerceptionModule(directory: Self.directory)
        #expect { try model(Tensor(shape: [1, 1, 64, 64])) } throws: { ($0 as? ModelError)?.kind == .invalidInput }
    }

    /// The feature map size is image_size / output_stride only for four stages; other counts and
    /// strides are configuration errors, not an out-of-bounds read.
    @Test func stageCountAndOutputStrideAreValidated() throws {
        let good = try String(contentsOfFile: Self.directory + "/config.json", encoding: .utf8)
        #expect(try JSONDecoder().decode(ApmConfiguration.self, from: Data(good.utf8)).outputStride == 16)
        let fiveStages = [("\"blocks\": [\n  1,", "\"blocks\": [\n  1,\n  1,"), ("\"widths\": [\n  4,", "\"widths\": [\n  4,\n  4,")]
        for edits in [[("\"output_stride\": 16", "\"output_stride\": 8")], fiveStages] {
            let bad = edits.reduce(good) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
            #expect(bad.count > good.count - 3 && bad != good, "fixture config.json no longer contains \(edits)")
            #expect { try JSONDecoder().decode(ApmConfiguration.self, from: Data(bad.utf8)) } throws: {
                ($0 as? ModelError)?.kind == .invalidConfiguration
            }
        }
        // heads 0 divided d_model by zero (SIGFPE) before it was checked
        for (field, value) in [("heads", "4"), ("feature_heads", "2"), ("d_model", "32")] {
            let bad = good.replacingOccurrences(of: "\"\(field)\": \(value),", with: "\"\(field)\": 0,")
            #expect(bad != good, "fixture config.json no longer has \(field) \(value)")
            let error = #expect(throws: ModelError.self) { try JSONDecoder().decode(ApmConfiguration.self, from: Data(bad.utf8)) }
            #expect(error?.message == "APM \(field) is 0; it must be positive")
        }
        // the fine branch's pixel stem feeds its reduce convolution: a stem without a branch is a mistake
        let stemOnly = good.replacingOccurrences(of: "\"fine_label_width\": 8,", with: "\"fine_label_width\": 0,")
        #expect(stemOnly != good && good.contains("\"fine_label_stem\": 4"), "fixture config.json no longer has the fine branch and its stem")
        #expect { try JSONDecoder().decode(ApmConfiguration.self, from: Data(stemOnly.utf8)) } throws: {
            ($0 as? ModelError)?.message.contains("fine_label_stem 4") == true
        }
    }
}

@Suite struct ModelCardTests {
    @Test func readsTheExportedCardOrFallsBackToTheFolderName() throws {
        let card = try ModelCard.load(directory: Repository.root.appendingPathComponent("Weights/anatomix-tiny").path)
        #expect(card.name == "anatomix-tiny" && card.version.count > 12)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("card-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try ModelCard.load(directory: folder.path) == ModelCard(name: folder.lastPathComponent, version: "unknown"))
        try Data("{\"name\": 3}".utf8).write(to: folder.appendingPathComponent("model.json"))
        #expect(throws: ModelError.self) { try ModelCard.load(directory: folder.path) }
    }

    /// The branch's own backbone copy belongs to a branch: without one it is a configuration error, and a
    /// weights file without the copy is a missing-weight error naming it, not a crash.
    @Test func aFineBackboneNeedsItsBranchAndItsWeights() throws {
        let good = try String(contentsOfFile: Repository.fixture("apm-fine-backbone/config.json").path, encoding: .utf8)
        let alone = good.replacingOccurrences(of: "\"fine_label_width\": 8,", with: "\"fine_label_width\": 0,")
            .replacingOccurrences(of: "\"fine_label_stem\": 4,", with: "\"fine_label_stem\": 0,")
        #expect(alone != good && good.contains("\"fine_label_backbone\": true"), "fixture config.json no longer has the branch's backbone")
        #expect { try JSONDecoder().decode(ApmConfiguration.self, from: Data(alone.utf8)) } throws: {
            ($0 as? ModelError)?.message.contains("fine_label_backbone") == true
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("apm-no-copy-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["apm.safetensors", "anatomies.json"] {      // the weights of the model without the copy
            try FileManager.default.copyItem(atPath: Repository.fixture("apm/" + name).path, toPath: folder.appendingPathComponent(name).path)
        }
        try good.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        #expect { try AnatomyPerceptionModule(directory: folder.path) } throws: {
            ($0 as? ModelError)?.message.contains("fine_label_head.backbone.conv1") == true
        }
    }

    /// A dense branch needs a width that is a multiple of 3, at least one label, and distinct label
    /// indices in range: each a configuration error that names the field.
    @Test(arguments: [("\"dense_label_width\": 6,", "\"dense_label_width\": 7,", "dense_label_width"),
                      ("\"dense_label_indices\": [\n  13,\n  4\n ]", "\"dense_label_indices\": []", "dense_label_indices"),
                      ("\"dense_label_indices\": [\n  13,\n  4\n ]", "\"dense_label_indices\": [13, 14]", "dense_label_indices"),
                      ("\"dense_label_indices\": [\n  13,\n  4\n ]", "\"dense_label_indices\": [4, 4]", "dense_label_indices")])
    func aBadDenseBranchIsAConfigurationError(original: String, replacement: String, field: String) throws {
        let good = try String(contentsOfFile: Repository.fixture("apm/config.json").path, encoding: .utf8)
        let bad = good.replacingOccurrences(of: original, with: replacement)
        #expect(bad != good, "fixture config.json no longer has \(original)")
        _ = try JSONDecoder().decode(ApmConfiguration.self, from: Data(good.utf8))
        #expect { try JSONDecoder().decode(ApmConfiguration.self, from: Data(bad.utf8)) } throws: {
            ($0 as? ModelError)?.message.contains(field) == true
        }
    }
}
