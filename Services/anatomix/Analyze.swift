import ArgumentParser
import Contracts
import Foundation
import Imaging
import Models
import Pipeline
import Tensor

/// `anatomix analyze`: the pipeline's three stages in one process (no broker), on the same messages
/// the workers exchange: anatomy boxes in original pixels, anatomical tokens, likely findings, label
/// probabilities and the tasks' answers, as JSON (+ an overlay PNG).
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
            let bytes = try PNGCodec.readBytes(path: image, limits: imageLimits.limits)
            try PNGCodec.checkHeader(bytes, name: image, limits: imageLimits.limits)   // before any model is loaded
            let decoded = clock.lap()
            let steps = try PipelineSteps(model: model, limits: imageLimits.limits)
            let hasLanguageModel = FileManager.default.fileExists(atPath: model + "/lm/config.json")
            let tasks = try taskOptions.studyTasks(defaultTasks: hasLanguageModel ? ["report"] : [],
                                                   anatomies: steps.perception.stage.catalog.anatomies.map(\.name))
            let language = try steps.language(loading: !tasks.isEmpty, decoding: taskOptions.decoding, maxNewTokens: taskOptions.maxNewTokens)
            let loaded = clock.lap()
            if tasks.isEmpty, !hasLanguageModel {
                FileHandle.standardError.write(Data("note: \(model) has no language model (lm/); stage one only\n".utf8))
            }
            let study = StudyMessage(studyID: Self.studyID(for: image), image: .png(bytes), tasks: tasks.map(\.request))
            let grounded = try steps.retrieval.run(try steps.perception.run(study, imageName: image))
            let result = try language.run(grounded, onText: taskOptions.stream ? { _, piece in
                FileHandle.standardError.write(Data(piece.utf8))
            } : nil)
            if taskOptions.stream { FileHandle.standardError.write(Data("\n".utf8)) }
            let report = AnalysisReport(image: image, model: .init(card: steps.perception.stage.card, path: model),
                                        grounded: grounded, result: result, decode: decoded, load: loaded)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let json = try encoder.encode(report)
            print(String(decoding: json, as: UTF8.self))
            // The overlay decodes the image again only now: one decoded copy in memory at a time.
            if let out { try write(report, json: json, picture: try PNGCodec.decode(bytes, name: image, limits: imageLimits.limits), to: out) }
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

    /// A valid study id from the file name (letters, digits and `._:-` kept, others become `-`).
    static func studyID(for path: String) -> String {
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let kept = String(stem.unicodeScalars.prefix(120).map { s -> Character in
            StudyID.isValid(String(s)) || "._:-".unicodeScalars.contains(s) ? Character(s) : "-"
        })
        return StudyID.isValid(kept) ? kept : "study-" + String(Digest.sha256Hex(Data(path.utf8)).prefix(12))
    }

    func write(_ report: AnalysisReport, json: Data, picture: GrayImage, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let stem = URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent
        let base = URL(fileURLWithPath: directory).appendingPathComponent(stem)
        try json.write(to: base.appendingPathExtension("json"))
        try StudyOverlay.png(picture: picture, anatomies: report.anatomies.map {
            .init(name: $0.name, box: $0.box, kinds: $0.findingKinds ?? [], score: $0.score)
        }, tasks: report.tasks).write(to: URL(fileURLWithPath: base.path + ".overlay.png"))
    }
}
