public import Foundation
public import Imaging
public import Messaging
public import Pipeline

/// Everything a stage worker is configured by, in one place: read from `ANATOMIX_*` environment
/// variables (what Compose and the test harness set), with the defaults documented in `variables`.
public struct WorkerConfiguration: Sendable {
    public var stage: String
    public var kafka: KafkaConfiguration
    public var model: String
    public var imageRoot: String?
    public var threads: Int
    public var maximumMessageBytes: Int
    public var imageLimits: PNGCodec.Limits
    public var deadLetterInlineBytes: Int
    public var lookup: RetrievalStage.Lookup
    public var maxNewTokens: Int?
    public var heartbeatFile: String?
    /// `/metrics`, `/healthz` and `/readyz` on this host and port (nil: not served).
    public var operationsHost = "0.0.0.0"
    public var operationsPort: Int?
    public var stallSeconds = 360.0
    /// A study's language tasks must finish within this many seconds (a `timeout` dead letter otherwise).
    public var stageTimeoutSeconds = 300.0

    /// (variable, default, meaning), for `--help` and the README.
    public static let variables: [(String, String, String)] = [
        ("ANATOMIX_KAFKA_BOOTSTRAP", "127.0.0.1:9092", "bootstrap servers, host:port[,host:port]"),
        ("ANATOMIX_KAFKA_GROUP", "anatomix-<stage>", "consumer group of the stage (replicas share it; a replay uses a new one)"),
        ("ANATOMIX_KAFKA_CLIENT_ID", "<stage>-<host>-<pid>", "client id (logs, dead letters)"),
        ("ANATOMIX_KAFKA_INSTANCE_ID", "(none)", "static group membership id: set one per replica so restarts do not rebalance"),
        ("ANATOMIX_KAFKA_SESSION_TIMEOUT_MS", "10000", "group session timeout"),
        ("ANATOMIX_KAFKA_MAX_POLL_INTERVAL_MS", "600000", "longest gap between polls (above the slowest study)"),
        ("ANATOMIX_KAFKA_SECURITY_PROTOCOL", "plaintext", "plaintext, ssl, sasl_plaintext or sasl_ssl"),
        ("ANATOMIX_KAFKA_SSL_CA / _SSL_CERT / _SSL_KEY", "(none)", "PEM files for TLS"),
        ("ANATOMIX_KAFKA_SASL_MECHANISM / _SASL_USERNAME / _SASL_PASSWORD", "(none)", "SASL credentials"),
        ("ANATOMIX_KAFKA_IDEMPOTENCE", "true", "idempotent producer; false keeps acks=all with one request in flight (for brokers whose idempotent path loses batches in a crash, as Tansu 0.6.0 on S3)"),
        ("ANATOMIX_KAFKA_PREFETCH_KB", "32768", "most KiB of records fetched ahead of the worker (bounded memory)"),
        ("ANATOMIX_KAFKA_EXTRA", "(none)", "more librdkafka properties, key=value,key=value"),
        ("ANATOMIX_MODEL", "Weights/anatomix-tiny", "model folder"),
        ("ANATOMIX_IMAGE_ROOT", "(none: inline images only)", "folder file:// images must lie under"),
        ("ANATOMIX_THREADS", "1", "compute threads of this worker"),
        ("ANATOMIX_MAX_MESSAGE_BYTES", "16777216", "largest input message"),
        ("ANATOMIX_MAX_IMAGE_PIXELS", "40000000", "largest image"),
        ("ANATOMIX_DEADLETTER_INLINE_BYTES", "1048576", "dead letters carry payloads up to this size (else a digest)"),
        ("ANATOMIX_LOOKUP", "calibrated", "retrieval lookup: calibrated or nearest (the published one)"),
        ("ANATOMIX_MAX_NEW_TOKENS", "(the model's)", "most tokens generated per task"),
        ("ANATOMIX_HEARTBEAT_FILE", "(none)", "file touched every 5 s while the worker loop runs (container health checks)"),
        ("ANATOMIX_OPS_PORT", "(none: not served)", "HTTP port of GET /metrics (Prometheus), /healthz and /readyz; 0 picks a free one"),
        ("ANATOMIX_OPS_HOST", "0.0.0.0", "address the operations endpoints listen on"),
        ("ANATOMIX_HEALTH_STALL_S", "360", "/healthz fails after this many seconds without a worker loop turn (above ANATOMIX_STAGE_TIMEOUT_S)"),
        ("ANATOMIX_STAGE_TIMEOUT_S", "300", "a study's language tasks stop after this many seconds: a `timeout` dead letter (must be below the poll interval)"),
    ]

