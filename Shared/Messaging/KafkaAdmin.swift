/// Creates the pipeline's topics (`anatomix topics create`).
public enum KafkaAdmin {
    public struct TopicSpec: Sendable, Equatable {
        public let name: String, partitions: Int, replication: Int
        /// Broker topic properties, e.g. cleanup.policy=compact, retention.ms.
        public let config: [String: String]
        public init(name: String, partitions: Int, replication: Int = 1, config: [String: String] = [:]) {
            (self.name, self.partitions, self.replication, self.config) = (name, partitions, replication, config)
        }
    }

    /// Per topic "created" or "exists".
    public static func createTopics(_ topics: [TopicSpec], configuration: KafkaConfiguration, timeout: Double = 15) throws(MessagingError) -> [String: String] {
        try configuration.validate(.producer)
        guard topics.allSatisfy({ $0.partitions >= 1 && $0.replication >= 1 && !$0.name.isEmpty }) else {
            throw MessagingError(.configuration, "topics need a name, >= 1 partition and replication >= 1", retriable: false)
        }
        return try RDKafkaAdmin.create(topics.map { .init(name: $0.name, partitions: $0.partitions, replication: $0.replication, config: $0.config) },
                                       settings: configuration.librdkafkaSettings(.producer), timeout: timeout)
    }
}
