/// COCO-style mean average precision over IoU thresholds, as `pycocotools`' `COCOeval` (bbox, area
/// "all", 100 detections per image) computes it and `torchmetrics`' `MeanAveragePrecision` reports
/// it as `map`: per class and threshold, detections of all images in descending score order
/// (a stable sort, so equal scores keep image then input order), each matched greedily to the
/// unmatched ground truth of its image and class with the highest IoU at or above the threshold;
/// precision made monotone from the right and read at the 101 recall points 0, 0.01, ..., 1 (0
/// past the last recall reached); AP is their mean, and `map` the mean over every (threshold,
/// class) that has ground truth. Classes with detections but no ground truth are not counted.
///
/// AnatomiX scores language-model boxes with every score 1 (an LM gives no confidence) and matches
/// a predicted phrase to the true one when their MiniLM cosine is >= 0.8 (the caller assigns the
/// class ids); a sample with no parseable box contributes its ground truth and no detection.
public struct MeanAveragePrecision: Sendable {
    public struct Detection: Sendable {
        public let box: Box, score: Double, label: Int
        public init(box: Box, score: Double = 1, label: Int) { (self.box, self.score, self.label) = (box, score, label) }
    }

    public struct Truth: Sendable {
        public let box: Box, label: Int
        public init(box: Box, label: Int) { (self.box, self.label) = (box, label) }
    }

    public static let defaultThresholds: [Double] = [0.25, 0.5, 0.75, 0.95]
    public static let maxDetections = 100
    /// numpy's `linspace(0, 1, 101)`: `i * 0.01`, the last point exactly 1.
    static let recallPoints: [Double] = (0...100).map { $0 == 100 ? 1 : Double($0) * 0.01 }

    public let thresholds: [Double]
    var images: [(detections: [Detection], truths: [Truth])] = []

    public init(thresholds: [Double] = defaultThresholds) {
        precondition(!thresholds.isEmpty && thresholds.allSatisfy { $0 > 0 && $0 <= 1 }, "IoU thresholds in (0, 1]")
        self.thresholds = thresholds
    }

    /// One image (one sample): its detections in the order given and its ground truth.
    public mutating func add(detections: [Detection], truths: [Truth]) {
        images.append((detections, truths))
    }

    public var imageCount: Int { images.count }

    /// AP per threshold (averaged over classes with ground truth) and their mean; nil without any ground truth.
    public func score() -> (map: Double, perThreshold: [Double])? {
        let labels = Set(images.flatMap { $0.truths.map(\.label) }).sorted()
        guard !labels.isEmpty else { return nil }
        var perThreshold = [Double]()
        for t in thresholds {
            let aps = labels.map { averagePrecision(label: $0, threshold: t) }
            perThreshold.append(aps.reduce(0, +) / Double(aps.count))
        }
        return (perThreshold.reduce(0, +) / Double(perThreshold.count), perThreshold)
    }

    /// COCOeval's evaluateImg + accumulate for one class at one threshold.
    func averagePrecision(label: Int, threshold: Double) -> Double {
        var scored = [(score: Double, matched: Bool)]()
        var truthCount = 0
        for image in images {
            let truths = image.truths.filter { $0.label == label }
            var detections = image.detections.filter { $0.label == label }
            detections = stableSortedByScore(detections).prefix(Self.maxDetections).map { $0 }
            truthCount += truths.count
            var taken = [Bool](repeating: false, count: truths.count)
            for d in detections {
                var best = -1, bestIoU = min(threshold, 1 - 1e-10)
                for (g, truth) in truths.enumerated() where !taken[g] {
                    let iou = d.box.iou(truth.box)
                    if iou < bestIoU { continue }
                    (bestIoU, best) = (iou, g)
                }
                if best >= 0 { taken[best] = true }
                scored.append((d.score, best >= 0))
            }
        }
        guard truthCount > 0 else { return 0 }
        let order = stableOrder(scored.map(\.score))
        var precision = [Double](), recall = [Double]()
        var tp = 0.0, fp = 0.0
        for i in order {
            if scored[i].matched { tp += 1 } else { fp += 1 }
            recall.append(tp / Double(truthCount))
            precision.append(tp / (tp + fp + Double.ulpOfOne))
        }
        if precision.count > 1 {
            for i in stride(from: precision.count - 1, to: 0, by: -1) { precision[i - 1] = max(precision[i - 1], precision[i]) }
        }
        var sum = 0.0
        for point in Self.recallPoints {
            // numpy.searchsorted(recall, point, side="left"): the first index with recall >= point
            var lo = 0, hi = recall.count
            while lo < hi { let mid = (lo + hi) / 2; if recall[mid] < point { lo = mid + 1 } else { hi = mid } }
            guard lo < precision.count else { break }
            sum += precision[lo]
        }
        return sum / Double(Self.recallPoints.count)
    }

    func stableSortedByScore(_ detections: [Detection]) -> [Detection] {
        stableOrder(detections.map(\.score)).map { detections[$0] }
    }

    /// Indices in descending score order, ties in index order (numpy's mergesort of -score).
    func stableOrder(_ scores: [Double]) -> [Int] {
        scores.indices.sorted { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a < b }
    }
}
