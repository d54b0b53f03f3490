import CRdKafka

/// The librdkafka loaded at run time. Every librdkafka call of the Messaging module goes through
/// the `RDKafka*` types in this folder; no C type leaves it.
enum RDKafkaLibrary {
    /// e.g. "2.16.1" (the confluent-kafka wheel's runtime) or "2.0.2" (Debian's).
    static var versionString: String { String(cString: rd_kafka_version_str()) }

    /// The version as librdkafka's packed integer `0xMMmmrrxx`.
    static var versionNumber: Int { Int(rd_kafka_version()) }
}
