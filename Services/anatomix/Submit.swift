import ArgumentParser
import Contracts
import Foundation
import Imaging
import Messaging

/// `anatomix submit`: PNG files (or folders of them) as `cxr.studies.v1` records, keyed by study id.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit chest X-ray PNGs to cxr.studies.v1 (study id = file name); prints one JSON line per study.")

    @Argument(help: "PNG files or folders of PNGs.") var paths: [String]
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup(title: "Tasks (the language model)") var taskOptions: TaskOptions
    @Flag(help: "Send file:// references instead of the bytes (the workers' ANATOMIX_IMAGE_ROOT must hold the files).")
    var byReference = false
    @Option(help: "Submit each image this many times, as <id>-c<k> (load tests).") var copies = 1

    func validate() throws { guard (1...100_000).contains(copies) else { throw ValidationError("--copies must be in 1...100000") } }

    func run() throws {
        let files = try paths.flatMap { path -> [String] in
            var directory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else { throw ValidationError("\(path) does not exist") }
            guard directory.boolValue else { return [path] }
            return try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.lowercased().hasSuffix(".png") }.sorted()
                .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
        }
        guard !files.isEmpty else { throw ValidationError("no PNG files in \(paths.joined(separator: " "))") }
        let tasks = try taskOptions.studyTasks(defaultTasks: [], anatomies: []).map(\.request)
        let producer = try KafkaProducer(configuration: kafka.configuration(client: "submit"))
        defer { producer.close() }
        var batch = [OutgoingRecord](), lines = [String]()
        for copy in 0..<copies {
          for file in files {
            let id = Analyze.studyID(for: file) + (copies > 1 ? "-c\(copy)" : "")
            let image: StudyMessage.Image = byReference ? .uri(URL(fileURLWithPath: file).standardizedFileURL.absoluteString)
                                                        : .png(try PNGCodec.readBytes(path: file))
            let study = StudyMessage(studyID: id, image: image, tasks: tasks, submittedAt: ISO8601DateFormatter().string(from: Date()))
            let value = try MessageCodec.encode(study)
            batch.append(OutgoingRecord(topic: Topic.studies.rawValue, key: id, value: value,
                                        headers: [Topic.schemaHeader: Topic.studies.rawValue, Topic.traceHeader: id]))
            lines.append(#"{"study_id": "\#(id)", "bytes": \#(value.count)}"#)
            if batch.count == 32 { try producer.send(batch); batch = [] }
          }
        }
        try producer.send(batch)
        lines.forEach { print($0) }
    }
}
