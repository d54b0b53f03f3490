import Testing
@testable import Evaluation

@Suite struct RetrievalMetricsTests {
    typealias R = RetrievalMetrics.Region

    /// Four regions worked by hand: two healthy (one called abnormal), two abnormal (one missed).
    @Test func handWorkedExample() {
        let s = RetrievalMetrics.score([
            R(predicted: [], score: 0.95, truth: []),                                   // right
            R(predicted: ["nodule"], score: 0.55, truth: []),                           // false alarm
            R(predicted: ["pneumothorax"], score: 0.85, truth: ["pneumothorax", "pleural effusion"]),  // partly right
            R(predicted: [], score: 0.65, truth: ["edema"]),                            // missed
        ])
        #expect(s.n == 4 && s.abnormal == 2)
        #expect(s.abnormalRecall == 0.5 && s.healthyRecall == 0.5 && s.balancedAccuracy == 0.5)
        // abnormal regions: tp 1 (pneumothorax), fp 0, fn 2 (effusion, edema): F1 = 2 / (2 + 2)
        #expect(abs(s.findingF1 - 0.5) < 1e-12)
        #expect(s.exact == 0.25)
        #expect(s.perKind["pneumothorax"] == .init(precision: 1, recall: 1, f1: 1, support: 1))
        #expect(s.perKind["nodule"] == .init(precision: 0, recall: 0, f1: 0, support: 0))
        #expect(s.perKind["edema"]?.recall == 0 && s.perKind["edema"]?.support == 1)
        // bins [0.5,0.6) [0.6,0.7) [0.8,0.9) [0.95,1.0]: one region each, right only in the last
        #expect(s.reliability.map(\.n) == [1, 1, 1, 1])
        #expect(s.reliability.map(\.accuracy) == [0, 0, 0, 1])
        #expect(s.reliability.last?.lower == 0.95 && s.reliability.last?.meanScore == 0.95)
    }

    @Test func aPerfectRetrievalScoresOne() {
        let regions = (0..<10).map { i in R(predicted: i % 2 == 0 ? [] : ["edema"], score: 1, truth: i % 2 == 0 ? [] : ["edema"]) }
        let s = RetrievalMetrics.score(regions)
        #expect(s.balancedAccuracy == 1 && s.findingF1 == 1 && s.exact == 1)
        #expect(s.reliability.count == 1 && s.reliability[0].n == 10 && s.reliability[0].accuracy == 1)
    }

    /// What the issue saw: an abnormal sentence for every region scores 0.5 balanced accuracy.
    @Test func alwaysAbnormalIsChance() {
        let regions = (0..<20).map { i in R(predicted: ["nodule"], score: 0.86, truth: i < 14 ? [] : ["nodule"]) }
        let s = RetrievalMetrics.score(regions)
        #expect(s.balancedAccuracy == 0.5 && s.healthyRecall == 0)
    }
}

@Suite struct LabelMetricsTests {
    @Test func aurocByHand() throws {
        // positives 0.9, 0.4; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1) = 3/4
        #expect(LabelMetrics.auroc(scores: [0.9, 0.5, 0.4, 0.1], truth: [true, false, true, false]) == 0.75)
        // a tie counts half
        #expect(LabelMetrics.auroc(scores: [0.5, 0.5], truth: [true, false]) == 0.5)
        #expect(LabelMetrics.auroc(scores: [0.2, 0.3], truth: [true, true]) == nil)
        #expect(LabelMetrics.auroc(scores: [0.1, 0.9], truth: [false, true]) == 1)
    }

    @Test func macroSkipsLabelsWithOneClass() {
        let s = LabelMetrics.score(probabilities: [["A": 0.9, "B": 0.2], ["A": 0.1, "B": 0.3]],
                                   truth: [["A": 1, "B": 0], ["A": 0, "B": 0]], labels: ["A", "B"], threshold: 0.5)
        #expect(s.auroc == ["A": 1] && s.macroAUROC == 1)
        #expect(s.accuracyAtThreshold["A"] == 1 && s.accuracyAtThreshold["B"] == 1 && s.n == 2)
    }
}

@Suite struct RetrievalReliabilityEdgeTests {
    /// A cosine below 0 or a probability rounded past 1 still lands in a bin: the counts add up to n.
    @Test func outOfRangeScoresAreClampedIntoTheBins() {
        let s = RetrievalMetrics.score([
            .init(predicted: [], score: -0.3, truth: []), .init(predicted: [], score: 1.0000001, truth: []),
            .init(predicted: [], score: 0.7, truth: []),
        ])
        #expect(s.reliability.map(\.n).reduce(0, +) == 3)
        #expect(s.reliability.first?.lower == 0 && s.reliability.first?.meanScore == 0)
    }
}
