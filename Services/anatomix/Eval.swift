import ArgumentParser
import Evaluation
import Foundation
import Imaging
import Models
import Pipeline
import Retrieval
import Tensor

/// `anatomix eval MANIFEST --tasks anatomy,retrieval,labels`: stage-one quality on a dataset manifest.
/// Plain studies, flipped studies and each real-shape variant (compared with the plain renders they
/// were made from) are reported apart; retrieval compares AnatomiX's nearest-sentence lookup with
/// the calibrated one from the same tokens.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a model on a dataset manifest (tasks: anatomy, retrieval, labels).")

    static let known: Set<String> = ["anatomy", "retrieval", "labels", "language"]

    @Argument(help: "A dataset's manifest.jsonl (e.g. data/heldout/manifest.jsonl from make dataset-test).")
    var manifest: String

    @Option(help: "Comma-separated tasks: anatomy, retrieval, labels, language (the seven language-model tasks).")
    var tasks: String = "anatomy"

    @Option(help: "An AnatomiX model folder (default: Weights/anatomix-tiny).")
    var modelDir: String?

    @Option(help: "Write results.json here.")
    var out: String?

    @Option(help: "Evaluate at most this many studies (0 = all).")
    var limit: Int = 0

    @Option(help: "With --tasks language: ask the language model about at most this many plain and this many flipped studies.")
    var languageStudies: Int = 150

    @OptionGroup var compute: ComputeOptions
    @OptionGroup(title: "Image limits") var imageLimits: ImageLimitOptions

    var requested: Set<String> { Set(tasks.split(separator: ",").map(String.init)) }

    func validate() throws {
        let unknown = requested.subtracting(Self.known)
        guard unknown.isEmpty else {
            throw ValidationError("unknown task(s) \(unknown.sorted().joined(separator: ", ")); choose from \(Self.known.sorted().joined(separator: ", "))")
        }
    }

    func run() throws {
        ComputeThreads.set(compute.threads)
        let model = modelDir ?? ModelLocations.anatomiX.path
        let stage = try PerceptionStage(modelDirectory: model)
        let bank = requested.contains("retrieval") ? try SentenceBank(directory: model) : nil
        var language = requested.contains("language")
            ? LanguageEvaluation(stage: try LanguageStage(modelDirectory: model, labels: stage.catalog.chexpertLabels), limit: languageStudies)
            : nil
        let retrieval = language == nil ? nil : try RetrievalStage(modelDirectory: model)
        var studies = try ManifestStudy.load(manifest: manifest)
        if limit > 0 { studies = Array(studies.prefix(limit)) }
        let root = URL(fileURLWithPath: manifest).deletingLastPathComponent()
        var collected = EvalCollection()
        for (i, study) in studies.enumerated() {
            let path = root.appendingPathComponent(study.image).path
            let perception = try stage.perceive(try PNGCodec.read(path: path, limits: imageLimits.limits))
            try collected.add(study: study, perception: perception, bank: bank, manifest: manifest, line: i + 1)
            if let retrieval { try language?.add(study: study, perception: perception, findings: try retrieval.likelyFindings(perception)) }
            if (i + 1) % 50 == 0 { FileHandle.standardError.write(Data("\reval: \(i + 1)/\(studies.count)".utf8)) }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        var results = [String: any Encodable]()
        if requested.contains("anatomy") { results.merge(collected.anatomyBlocks(), uniquingKeysWith: { a, _ in a }) }
        if requested.contains("retrieval") { results["retrieval"] = collected.retrievalBlock() }
        if requested.contains("labels") {
            results["labels"] = collected.labelBlock(labels: stage.catalog.chexpertLabels, threshold: Double(PerceptionStage.labelThreshold))
        }
        if let language { results["language"] = language.blocks() }
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let blocks = results.mapValues { AnyEncodable($0) }
            try encoder.encode(blocks).write(to: URL(fileURLWithPath: out).appendingPathComponent("results.json"))
        }
    }
}

/// Type erasure for the results.json blocks.
struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
