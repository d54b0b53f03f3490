import Contracts
import Foundation
import Messaging
import Operations
import Testing
@testable import Workers
#if canImport(Glibc)
import Glibc
#endif

/// The operators' endpoints of a worker, over a real socket: `/metrics` counts what the worker did
/// (messages in, out, failed by code, latency), `/healthz` tells a running loop from a stalled one,
/// `/readyz` turns off while draining; nothing in them names a study.
@Suite(.serialized) struct OperationsEndpointTests {
    /// One HTTP/1.1 request over a plain socket: (status, body); `extraHeaderBytes` pads a header.
    static func request(port: Int, path: String, method: String = "GET", extraHeaderBytes: Int = 0) throws -> (Int, String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "connect to 127.0.0.1:\(port)")
        let padding = extraHeaderBytes > 0 ? "X-Padding: \(String(repeating: "a", count: extraHeaderBytes))\r\n" : ""
        let text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\(padding)Connection: close\r\n\r\n"
        _ = text.withCString { send(fd, $0, strlen($0), 0) }
        var response = [UInt8](), chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        let reply = String(decoding: response, as: UTF8.self)
        let status = Int(reply.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? -1
        let body = reply.range(of: "\r\n\r\n").map { String(reply[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    /// The value of one sample line `name{labels} value` in a Prometheus text body.
    static func sample(_ body: String, _ series: String) -> Double? {
        body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func metricsCountWhatTheWorkerDidAndHealthFollowsTheLoop() throws {
        let telemetry = WorkerTelemetry(stage: "perception")
        let server = try OperationsServer(host: "127.0.0.1", port: 0) { telemetry.respond(path: $0) }
        defer { server.close() }
        #expect(try Self.request(port: server.port, path: "/healthz").0 == 503, "no loop turn yet: starting")
        #expect(try Self.request(port: server.port, path: "/readyz").0 == 503)
        let zero = try Self.request(port: server.port, path: "/metrics")
        #expect(zero.0 == 200 && Self.sample(zero.1, #"anatomix_received_total{stage="perception"}"#) == 0, "counters exist at 0")

        let bus = InProcessBus(defaultPartitions: 1)
        try StageWorkerTests.submit(bus, [StageWorkerTests.study(0), StageWorkerTests.study(1)])
        try bus.send([OutgoingRecord(topic: Topic.studies.rawValue, key: "patient-key",
                                     value: try MessageCodec.encode(StudyMessage(studyID: "doe-jane-0001", image: .png(Data("GIF89a".utf8)), tasks: [])))])
        var settings = StageWorker.Settings(workerID: "p1")
        settings.telemetry = telemetry
        let worker = StageWorker(handler: PerceptionHandler(step: StageWorkerTests.steps.perception, maximumMessageBytes: 16 << 20),
                                 consumer: bus.consumer(group: "perception", topics: [Topic.studies.rawValue]), producer: bus, settings: settings)
        try worker.run(limit: 3)

        let (status, body) = try Self.request(port: server.port, path: "/metrics")
        #expect(status == 200)
        #expect(Self.sample(body, #"anatomix_received_total{stage="perception"}"#) == 3)
        #expect(Self.sample(body, #"anatomix_processed_total{stage="perception"}"#) == 2)
        #expect(Self.sample(body, #"anatomix_dead_lettered_total{stage="perception"}"#) == 1)
        #expect(Self.sample(body, #"anatomix_dead_letters_total{stage="perception",code="bad_image"}"#) == 1, "\(body)")
        #expect(Self.sample(body, #"anatomix_stage_duration_seconds_count{stage="perception"}"#) == 3)
        let fast = Self.sample(body, #"anatomix_stage_duration_seconds_bucket{stage="perception",le="120.0"}"#)
        #expect(fast == 3, "every record is under the largest bucket")
        #expect(!body.contains("doe-jane") && !body.contains("patient-key") && !body.contains("study-"), "no study id or key in a label")
        #expect(try Self.request(port: server.port, path: "/healthz") == (200, "ok\n"))
        #expect(try Self.request(port: server.port, path: "/readyz") == (200, "ready\n"))
        telemetry.draining()
        #expect(try Self.request(port: server.port, path: "/readyz") == (503, "draining\n"))
        #expect(try Self.request(port: server.port, path: "/healthz").0 == 200, "alive while it drains")
    }

    @Test func aStalledLoopFailsHealthAndOtherRequestsGetAnError() throws {
        let telemetry = WorkerTelemetry(stage: "language", stallSeconds: 0.3)
        let server = try OperationsServer(host: "127.0.0.1", port: 0) { telemetry.respond(path: $0) }
        defer { server.close() }
        telemetry.turn(ready: true)
        #expect(try Self.request(port: server.port, path: "/healthz").0 == 200)
        Thread.sleep(forTimeInterval: 0.5)
        let stalled = try Self.request(port: server.port, path: "/healthz")
        #expect(stalled.0 == 503 && stalled.1.hasPrefix("stalled"))
        #expect(try Self.request(port: server.port, path: "/metrics?x=1").0 == 200, "the query is ignored")
        #expect(try Self.request(port: server.port, path: "/nope").0 == 404)
        #expect(try Self.request(port: server.port, path: "/metrics", method: "POST").0 == 405)
        #expect(try Self.request(port: server.port, path: "/metrics", extraHeaderBytes: 20_000).0 == 413)
    }

    @Test func aPortInUseIsAnErrorNamingTheVariable() throws {
        let first = try OperationsServer(host: "127.0.0.1", port: 0) { _ in .init(status: 200, body: "") }
        defer { first.close() }
        #expect(throws: OperationsError.self) { try OperationsServer(host: "127.0.0.1", port: first.port) { _ in .init(status: 200, body: "") } }
        do { _ = try OperationsServer(host: "127.0.0.1", port: first.port) { _ in .init(status: 200, body: "") } } catch {
            #expect(error.description.contains("ANATOMIX_OPS_PORT"))
        }
    }
}
