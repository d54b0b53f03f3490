import Foundation
import Testing
@testable import Tensor

@Suite struct NormalizationTests {
    @Test func layerNormMatchesNaive() {
        let x = randomTensor([4, 7], seed: 20, scale: 3), w = randomTensor([7], seed: 21), b = randomTensor([7], seed: 22)
        let got = x.layerNorm(weight: w, bias: b, epsilon: 1e-5)
        for r in 0..<4 {
            let row = (0..<7).map { Double(x[r, $0]) }
            let mean = row.reduce(0, +) / 7
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 7
            for i in 0..<7 {
                let expected = (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(w[i]) + Double(b[i])
                #expect(abs(Double(got[r, i]) - expected) < 1e-5)
            }
        }
    }

    @Test func softmaxMatchesNaive() {
        let x = randomTensor([3, 5], seed: 23, scale: 20)
        let got = x.softmax()
        for r in 0..<3 {
            let exps = (0..<5).map { exp(Double(x[r, $0])) }
            let total = exps.reduce(0, +)
            for i in 0..<5 { #expect(abs(Double(got[r, i]) - exps[i] / total) < 1e-6) }
        }
    }

    @Test func l2NormalizedRowsHaveUnitNorm() {
        let y = randomTensor([3, 10], seed: 24).l2Normalized()
        for r in 0..<3 { #expect(abs((0..<10).map { y[r, $0] * y[r, $0] }.reduce(0, +) - 1) < 1e-6) }
        #expect(Tensor(shape: [1, 3]).l2Normalized().storage == [0, 0, 0])
    }

    @Test func meanPoolingIgnoresMaskedPositions() {
        let x = Tensor(shape: [2, 3, 2], storage: [1, 2, 3, 4, 100, 100, 5, 6, 7, 8, 9, 10])
        let mask = Tensor(shape: [2, 3], storage: [1, 1, 0, 1, 1, 1])
        #expect(x.meanPooled(mask: mask).storage == [2, 3, 7, 8])
    }
}
