import Contracts
import Foundation
public import Logging
public import Messaging
import Operations
import Pipeline
import ServiceLifecycle
import Tensor

/// What each worker executable runs: configuration from the environment, the stage's handler, a
/// Kafka consumer and producer, and a `ServiceGroup` that drains and commits on SIGTERM/SIGINT.
public enum WorkerMain {
    public static let stages = ["perception", "retrieval", "language"]

    public static func run(stage: String, arguments: [String] = CommandLine.arguments) async -> Int32 {
        var logger = Logger(label: "anatomix.\(stage)")
        logger.logLevel = .info
        if arguments.contains("--help") || arguments.contains("-h") {
            print("usage: \(stage == "retrieval" ? "retrieval-indexer" : stage + "-worker")\n\nconfigured by environment variables:")
            for (name, fallback, meaning) in WorkerConfiguration.variables { print("  \(name)  [\(fallback)]\n      \(meaning)") }
            return 0
        }
        do {
            let configuration = try WorkerConfiguration.fromEnvironment(stage: stage)
            ComputeThreads.set(configuration.threads)
            let telemetry = WorkerTelemetry(stage: stage, stallSeconds: configuration.stallSeconds)
            var server: OperationsServer?
            if let port = configuration.operationsPort {        // up before the model loads: /healthz says "starting"
                server = try OperationsServer(host: configuration.operationsHost, port: port) { telemetry.respond(path: $0) }
                logger.info("operations endpoints", metadata: ["address": .string("\(configuration.operationsHost):\(server?.port ?? port)"),
                                                               "paths": "/metrics /healthz /readyz"])
            }
            defer { server?.close() }
            let loading = ContinuousClock.now
            let worker = try makeWorker(configuration, logger: logger, telemetry: telemetry)
            let loaded = ContinuousClock.now - loading
            telemetry.modelLoaded(seconds: Double(loaded.components.seconds) + Double(loaded.components.attoseconds) * 1e-18)
            logger.info("started", metadata: ["bootstrap": .string(configuration.kafka.bootstrapServers), "group": .string(configuration.kafka.groupID ?? ""),
                                              "model": .string(configuration.model), "input": .string(worker.handler.inputTopic.rawValue)])
            let group = ServiceGroup(configuration: .init(services: [StageService(worker: worker, telemetry: telemetry, logger: logger)],
                                                          gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            logger.info("stopped", metadata: worker.counters.all.mapValues { .stringConvertible($0) })
            return 0
        } catch {
            logger.error("\(error)")
            return 1
        }
    }

    /// The worker of `c.stage`; `start` overrides the group's offsets (`anatomix replay`).
    public static func makeWorker(_ c: WorkerConfiguration, logger: Logger, start: KafkaConsumer.StartPosition? = nil,
                                  telemetry: WorkerTelemetry? = nil) throws -> StageWorker {
        let producer = try KafkaProducer(configuration: c.kafka)
        let handler: any StageHandler
        var between: (() -> Void)?
        switch c.stage {
        case "perception":
            handler = PerceptionHandler(step: PerceptionStep(stage: try PerceptionStage(modelDirectory: c.model),
                                                             images: StudyImageSource(root: c.imageRoot, limits: c.imageLimits)),
                                        maximumMessageBytes: c.maximumMessageBytes)
        case "retrieval":
            var bankKafka = c.kafka
            bankKafka.groupID = "\(c.kafka.groupID ?? "anatomix-retrieval")-bank-\(UUID().uuidString.prefix(8))"   // every replica reads the whole bank
            bankKafka.groupInstanceID = nil
            let bankConsumer = try KafkaConsumer(configuration: bankKafka, topics: [Topic.bank.rawValue])
            let follower = BankFollower(consumer: bankConsumer, producer: producer, index: BankIndex(lookup: c.lookup))
            try follower.start(seed: { try BankIndex.seed(fromModel: c.model) }, ready: { bankConsumer.rebalanceCounts.assigned > 0 })
            logger.info("sentence bank ready", metadata: ["entries": .stringConvertible(follower.index.count)])
            handler = RetrievalHandler(index: follower.index, maximumMessageBytes: c.maximumMessageBytes)
            between = { follower.follow() }
        case "language":
            let perception = try PerceptionStage(modelDirectory: c.model)
            let stage = try LanguageStage(modelDirectory: c.model, catalog: perception.catalog)
            handler = LanguageHandler(step: LanguageStep(stage: stage, model: PipelineSteps.languageModel(folder: c.model, card: perception.card),
                                                         catalog: perception.catalog, maxNewTokens: c.maxNewTokens,
                                                         timeoutSeconds: c.stageTimeoutSeconds),
                                      maximumMessageBytes: c.maximumMessageBytes)
        default:
            throw ConfigurationError("unknown stage '\(c.stage)'; stages are \(stages.joined(separator: ", "))")
        }
        let consumer = try KafkaConsumer(configuration: c.kafka, topics: [handler.inputTopic.rawValue], start: start)
        var settings = StageWorker.Settings(workerID: c.kafka.clientID)
        settings.deadLetterInlineBytes = c.deadLetterInlineBytes
        settings.heartbeatFile = c.heartbeatFile
        settings.telemetry = telemetry
        let worker = StageWorker(handler: handler, consumer: consumer, producer: producer, settings: settings)
        worker.between = between
        worker.onDeadLetter = { notice in
            logger.warning("dead letter", metadata: ["code": .string(notice.code), "study": .string(notice.studyID ?? "(invalid id)"),
                                                     "stage": .string(c.stage), "source": .string("\(notice.topic)[\(notice.partition)]@\(notice.offset)")])
        }
        return worker
    }
}

/// A stage worker as a `Service`: its blocking loop on its own thread; graceful shutdown stops it
/// after the record in hand and commits.
struct StageService: Service {
    let worker: StageWorker
    let telemetry: WorkerTelemetry
    let logger: Logger

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread { [worker] in
                    do { try worker.run(); worker.close(); continuation.resume() } catch { worker.close(); continuation.resume(throwing: error) }
                }
                thread.name = "stage-worker"
                thread.start()
            }
        } onGracefulShutdown: { [worker, telemetry, logger] in
            logger.info("draining")
            telemetry.draining()
            worker.stop()
        }
    }
}
