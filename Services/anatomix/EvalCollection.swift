import Evaluation
import Foundation
import Pipeline
import Retrieval

/// What `anatomix eval` gathers per study, grouped as it reports them, and the printed tables.
struct EvalCollection {
    struct Group {
        var pred: [[String: Box]] = []
        var truth: [[String: Box]] = []
        var ids: [String] = []
        var sources: [String] = []       // variants: the plain study each was made from
    }

    var groups: [String: Group] = [:]
    var regions: [String: [String: [RetrievalMetrics.Region]]] = [:]   // group -> lookup -> regions
    var probabilities: [[String: Double]] = []
    var labelTruth: [[String: Int]] = []

    static func group(of study: ManifestStudy) -> String {
        if let v = study.variant { return "anatomy_\(v.kind)" }
        return study.flipped ? "anatomy_flipped" : "anatomy"
    }

    mutating func add(study: ManifestStudy, perception: Perception, bank: SentenceBank?, manifest: String, line: Int) throws {
        func boxes(_ pairs: [(String, [Double])], what: String) throws -> [String: Box] {
            var out = [String: Box]()
            for (name, box) in pairs {
                guard let parsed = Box(box) else {
                    throw PipelineError("\(manifest):\(line): \(what) box of '\(name)' is \(box); a box is 4 finite numbers [x1, y1, x2, y2]")
                }
                guard out.updateValue(parsed, forKey: name) == nil else {
                    throw PipelineError("\(manifest):\(line): \(what) anatomy '\(name)' appears twice")
                }
            }
            return out
        }
        let key = Self.group(of: study)
        groups[key, default: Group()].pred.append(try boxes(perception.anatomies.map { ($0.name, $0.box) }, what: "predicted"))
        groups[key, default: Group()].truth.append(try boxes(study.anatomies.map { ($0.name, $0.box) }, what: "true"))
        groups[key, default: Group()].ids.append(study.id)
        groups[key, default: Group()].sources.append(study.variant?.of ?? study.id)
        guard study.variant == nil else { return }
        if let bank {
            guard let sentences = study.regionSentences else {
                throw PipelineError("\(manifest):\(line): no region_sentences with kinds, which --tasks retrieval scores against; regenerate the dataset (make dataset-test)")
            }
            let truth = Dictionary(sentences.map { ($0.anatomy, Set($0.kinds)) }, uniquingKeysWith: { a, _ in a })
            let group = study.flipped ? "flipped" : "plain"
            for a in perception.anatomies {
                guard let kinds = truth[a.name] else { continue }
                if let m = try bank.nearest(anatomy: a.name, token: a.token) {
                    regions[group, default: [:]]["nearest", default: []].append(.init(predicted: Set(m.kinds), score: Double(m.similarity), truth: kinds))
                }
                if let m = try bank.retrieve(anatomy: a.name, token: a.token) {
                    regions[group, default: [:]]["calibrated", default: []].append(.init(predicted: Set(m.kinds), score: m.probability.map(Double.init), truth: kinds))
                }
            }
        }
        if !study.flipped {
            probabilities.append(perception.labels.mapValues(Double.init))
            labelTruth.append(study.labels)
        }
    }

    /// Anatomy groups in the order they are reported.
    static let groupOrder = ["anatomy", "anatomy_flipped", "anatomy_pad", "anatomy_crop", "anatomy_collimation", "anatomy_hires"]

    /// The groups present, known ones first.
    var orderedGroups: [String] { Self.groupOrder.filter { groups[$0] != nil } + groups.keys.filter { !Self.groupOrder.contains($0) }.sorted() }

    /// Scores per anatomy group, each variant group with the mean IoU of the plain renders it was made from.
    func anatomyResults() -> [String: AnatomyResult] {
        var out = [String: AnatomyResult]()
        let plain = groups["anatomy"].map { AnatomyGroundingMetrics.perStudyIoU(predictions: $0.pred, truths: $0.truth) }
        let plainByID = Dictionary(zip(groups["anatomy"]?.ids ?? [], plain ?? []), uniquingKeysWith: { a, _ in a })
        for key in orderedGroups {
            guard let g = groups[key] else { continue }
            var block = AnatomyResult(scores: AnatomyGroundingMetrics.score(predictions: g.pred, truths: g.truth),
                                      leftRightIdentity: AnatomyGroundingMetrics.leftRightIdentity(predictions: g.pred, truths: g.truth),
                                      sourceIoU: nil)
            if key != "anatomy" && key != "anatomy_flipped" {
                let sources = g.sources.compactMap { plainByID[$0] }
                if !sources.isEmpty { block.sourceIoU = sources.reduce(0, +) / Double(sources.count) }
            }
            out[key] = block
        }
        return out
    }

