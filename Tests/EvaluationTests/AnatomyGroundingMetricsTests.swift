import Testing
@testable import Evaluation

@Suite struct AnatomyGroundingMetricsTests {
    @Test func iouOfBoxes() {
        #expect(Box(0, 0, 10, 10).iou(Box(0, 0, 10, 10)) == 1)
        #expect(Box(0, 0, 10, 10).iou(Box(5, 0, 15, 10)) == 50.0 / 150.0)
        #expect(Box(0, 0, 1, 1).iou(Box(2, 2, 3, 3)) == 0)
    }

    @Test func meanIoUAndMAPWithAMissingBox() {
        let truth = ["a": Box(0, 0, 10, 10), "b": Box(0, 0, 10, 10), "c": Box(0, 0, 10, 10)]
        let pred = ["a": Box(0, 0, 10, 10), "b": Box(0, 0, 10, 5)]   // c missing -> 0
        let s = AnatomyGroundingMetrics.score(predictions: [pred], truths: [truth])
        #expect(s.n == 3)
        #expect(abs(s.iou - (1 + 0.5 + 0) / 3) < 1e-12)
        // thresholds 0.25, 0.5 -> 2/3 found; 0.75, 0.95 -> 1/3
        #expect(abs(s.map - (2.0 / 3 + 2.0 / 3 + 1.0 / 3 + 1.0 / 3) / 4) < 1e-12)
        #expect(s.perAnatomy["c"] == 0 && s.perAnatomy["a"] == 1)
    }

    @Test func leftRightIdentityCountsSwaps() {
        let truth = ["right lung": Box(0, 0, 10, 10), "left lung": Box(20, 0, 30, 10), "carina": Box(12, 0, 14, 2)]
        let good = ["right lung": Box(1, 0, 10, 10), "left lung": Box(20, 0, 29, 10), "carina": Box(20, 0, 30, 10)]
        let swapped = ["right lung": Box(20, 0, 30, 10), "left lung": Box(20, 0, 29, 10)]
        #expect(AnatomyGroundingMetrics.leftRightIdentity(predictions: [good], truths: [truth]) == 1)
        #expect(AnatomyGroundingMetrics.leftRightIdentity(predictions: [swapped], truths: [truth]) == 0.5)
    }
}
