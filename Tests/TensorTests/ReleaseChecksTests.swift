import Foundation
import Testing
import Tensor

#if arch(x86_64)
let trap = ExitTest.Condition.signal(SIGILL)       // a failed precondition is ud2 on x86-64
#else
let trap = ExitTest.Condition.signal(SIGTRAP)
#endif

/// The checks that guard memory survive optimisation: `make test` runs this suite against the
/// release build too (`make test-release`), where `-Ounchecked` used to remove every precondition
/// and turn a shape error into an out-of-bounds read. The exit must be the
/// precondition's trap, not any crash (an unchecked read could also end in SIGSEGV).
@Suite struct ReleaseChecksTests {
    @Test func mismatchedMatrixProductStopsTheProcess() async {
        await #expect(processExitsWith: trap) {
            _ = Tensor(shape: [2, 3]).matmul(Tensor(shape: [4, 5]))
        }
    }

    @Test func outOfBoundsIndexStopsTheProcess() async {
        await #expect(processExitsWith: trap) {
            _ = Tensor(shape: [2, 2])[2, 0]
        }
    }

    @Test func storageThatDoesNotMatchTheShapeStopsTheProcess() async {
        await #expect(processExitsWith: trap) {
            _ = Tensor(shape: [3, 3], storage: [1, 2, 3])
        }
    }
}
