import Foundation

/// A value behind an `NSLock`: `withLock` as `Synchronization.Mutex` has it. The project uses this
/// rather than `Mutex` because on Linux `Mutex` locks through futex calls ThreadSanitizer cannot
/// see, so every access inside it is reported as a race (a four-thread counter under `Mutex` gives
/// two reports, under `NSLock` none; Swift 6.3.1), and a real race would hide among them.
public final class Locked<Value>: @unchecked Sendable {   // every access goes through `lock`
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
