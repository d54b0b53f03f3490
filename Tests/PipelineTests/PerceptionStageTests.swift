import Foundation
import Imaging
import Models
import TestSupport
import Testing
@testable import Pipeline

/// Plumbing on the tiny random APM fixture: shapes, letterboxing back to original pixels, errors.
/// (Quality is measured on the trained model by `anatomix eval`.)
@Suite struct PerceptionStageTests {
    let stage = try! PerceptionStage(modelDirectory: Repository.fixture("apm").path)

    @Test func boxesAreInOriginalPixelsOfANonSquareImage() throws {
        let image = GrayImage(width: 300, height: 200, pixels: (0..<60000).map { Float($0 % 251) / 251 })
        let p = try stage.perceive(image)
        #expect(p.anatomies.count == 36 && p.labels.count == 14)
        #expect(p.anatomies[0].name == "abdomen" && p.anatomies[0].token.count == 16)
        for a in p.anatomies {
            #expect(a.box[0] >= 0 && a.box[2] <= 300 && a.box[1] >= 0 && a.box[3] <= 200 && a.box[0] <= a.box[2])
        }
        #expect(p.labels.values.allSatisfy { $0 > 0 && $0 < 1 })
    }

    @Test func theSameImageLetterboxedTheSameWayGivesTheSameBoxes() throws {
        // A 2x larger copy of an image maps to the same canvas, so boxes scale by exactly 2.
        let pattern: [Float] = (0..<(128 * 64)).map { (i: Int) -> Float in Float((i / 128 + i % 128) % 17) / 17 }
        let small = GrayImage(width: 128, height: 64, pixels: pattern)
        var big = [Float](repeating: 0, count: 256 * 128)
        for y in 0..<128 { for x in 0..<256 { big[y * 256 + x] = small[x / 2, y / 2] } }
        let a = try stage.perceive(small), b = try stage.perceive(GrayImage(width: 256, height: 128, pixels: big))
        for (p, q) in zip(a.anatomies, b.anatomies) {
            for (u, v) in zip(p.box, q.box) { #expect(abs(u * 2 - v) < 1.5) }
        }
    }

    @Test func missingModelFolderIsAClearError() {
        let error = #expect(throws: ModelError.self) { try PerceptionStage(modelDirectory: "/nonexistent/model") }
        #expect(error?.kind == .missingFile)
        #expect(error?.message == "/nonexistent/model/config.json is missing: is /nonexistent/model an AnatomiX model folder? (make train-apm writes one)")
    }

    @Test func anAnatomyListWithADuplicateNameIsAnError() throws {
        let source = try String(contentsOf: Repository.root.appendingPathComponent("Schemas/anatomies.v1.json"), encoding: .utf8)
        let twice = source.replacingOccurrences(of: "\"name\": \"right lung\"", with: "\"name\": \"left lung\"")
        #expect(twice != source, "Schemas/anatomies.v1.json no longer names \"right lung\" that way")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("anatomies-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try twice.write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: PipelineError.self) { try AnatomyCatalog.load(path: path) }
        #expect(error?.message == "\(path): anatomy 'left lung' is listed twice; each name must be unique")
    }
}
