import Tensor

/// SplitMix64: a tiny deterministic generator so tests need no fixtures for random inputs.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: shape) { _ in Float.random(in: -scale...scale, using: &rng) }
}

/// Naive triple loop: `[m, k] x [k, n]` in Double.
func naiveMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    var out = Tensor(shape: [m, n])
    for i in 0..<m { for j in 0..<n {
        var sum = 0.0
        for p in 0..<k { sum += Double(a[i, p]) * Double(b[p, j]) }
        out[i, j] = Float(sum)
    } }
    return out
}
