import ArgumentParser
import Foundation
import Imaging
import Models
import Pipeline
import Retrieval
import Tensor

/// `anatomix analyze`: stages one and two in one process (no broker): anatomy boxes in original
/// pixels, anatomical tokens, likely findings and label probabilities, as JSON (+ an overlay PNG).
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyze a chest X-ray PNG: 36 anatomy boxes, tokens, likely findings, 14 label probabilities.")

    @Argument(help: "A PNG (8/16-bit gray or colour, at least 64 px a side, at most 100 MP).")
    var image: String

    @Option(help: "Also write <name>.json and <name>.overlay.png here.")
    var out: String?

    @Option(help: "An AnatomiX model folder (default: Weights/anatomix-tiny).")
    var modelDir: String?

    @OptionGroup var compute: ComputeOptions

    func run() throws {
        ComputeThreads.set(compute.threads)
        let model = modelDir ?? ModelLocations.anatomiX.path
        do {
            let picture = try PNGCodec.read(path: image)
            let perception = try PerceptionStage(modelDirectory: model).perceive(picture)
            let findings = try RetrievalStage(modelDirectory: model).likelyFindings(perception)
            let report = AnalysisReport(image: image, model: model, perception: perception, findings: findings)
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
        try overlay.png().write(to: URL(fileURLWithPath: base.path + ".overlay.png"))
    }
}

/// The `analyze` output document.
struct AnalysisReport: Codable {
    struct Anatomy: Codable {
        let index: Int
        let name: String
        let box: [Double]
        let token: [Float]
        let likelyFinding: String?
        let similarity: Float?
        enum CodingKeys: String, CodingKey { case index, name, box, token, likelyFinding = "likely_finding", similarity }
    }

    let image: String
    let model: String
    let width: Int
    let height: Int
    let anatomies: [Anatomy]
    let labels: [String: Float]
    let perceptionSeconds: Double

    enum CodingKeys: String, CodingKey {
        case image, model, width, height, anatomies, labels, perceptionSeconds = "perception_seconds"
    }

    init(image: String, model: String, perception: Perception, findings: [String: SentenceBank.Match]) {
        self.image = image
        self.model = model
        width = perception.width
        height = perception.height
        anatomies = perception.anatomies.map {
            Anatomy(index: $0.index, name: $0.name, box: $0.box, token: $0.token,
                    likelyFinding: findings[$0.name]?.sentence, similarity: findings[$0.name]?.similarity)
        }
        labels = perception.labels
        perceptionSeconds = perception.seconds
    }
}
