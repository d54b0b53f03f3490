import CRdKafka

/// librdkafka's in-process mock cluster (`rd_kafka_mock_cluster_new`), for unit tests without a broker.
final class RDKafkaMockCluster {
    let host: OpaquePointer
    let cluster: OpaquePointer

    init(brokers: Int) throws(MessagingError) {
        let conf = try RDKafkaConfig.make(["client.id": "mock-cluster-host"])
        host = try RDKafkaConfig.client(RD_KAFKA_PRODUCER, conf: conf)
        guard let cluster = rd_kafka_mock_cluster_new(host, Int32(brokers)) else {
            rd_kafka_destroy(host)
            throw MessagingError(.configuration, "cannot start a mock cluster of \(brokers) brokers", retriable: false)
        }
        self.cluster = cluster
    }

    var bootstrapServers: String { String(cString: rd_kafka_mock_cluster_bootstraps(cluster)) }

    func createTopic(_ name: String, partitions: Int) throws(MessagingError) {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), 1)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw MessagingError(.configuration, "mock topic \(name): \(RDKafkaConfig.describe(err))", retriable: false)
        }
    }

    /// Takes broker `id` (1-based) down or up.
    func setBroker(_ id: Int, up: Bool) {
        _ = up ? rd_kafka_mock_broker_set_up(cluster, Int32(id)) : rd_kafka_mock_broker_set_down(cluster, Int32(id))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(host)
    }
}
