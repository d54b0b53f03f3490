import ArgumentParser
import Foundation
import Logging
import Messaging
import Workers

/// `anatomix replay`: re-runs one stage from its retained input topic under a new consumer group,
/// from an offset or a time, in this process, until the input is drained; nothing upstream runs again.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run one stage (perception, retrieval or language) from its retained input under a new consumer group.")

    @Option(help: "perception (reads cxr.studies.v1), retrieval (cxr.anatomy.v1) or language (cxr.grounded.v1).") var stage: String
    @Option(help: "Start every partition at this offset.") var fromOffset: Int64?
    @Option(help: "Start at the first record at or after this time (ISO 8601, e.g. 2026-12-01T00:00:00Z).") var fromTime: String?
    @Option(help: "Consumer group (default: anatomix-<stage>-replay-<now>).") var group: String?
    @Option(help: "Stop after this many seconds without a new input record.") var idle: Double = 10
    @OptionGroup var kafka: KafkaOptions

    func validate() throws {
        guard WorkerMain.stages.contains(stage) else { throw ValidationError("--stage must be one of \(WorkerMain.stages.joined(separator: ", "))") }
        guard (fromOffset == nil) != (fromTime == nil) else { throw ValidationError("give exactly one of --from-offset and --from-time") }
        if let fromOffset, fromOffset < 0 { throw ValidationError("--from-offset must be >= 0") }
        if let fromTime, ISO8601DateFormatter().date(from: fromTime) == nil { throw ValidationError("--from-time '\(fromTime)' is not ISO 8601 (2026-12-01T00:00:00Z)") }
        guard idle > 0 else { throw ValidationError("--idle must be positive") }
    }

    func run() throws {
        var c = try WorkerConfiguration.fromEnvironment(stage: stage)
        if let bootstrap = kafka.bootstrap { c.kafka.bootstrapServers = bootstrap }
        c.kafka.groupID = group ?? "anatomix-\(stage)-replay-\(Int(Date().timeIntervalSince1970))"
        c.kafka.groupInstanceID = nil
        let start: KafkaConsumer.StartPosition = fromOffset.map { .offset($0) }
            ?? .timestamp(Int64(ISO8601DateFormatter().date(from: fromTime!)!.timeIntervalSince1970 * 1000))
        let worker = try WorkerMain.makeWorker(c, logger: Logger(label: "anatomix.replay"), start: start)
        try worker.run(idleExit: idle)
        worker.close()
        let counts = worker.counters.all
        print(#"{"stage": "\#(stage)", "group": "\#(c.kafka.groupID!)", "processed": \#(counts["processed"] ?? 0), "dead_lettered": \#(counts["dead_lettered"] ?? 0)}"#)
    }
}
