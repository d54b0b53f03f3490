import NIOCore
import NIOHTTP1
import NIOPosix

/// The small HTTP/1.1 server each worker runs for its operators: `GET /metrics` (Prometheus text
/// format), `/healthz` (the loop is alive) and `/readyz` (it can take work). Read-only, no body is
/// accepted (a request over `maximumRequestBytes` is answered 413 and closed), a connection idle for
/// 10 s is closed, one event-loop thread;
/// the routes are answered from whatever `respond` returns, so the server knows nothing of workers.
public final class OperationsServer: Sendable {
    /// One answer: status, content type, body.
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: String
        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String) {
            (self.status, self.contentType, self.body) = (status, contentType, body)
        }
    }

    /// Requests with more header + body bytes than this are refused (an operator endpoint takes none).
    public static let maximumRequestBytes = 16 << 10

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The port it listens on (the one asked for, or the one the system picked for port 0).
    public let port: Int

    /// Listens on `host:port`; `respond(path)` answers every GET (`path` without the query).
    public init(host: String, port: Int, respond: @escaping @Sendable (String) -> Response) throws(OperationsError) {
        guard (0...65_535).contains(port) else { throw OperationsError("port \(port) is not in 0...65535") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 16)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(10)))  // idle or slow clients are closed
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(respond: respond))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw OperationsError("cannot listen on \(host):\(port) for /metrics, /healthz and /readyz: \(error) (set ANATOMIX_OPS_PORT to a free port, or 0 to turn the endpoints off)")
        }
        self.group = group
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening and closes open connections.
    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Why the operations server could not start.
public struct OperationsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Answers GET requests from `respond`; anything else is 405, bodies over the limit close the connection.
private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let respond: @Sendable (String) -> OperationsServer.Response
    private var head: HTTPRequestHead?
    private var received = 0
    private var refused = false

    init(respond: @escaping @Sendable (String) -> OperationsServer.Response) { self.respond = respond }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
            received = request.headers.reduce(request.uri.utf8.count) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        case let .body(bytes):
            received += bytes.readableBytes
            if received > OperationsServer.maximumRequestBytes, !refused {      // answer and close now, not after the whole body
                refused = true
                write(.init(status: 413, body: "request over \(OperationsServer.maximumRequestBytes) bytes\n"), to: context, keepAlive: false, bodyless: false)
            }
        case .end:
            guard let request = head, !refused else { return }
            head = nil
            let answer: OperationsServer.Response
            if received > OperationsServer.maximumRequestBytes {
                answer = .init(status: 413, body: "request over \(OperationsServer.maximumRequestBytes) bytes\n")
            } else if request.method != .GET && request.method != .HEAD {
                answer = .init(status: 405, body: "only GET: /metrics, /healthz, /readyz\n")
            } else {
                answer = respond(String(request.uri.split(separator: "?", maxSplits: 1).first ?? ""))
            }
            write(answer, to: context, keepAlive: request.isKeepAlive && received <= OperationsServer.maximumRequestBytes,
                  bodyless: request.method == .HEAD)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }

    private func write(_ answer: OperationsServer.Response, to context: ChannelHandlerContext, keepAlive: Bool, bodyless: Bool) {
        var buffer = context.channel.allocator.buffer(capacity: answer.body.utf8.count)
        buffer.writeString(answer.body)
        var headers = HTTPHeaders([("Content-Type", answer.contentType), ("Content-Length", String(buffer.readableBytes))])
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !bodyless { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}
