import ArgumentParser
import Evaluation
import Foundation
import Imaging
import Models
import Pipeline
import Tensor

/// `anatomix eval MANIFEST --tasks anatomy`: anatomy grounding quality on a generated dataset
/// (plain and flipped studies reported apart, with left/right identity on the flipped ones).
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a model on a dataset manifest (tasks: anatomy).")

    @Argument(help: "A dataset's manifest.jsonl (e.g. data/heldout/manifest.jsonl from make dataset-test).")
    var manifest: String

    @Option(help: "Comma-separated tasks; now: anatomy.")
    var tasks: String = "anatomy"

    @Option(help: "An AnatomiX model folder (default: Weights/anatomix-tiny).")
    var modelDir: String?

    @Option(help: "Write results.json here.")
    var out: String?

    @Option(help: "Evaluate at most this many studies (0 = all).")
    var limit: Int = 0

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard tasks.split(separator: ",").allSatisfy({ $0 == "anatomy" }) else {
            throw ValidationError("only --tasks anatomy exists yet")
        }
    }

    func run() throws {
        ComputeThreads.set(compute.threads)
        let stage = try PerceptionStage(modelDirectory: modelDir ?? ModelLocations.anatomiX.path)
        var studies = try ManifestStudy.load(manifest: manifest)
        if limit > 0 { studies = Array(studies.prefix(limit)) }
        let root = URL(fileURLWithPath: manifest).deletingLastPathComponent()
        var groups: [Bool: (pred: [[String: Box]], truth: [[String: Box]])] = [:]
        for (i, study) in studies.enumerated() {
            let image = try PNGCodec.read(path: root.appendingPathComponent(study.image).path)
            let p = try stage.perceive(image)
            let pred = Dictionary(uniqueKeysWithValues: p.anatomies.map { ($0.name, Box($0.box)) })
            let truth = Dictionary(uniqueKeysWithValues: study.anatomies.map { ($0.name, Box($0.box)) })
            groups[study.flipped, default: ([], [])].pred.append(pred)
            groups[study.flipped, default: ([], [])].truth.append(truth)
            if (i + 1) % 50 == 0 { FileHandle.standardError.write(Data("\reval: \(i + 1)/\(studies.count)".utf8)) }
        }
        var results = [String: AnatomyResult]()
        for (flipped, g) in groups.sorted(by: { !$0.key && $1.key }) {
            let s = AnatomyGroundingMetrics.score(predictions: g.pred, truths: g.truth)
            let lr = AnatomyGroundingMetrics.leftRightIdentity(predictions: g.pred, truths: g.truth)
            results[flipped ? "anatomy_flipped" : "anatomy"] = AnatomyResult(scores: s, leftRightIdentity: lr)
            print(flipped ? "\nflipped studies (\(g.pred.count))" : "\nstudies (\(g.pred.count))")
            print(String(format: "  mean IoU %.3f   mAP %.3f   left/right identity %.1f%%   boxes %d", s.iou, s.map, lr * 100, s.n))
            if !flipped {
                for (name, value) in s.perAnatomy.sorted(by: { $0.value < $1.value }) {
                    print("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%.3f", value))
                }
            }
        }
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try encoder.encode(results).write(to: URL(fileURLWithPath: out).appendingPathComponent("results.json"))
        }
    }
}

/// One block of results.json: the scores plus left/right identity.
struct AnatomyResult: Encodable {
    let scores: AnatomyScores
    let leftRightIdentity: Double

    enum CodingKeys: String, CodingKey { case iou, map, n, perAnatomy = "per_anatomy", lrIdentity = "lr_identity" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scores.iou, forKey: .iou)
        try c.encode(scores.map, forKey: .map)
        try c.encode(scores.n, forKey: .n)
        try c.encode(scores.perAnatomy, forKey: .perAnatomy)
        try c.encode(leftRightIdentity, forKey: .lrIdentity)
    }
}
