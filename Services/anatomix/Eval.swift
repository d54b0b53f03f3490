import ArgumentParser
import Evaluation
import Foundation
import Imaging
import Models
import Pipeline
import Retrieval
import Tensor

/// `anatomix eval MANIFEST --tasks ...`: the model over a dataset manifest, in process, scored.
/// Stage one (anatomy boxes per group: plain, flipped, each real-shape variant; retrieval; labels)
/// and the seven language-model tasks; writes results.json, table.md (the seed's Table 1 shape plus
/// report, VQA and understanding rows, flip robustness, latency) and cases.png (best and worst
/// phrase-grounding answers with their true boxes).
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model on a dataset manifest: stage one, retrieval, labels and the seven language tasks.")

    static let stageOne: Set<String> = ["anatomy", "retrieval", "labels"]
    static let known: Set<String> = stageOne.union(LanguageEvaluation.taskNames.keys).union(["language", "all"])

    @Argument(help: "A dataset's manifest.jsonl (e.g. data/heldout/manifest.jsonl from make dataset-test), or your own in that schema.")
    var manifest: String

    @Option(help: "Comma-separated: all, anatomy (stage one's boxes), retrieval, labels, language (all seven LM tasks) or LM tasks one by one: phrase, anatomy_lm, gd, gc, report, vqa, understanding.")
    var tasks: String = "anatomy"

    @Flag(help: "Also ask the language model about flipped studies and report flip robustness (metric changes, left/right identity).")
    var flipped = false

    @Option(name: [.customLong("model"), .customLong("model-dir")], help: "An AnatomiX model folder (default: Weights/anatomix-tiny).")
    var modelDir: String?

    @Option(help: "A sentence-transformers folder for BERTScore and phrase matching (default: the MiniLM fetched by `make deps`).")
    var encoderDir: String?

    @Option(help: "Write results.json, table.md, cases.png and answers.jsonl (every question, the true and the model's answer) here.")
    var out: String?

    @Option(help: "Evaluate at most this many studies (0 = all).")
    var limit: Int = 0

    @Option(help: "Ask the language model about at most this many plain (and this many flipped) studies.")
    var languageStudies: Int = 150

    @Option(help: "Studies evaluated at once, each on one core (default: every core).")
    var workers: Int = min(ProcessInfo.processInfo.activeProcessorCount, ComputeThreads.maximum)

    @OptionGroup(title: "Image limits") var imageLimits: ImageLimitOptions

    /// The names given to --tasks, as written.
    var given: Set<String> { Set(tasks.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }) }

    var requested: Set<String> {
        var names = given
        if names.remove("all") != nil { names.formUnion(Self.stageOne.union(["language"])) }
        if names.remove("language") != nil { names.formUnion(LanguageEvaluation.taskNames.keys) }
        return names
    }

    var languageTasks: Set<String> { Set(requested.compactMap { LanguageEvaluation.taskNames[$0] }) }

    func validate() throws {
        let unknown = given.subtracting(Self.known)
        guard unknown.isEmpty else {
            throw ValidationError("unknown task(s) \(unknown.sorted().joined(separator: ", ")); choose from \(Self.known.sorted().joined(separator: ", "))")
        }
        guard limit >= 0, languageStudies >= 0 else { throw ValidationError("--limit and --language-studies must not be negative") }
        guard (1...ComputeThreads.maximum).contains(workers) else { throw ValidationError("--workers must be in 1...\(ComputeThreads.maximum), got \(workers)") }
    }

    func run() throws {
        ComputeThreads.set(1)                              // one study per core, `workers` at once
        let model = modelDir ?? ModelLocations.anatomiX.path
        let stage = try PerceptionStage(modelDirectory: model)
        let bank = requested.contains("retrieval") ? try SentenceBank(directory: model) : nil
        let languageWanted = !languageTasks.isEmpty
        let languageStage = languageWanted ? try LanguageStage(modelDirectory: model, catalog: stage.catalog) : nil
        let scorer = languageWanted ? try textMetrics(anatomies: stage.catalog) : nil
        var studies = try ManifestStudy.load(manifest: manifest)
        if limit > 0 { studies = Array(studies.prefix(limit)) }
        let root = URL(fileURLWithPath: manifest).deletingLastPathComponent()
        var language = LanguageEvaluation(limit: languageStudies, flipped: flipped, tasks: languageTasks)
        language.catalogName = Dictionary(stage.catalog.anatomies.map { ($0.displayName.lowercased(), $0.name) }, uniquingKeysWith: { a, _ in a })
        let plan = languageWanted ? try language.plan(studies) : studies.map { _ in [] }
        let runner = EvalRunner(perception: stage, retrieval: languageWanted ? try RetrievalStage(modelDirectory: model) : nil,
                                language: languageStage, limits: imageLimits.limits, workers: workers)
        let outcomes = try runner.run(studies, root: root, ask: { plan[$0] })
        var collected = EvalCollection()
        for (i, (study, outcome)) in zip(studies, outcomes).enumerated() {
            try collected.add(study: study, perception: outcome.perception, bank: bank, manifest: manifest, line: i + 1)
            language.add(study: study, index: i, examples: plan[i], answers: outcome.answers)
        }
        var results = [String: any Encodable]()
        let anatomy = collected.anatomyResults()
        if requested.contains("anatomy") {
            collected.printAnatomy(anatomy)
            results.merge(anatomy.mapValues { $0 as any Encodable }, uniquingKeysWith: { a, _ in a })
        }
        if requested.contains("retrieval") { results["retrieval"] = collected.retrievalBlock() }
        if requested.contains("labels") {
            results["labels"] = collected.labelBlock(labels: stage.catalog.chexpertLabels, threshold: Double(PerceptionStage.labelThreshold))
        }
        let latency = EvalLatency(outcomes: outcomes)
        latency.print()
        results["latency"] = latency
        var blocks = [String: LanguageScores]()
        if let scorer {
            blocks = try language.blocks(with: scorer)
            results["language"] = blocks
            results["language_lr_identity"] = language.leftRightIdentity
            results["language_phrase_by_kind"] = language.phraseKindScores
            results["language_vqa_by_question"] = language.vqaByForm
            results["language_report_by_kind"] = language.reportByKind
        }
        let table = EvalTable(model: URL(fileURLWithPath: model).lastPathComponent, manifest: manifest, language: blocks,
                              leftRight: language.leftRightIdentity, leftRightCounts: language.leftRight.mapValues(\.total),
                              stageOne: anatomy, latency: latency).markdown()
        guard let out else { return }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(results.mapValues { AnyEncodable($0) }).write(to: URL(fileURLWithPath: out).appendingPathComponent("results.json"))
        try Data(table.utf8).write(to: URL(fileURLWithPath: out).appendingPathComponent("table.md"))
        if !language.answered.isEmpty {
            let lines = JSONEncoder()
            lines.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let text = try language.answered.map { String(decoding: try lines.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: out).appendingPathComponent("answers.jsonl"))
        }
        if let plain = language.groups["plain"], !language.phraseStudies.isEmpty {
            let cases = try EvalCases.picture(samples: plain.samples(of: "phrase_grounding"), studies: language.phraseStudies.map { studies[$0] },
                                              root: root, limits: imageLimits.limits)
            try cases.write(to: URL(fileURLWithPath: out).appendingPathComponent("cases.png"))
        }
        FileHandle.standardError.write(Data("eval: wrote \(out)/results.json, table.md\(language.answered.isEmpty ? "" : ", answers.jsonl")\n".utf8))
    }

    func textMetrics(anatomies: AnatomyCatalog) throws -> TextGenerationMetrics {
        let encoder = try SentenceEncoder(directory: encoderDir ?? ModelLocations.miniLM.path)
        let wordNet = WordNet()
        try wordNet.load()
        return TextGenerationMetrics(embedder: MiniLMEmbedder(encoder: encoder), meteor: Meteor(wordNet: wordNet),
                                     clinical: ClinicalMetrics(anatomyNames: Array(Set(anatomies.anatomies.flatMap { [$0.name, $0.displayName] })).sorted()))
    }
}

/// Type erasure for the results.json blocks.
struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
