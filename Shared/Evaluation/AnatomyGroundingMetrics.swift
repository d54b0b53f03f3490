/// Anatomy grounding scores as AnatomiX reports them (shared/reference/anatomix-paper-notes.md):
/// mean IoU of each predicted anatomy box with its ground truth (a missing box scores 0), and mAP
/// over IoU thresholds {0.25, 0.5, 0.75, 0.95} with every prediction scored 1 — with one box per
/// anatomy, AP at a threshold is the fraction of anatomies found at that IoU.
public struct AnatomyScores: Codable, Sendable, Equatable {
    public var iou: Double
    public var map: Double
    public var n: Int
    public var perAnatomy: [String: Double]

    enum CodingKeys: String, CodingKey { case iou, map, n, perAnatomy = "per_anatomy" }
}

public enum AnatomyGroundingMetrics {
    public static let thresholds: [Double] = [0.25, 0.5, 0.75, 0.95]

    /// `predictions[i][name]` (nil or absent = not found) against `truths[i][name]` for every study.
    public static func score(predictions: [[String: Box]], truths: [[String: Box]]) -> AnatomyScores {
        precondition(predictions.count == truths.count, "\(predictions.count) predictions for \(truths.count) studies")
        var all = [Double]()
        var byName = [String: [Double]]()
        for (pred, truth) in zip(predictions, truths) {
            for (name, gt) in truth {
                let value = pred[name].map { $0.iou(gt) } ?? 0
                all.append(value)
                byName[name, default: []].append(value)
            }
        }
        let mean = { (v: [Double]) in v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        let ap = thresholds.map { t in mean(all.map { $0 >= t ? 1 : 0 }) }
        return AnatomyScores(iou: mean(all), map: mean(ap), n: all.count, perAnatomy: byName.mapValues(mean))
    }

    /// Mean IoU of each study's anatomies (a missing prediction scores 0).
    public static func perStudyIoU(predictions: [[String: Box]], truths: [[String: Box]]) -> [Double] {
        precondition(predictions.count == truths.count, "\(predictions.count) predictions for \(truths.count) studies")
        return zip(predictions, truths).map { pred, truth in
            let values = truth.map { name, gt in pred[name].map { $0.iou(gt) } ?? 0 }
            return values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
        }
    }

    /// Left/right identity on (possibly flipped) studies: the fraction of paired anatomies whose
    /// predicted "right X" box overlaps the true right X more than the true left X (and vice versa).
    public static func leftRightIdentity(predictions: [[String: Box]], truths: [[String: Box]]) -> Double {
        var correct = 0, total = 0
        for (pred, truth) in zip(predictions, truths) {
            for (name, box) in pred {
                let other: String
                if name.hasPrefix("right ") { other = "left " + name.dropFirst(6) }
                else if name.hasPrefix("left ") { other = "right " + name.dropFirst(5) }
                else { continue }
                guard let same = truth[name], let opposite = truth[other] else { continue }
                total += 1
                if box.iou(same) > box.iou(opposite) { correct += 1 }
            }
        }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }
}