    public static func fromEnvironment(stage: String, _ env: [String: String] = ProcessInfo.processInfo.environment) throws -> WorkerConfiguration {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        func integer(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = value(name) else { return fallback }
            guard let n = Int(text), range.contains(n) else { throw ConfigurationError("\(name)=\(text) must be an integer in \(range.lowerBound)...\(range.upperBound)") }
            return n
        }
        let host = ProcessInfo.processInfo.hostName
        var kafka = KafkaConfiguration(bootstrapServers: value("ANATOMIX_KAFKA_BOOTSTRAP") ?? "127.0.0.1:9092",
                                       clientID: value("ANATOMIX_KAFKA_CLIENT_ID") ?? "\(stage)-\(host)-\(getpid())",
                                       groupID: value("ANATOMIX_KAFKA_GROUP") ?? "anatomix-\(stage)")
        kafka.groupInstanceID = value("ANATOMIX_KAFKA_INSTANCE_ID")
        kafka.sessionTimeout = Double(try integer("ANATOMIX_KAFKA_SESSION_TIMEOUT_MS", 10_000, 1_000...3_600_000)) / 1000
        kafka.maxPollInterval = Double(try integer("ANATOMIX_KAFKA_MAX_POLL_INTERVAL_MS", 600_000, 1_000...86_400_000)) / 1000
        switch value("ANATOMIX_KAFKA_IDEMPOTENCE")?.lowercased() {
        case nil, "true", "1", "yes": kafka.idempotence = true
        case "false", "0", "no": kafka.idempotence = false
        case let other?: throw ConfigurationError("ANATOMIX_KAFKA_IDEMPOTENCE=\(other) must be true or false")
        }
        kafka.prefetchKilobytes = try integer("ANATOMIX_KAFKA_PREFETCH_KB", 32 << 10, 1...(1 << 21))
        if let text = value("ANATOMIX_KAFKA_SECURITY_PROTOCOL") {
            guard let p = KafkaConfiguration.SecurityProtocol(rawValue: text.lowercased()) else {
                throw ConfigurationError("ANATOMIX_KAFKA_SECURITY_PROTOCOL=\(text) is not one of \(KafkaConfiguration.SecurityProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kafka.security.securityProtocol = p
        }
        kafka.security.caLocation = value("ANATOMIX_KAFKA_SSL_CA")
        kafka.security.certificateLocation = value("ANATOMIX_KAFKA_SSL_CERT")
        kafka.security.keyLocation = value("ANATOMIX_KAFKA_SSL_KEY")
        kafka.security.saslMechanism = value("ANATOMIX_KAFKA_SASL_MECHANISM")
        kafka.security.saslUsername = value("ANATOMIX_KAFKA_SASL_USERNAME")
        kafka.security.saslPassword = value("ANATOMIX_KAFKA_SASL_PASSWORD")
        for pair in (value("ANATOMIX_KAFKA_EXTRA") ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else { throw ConfigurationError("ANATOMIX_KAFKA_EXTRA: '\(pair)' is not key=value") }
            kafka.extra[parts[0]] = parts[1]
        }
        let maximumMessageBytes = try integer("ANATOMIX_MAX_MESSAGE_BYTES", 16 << 20, 1024...(1 << 30))
        kafka.maximumMessageBytes = maximumMessageBytes
        var limits = PNGCodec.Limits()
        limits.maximumPixels = try integer("ANATOMIX_MAX_IMAGE_PIXELS", limits.maximumPixels, 4096...1_000_000_000)
        limits.maximumBytes = maximumMessageBytes
        let lookupText = value("ANATOMIX_LOOKUP") ?? "calibrated"
        guard let lookup = RetrievalStage.Lookup(rawValue: lookupText) else {
            throw ConfigurationError("ANATOMIX_LOOKUP=\(lookupText) is not calibrated or nearest")
        }
        let maxNewTokens = value("ANATOMIX_MAX_NEW_TOKENS") == nil ? nil : try integer("ANATOMIX_MAX_NEW_TOKENS", 0, 1...4096)
        var c = WorkerConfiguration(stage: stage, kafka: kafka, model: value("ANATOMIX_MODEL") ?? "Weights/anatomix-tiny",
                                   imageRoot: value("ANATOMIX_IMAGE_ROOT"), threads: try integer("ANATOMIX_THREADS", 1, 1...256),
                                   maximumMessageBytes: maximumMessageBytes, imageLimits: limits,
                                   deadLetterInlineBytes: try integer("ANATOMIX_DEADLETTER_INLINE_BYTES", 1 << 20, 0...(1 << 30)),
                                   lookup: lookup, maxNewTokens: maxNewTokens, heartbeatFile: value("ANATOMIX_HEARTBEAT_FILE"))
        c.operationsPort = value("ANATOMIX_OPS_PORT") == nil ? nil : try integer("ANATOMIX_OPS_PORT", 0, 0...65_535)
        c.operationsHost = value("ANATOMIX_OPS_HOST") ?? c.operationsHost
        c.stallSeconds = Double(try integer("ANATOMIX_HEALTH_STALL_S", 360, 5...86_400))
        c.stageTimeoutSeconds = Double(try integer("ANATOMIX_STAGE_TIMEOUT_S", 300, 1...86_400))
        guard c.stallSeconds > c.stageTimeoutSeconds else {
            throw ConfigurationError("ANATOMIX_HEALTH_STALL_S=\(Int(c.stallSeconds)) must be above ANATOMIX_STAGE_TIMEOUT_S (\(Int(c.stageTimeoutSeconds)) s): a study that may take that long must not fail /healthz")
        }
        guard c.stageTimeoutSeconds < kafka.maxPollInterval else {
            throw ConfigurationError("ANATOMIX_STAGE_TIMEOUT_S=\(Int(c.stageTimeoutSeconds)) must be below ANATOMIX_KAFKA_MAX_POLL_INTERVAL_MS (\(Int(kafka.maxPollInterval * 1000)) ms), or the group evicts the worker mid-study")
        }
        return c
    }
}

/// A configuration value that cannot be used, with the variable and what it accepts.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
