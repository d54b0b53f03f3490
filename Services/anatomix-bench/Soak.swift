import Contracts
import Foundation
import Messaging
import Operations

/// `anatomix-bench soak BOOTSTRAP PNG_FOLDER STUDIES RATE NAME=PID:OPS_PORT,...` (driven by `make soak`,
/// Compose/soak.sh): STUDIES studies submitted at RATE per second into a running pipeline; each
/// result timed from its submit (end to end), each worker's consumer lag read from its `/metrics`
/// every second, each worker's RSS from /proc at the start and the end. Prints one JSON line and a
/// summary; exits 1 when a study has no result or a worker's RSS grew more than `rssBoundMB`.
func benchSoak(bootstrap: String, folder: String, studies: Int, rate: Double, workers: [(name: String, pid: Int32, port: Int)],
               rssBoundMB: Double = 64) {
    let pngs = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".png") }.sorted()
        .compactMap { try? Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent($0)) }
    guard !pngs.isEmpty, studies > 0, rate > 0 else { fail("soak: no PNG in \(folder), or no studies / rate") }
    let run = String(UUID().uuidString.prefix(6)).lowercased()
    let rssStart = workers.map { rssMB($0.pid) }
    let sent = SoakClock()
    let producerThread = Thread {
        do {
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: bootstrap, clientID: "soak-submit"))
            defer { producer.close() }
            let start = Date()
            var tickets = [DeliveryTicket]()
            for i in 0..<studies {
                let due = start.addingTimeInterval(Double(i) / rate)
                if due > Date() { Thread.sleep(until: due) }
                let study = StudyMessage(studyID: "soak-\(run)-\(i)", image: .png(pngs[i % pngs.count]), tasks: [])
                sent.mark(study.studyID)
                tickets.append(producer.enqueue([OutgoingRecord(topic: Topic.studies.rawValue, key: study.studyID, value: try MessageCodec.encode(study))]))
                tickets.removeAll { $0.isDone }
            }
            for t in tickets { _ = t.wait(timeout: 60) }
        } catch { fail("soak: submitting: \(error)") }
    }
    do {
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap, clientID: "soak-read",
                                                                           groupID: "soak-read-\(run)"), topics: [Topic.results.rawValue])
        defer { consumer.close() }
        let joinBy = Date().addingTimeInterval(60)
        repeat { _ = try consumer.poll(timeout: 0.2) } while !consumer.hasJoinedGroup && Date() < joinBy   // joined before the first submit
        Thread.sleep(forTimeInterval: 2)
        producerThread.start()
        var latencies = [String: Double](), lagTrace = [[Int]](), lastSample = Date.distantPast
        let deadline = Date().addingTimeInterval(Double(studies) / rate + 180)
        let began = Date()
        var last = began
        while latencies.count < studies, Date() < deadline {
            if Date().timeIntervalSince(lastSample) >= 1 {
                lastSample = Date()
                lagTrace.append(workers.map { metric(port: $0.port, "anatomix_consumer_lag") ?? -1 })
            }
            guard let record = try consumer.poll(timeout: 0.1), let key = record.key, key.hasPrefix("soak-\(run)-"),
                  latencies[key] == nil, let at = sent.time(key) else { continue }
            latencies[key] = Date().timeIntervalSince(at)
            last = Date()
        }
        let rssEnd = workers.map { rssMB($0.pid) }
        let sorted = latencies.values.sorted()
        func quantile(_ q: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        let submitted = sent.first ?? began
        let throughput = Double(latencies.count) / max(last.timeIntervalSince(submitted), 1e-3)   // first submit to last result
        let growth = zip(rssStart, rssEnd).map { $1 - $0 }
        let lagMax = workers.indices.map { w in lagTrace.map { $0[w] }.max() ?? -1 }
        let record: [String: Any] = ["studies": studies, "results": latencies.count, "rate": rate, "studies_per_second": throughput,
                                     "p50_seconds": quantile(0.5), "p99_seconds": quantile(0.99), "max_seconds": sorted.last ?? .nan,
                                     "workers": workers.map(\.name), "rss_start_mb": rssStart, "rss_end_mb": rssEnd,
                                     "rss_bound_mb": rssBoundMB, "lag_max": lagMax, "lag_per_second": lagTrace]
        if let json = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) { print(String(decoding: json, as: UTF8.self)) }
        let rss = workers.indices.map { String(format: "%@ %.0f -> %.0f MB", workers[$0].name, rssStart[$0], rssEnd[$0]) }.joined(separator: ", ")
        print(String(format: "soak: %d studies submitted at %.1f/s, %d results: %.1f studies/s; end to end p50 %.3f s, p99 %.3f s, max %.3f s; consumer lag max %@ (per second in the JSON line); RSS %@ (bound +%.0f MB)",
                     studies, rate, latencies.count, throughput, quantile(0.5), quantile(0.99), sorted.last ?? .nan,
                     workers.indices.map { "\(workers[$0].name) \(lagMax[$0])" }.joined(separator: ", "), rss, rssBoundMB))
        if latencies.count < studies { fail("soak: \(studies - latencies.count) studies without a result") }
        if let w = rssEnd.indices.first(where: { rssEnd[$0] == 0 || rssStart[$0] == 0 }) { fail("soak: \(workers[w].name) (pid \(workers[w].pid)) is not running") }
        if let w = growth.indices.first(where: { growth[$0] > rssBoundMB }) { fail("soak: \(workers[w].name) grew \(growth[w]) MB, over the \(rssBoundMB) MB bound") }
    } catch { fail("soak: \(error)") }
}

/// Send times by study id (the submit thread writes, the reader reads).
final class SoakClock: @unchecked Sendable {      // guarded by `lock`
    private let lock = NSLock()
    private var times = [String: Date]()
    private var firstMark: Date?
    func mark(_ id: String) { lock.withLock { let now = Date(); times[id] = now; if firstMark == nil { firstMark = now } } }
    var first: Date? { lock.withLock { firstMark } }
    func time(_ id: String) -> Date? { lock.withLock { times[id] } }
}

/// Resident memory of `pid` in MB (VmRSS), 0 when it cannot be read.
func rssMB(_ pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

/// A worker's metric read from its /metrics (first sample of `name`), nil when it does not answer.
func metric(port: Int, _ name: String) -> Int? {
    LoopbackHTTP.request(port: port, path: "/metrics").flatMap { LoopbackHTTP.sample($0.body, name) }.flatMap { Int(exactly: $0.rounded()) }
}
