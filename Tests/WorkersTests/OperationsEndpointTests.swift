import Contracts
import Foundation
import Messaging
import Operations
import Testing
@testable import Workers

/// The operators' endpoints of a worker, over a real socket: `/metrics` counts what the worker did
/// (messages in, out, failed by code, latency), `/healthz` tells a running loop from a stalled one,
/// `/readyz` turns off while draining; nothing in them names a study.
@Suite(.serialized) struct OperationsEndpointTests {
    static func request(port: Int, path: String, method: String = "GET", extraHeaderBytes: Int = 0) throws -> (Int, String) {
        let reply = try #require(LoopbackHTTP.request(port: port, path: path, method: method, extraHeaderBytes: extraHeaderBytes),
                                 "connect to 127.0.0.1:\(port)")
        return (reply.status, reply.body)
    }

    static func sample(_ body: String, _ series: String) -> Double? { LoopbackHTTP.sample(body, series) }

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
