import CRdKafka
import Foundation

/// Serves a handle's callbacks on its own thread until stopped; holds no reference to its owner.
final class PollLoop: @unchecked Sendable {   // `handle` is thread-safe in librdkafka; `state` guarded by `condition`
    let handle: OpaquePointer
    private let condition = NSCondition()
    private var stopped = false, finished = false

    init(handle: OpaquePointer, name: String) {
        self.handle = handle
        let thread = Thread { [self] in
            while !isStopped { rd_kafka_poll(self.handle, 100) }
            condition.withLock { finished = true; condition.broadcast() }
        }
        thread.name = name
        thread.start()
    }

    var isStopped: Bool { condition.withLock { stopped } }

    /// Stops the loop and waits until its thread left the handle alone.
    func stop() {
        condition.lock(); defer { condition.unlock() }
        stopped = true
        while !finished { condition.wait() }
    }
}

/// The librdkafka producer handle, a thread serving its delivery reports, and `produceva`.
final class RDKafkaProducer: @unchecked Sendable {   // librdkafka handles are thread-safe
    let handle: OpaquePointer
    let deliveryTimeout: Double
    private let loop: PollLoop

    init(settings: [String: String], deliveryTimeout: Double) throws(MessagingError) {
        let conf = try RDKafkaConfig.make(settings)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            let ticket = Unmanaged<DeliveryTicket>.fromOpaque(opaque).takeRetainedValue()
            let err = message.pointee.err
            guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { ticket.complete(nil); return }
            let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
            ticket.complete(MessagingError(err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ? .timedOut : .rejected,
                                           "delivery to \(topic) failed: \(RDKafkaConfig.describe(err))", retriable: !RDKafkaConfig.isPermanent(err)))
        }
        handle = try RDKafkaConfig.client(RD_KAFKA_PRODUCER, conf: conf)
        self.deliveryTimeout = deliveryTimeout
        loop = PollLoop(handle: handle, name: "kafka-producer-poll")
    }

    var isRunning: Bool { !loop.isStopped }

    /// Enqueues every record, then waits for all delivery reports.
    func send(_ records: [OutgoingRecord]) throws(MessagingError) {
        if let failure = enqueue(records).wait(timeout: deliveryTimeout + 5) { throw failure }
    }

    /// Enqueues every record (waiting only while librdkafka's local queue is full); the ticket is
    /// completed by the delivery reports.
    func enqueue(_ records: [OutgoingRecord]) -> DeliveryTicket {
        guard isRunning else { return DeliveryTicket(failed: MessagingError(.closed, "the producer is closed", retriable: false)) }
        let ticket = DeliveryTicket(count: records.count)
        let deadline = Date().addingTimeInterval(deliveryTimeout)
        for (index, record) in records.enumerated() {
            while true {
                let opaque = Unmanaged.passRetained(ticket).toOpaque()       // released by the delivery report
                guard let error = Self.produce(handle, record, opaque: opaque) else { break }
                Unmanaged<DeliveryTicket>.fromOpaque(opaque).release()        // not queued: no report will come
                let failure = RDKafkaConfig.consume(error, context: "producing to \(record.topic)")
                guard failure.code == .queueFull, Date() < deadline else {
                    ticket.abandon(records.count - index, error: failure)
                    return ticket
                }
                rd_kafka_poll(handle, 50)                 // the local queue is full: let deliveries drain
            }
        }
        return ticket
    }

    static func produce(_ handle: OpaquePointer, _ record: OutgoingRecord, opaque: UnsafeMutableRawPointer) -> OpaquePointer? {
        var buffers = [UnsafeMutableRawPointer]()
        defer { buffers.forEach { $0.deallocate() } }
        func copy(_ bytes: some Collection<UInt8>) -> (UnsafeMutableRawPointer, Int) {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            p.copyMemory(from: Array(bytes), byteCount: bytes.count)
            buffers.append(p)
            return (p, bytes.count)
        }
        func cString(_ s: String) -> UnsafePointer<CChar> {
            let (p, n) = copy(Array(s.utf8) + [0])
            _ = n
            return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
        }
        var vus = [rd_kafka_vu_t]()
        var vu = rd_kafka_vu_t()
        vu.vtype = RD_KAFKA_VTYPE_TOPIC; vu.u.cstr = cString(record.topic); vus.append(vu)
        vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_VALUE
        (vu.u.mem.ptr, vu.u.mem.size) = { let (p, n) = copy(record.value); return (p, n) }(); vus.append(vu)
        if let key = record.key {
            vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_KEY
            (vu.u.mem.ptr, vu.u.mem.size) = { let (p, n) = copy(Array(key.utf8)); return (p, n) }(); vus.append(vu)
        }
        for (name, value) in record.headers.sorted(by: { $0.key < $1.key }) {
            vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_HEADER
            vu.u.header.name = cString(name)
            let (p, n) = copy(Array(value.utf8))
            vu.u.header.val = UnsafeRawPointer(p); vu.u.header.size = n
            vus.append(vu)
        }
        vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS; vu.u.i = RD_KAFKA_MSG_F_COPY; vus.append(vu)
        vu = rd_kafka_vu_t(); vu.vtype = RD_KAFKA_VTYPE_OPAQUE; vu.u.ptr = opaque; vus.append(vu)
        return rd_kafka_produceva(handle, vus, vus.count)
    }

    /// Waits up to `timeout` seconds for queued records, then stops the poll thread.
    func close(timeout: Double) {
        guard isRunning else { return }
        _ = rd_kafka_flush(handle, Int32(timeout * 1000))
        // What did not go out in time is purged: its delivery reports (error "purged") complete and
        // release the tickets; rd_kafka_destroy would drop them without a report.
        _ = rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        let deadline = Date().addingTimeInterval(5)
        while rd_kafka_outq_len(handle) > 0, Date() < deadline { rd_kafka_poll(handle, 10) }
        loop.stop()
    }

    deinit {
        close(timeout: 1)
        rd_kafka_destroy(handle)
    }
}