    /// Prints `results` (from `anatomyResults`) as `eval` reports them.
    func printAnatomy(_ results: [String: AnatomyResult]) {
        for key in orderedGroups {
            guard let block = results[key], let g = groups[key] else { continue }
            let s = block.scores
            var line = String(format: "  mean IoU %.3f   mAP %.3f   left/right identity %.1f%%   boxes %d", s.iou, s.map, block.leftRightIdentity * 100, s.n)
            if let source = block.sourceIoU {
                line += String(format: "   (their plain renders %.3f, change %+.3f)", source, s.iou - source)
            } else if key == "anatomy_flipped", let base = results["anatomy"] {
                line += String(format: "   (change vs plain %+.3f)", s.iou - base.scores.iou)
            }
            let title = key == "anatomy" ? "studies" : key == "anatomy_flipped" ? "flipped studies (other studies)"
                : "\(key.dropFirst("anatomy_".count)) variants"
            print("\n\(title) (\(g.pred.count))\n" + line)
            if key == "anatomy" {
                for (name, value) in s.perAnatomy.sorted(by: { $0.value < $1.value }) {
                    print("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%.3f", value))
                }
            }
        }
    }

    func retrievalBlock() -> [String: [String: RetrievalScores]] {
        var out = [String: [String: RetrievalScores]]()
        for group in ["plain", "flipped"] {
            guard let lookups = regions[group] else { continue }
            print("\nretrieval, \(group == "plain" ? "studies" : "flipped studies") (per region)")
            print("  lookup        balanced acc   abnormal recall   healthy recall   finding-set F1 (abnormal)   exact")
            for lookup in ["nearest", "calibrated"] {
                guard let r = lookups[lookup] else { continue }
                let s = RetrievalMetrics.score(r)
                out[group, default: [:]][lookup] = s
                print("  " + lookup.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + String(format: "  %.3f          %.3f             %.3f            %.3f                       %.3f",
                               s.balancedAccuracy, s.abnormalRecall, s.healthyRecall, s.findingF1, s.exact))
            }
            guard group == "plain", let calibrated = out[group]?["calibrated"] else { continue }
            print("  per finding kind (calibrated): precision recall F1 support")
            for (kind, k) in calibrated.perKind.sorted(by: { $0.value.support > $1.value.support }) {
                print("    " + kind.padding(toLength: 26, withPad: " ", startingAt: 0)
                      + String(format: "%.3f  %.3f  %.3f  %d", k.precision, k.recall, k.f1, k.support))
            }
            print("  reliability (calibrated score -> fraction exactly right)")
            for b in calibrated.reliability {
                print(String(format: "    [%.2f, %.2f)  n %6d   mean score %.3f   right %.3f", b.lower, b.upper, b.n, b.meanScore, b.accuracy))
            }
        }
        return out
    }

    func labelBlock(labels: [String], threshold: Double) -> LabelScores {
        let s = LabelMetrics.score(probabilities: probabilities, truth: labelTruth, labels: labels, threshold: threshold)
        print("\nlabels (\(s.n) studies): macro AUROC \(String(format: "%.3f", s.macroAUROC)), operating threshold \(threshold)")
        for label in labels {
            let auroc = s.auroc[label].map { String(format: "%.3f", $0) } ?? "  -  "
            print("  " + label.padding(toLength: 28, withPad: " ", startingAt: 0) + "AUROC \(auroc)"
                  + String(format: "   accuracy at threshold %.3f", s.accuracyAtThreshold[label] ?? 0))
        }
        return s
    }
}

/// One anatomy block of results.json: the scores, left/right identity and, for a variant, the mean
/// IoU of the plain renders it was made from.
struct AnatomyResult: Encodable {
    let scores: AnatomyScores
    let leftRightIdentity: Double
    var sourceIoU: Double?

    enum CodingKeys: String, CodingKey {
        case iou, map, n, perAnatomy = "per_anatomy", lrIdentity = "lr_identity", sourceIoU = "source_iou"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scores.iou, forKey: .iou)
        try c.encode(scores.map, forKey: .map)
        try c.encode(scores.n, forKey: .n)
        try c.encode(scores.perAnatomy, forKey: .perAnatomy)
        try c.encode(leftRightIdentity, forKey: .lrIdentity)
        try c.encodeIfPresent(sourceIoU, forKey: .sourceIoU)
    }
}
