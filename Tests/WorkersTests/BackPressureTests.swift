import Contracts
import Foundation
import Messaging
import Testing
@testable import Workers

/// A broker that stops acknowledging (frozen, slow): the worker fills its bounded window, pauses
/// fetching and keeps polling (a live group member; /healthz stays green), starts nothing more (two
/// records fetched before the pause wait in its backlog), and once the acknowledgements come resumes
/// and finishes every study exactly once, in order.
@Suite(.serialized) struct BackPressureTests {
    @Test func aFullWindowPausesFetchingAndKeepsPollingUntilTheBrokerAcknowledges() throws {
        let bus = InProcessBus(defaultPartitions: 1)
        let studies = (0..<10).map { StageWorkerTests.study($0) }
        try StageWorkerTests.submit(bus, studies)
        bus.holdAcknowledgements()
        let consumer = bus.consumer(group: "perception", topics: [Topic.studies.rawValue])
        consumer.deliveredWhilePaused = 2                // fetched before the pause: kept in the backlog, done later in order
        var settings = StageWorker.Settings(workerID: "bp")
        settings.window = 4
        settings.telemetry = WorkerTelemetry(stage: "perception", stallSeconds: 1)
        let worker = StageWorker(handler: PerceptionHandler(step: StageWorkerTests.steps.perception, maximumMessageBytes: 16 << 20),
                                 consumer: consumer, producer: bus, settings: settings)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { try? worker.run(limit: studies.count); done.signal() }
        thread.start()
        var waited = 0.0
        while consumer.isPaused == false, waited < 30 { Thread.sleep(forTimeInterval: 0.05); waited += 0.05 }
        #expect(consumer.isPaused, "a full window pauses fetching")
        let polls = consumer.polls
        Thread.sleep(forTimeInterval: 1.5)
        #expect(worker.counters["received"] == 4, "nothing beyond the window is started while acknowledgements wait")
        #expect(worker.counters["processed"] == 0, "nothing is marked before its acknowledgement")
        #expect(consumer.polls > polls + 5, "the paused consumer is still polled (\(consumer.polls - polls) polls in 1.5 s)")
        #expect(settings.telemetry?.respond(path: "/healthz").status == 200, "alive while it waits, stall limit 1 s")
        bus.releaseAcknowledgements()
        #expect(done.wait(timeout: .now() + 120) == .success)
        #expect(!consumer.isPaused && worker.counters["pauses"] >= 1)
        try consumer.commit()
        #expect(worker.counters["processed"] == 10 && bus.records(Topic.anatomy.rawValue).count == 10, "every study once")
        #expect(bus.records(Topic.anatomy.rawValue).compactMap(\.key) == studies.map(\.studyID), "in order, the backlog included")
        #expect(bus.committed(group: "perception", topic: Topic.studies.rawValue) == [10])
    }

    /// A consumer whose first resume fails (a transient librdkafka error): the worker must not stay
    /// paused for good, it retries on the next turn of its loop.
    final class FailingResume: RecordConsumer {
        let inner: InProcessConsumer
        var failures = 1
        init(_ inner: InProcessConsumer) { self.inner = inner }
        func poll(timeout: Double) throws(MessagingError) -> IncomingRecord? { try inner.poll(timeout: timeout) }
        func markProcessed(_ record: IncomingRecord) throws(MessagingError) { try inner.markProcessed(record) }
        func commit() throws(MessagingError) { try inner.commit() }
        func pause() throws(MessagingError) { try inner.pause() }
        func resume() throws(MessagingError) {
            if failures > 0 { failures -= 1; throw MessagingError(.state, "resume: local timeout", retriable: true) }
            try inner.resume()
        }
        func close() { inner.close() }
        func lag() -> Int? { inner.lag() }
        var hasJoinedGroup: Bool { inner.hasJoinedGroup }
    }

    @Test func aFailedResumeIsRetriedSoFetchingNeverStaysPaused() throws {
        let bus = InProcessBus(defaultPartitions: 1)
        let studies = (0..<8).map { StageWorkerTests.study($0) }
        try StageWorkerTests.submit(bus, studies)
        bus.holdAcknowledgements()
        let inner = bus.consumer(group: "perception", topics: [Topic.studies.rawValue])
        let consumer = FailingResume(inner)
        var settings = StageWorker.Settings(workerID: "resume")
        settings.window = 2
        let worker = StageWorker(handler: PerceptionHandler(step: StageWorkerTests.steps.perception, maximumMessageBytes: 16 << 20),
                                 consumer: consumer, producer: bus, settings: settings)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { try? worker.run(limit: studies.count); done.signal() }
        thread.start()
        var waited = 0.0
        while inner.isPaused == false, waited < 30 { Thread.sleep(forTimeInterval: 0.05); waited += 0.05 }
        #expect(inner.isPaused, "a full window pauses fetching")
        bus.releaseAcknowledgements()
        let finished = done.wait(timeout: .now() + 20) == .success   // in process: well under a second when it works
        if !finished { worker.stop(); _ = done.wait(timeout: .now() + 10) }
        #expect(finished, "every study is read although the first resume failed")
        #expect(worker.counters["resume_failures"] == 1 && !inner.isPaused)
        #expect(worker.counters["processed"] == 8 && bus.records(Topic.anatomy.rawValue).count == 8)
    }
}
