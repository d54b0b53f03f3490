import Foundation

/// Rotary position embedding as HF Llama applies it: inverse frequencies `theta^(-2i/d)` (rescaled by
/// `rope_scaling`), and each head's vector rotated in halves (`rotate_half`: pairs `i` and `i + d/2`).
struct RotaryEmbedding: Sendable {
    let inverseFrequencies: [Double]      // [d / 2]
    let headDim: Int

    init(_ c: LlamaConfiguration) {
        headDim = c.headDim
        let half = c.headDim / 2
        var inverse = (0..<half).map { 1 / pow(Double(c.ropeTheta), Double(2 * $0) / Double(c.headDim)) }
        if let s = c.ropeScaling {
            let factor = Double(s.factor)
            switch s.type {
            case "linear":
                inverse = inverse.map { $0 / factor }
            default:                                                     // "llama3" (validated)
                let low = Double(s.lowFrequencyFactor ?? 1), high = Double(s.highFrequencyFactor ?? 4)
                let context = Double(s.originalMaxPositions ?? 8192)
                let lowWavelength = context / low, highWavelength = context / high
                inverse = inverse.map { f in
                    let wavelength = 2 * Double.pi / f
                    if wavelength < highWavelength { return f }
                    if wavelength > lowWavelength { return f / factor }
                    let smooth = (context / wavelength - low) / (high - low)
                    return (1 - smooth) * f / factor + smooth * f
                }
            }
        }
        inverseFrequencies = inverse
    }

    /// cos and sin of every frequency at `position`, in Float as HF computes them (fp32 product).
    func angles(at position: Int) -> (cos: [Float], sin: [Float]) {
        let p = Float(position)
        let freqs = inverseFrequencies.map { Float($0) * p }
        return (freqs.map { Foundation.cos($0) }, freqs.map { Foundation.sin($0) })
    }

    /// Rotates `count` vectors of `headDim` floats, `stride` apart, in place.
    func rotate(_ x: UnsafeMutablePointer<Float>, count: Int, stride: Int, cos: [Float], sin: [Float]) {
        let half = headDim / 2
        for v in 0..<count {
            let base = x + v * stride
            for i in 0..<half {
                let a = base[i], b = base[i + half]
                base[i] = a * cos[i] - b * sin[i]
                base[i + half] = b * cos[i] + a * sin[i]
            }
        }
    }
}
