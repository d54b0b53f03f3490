import ArgumentParser
import Contracts
import Foundation
import Imaging
import Messaging
import Pipeline

/// `anatomix results`: reads `cxr.results.v1`, keeps one result per id (at-least-once delivery can
/// repeat one), prints one JSON line per result and writes `<study>.json` (+ an overlay) to --out.
struct Results: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read results from cxr.results.v1 (deduplicated by id).")

    @OptionGroup var kafka: KafkaOptions
    @Flag(help: "Keep reading new results until interrupted.") var follow = false
    @Option(help: "Stop after this many distinct results.") var count: Int?
    @Option(help: "Without --follow: stop when nothing new came for this many seconds.") var idle: Double = 10
    @Option(help: "Write <study>.json here (and <study>.overlay.png when --images holds <study>.png).") var out: String?
    @Option(help: "Folder of the submitted PNGs, for the overlays.") var images: String?
    @Option(help: "Consumer group (default: a new one, reading from the start).") var group: String?

    func run() throws {
        let consumer = try KafkaConsumer(configuration: kafka.configuration(client: "results", group: group ?? "anatomix-results-\(UUID().uuidString.prefix(8))"),
                                         topics: [Topic.results.rawValue])
        defer { consumer.close() }
        if let out { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
        var seen = Set<String>(), last = Date()
        while follow || Date().timeIntervalSince(last) < idle {
            if let count, seen.count >= count { break }
            guard let record = try consumer.poll(timeout: 0.5) else { continue }
            last = Date()
            try consumer.markProcessed(record)
            guard let result = try? MessageCodec.decode(ResultMessage.self, schema: ResultMessage.schema, from: record.value, maximumBytes: 1 << 26),
                  seen.insert(result.id).inserted else { continue }
            print(String(decoding: try MessageCodec.encode(result), as: UTF8.self))
            if let out { try write(result, to: out) }
        }
    }

    func write(_ result: ResultMessage, to out: String) throws {
        let base = URL(fileURLWithPath: out).appendingPathComponent(result.studyID)
        try MessageCodec.encode(result).write(to: base.appendingPathExtension("json"))
        guard let images, let picture = try? PNGCodec.read(path: images + "/" + result.studyID + ".png") else { return }
        try StudyOverlay.png(picture: picture, anatomies: result.anatomies.map { .init(name: $0.name, box: $0.box, kinds: $0.kinds, score: $0.score) },
                             tasks: result.tasks).write(to: URL(fileURLWithPath: base.path + ".overlay.png"))
    }
}
