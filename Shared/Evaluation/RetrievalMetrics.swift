/// Quality of the likely findings retrieved per region, against the finding kinds the ontology
/// attached to that region in the ground truth.
///
/// - Balanced accuracy of healthy vs abnormal (mean of the recall on abnormal and on healthy regions).
/// - Finding-set F1 on abnormal regions: micro F1 of the retrieved sentence's kinds against the true
///   kinds, over the regions whose truth is abnormal.
/// - Per finding kind: precision, recall and F1 over all regions.
/// - Reliability of the score: in each score bin, the mean score against the fraction of regions whose
///   retrieved kinds equal the true kinds exactly (a calibrated score has the two equal).
public struct RetrievalScores: Codable, Sendable, Equatable {
    public struct Kind: Codable, Sendable, Equatable {
        public var precision: Double, recall: Double, f1: Double, support: Int
    }

    public struct Bin: Codable, Sendable, Equatable {
        public var lower: Double, upper: Double, n: Int, meanScore: Double, accuracy: Double
        enum CodingKeys: String, CodingKey { case lower, upper, n, meanScore = "mean_score", accuracy }
    }

    public var n: Int
    public var abnormal: Int
    public var balancedAccuracy: Double
    public var abnormalRecall: Double
    public var healthyRecall: Double
    public var findingF1: Double
    public var exact: Double
    public var perKind: [String: Kind]
    public var reliability: [Bin]

    enum CodingKeys: String, CodingKey {
        case n, abnormal, balancedAccuracy = "balanced_accuracy", abnormalRecall = "abnormal_recall"
        case healthyRecall = "healthy_recall", findingF1 = "finding_f1", exact, perKind = "per_kind", reliability
    }
}

public enum RetrievalMetrics {
    /// One region: the kinds its retrieved sentence names, its score (nil: no score), and the true kinds.
    public struct Region: Sendable {
        public let predicted: Set<String>
        public let score: Double?
        public let truth: Set<String>
        public init(predicted: Set<String>, score: Double?, truth: Set<String>) {
            (self.predicted, self.score, self.truth) = (predicted, score, truth)
        }
    }

    public static let bins: [Double] = [0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0]

    public static func score(_ regions: [Region]) -> RetrievalScores {
        let ratio = { (a: Int, b: Int) in b == 0 ? 0 : Double(a) / Double(b) }
        let abnormal = regions.filter { !$0.truth.isEmpty }, healthy = regions.filter { $0.truth.isEmpty }
        let abnormalRecall = ratio(abnormal.filter { !$0.predicted.isEmpty }.count, abnormal.count)
        let healthyRecall = ratio(healthy.filter { $0.predicted.isEmpty }.count, healthy.count)
        var tp = 0, fp = 0, fn = 0
        for r in abnormal {
            tp += r.predicted.intersection(r.truth).count
            fp += r.predicted.subtracting(r.truth).count
            fn += r.truth.subtracting(r.predicted).count
        }
        var perKind = [String: RetrievalScores.Kind]()
        for kind in Set(regions.flatMap { $0.truth.union($0.predicted) }) {
            let t = regions.filter { $0.truth.contains(kind) && $0.predicted.contains(kind) }.count
            let p = regions.filter { $0.predicted.contains(kind) }.count
            let s = regions.filter { $0.truth.contains(kind) }.count
            let precision = ratio(t, p), recall = ratio(t, s)
            perKind[kind] = .init(precision: precision, recall: recall,
                                  f1: precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall), support: s)
        }
        var reliability = [RetrievalScores.Bin]()
        for (lower, upper) in zip(bins, bins.dropFirst()) {
            // Scores are clamped to [0, 1] (a cosine can be negative, a rounded probability 1 + ulp).
            let clamped = { (s: Double) in min(max(s, 0), 1) }
            let inBin = regions.filter { r in
                guard let s = r.score.map(clamped) else { return false }
                return s >= lower && (s < upper || (upper == 1 && s <= 1))
            }
            guard !inBin.isEmpty else { continue }
            let mean = inBin.compactMap { $0.score.map(clamped) }.reduce(0, +) / Double(inBin.count)
            reliability.append(.init(lower: lower, upper: upper, n: inBin.count, meanScore: mean,
                                     accuracy: ratio(inBin.filter { $0.predicted == $0.truth }.count, inBin.count)))
        }
        return RetrievalScores(
            n: regions.count, abnormal: abnormal.count, balancedAccuracy: (abnormalRecall + healthyRecall) / 2,
            abnormalRecall: abnormalRecall, healthyRecall: healthyRecall,
            findingF1: tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn),
            exact: ratio(regions.filter { $0.predicted == $0.truth }.count, regions.count),
            perKind: perKind, reliability: reliability)
    }
}
