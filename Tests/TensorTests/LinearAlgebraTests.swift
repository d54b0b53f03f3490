import Testing
@testable import Tensor

@Suite struct LinearAlgebraTests {
    @Test func matmulMatchesNaive() {
        let a = randomTensor([17, 33], seed: 1), b = randomTensor([33, 9], seed: 2)
        #expect(a.matmul(b).maxAbsDifference(naiveMatmul(a, b)) < 1e-4)
    }

    @Test func matmulTransposedMatchesNaive() {
        let a = randomTensor([5, 12], seed: 3), bt = randomTensor([7, 12], seed: 4)
        #expect(a.matmul(bt, transposeB: true).maxAbsDifference(naiveMatmul(a, bt.transposed())) < 1e-4)
    }

    @Test func linearIsXWTransposePlusBias() {
        let x = randomTensor([2, 3, 8], seed: 5), w = randomTensor([6, 8], seed: 6), b = randomTensor([6], seed: 7)
        let got = x.linear(weight: w, bias: b)
        #expect(got.shape == [2, 3, 6])
        let expected = naiveMatmul(x.reshaped([6, 8]), w.transposed()).reshaped([2, 3, 6]) + b
        #expect(got.maxAbsDifference(expected) < 1e-4)
        #expect(x.linear(weight: w).maxAbsDifference(expected - b) < 1e-4)
    }

    @Test func transposeAndRowsAndConcatenate() {
        let t = Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        #expect(t.transposed() == Tensor(shape: [3, 2], storage: [1, 4, 2, 5, 3, 6]))
        #expect(t.rows(1..<2) == Tensor(shape: [1, 3], storage: [4, 5, 6]))
        #expect(Tensor.concatenate(rows: [t, t.rows(0..<1)]).shape == [3, 3])
        #expect(t.reshaped([-1]).shape == [6])
        #expect(t[1, 2] == 6)
    }

    @Test func blasStaysSingleThreaded() {
        _ = randomTensor([64, 64], seed: 3).matmul(randomTensor([64, 64], seed: 4))
        #expect(BLAS.threads == 1)                      // ComputeThreads does the parallel work
        #expect(BLAS.configuration.contains("OpenBLAS"))
    }
}
