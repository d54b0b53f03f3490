/// Image-level label quality: AUROC per CheXpert label (the probability of a random positive study
/// ranking above a random negative one, ties counted half) and their macro mean over the labels that
/// have both classes; plus accuracy at the operating threshold `analyze` uses.
public struct LabelScores: Codable, Sendable, Equatable {
    public var auroc: [String: Double]
    public var macroAUROC: Double
    public var threshold: Double
    public var accuracyAtThreshold: [String: Double]
    public var n: Int

    enum CodingKeys: String, CodingKey {
        case auroc, macroAUROC = "macro_auroc", threshold, accuracyAtThreshold = "accuracy_at_threshold", n
    }
}

public enum LabelMetrics {
    /// AUROC of `scores` for binary `truth` (nil when one class is missing).
    public static func auroc(scores: [Double], truth: [Bool]) -> Double? {
        precondition(scores.count == truth.count, "\(scores.count) scores for \(truth.count) labels")
        let positives = truth.filter { $0 }.count, negatives = truth.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Mann-Whitney U from average ranks (ties share their mean rank).
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let mean = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = mean }
            i = j + 1
        }
        let positiveRanks = truth.indices.filter { truth[$0] }.map { ranks[$0] }.reduce(0, +)
        let u = positiveRanks - Double(positives * (positives + 1)) / 2
        return u / Double(positives * negatives)
    }

    /// `probabilities[i][label]` against `truth[i][label]` (0/1) for every study.
    public static func score(probabilities: [[String: Double]], truth: [[String: Int]], labels: [String],
                             threshold: Double) -> LabelScores {
        precondition(probabilities.count == truth.count, "\(probabilities.count) predictions for \(truth.count) studies")
        var auroc = [String: Double](), accuracy = [String: Double]()
        for label in labels {
            let s = probabilities.map { $0[label] ?? 0 }, t = truth.map { ($0[label] ?? 0) == 1 }
            if let a = self.auroc(scores: s, truth: t) { auroc[label] = a }
            let right = zip(s, t).filter { ($0.0 >= threshold) == $0.1 }.count
            accuracy[label] = s.isEmpty ? 0 : Double(right) / Double(s.count)
        }
        let macro = auroc.isEmpty ? 0 : auroc.values.reduce(0, +) / Double(auroc.count)
        return LabelScores(auroc: auroc, macroAUROC: macro, threshold: threshold, accuracyAtThreshold: accuracy, n: truth.count)
    }
}
