import Foundation

extension Tensor {
    /// DETR's normalised 2-D sine position encoding, `[h * w, d]` (d/2 features per axis, y first),
    /// twin of `Training/anatomix/apm.py::sine_position_encoding`.
    public static func sinePositionEncoding(height h: Int, width w: Int, dimension d: Int, temperature: Float = 10000) -> Tensor {
        let perAxis = d / 2
        let scale = 2 * Float.pi
        var out = [Float](repeating: 0, count: h * w * d)
        for y in 0..<h {
            for x in 0..<w {
                let base = (y * w + x) * d
                let vy = Float(y + 1) / Float(h) * scale, vx = Float(x + 1) / Float(w) * scale
                for i in 0..<perAxis {
                    let dimT = Float(pow(Double(temperature), Double(2 * (i / 2)) / Double(perAxis)))
                    // even features sin, odd cos, interleaved as torch.stack(sin, cos).flatten
                    let pair = i / 2, isCos = i % 2 == 1
                    let ay = vy / dimT, ax = vx / dimT
                    out[base + 2 * pair + (isCos ? 1 : 0)] = isCos ? cos(ay) : sin(ay)
                    out[base + perAxis + 2 * pair + (isCos ? 1 : 0)] = isCos ? cos(ax) : sin(ax)
                }
            }
        }
        return Tensor(shape: [h * w, d], storage: out)
    }
}
