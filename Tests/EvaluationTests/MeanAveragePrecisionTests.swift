import Foundation
import Testing
import TestSupport
@testable import Evaluation

/// The COCO mAP against pycocotools' COCOeval (float64: to 1e-9) and torchmetrics (float32: to the
/// issue's 1e-3) on Tests/Fixtures/metrics/map.json (Training/export_score_fixtures.py), and against
/// cases small enough to work out by hand.
@Suite struct MeanAveragePrecisionTests {
    struct Fixture: Decodable {
        struct Item: Decodable { let box: [Double], label: Int, score: Double? }
        struct Image: Decodable { let truths: [Item], detections: [Item] }
        struct Scene: Decodable { let name: String, images: [Image], map: Double, per_threshold: [Double], torchmetrics_map: Double }
        let thresholds: [Double], scenes: [Scene]
    }

    func metric(_ images: [Fixture.Image], thresholds: [Double]) -> MeanAveragePrecision {
        var m = MeanAveragePrecision(thresholds: thresholds)
        for image in images {
            m.add(detections: image.detections.map { .init(box: Box($0.box)!, score: $0.score ?? 1, label: $0.label) },
                  truths: image.truths.map { .init(box: Box($0.box)!, label: $0.label) })
        }
        return m
    }

    @Test func matchesTorchmetricsOnEveryScene() throws {
        let fixture = try Repository.decodeFixture(Fixture.self, "metrics/map.json")
        #expect(fixture.scenes.count >= 4)
        for scene in fixture.scenes {
            let s = try #require(metric(scene.images, thresholds: fixture.thresholds).score())
            #expect(abs(s.map - scene.map) < 1e-9, "\(scene.name): \(s.map) vs pycocotools \(scene.map)")
            #expect(abs(s.map - scene.torchmetrics_map) < 1e-3, "\(scene.name): \(s.map) vs torchmetrics \(scene.torchmetrics_map)")
            for (i, t) in fixture.thresholds.enumerated() {
                let single = try #require(metric(scene.images, thresholds: [t]).score())
                #expect(abs(single.map - scene.per_threshold[i]) < 1e-9, "\(scene.name) at IoU \(t)")
                #expect(abs(s.perThreshold[i] - scene.per_threshold[i]) < 1e-9)
            }
        }
    }

    @Test func perfectBoxesScoreOneAndMissesScoreZero() throws {
        var perfect = MeanAveragePrecision(), missed = MeanAveragePrecision()
        for i in 0..<5 {
            let box = Box(Double(i) * 10, 0, Double(i) * 10 + 40, 30)
            perfect.add(detections: [.init(box: box, label: i % 2)], truths: [.init(box: box, label: i % 2)])
            missed.add(detections: [.init(box: Box(500, 500, 520, 520), label: i % 2)], truths: [.init(box: box, label: i % 2)])
        }
        #expect(try #require(perfect.score()).map == 1)
        #expect(try #require(missed.score()).map == 0)
        #expect(MeanAveragePrecision().score() == nil, "no ground truth: no score")
    }

    @Test func aSampleWithoutABoxHalvesRecall() throws {
        // Two samples of one class, one found exactly, one without a prediction: precision 1 up to
        // recall 0.5, so AP = 51 of the 101 recall points.
        var m = MeanAveragePrecision(thresholds: [0.5])
        let box = Box(0, 0, 10, 10)
        m.add(detections: [.init(box: box, label: 0)], truths: [.init(box: box, label: 0)])
        m.add(detections: [], truths: [.init(box: box, label: 0)])
        #expect(abs(try #require(m.score()).map - 51.0 / 101.0) < 1e-12)
    }

    @Test func aWrongLabelIsAMissEvenOnTheRightBox() throws {
        var m = MeanAveragePrecision(thresholds: [0.5])
        let box = Box(0, 0, 10, 10)
        m.add(detections: [.init(box: box, label: 1)], truths: [.init(box: box, label: 0)])
        #expect(try #require(m.score()).map == 0)
    }
}
