import ArgumentParser
import Foundation
import Imaging
import Language
import Models
import Pipeline
import Retrieval
import Tensor

/// `anatomix analyze`: stages one and two in one process (no broker): anatomy boxes in original
/// pixels, anatomical tokens, likely findings and label probabilities, as JSON (+ an overlay PNG).
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyze a chest X-ray PNG: 36 anatomy boxes, tokens, likely findings, 14 label probabilities, and the tasks' answers.")

    @Argument(help: "A PNG (8/16-bit gray or colour; at least 64 px a side, within the limits below).")
    var image: String

    @Option(help: "Also write <name>.json and <name>.overlay.png here.")
    var out: String?

    @Option(help: "An AnatomiX model folder (default: Weights/anatomix-tiny).")
    var modelDir: String?

    @OptionGroup(title: "Tasks (the language model)") var taskOptions: TaskOptions
    @OptionGroup var compute: ComputeOptions
    @OptionGroup(title: "Image limits") var imageLimits: ImageLimitOptions

    func run() throws {
        ComputeThreads.set(compute.threads)
        let model = modelDir ?? ModelLocations.anatomiX.path
        do {
            var clock = Stopwatch()
            let picture = try PNGCodec.read(path: image, limits: imageLimits.limits)
            let decoded = clock.lap()
            let (perceptionStage, retrievalStage) = (try PerceptionStage(modelDirectory: model), try RetrievalStage(modelDirectory: model))
            let loaded = clock.lap()
            let perception = try perceptionStage.perceive(picture)
            _ = clock.lap()
            let findings = try retrievalStage.likelyFindings(perception)
            let retrieved = clock.lap()
            let hasLanguageModel = FileManager.default.fileExists(atPath: model + "/lm/config.json")
            let tasks = try taskOptions.studyTasks(defaultTasks: hasLanguageModel ? ["report"] : [],
                                                   anatomies: perceptionStage.catalog.anatomies.map(\.name))
            var answers = [TaskAnswer]()
            if !tasks.isEmpty {
                let language = try LanguageStage(modelDirectory: model, labels: perceptionStage.catalog.chexpertLabels)
                let study = language.context(perception, findings: findings)
                answers = try language.answer(tasks, study: study, decoding: taskOptions.decoding, maxNewTokens: taskOptions.maxNewTokens,
                                              onText: taskOptions.stream ? { index, piece in
                                                  FileHandle.standardError.write(Data(piece.utf8))
                                                  _ = index
                                              } : nil)
                if taskOptions.stream { FileHandle.standardError.write(Data("\n".utf8)) }
            } else if !hasLanguageModel {
                FileHandle.standardError.write(Data("note: \(model) has no language model (lm/); stage one only\n".utf8))
            }
            let timings = AnalysisReport.Timings(decode: decoded, load: loaded, perception: perception, retrieval: retrieved,
                                                 language: clock.lap())
            let report = AnalysisReport(image: image, model: .init(card: perceptionStage.card, path: model),
                                        perception: perception, findings: findings, tasks: answers, timings: timings)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let json = try encoder.encode(report)
            print(String(decoding: json, as: UTF8.self))
            if let out { try write(report, json: json, picture: picture, to: out) }
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            if !FileManager.default.fileExists(atPath: model) {
                FileHandle.standardError.write(Data("hint: no model at \(model); train one with `make train-apm` or pass --model-dir\n".utf8))
            }
            throw ExitCode.failure
        }
    }

    func write(_ report: AnalysisReport, json: Data, picture: GrayImage, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let stem = URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent
        let base = URL(fileURLWithPath: directory).appendingPathComponent(stem)
        try json.write(to: base.appendingPathExtension("json"))
        var overlay = Overlay(picture)
        let scale = max(1, picture.width / 512)
        for a in report.anatomies where a.name.contains("lung") && !a.name.contains("zone") || a.name == "cardiac silhouette" {
            overlay.box(a.box, color: (90, 180, 255), thickness: scale)
            overlay.text(a.name, x: Int(a.box[0]) + 2, y: Int(a.box[1]) + 2, color: (150, 210, 255), scale: scale)
        }
        // The regions whose likely finding is abnormal (the six with the best scores), in orange with
        // "anatomy: finding score"; the full list is in the JSON.
        let abnormal = report.anatomies.filter { !($0.findingKinds ?? []).isEmpty }
            .sorted { ($0.score ?? 0) > ($1.score ?? 0) }.prefix(6)
        for (row, a) in abnormal.enumerated() {
            overlay.box(a.box, color: (255, 140, 40), thickness: scale)
            let label = "\(a.name): \((a.findingKinds ?? []).joined(separator: ", ")) \(String(format: "%.2f", a.score ?? 0))"
            overlay.text(label, x: 4 * scale, y: picture.height - (row + 1) * 10 * scale - 4 * scale, color: (255, 170, 90), scale: scale)
        }
        // The answers' boxes (grounding tasks) in green, with their phrase or task name.
        for answer in report.tasks {
            let named = answer.phrases.flatMap { p in p.boxes.map { (p.phrase, $0) } }
            for (label, box) in named.isEmpty ? answer.boxes.map({ (answer.task, $0) }) : named where box.count == 4 {
                overlay.box(box, color: (80, 230, 120), thickness: 2 * scale)
                overlay.text(label, x: Int(box[0]) + 2, y: max(0, Int(box[3]) - 10 * scale), color: (120, 255, 150), scale: scale)
            }
        }
        try overlay.png().write(to: URL(fileURLWithPath: base.path + ".overlay.png"))
    }
}
