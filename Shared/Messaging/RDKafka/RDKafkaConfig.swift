import CRdKafka

/// librdkafka configuration objects and error text; nothing here leaves the module.
enum RDKafkaConfig {
    /// A new `rd_kafka_conf_t` holding `settings`; the caller owns it until `rd_kafka_new` takes it.
    static func make(_ settings: [String: String]) throws(MessagingError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw MessagingError(.configuration, "rd_kafka_conf_new failed", retriable: false) }
        var text = [CChar](repeating: 0, count: 512)
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &text, text.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw MessagingError(.configuration, "librdkafka rejected \(key)=\(key.contains("password") ? "***" : value): \(reason)", retriable: false)
            }
        }
        return conf
    }

    /// `rd_kafka_new` of `type` from `conf` (taken on success, destroyed on failure).
    static func client(_ type: rd_kafka_type_t, conf: OpaquePointer) throws(MessagingError) -> OpaquePointer {
        var text = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &text, text.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw MessagingError(.configuration, "cannot create the Kafka client: \(reason)", retriable: false)
        }
        return handle
    }

    static func describe(_ err: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2str(err)) }

    /// A NUL-terminated C buffer as a string.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Delivery or request errors no retry can fix.
    static func isPermanent(_ err: rd_kafka_resp_err_t) -> Bool {
        [RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR__INVALID_ARG,
         RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR__FATAL,
         RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE].contains(err)
    }

    /// A `rd_kafka_error_t` as a `MessagingError` (the error is destroyed).
    static func consume(_ error: OpaquePointer, context: String) -> MessagingError {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        let retriable = rd_kafka_error_is_retriable(error) != 0 || code == RD_KAFKA_RESP_ERR__QUEUE_FULL
        return MessagingError(code == RD_KAFKA_RESP_ERR__QUEUE_FULL ? .queueFull : .transport, "\(context): \(text)", retriable: retriable)
    }
}
