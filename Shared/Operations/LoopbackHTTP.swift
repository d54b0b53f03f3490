import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One blocking HTTP/1.1 request to a port on 127.0.0.1 over a plain socket, for what reads a
/// worker's endpoints from the same machine (`anatomix-bench soak`, the tests). The reply is read
/// up to `maximumReplyBytes`, with 5 s send and receive timeouts. Nil when nothing listens there
/// or the request cannot be sent.
public enum LoopbackHTTP {
    public static let maximumReplyBytes = 4 << 20

    /// (status, body); `extraHeaderBytes` pads the request with a header that long (limit tests).
    public static func request(port: Int, path: String, method: String = "GET", extraHeaderBytes: Int = 0) -> (status: Int, body: String)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var limit = timeval(tv_sec: 5, tv_usec: 0)                 // a stalled endpoint is an answer of nil, not a hang
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let padding = extraHeaderBytes > 0 ? "X-Padding: \(String(repeating: "a", count: extraHeaderBytes))\r\n" : ""
        let text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\(padding)Connection: close\r\n\r\n"
        guard text.withCString({ send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }) == text.utf8.count else { return nil }
        var reply = [UInt8](), chunk = [UInt8](repeating: 0, count: 65_536)
        while reply.count < maximumReplyBytes {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            reply += chunk[0..<n]
        }
        let whole = String(decoding: reply, as: UTF8.self)
        let status = Int(whole.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? -1
        let body = whole.range(of: "\r\n\r\n").map { String(whole[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    /// The value of the first sample of `series` (a metric name, or name{labels}) in a Prometheus text body.
    public static func sample(_ body: String, _ series: String) -> Double? {
        body.split(separator: "\n").first { $0.hasPrefix(series + " ") || (!series.contains("{") && $0.hasPrefix(series + "{")) }
            .flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}
