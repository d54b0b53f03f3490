import Foundation
import TestSupport

/// A local S3 server (moto, from the test venv: `make deps` installs `moto[server]`) with one bucket,
/// the durable storage a Tansu broker can be SIGKILLed and restarted on. Lives as long as this object.
final class S3Store {
    let port: Int
    let bucket: String
    private let process: Process
    private let log: URL

    static var server: URL { Repository.root.appendingPathComponent("Training/.venv/bin/moto_server") }

    init(bucket: String = "anatomix-faults") throws {
        guard FileManager.default.isExecutableFile(atPath: Self.server.path) else {
            throw IntegrationError("\(Self.server.path) is missing: `make deps` installs moto[server] into Training/.venv")
        }
        self.bucket = bucket
        port = try Broker.freePort()
        process = Process()
        process.executableURL = Self.server
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        log = FileManager.default.temporaryDirectory.appendingPathComponent("anatomix-moto-\(port).log")
        try Broker.run(process, loggingTo: log)
        let deadline = Date().addingTimeInterval(30)
        while !Broker.accepts(port), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        guard Broker.accepts(port) else { throw IntegrationError("moto did not listen on \(port) within 30 s: \(output)") }
        let created = try PipelineIntegrationTests.run("/usr/bin/curl", ["-sS", "-f", "-m", "10", "-X", "PUT", "http://127.0.0.1:\(port)/\(bucket)"])
        guard created.status == 0 else { throw IntegrationError("creating bucket \(bucket): \(created.output)") }
    }

    /// What Tansu reads to reach this server (any credentials: moto accepts them all).
    var clientEnvironment: [String: String] {
        ["AWS_ACCESS_KEY_ID": "anatomix", "AWS_SECRET_ACCESS_KEY": "anatomix", "AWS_DEFAULT_REGION": "us-east-1",
         "AWS_ENDPOINT": "http://127.0.0.1:\(port)", "AWS_ALLOW_HTTP": "true"]
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    deinit {
        Broker.end(process, signal: SIGTERM)
        try? FileManager.default.removeItem(at: log)
    }
}
