import CRdKafka
import Foundation

/// What the rebalance callback saw (read by tests and health checks), and where a replay starts.
final class RebalanceLog: @unchecked Sendable {   // guarded by `lock`
    private let lock = NSLock()
    private var assigned = 0, revoked = 0, assignments = 0
    private var positioned = Set<String>()
    let start: KafkaConsumer.StartPosition?
    /// Set when a start position could not be applied; the next poll throws it.
    private var failure: String?
    /// Whether fetching is paused: librdkafka keeps a partition's own pause flag across revoke and
    /// re-assignment, so every assignment is set to this state (else a partition revoked while
    /// paused comes back paused for good, after a lost session say).
    private var pausedState = false
    var paused: Bool {
        get { lock.withLock { pausedState } }
        set { lock.withLock { pausedState = newValue } }
    }
    var positionFailure: String? { lock.withLock { failure } }

    init(start: KafkaConsumer.StartPosition?) { self.start = start }

    func record(assigned a: Int, revoked r: Int) { lock.withLock { assigned += a; revoked += r } }
    /// An assignment callback ran (with or without partitions): the member is in its group.
    func recordAssignment() { lock.withLock { assignments += 1 } }
    var counts: (assigned: Int, revoked: Int) { lock.withLock { (assigned, revoked) } }
    var hasJoined: Bool { lock.withLock { assignments > 0 } }

    /// Sets the start offset of partitions assigned for the first time (a replay), in place.
    func position(_ rk: OpaquePointer, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        guard let start else { return }
        var fresh = [Int]()
        lock.withLock {
            for i in 0..<Int(list.pointee.cnt) {
                let e = list.pointee.elems[i]
                if positioned.insert("\(String(cString: e.topic))/\(e.partition)").inserted { fresh.append(i) }
            }
        }
        guard !fresh.isEmpty else { return }
        switch start {
        case let .offset(n):
            for i in fresh { list.pointee.elems[i].offset = n }
        case let .timestamp(ms):
            let query = rd_kafka_topic_partition_list_new(Int32(fresh.count))!
            defer { rd_kafka_topic_partition_list_destroy(query) }
            for i in fresh { rd_kafka_topic_partition_list_add(query, list.pointee.elems[i].topic, list.pointee.elems[i].partition).pointee.offset = ms }
            let err = rd_kafka_offsets_for_times(rk, query, 10_000)    // offset of the first record at or after ms (end when none)
            for (j, i) in fresh.enumerated() {
                let e = query.pointee.elems[j]
                if err != RD_KAFKA_RESP_ERR_NO_ERROR || e.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    let code = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : e.err
                    lock.withLock { failure = "no offset for time \(ms) in \(String(cString: e.topic))[\(e.partition)]: \(RDKafkaConfig.describe(code))" }
                    list.pointee.elems[i].offset = Int64(RD_KAFKA_OFFSET_END)   // read nothing rather than everything
                } else {
                    list.pointee.elems[i].offset = e.offset
                }
            }
        }
    }
}

/// The librdkafka consumer handle of one group member. Every call comes from the thread that polls.
final class RDKafkaConsumer {
    let handle: OpaquePointer
    let rebalances: RebalanceLog
    private var closed = false

