#if canImport(Glibc)
import Foundation
import Testing
import Tensor

/// `MemoryPolicy.keepFreedMemory`: a freed buffer's pages come back without faulting them in again.
struct MemoryPolicyTests {
    static var userTuned: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["MALLOC_TRIM_THRESHOLD_"] != nil || environment["MALLOC_MMAP_THRESHOLD_"] != nil
            || environment["GLIBC_TUNABLES"]?.contains("glibc.malloc.") == true
    }

    static func minorFaults() -> Int {
        var usage = rusage()
        getrusage(1, &usage)                                                 // RUSAGE_THREAD (Linux): this thread only
        return usage.ru_minflt
    }

    @Test(.disabled(if: userTuned, "the environment tunes glibc itself"))
    func freedBuffersAreReusedWithoutPageFaults() {
        #expect(MemoryPolicy.keepFreedMemory())
        #expect(MemoryPolicy.keepFreedMemory(), "a second call reports the same")
        // a forward pass's pattern: several 1 MB buffers alive at once, then all freed. glibc's own
        // adaptive thresholds (after the first free, blocks this size come from the heap and up to twice
        // this size stays there) give back the 7 MB at the top of the heap, and the next pass faults its
        // pages in again. (Where earlier frees of larger mapped blocks raised those thresholds, this
        // pattern would not show a missing policy; blocks spanning several 64 MB arena heaps are given
        // back whatever the policy.)
        let count = 1 << 18, buffers = 8, rounds = 10
        var sum: Float = 0
        func pass() {
            let alive = (0..<buffers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: count) }
            for buffer in alive { for i in stride(from: 0, to: count, by: 1024) { buffer[i] = Float(i) } }   // each 4 KB page
            for buffer in alive { sum += buffer[count - 1024] }             // read back: the stores stay
            for buffer in alive { buffer.deallocate() }
        }
        pass()                                                              // the heap grows once
        let before = Self.minorFaults()
        for _ in 0..<rounds { pass() }
        let faults = Self.minorFaults() - before, pages = rounds * buffers * count / 1024
        #expect(sum == Float(count - 1024) * Float(buffers * (rounds + 1)))
        // without the policy nearly every page faults again (20,190 of 20,480 measured with 1 MB buffers)
        #expect(faults < pages / 4, "\(faults) page faults in \(rounds) passes over \(pages) pages")
    }
}
#endif
