import Foundation
import Testing
@testable import Tensor

@Suite struct ElementwiseTests {
    /// A NaN anywhere makes the difference NaN, so a `< tolerance` check fails (parity and kernel tests rely on it).
    @Test func maxAbsDifferenceReportsNaN() {
        let a = Tensor(shape: [3], storage: [1, 2, 3]), b = Tensor(shape: [3], storage: [1, .nan, 3.5])
        #expect(a.maxAbsDifference(b).isNaN && b.maxAbsDifference(a).isNaN)
        #expect(!(Tensor(shape: [2], storage: [.nan, .nan]).maxAbsDifference(Tensor(shape: [2], storage: [0, 0])) < 1e-4))
        #expect(a.maxAbsDifference(Tensor(shape: [3], storage: [1, 2.5, 2])) == 1)
    }

    @Test func broadcastShapes() {
        #expect(Tensor.broadcastShape([2, 3, 4], [4]) == [2, 3, 4])
        #expect(Tensor.broadcastShape([2, 1, 4], [3, 1]) == [2, 3, 4])
        #expect(Tensor.broadcastShape([2, 3], [4]) == nil)
    }

    @Test func broadcastingAddMatchesNaive() {
        let a = randomTensor([2, 1, 4], seed: 10), b = randomTensor([3, 1], seed: 11)
        let c = a + b
        #expect(c.shape == [2, 3, 4])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 {
            #expect(c[i, j, k] == a[i, 0, k] + b[j, 0])
        } } }
        let d = randomTensor([2, 3, 4], seed: 12) * randomTensor([4], seed: 13)
        #expect(d.shape == [2, 3, 4])
    }

    /// One operand repeating whole (`[B, N, d] + [1, N, d]`, either side) against the general path.
    @Test func tiledBroadcastMatchesNaive() {
        let a = randomTensor([2, 3, 4], seed: 15), b = randomTensor([1, 3, 4], seed: 16), v = randomTensor([4], seed: 17)
        let sum = a + b, difference = v - a
        #expect(sum.shape == [2, 3, 4] && difference.shape == [2, 3, 4])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 {
            #expect(sum[i, j, k] == a[i, j, k] + b[0, j, k])
            #expect(difference[i, j, k] == v[k] - a[i, j, k])
        } } }
    }

    @Test func sameShapeOps() {
        let a = Tensor(shape: [3], storage: [1, 2, 3]), b = Tensor(shape: [3], storage: [4, 5, 6])
        #expect((a - b).storage == [-3, -3, -3])
        #expect((b / a).storage == [4, 2.5, 2])
        #expect((a * 2).storage == [2, 4, 6])
    }

    @Test func geluIsErfForm() {
        // Reference values of x·Φ(x).
        let x = Tensor(shape: [5], storage: [-3, -1, 0, 1, 2.5])
        let expected: [Float] = [-0.0040496, -0.1586553, 0, 0.8413447, 2.4844720]
        let got = x.gelu().storage
        for (g, e) in zip(got, expected) { #expect(abs(g - e) < 1e-5) }
        let naive = randomTensor([100], seed: 14, scale: 4).map { Float(Double($0) * 0.5 * (1 + erf(Double($0) / 2.0.squareRoot()))) }
        #expect(randomTensor([100], seed: 14, scale: 4).gelu().maxAbsDifference(naive) < 1e-6)
    }
}

@Suite struct FastErfTests {
    @Test func fastErfMatchesLibm() {
        var worst: Double = 0
        for i in stride(from: -600, through: 600, by: 1) {
            let x = Float(i) / 100
            let got = Activation.fastErf(SIMD8(repeating: x))[0]
            worst = max(worst, abs(Double(got) - erf(Double(x))))
        }
        #expect(worst < 1e-6, "max |fastErf - erf| = \(worst)")
    }
}
