/// Facts about the Kafka client library this process runs with.
public enum KafkaRuntime {
    /// librdkafka's version string.
    public static var librdkafkaVersion: String { RDKafkaLibrary.versionString }

    /// (major, minor, revision) decoded from librdkafka's packed version number.
    public static var librdkafkaVersionComponents: (major: Int, minor: Int, revision: Int) {
        let v = RDKafkaLibrary.versionNumber
        return ((v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF)
    }

    /// Tansu (the test broker) needs librdkafka ≥ 2.1; Debian's 2.0.2 fails its ApiVersion parse.
    public static var canTalkToTansu: Bool {
        let (major, minor, _) = librdkafkaVersionComponents
        return major > 2 || (major == 2 && minor >= 1)
    }
}
