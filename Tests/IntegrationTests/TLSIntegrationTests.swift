import Contracts
import Foundation
import Messaging
import Testing

/// The workers talk TLS to the broker when told to: a certificate made by openssl at test time,
/// the broker reachable only through TLS; a perception worker configured with
/// ANATOMIX_KAFKA_SECURITY_PROTOCOL=ssl + ANATOMIX_KAFKA_SSL_CA processes a study; a plaintext
/// client gets nothing through; the worker's log carries no key material.
@Suite(.serialized) struct TLSIntegrationTests {
    @Test func aWorkerProcessesAStudyOverTLSAndPlaintextIsRefused() throws {
        let certificate = try Broker.makeCertificate()
        defer { try? FileManager.default.removeItem(at: certificate) }
        let broker = try Broker(partitions: 1, tls: certificate)
        let worker = try WorkerProcess("perception-worker", broker: broker, id: "perception-tls", environment: broker.workerEnvironment)
        defer { worker.stop() }
        let studies = PipelineIntegrationTests.studies(3, prefix: "tls")
        try PipelineIntegrationTests.submit(studies, broker: broker)
        let anatomy = try PipelineIntegrationTests.read(.anatomy, broker: broker, count: 3, seconds: 120)
        #expect(Set(anatomy.compactMap(\.key)) == Set(studies.map(\.studyID)), "\(worker.output.suffix(2000))")

        // The same port without TLS: the client cannot even fetch metadata, so nothing is delivered.
        var plain = KafkaConfiguration(bootstrapServers: broker.bootstrap, clientID: "plaintext")
        plain.deliveryTimeout = 5
        let producer = try KafkaProducer(configuration: plain)
        defer { producer.close() }
        #expect(throws: MessagingError.self) {
            try producer.send([OutgoingRecord(topic: Topic.studies.rawValue, key: "plain", value: Data("{}".utf8))])
        }
        let key = try String(contentsOf: certificate.appendingPathComponent("key.pem"), encoding: .utf8)
        let body = key.split(separator: "\n").dropFirst().first.map(String.init) ?? "unused"
        #expect(!worker.output.contains(body), "no key material in the log")
    }
}
