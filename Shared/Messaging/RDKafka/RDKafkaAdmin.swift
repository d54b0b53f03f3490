import CRdKafka

/// Topic creation through librdkafka's admin API (`rd_kafka_CreateTopics`) on a producer handle.
enum RDKafkaAdmin {
    struct NewTopic {
        let name: String, partitions: Int, replication: Int, config: [String: String]
    }

    /// Creates every topic; one that exists already is not an error. Returns per topic "created" or "exists".
    static func create(_ topics: [NewTopic], settings: [String: String], timeout: Double) throws(MessagingError) -> [String: String] {
        let conf = try RDKafkaConfig.make(settings)
        let handle = try RDKafkaConfig.client(RD_KAFKA_PRODUCER, conf: conf)
        defer { rd_kafka_destroy(handle) }
        var text = [CChar](repeating: 0, count: 512)
        var requests = [OpaquePointer?]()
        defer { for r in requests { rd_kafka_NewTopic_destroy(r) } }
        for t in topics {
            guard let request = rd_kafka_NewTopic_new(t.name, Int32(t.partitions), Int32(t.replication), &text, text.count) else {
                throw MessagingError(.configuration, "topic \(t.name): \(RDKafkaConfig.text(text))", retriable: false)
            }
            requests.append(request)
            for (key, value) in t.config.sorted(by: { $0.key < $1.key }) where rd_kafka_NewTopic_set_config(request, key, value) != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw MessagingError(.configuration, "topic \(t.name): cannot set \(key)=\(value)", retriable: false)
            }
        }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, Int32(timeout * 1000), &text, text.count)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout * 1000), &text, text.count)
        requests.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(handle, $0.baseAddress, $0.count, options, queue) }
        guard let event = rd_kafka_queue_poll(queue, Int32((timeout + 5) * 1000)) else {
            throw MessagingError(.timedOut, "no answer to CreateTopics within \(Int(timeout + 5)) s (is the broker at \(settings["bootstrap.servers"] ?? "?") up?)", retriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw MessagingError(.transport, "CreateTopics: \(String(cString: rd_kafka_event_error_string(event)))", retriable: true)
        }
        var outcome = [String: String]()
        guard let result = rd_kafka_event_CreateTopics_result(event) else { return outcome }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return outcome }
        for i in 0..<count {
            let r = results[i]
            let name = String(cString: rd_kafka_topic_result_name(r))
            let code = rd_kafka_topic_result_error(r)
            switch code {
            case RD_KAFKA_RESP_ERR_NO_ERROR: outcome[name] = "created"
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcome[name] = "exists"
            default:
                let message = rd_kafka_topic_result_error_string(r).map { String(cString: $0) } ?? RDKafkaConfig.describe(code)
                throw MessagingError(.rejected, "creating \(name): \(message)", retriable: false)
            }
        }
        return outcome
    }
}