    init(settings: [String: String], topics: [String], start: KafkaConsumer.StartPosition? = nil) throws(MessagingError) {
        rebalances = RebalanceLog(start: start)
        let conf = try RDKafkaConfig.make(settings)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(rebalances).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
            guard let rk else { return }
            let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
            let count = Int(partitions?.pointee.cnt ?? 0)
            let log = opaque.map { Unmanaged<RebalanceLog>.fromOpaque($0).takeUnretainedValue() }
            switch err {
            case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                if let partitions { log?.position(rk, partitions) }
                var failure: String?
                if cooperative {
                    if let e = rd_kafka_incremental_assign(rk, partitions) { failure = String(cString: rd_kafka_error_string(e)); rd_kafka_error_destroy(e) }
                } else {
                    let err = rd_kafka_assign(rk, partitions)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR { failure = RDKafkaConfig.describe(err) }
                }
                guard failure == nil else {              // nothing was assigned: logged, not counted
                    FileHandle.standardError.write(Data("anatomix: assigning \(count) partitions failed: \(failure ?? "")\n".utf8))
                    return
                }
                if let partitions {                      // only assigned partitions can be paused or resumed
                    _ = log?.paused == true ? rd_kafka_pause_partitions(rk, partitions) : rd_kafka_resume_partitions(rk, partitions)
                }
                log?.record(assigned: count, revoked: 0)
                log?.recordAssignment()
            case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                _ = rd_kafka_commit(rk, nil, 0)          // what was processed stays processed for the next owner
                if cooperative { if let e = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(e) } }
                else { _ = rd_kafka_assign(rk, nil) }
                log?.record(assigned: 0, revoked: count)
            default:
                _ = rd_kafka_assign(rk, nil)
            }
        }
        handle = try RDKafkaConfig.client(RD_KAFKA_CONSUMER, conf: conf)
        rd_kafka_poll_set_consumer(handle)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let err = rd_kafka_subscribe(handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(handle)
            throw MessagingError(.configuration, "cannot subscribe to \(topics): \(RDKafkaConfig.describe(err))", retriable: false)
        }
    }

    /// The next record; broker-side hiccups (a broker down, a transport error) are logged by
    /// librdkafka and read as "nothing yet", fatal errors throw.
    func poll(timeout: Double) throws(MessagingError) -> IncomingRecord? {
        guard !closed else { throw MessagingError(.closed, "the consumer is closed", retriable: false) }
        if let failure = rebalances.positionFailure { throw MessagingError(.state, failure, retriable: false) }
        guard let message = rd_kafka_consumer_poll(handle, Int32(max(0, timeout) * 1000)) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            var text = [CChar](repeating: 0, count: 512)
            if rd_kafka_fatal_error(handle, &text, text.count) != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw MessagingError(.transport, "fatal consumer error: \(RDKafkaConfig.text(text))", retriable: false)
            }
            if [RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC].contains(m.err) { return nil }   // not created yet
            throw MessagingError(.transport, "consumer: \(RDKafkaConfig.describe(m.err))", retriable: true)
        }
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let value = m.payload.map { Data(bytes: $0, count: m.len) } ?? Data()
        let key = m.key.map { String(decoding: Data(bytes: $0, count: m.key_len), as: UTF8.self) }
        var headers = [String: String]()
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?, bytes: UnsafeRawPointer?, size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name { headers[String(cString: name)] = bytes.map { String(decoding: Data(bytes: $0, count: size), as: UTF8.self) } ?? "" }
                index += 1
            }
        }
        var kind = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let stamp = rd_kafka_message_timestamp(message, &kind)
        return IncomingRecord(topic: topic, partition: Int(m.partition), offset: m.offset, key: key, value: value, headers: headers,
                              timestampMilliseconds: kind == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : stamp)
    }

    func store(topic: String, partition: Int, next: Int64) throws(MessagingError) {
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, Int32(partition)).pointee.offset = next
        let err = rd_kafka_offsets_store(handle, list)
        let perPartition = list?.pointee.elems?.pointee.err ?? RD_KAFKA_RESP_ERR_NO_ERROR
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, perPartition == RD_KAFKA_RESP_ERR_NO_ERROR else {
            // _STATE: the partition was revoked meanwhile; its new owner re-reads the record (at least once).
            throw MessagingError(.state, "storing offset \(next) of \(topic)[\(partition)]: \(RDKafkaConfig.describe(err == RD_KAFKA_RESP_ERR_NO_ERROR ? perPartition : err))", retriable: false)
        }
    }

    func commit() throws(MessagingError) {
        let err = rd_kafka_commit(handle, nil, 0)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw MessagingError(.transport, "commit: \(RDKafkaConfig.describe(err))", retriable: true)
        }
    }

    /// Records on the assigned partitions not consumed yet: the high watermarks librdkafka last
    /// fetched minus the positions (no broker round trip); nil without an assignment.
    func lag() -> Int? {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return nil }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard list.pointee.cnt > 0, rd_kafka_position(handle, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        var total: Int64 = 0
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            var low: Int64 = -1, high: Int64 = -1
            guard rd_kafka_get_watermark_offsets(handle, e.topic, e.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  high >= 0 else { continue }
            total += max(0, high - (e.offset >= 0 ? e.offset : max(low, 0)))
        }
        return Int(total)
    }

    /// Pauses or resumes fetching for the partitions assigned now and for any assigned later.
    func setPaused(_ paused: Bool) throws(MessagingError) {
        rebalances.paused = paused
        let verb = paused ? "pausing" : "resuming"
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let listed = rd_kafka_assignment(handle, &list)
        guard listed == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw MessagingError(.state, "\(verb): reading the assignment: \(RDKafkaConfig.describe(listed))", retriable: true)
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        var err = paused ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list)
        for i in 0..<Int(list.pointee.cnt) where err == RD_KAFKA_RESP_ERR_NO_ERROR { err = list.pointee.elems[i].err }   // per partition
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw MessagingError(.state, "\(verb) fetching: \(RDKafkaConfig.describe(err))", retriable: true) }
    }

    /// Commits what was stored, leaves the group (revoking through the callback), frees the handle.
    func close() {
        guard !closed else { return }
        closed = true
        _ = rd_kafka_commit(handle, nil, 0)
        _ = rd_kafka_consumer_close(handle)
    }

    deinit {
        close()
        rd_kafka_destroy(handle)
    }
}
