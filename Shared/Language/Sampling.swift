import Foundation
public import Models

/// Picks the next token from one position's logits. Samplers may keep state (a random generator).
public protocol TokenSampler {
    mutating func next(logits: UnsafeBufferPointer<Float>) -> Int
}

/// The most likely token (the lowest id on ties, as `argmax`).
public struct GreedySampler: TokenSampler {
    public init() {}

    public mutating func next(logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }
}

/// Temperature, then nucleus (top-p) sampling from the smallest set of tokens whose probability
/// reaches `topP`, with a seeded generator: the same seed gives the same text.
public struct NucleusSampler: TokenSampler {
    public let temperature: Float, topP: Float
    var random: SplitMix64

    public init(temperature: Float = 0.7, topP: Float = 0.9, seed: UInt64 = 0) throws {
        guard temperature > 0, temperature.isFinite, topP > 0, topP <= 1 else {
            throw ModelError(.invalidInput, "sampling needs temperature > 0 (got \(temperature)) and top-p in (0, 1] (got \(topP)); use greedy decoding for temperature 0")
        }
        (self.temperature, self.topP, random) = (temperature, topP, SplitMix64(seed: seed))
    }

    public mutating func next(logits: UnsafeBufferPointer<Float>) -> Int {
        let peak = logits.max() ?? 0
        var weights = logits.map { exp(($0 - peak) / temperature) }
        let total = weights.reduce(0, +)
        for i in weights.indices { weights[i] /= total }
        let order = weights.indices.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        var kept = 0, mass: Float = 0
        while kept < order.count, mass < topP { mass += weights[order[kept]]; kept += 1 }
        var u = Float(random.nextUnit()) * mass
        for i in order.prefix(kept) {
            u -= weights[i]
            if u <= 0 { return i }
        }
        return order[kept - 1]
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, good enough to sample tokens.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
