/// Typed Kafka client settings. `librdkafkaSettings` is the one place they become librdkafka's
/// key/values; `extra` passes any other librdkafka property through (it wins, except over
/// idempotence, acks and the manual offset store, which the delivery guarantees rest on).
public struct KafkaConfiguration: Sendable, Equatable {
    public enum SecurityProtocol: String, Sendable, CaseIterable {
        case plaintext, ssl
        case saslPlaintext = "sasl_plaintext", saslSSL = "sasl_ssl"
    }

    /// TLS files (PEM) and SASL credentials, passed through.
    public struct Security: Sendable, Equatable {
        public var securityProtocol: SecurityProtocol = .plaintext
        public var caLocation: String?
        public var certificateLocation: String?
        public var keyLocation: String?
        public var keyPassword: String?
        public var saslMechanism: String?         // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...
        public var saslUsername: String?
        public var saslPassword: String?
        public init() {}
    }

    public var bootstrapServers: String
    public var clientID: String
    /// Consumer group (consumers only).
    public var groupID: String?
    /// Static membership: a stable id per replica, so a rolling restart does not rebalance the group.
    public var groupInstanceID: String?
    /// Seconds before a silent member is dropped (tests use 6: Tansu holds a join for about half of it).
    public var sessionTimeout: Double = 10
    public var heartbeatInterval: Double = 1
    /// Longest time between polls before the member is considered stuck; above the slowest message
    /// a stage can take (a language study takes seconds).
    public var maxPollInterval: Double = 600
    /// The idempotent producer (on by default): retries neither duplicate nor reorder a record. Off,
    /// acks stay `all` and one request is in flight per connection (retries keep the order and may
    /// duplicate, which the outputs' ids make invisible): for brokers whose idempotent path is not
    /// crash-safe. Tansu 0.6.0 on S3 storage records a producer's sequence before the batch is
    /// written, so a batch in flight when it is SIGKILLed is answered DUPLICATE_SEQUENCE_NUMBER on
    /// retry, which librdkafka counts as delivered: acknowledged, never stored (FaultTests).
    public var idempotence = true
    /// How long the producer keeps retrying a record before reporting it failed.
    public var deliveryTimeout: Double = 120
    /// Largest record produced or fetched.
    public var maximumMessageBytes: Int = 16 << 20
    /// Bound of the consumer's prefetch queue (librdkafka fetches ahead of the worker up to this many
    /// KiB, plus at most one record larger than it): the worker's memory for records not yet polled.
    public var prefetchKilobytes: Int = 32 << 10
    /// Where a new group starts: "earliest" (every retained record) or "latest".
    public var autoOffsetReset: String = "earliest"
    public var security = Security()
    public var extra: [String: String] = [:]

    public init(bootstrapServers: String, clientID: String, groupID: String? = nil) {
        (self.bootstrapServers, self.clientID, self.groupID) = (bootstrapServers, clientID, groupID)
    }

    enum Role { case producer, consumer }

    /// Errors name the setting and the accepted values.
    func validate(_ role: Role) throws(MessagingError) {
        func bad(_ text: String) -> MessagingError { MessagingError(.configuration, text, retriable: false) }
        guard !bootstrapServers.isEmpty else { throw bad("bootstrap servers are empty; give host:port[,host:port...]") }
        guard !clientID.isEmpty else { throw bad("client id is empty") }
        if role == .consumer, groupID?.isEmpty ?? true { throw bad("a consumer needs a group id") }
        guard sessionTimeout >= 1, heartbeatInterval > 0, heartbeatInterval < sessionTimeout, maxPollInterval >= sessionTimeout,
              deliveryTimeout >= 1 else {
            throw bad("timeouts must satisfy 0 < heartbeat < session (>= 1 s) <= max poll interval, delivery >= 1 s")
        }
        guard (1024...(1 << 30)).contains(maximumMessageBytes) else { throw bad("maximum message bytes must be in 1 KiB...1 GiB") }
        guard (1...(1 << 21)).contains(prefetchKilobytes) else { throw bad("the prefetch bound must be in 1 KiB...2 GiB") }
        guard autoOffsetReset == "earliest" || autoOffsetReset == "latest" else { throw bad("auto offset reset is earliest or latest") }
    }

    /// The librdkafka properties for `role` (the only place they are named).
    func librdkafkaSettings(_ role: Role) -> [String: String] {
        func ms(_ seconds: Double) -> String { String(Int((seconds * 1000).rounded())) }
        var s: [String: String] = ["bootstrap.servers": bootstrapServers, "client.id": clientID,
                                   "security.protocol": security.securityProtocol.rawValue]
        let optional: [String: String?] = ["ssl.ca.location": security.caLocation, "ssl.certificate.location": security.certificateLocation,
                                           "ssl.key.location": security.keyLocation, "ssl.key.password": security.keyPassword,
                                           "sasl.mechanisms": security.saslMechanism, "sasl.username": security.saslUsername,
                                           "sasl.password": security.saslPassword]
        for case let (key, value?) in optional { s[key] = value }
        switch role {
        case .producer:
            s["enable.idempotence"] = idempotence ? "true" : "false"   // on: ordered, no duplicates from retries
            s["acks"] = "all"
            if !idempotence { s["max.in.flight.requests.per.connection"] = "1" }   // retries cannot reorder
            s["delivery.timeout.ms"] = ms(deliveryTimeout)
            s["message.max.bytes"] = String(maximumMessageBytes + 1024)
            s["linger.ms"] = "5"
        case .consumer:
            s["group.id"] = groupID
            if let groupInstanceID { s["group.instance.id"] = groupInstanceID }
            s["enable.auto.offset.store"] = "false"       // offsets stored only after the outputs are acknowledged
            s["enable.auto.commit"] = "true"              // ... and committed in the background, plus on revoke and close
            s["auto.commit.interval.ms"] = "1000"
            s["auto.offset.reset"] = autoOffsetReset
            s["session.timeout.ms"] = ms(sessionTimeout)
            s["heartbeat.interval.ms"] = ms(heartbeatInterval)
            s["max.poll.interval.ms"] = ms(maxPollInterval)
            s["fetch.max.bytes"] = String(max(maximumMessageBytes + 1024, 52_428_800))
            s["max.partition.fetch.bytes"] = String(maximumMessageBytes + 1024)
            s["queued.max.messages.kbytes"] = String(prefetchKilobytes)   // bounded prefetch (memory)
            s["queued.min.messages"] = "64"                              // not librdkafka's 100,000 records ahead
            s["partition.assignment.strategy"] = "cooperative-sticky"
            s["enable.partition.eof"] = "false"
        }
        s.merge(extra) { _, new in new }
        // What the delivery guarantees rest on cannot be overridden by `extra`, under any of
        // librdkafka's names for it (an alias set after the canonical key would win).
        for alias in ["request.required.acks", "max.in.flight"] { s.removeValue(forKey: alias) }
        switch role {
        case .producer:
            s["enable.idempotence"] = idempotence ? "true" : "false"; s["acks"] = "all"
            if !idempotence { s["max.in.flight.requests.per.connection"] = "1" }
        case .consumer: s["enable.auto.offset.store"] = "false"; s["group.id"] = groupID
        }
        return s
    }
}
