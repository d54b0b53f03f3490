import Foundation
public import Operations
public import Prometheus
import Tensor

/// What a worker shows its operators: Prometheus metrics (every `WorkerCounters` count as
/// `anatomix_<name>_total`, dead letters by code, the stage's latency, consumer lag, model load
/// time) and the state `/healthz` and `/readyz` answer from. Labels carry the stage and the error
/// code only: never a study id or anything from a message.
public final class WorkerTelemetry: Sendable {
    public let registry = PrometheusCollectorRegistry()
    public let stage: String
    /// Seconds without a loop turn after which `/healthz` fails (above the slowest record).
    public let stallSeconds: Double
    let latency: DurationHistogram
    let lag: Gauge
    let inFlight: Gauge
    private let state = Locked(State())

    struct State {
        var lastTurn: Date?
        var ready = false
        var draining = false
    }

    /// Latency buckets (seconds): a perception step takes ~10 ms, a language task seconds.
    public static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    public init(stage: String, stallSeconds: Double = 360) {
        self.stage = stage
        self.stallSeconds = stallSeconds
        latency = registry.makeDurationHistogram(descriptor: Self.name("stage_duration", "seconds", "Time the stage spends on one record (decode, model, encode)"),
                                                 labels: [("stage", stage)], buckets: Self.latencyBuckets.map { .nanoseconds(Int64($0 * 1e9)) })
        lag = registry.makeGauge(descriptor: Self.name("consumer", "lag", "Records on the assigned partitions not yet consumed (high watermark - position)"),
                                 labels: [("stage", stage)])
        inFlight = registry.makeGauge(descriptor: Self.name("in", "flight", "Records whose outputs await the broker's acknowledgement"),
                                      labels: [("stage", stage)])
        for (name, help) in Self.counts {                       // at 0 from the start, not from the first event
            _ = registry.makeCounter(descriptor: Self.name(name, "total", help), labels: [("stage", stage)])
        }
    }

    /// The `WorkerCounters` names and what they count.
    public static let counts: [(String, String)] = [
        ("received", "Records read from the input topic (messages in)"),
        ("processed", "Records whose outputs the broker acknowledged (messages out)"),
        ("dead_lettered", "Records answered with a dead letter (messages failed)"),
        ("publish_retries", "Publishes retried after a broker error"),
        ("poll_errors", "Retriable errors polling the input topic"),
        ("mark_failures", "Offsets that could not be stored (partition revoked meanwhile)"),
        ("pauses", "Times fetching paused because the in-flight window was full (the broker acknowledging slowly)"),
    ]

    /// `anatomix_<name>_total{stage}` += n (a `WorkerCounters` count).
    func count(_ name: String, _ n: Int) {
        let help = Self.counts.first { $0.0 == name }?.1 ?? name
        registry.makeCounter(descriptor: Self.name(name, "total", help), labels: [("stage", stage)]).increment(by: Int64(n))
    }

    func deadLetter(code: String) {
        registry.makeCounter(descriptor: Self.name("dead_letters", "total", "Records sent to the dead-letter topic, by error code"),
                             labels: [("stage", stage), ("code", code)]).increment()
    }

    /// Model (and bank) load time, once at start.
    public func modelLoaded(seconds: Double) {
        registry.makeGauge(descriptor: Self.name("model_load", "seconds", "Seconds the worker took to load its model (and the sentence bank)"),
                           labels: [("stage", stage)]).set(seconds)
    }

    /// The loop turned (liveness).
    func turn(ready: Bool) { state.withLock { $0.lastTurn = Date(); $0.ready = ready } }

    /// SIGTERM arrived: no longer ready, still alive while it drains.
    public func draining() { state.withLock { $0.draining = true } }

    /// `anatomix_<metric>_<unit>`.
    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "anatomix", metricName: metric, unitName: unit, helpText: help)
    }

    /// `/metrics`, `/healthz`, `/readyz`; 404 otherwise.
    public func respond(path: String) -> OperationsServer.Response {
        switch path {
        case "/metrics":
            return .init(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToString())
        case "/healthz":
            let last = state.withLock { $0.lastTurn }
            guard let last else { return .init(status: 503, body: "starting: the worker loop has not run yet\n") }
            let age = Date().timeIntervalSince(last)
            return age <= stallSeconds ? .init(status: 200, body: "ok\n")
                : .init(status: 503, body: String(format: "stalled: no loop turn for %.0f s (limit %.0f s)\n", age, stallSeconds))
        case "/readyz":
            let s = state.withLock { $0 }
            if s.draining { return .init(status: 503, body: "draining\n") }
            guard s.lastTurn != nil, s.ready else { return .init(status: 503, body: "not ready: model loaded, waiting for the consumer group\n") }
            return .init(status: 200, body: "ready\n")
        default:
            return .init(status: 404, body: "not found: /metrics, /healthz, /readyz\n")
        }
    }
}

