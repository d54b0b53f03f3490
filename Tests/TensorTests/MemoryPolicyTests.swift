import Foundation
import Testing
import Tensor

/// `MemoryPolicy.keepFreedMemory`: a freed buffer's pages come back without faulting them in again.
struct MemoryPolicyTests {
    static var userTuned: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["MALLOC_TRIM_THRESHOLD_"] != nil || environment["MALLOC_MMAP_THRESHOLD_"] != nil
    }

    static func minorFaults() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt
    }

    @Test(.disabled(if: userTuned, "the environment tunes glibc itself"))
    func freedBuffersAreReusedWithoutPageFaults() {
        #expect(MemoryPolicy.keepFreedMemory())
        #expect(MemoryPolicy.keepFreedMemory(), "a second call reports the same")
        // a forward pass's pattern: several 1 MB buffers alive at once, then all freed. glibc's own
        // adaptive thresholds (after the first free, blocks this size come from the heap and up to twice
        // this size stays there) then give back the 7 MB at the top of the heap, and the next pass faults
        // its pages in again
        let count = 1 << 18, buffers = 8, rounds = 10
        func pass() {
            let alive = (0..<buffers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: count) }
            for buffer in alive { for i in stride(from: 0, to: count, by: 1024) { buffer[i] = Float(i) } }   // each 4 KB page
            for buffer in alive { buffer.deallocate() }
        }
        pass()                                                              // the heap grows once
        let before = Self.minorFaults()
        for _ in 0..<rounds { pass() }
        let faults = Self.minorFaults() - before, pages = rounds * buffers * count / 1024
        // without the policy nearly every page faults again (20,190 of 20,480 measured); other suites running meanwhile add a few
        #expect(faults < pages / 4, "\(faults) page faults in \(rounds) passes over \(pages) pages")
    }
}
