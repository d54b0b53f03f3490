import Testing
import Tensor

/// The checks that guard memory survive optimisation: `make test` runs this suite against the
/// release build too (`make test-release`), where `-Ounchecked` used to remove every precondition
/// and turn a shape error into an out-of-bounds read.
@Suite struct ReleaseChecksTests {
    @Test func mismatchedMatrixProductStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor(shape: [2, 3]).matmul(Tensor(shape: [4, 5]))
        }
    }

    @Test func outOfBoundsIndexStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor(shape: [2, 2])[2, 0]
        }
    }

    @Test func storageThatDoesNotMatchTheShapeStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor(shape: [3, 3], storage: [1, 2, 3])
        }
    }
}
