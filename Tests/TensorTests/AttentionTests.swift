import Foundation
import Testing
@testable import Tensor

@Suite struct AttentionTests {
    /// softmax(Q Kᵀ / √dh) V per head, skipping masked keys, in Double.
    func naiveAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, mask: Tensor?) -> Tensor {
        let (batch, queries, width, keys) = (q.shape[0], q.shape[1], q.shape[2], k.shape[1])
        let dh = width / heads
        var out = Tensor(shape: q.shape)
        for b in 0..<batch { for h in 0..<heads { for i in 0..<queries {
            var weights = [Double](repeating: 0, count: keys)
            for j in 0..<keys where (mask?[b, j] ?? 1) != 0 {
                var dot = 0.0
                for d in 0..<dh { dot += Double(q[b, i, h * dh + d]) * Double(k[b, j, h * dh + d]) }
                weights[j] = exp(dot / Double(dh).squareRoot())
            }
            let total = weights.reduce(0, +)
            for d in 0..<dh {
                var acc = 0.0
                for j in 0..<keys { acc += weights[j] / total * Double(v[b, j, h * dh + d]) }
                out[b, i, h * dh + d] = Float(acc)
            }
        } } }
        return out
    }

    @Test func multiHeadAttentionMatchesNaive() {
        let q = randomTensor([2, 4, 12], seed: 30), k = randomTensor([2, 6, 12], seed: 31), v = randomTensor([2, 6, 12], seed: 32)
        let got = Tensor.multiHeadAttention(query: q, key: k, value: v, heads: 3)
        #expect(got.maxAbsDifference(naiveAttention(q, k, v, heads: 3, mask: nil)) < 1e-5)
    }

    @Test func paddingMaskRemovesKeys() {
        let q = randomTensor([2, 5, 8], seed: 33), k = randomTensor([2, 5, 8], seed: 34), v = randomTensor([2, 5, 8], seed: 35)
        let mask = Tensor(shape: [2, 5], storage: [1, 1, 1, 0, 0, 1, 0, 1, 1, 1])
        let got = Tensor.multiHeadAttention(query: q, key: k, value: v, heads: 2, keyMask: mask)
        #expect(got.maxAbsDifference(naiveAttention(q, k, v, heads: 2, mask: mask)) < 1e-5)
        // Changing a masked key or value must not change the result (beyond the last bit: KernelLevelTests
        // may switch the softmax kernel process-wide between the two calls; a leak of the 50s would be ~1).
        var k2 = k, v2 = v
        k2[0, 3, 1] = 50; v2[0, 4, 2] = -50
        #expect(Tensor.multiHeadAttention(query: q, key: k2, value: v2, heads: 2, keyMask: mask).maxAbsDifference(got) < 1e-6)
    }

    @Test func fullyMaskedSequenceGivesZeros() {
        let q = randomTensor([1, 2, 4], seed: 36), k = randomTensor([1, 3, 4], seed: 37)
        let got = Tensor.multiHeadAttention(query: q, key: k, value: k, heads: 1, keyMask: Tensor(shape: [1, 3]))
        #expect(got.storage.allSatisfy { $0 == 0 })
    }
}
