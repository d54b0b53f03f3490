import ArgumentParser
import Foundation
import Messaging
import Workers
import Contracts

/// The broker a streaming command talks to: `--bootstrap`, else the workers' `ANATOMIX_*` variables.
struct KafkaOptions: ParsableArguments {
    @Option(help: "Bootstrap servers host:port[,host:port] (default: $ANATOMIX_KAFKA_BOOTSTRAP or 127.0.0.1:9092).")
    var bootstrap: String?

    func configuration(client: String, group: String? = nil) throws -> KafkaConfiguration {
        var c = try WorkerConfiguration.fromEnvironment(stage: client).kafka
        if let bootstrap { c.bootstrapServers = bootstrap }
        c.clientID = "anatomix-\(client)-\(getpid())"
        c.groupID = group
        c.groupInstanceID = nil
        return c
    }
}

/// `anatomix topics create`: the pipeline's topics with their partitions, retention and compaction.
struct Topics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage the pipeline's Kafka topics.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create cxr.studies/anatomy/grounded/results/deadletter.v1 (retained) and cxr.bank.v1 (compacted); existing ones are kept.")
        @OptionGroup var kafka: KafkaOptions
        @Option(help: "Partitions of each stage topic (the most replicas a stage can use).") var partitions = 4
        @Option(help: "Replication factor.") var replication = 1
        @Option(help: "Retention of the stage topics in hours (replays read back this far).") var retentionHours = 168

        func run() throws {
            let retention = String(retentionHours * 3_600_000)
            let specs = Contracts.Topic.allCases.map { t -> KafkaAdmin.TopicSpec in
                t == .bank ? .init(name: t.rawValue, partitions: 1, replication: replication, config: ["cleanup.policy": "compact"])
                           : .init(name: t.rawValue, partitions: partitions, replication: replication, config: ["retention.ms": retention])
            }
            let outcome = try KafkaAdmin.createTopics(specs, configuration: kafka.configuration(client: "topics"))
            for spec in specs { print("\(spec.name)\t\(spec.partitions) partition(s)\t\(outcome[spec.name] ?? "?")") }
        }
    }
}
