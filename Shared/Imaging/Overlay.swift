public import Foundation

/// An 8-bit RGB picture for overlays: the X-ray in gray with boxes and labels drawn on top.
public struct Overlay: Sendable {
    public let width: Int
    public let height: Int
    public private(set) var rgb: [UInt8]

    public init(_ image: GrayImage) {
        width = image.width
        height = image.height
        rgb = image.pixels.flatMap { v -> [UInt8] in
            let g = UInt8((min(max(v, 0), 1) * 255).rounded())
            return [g, g, g]
        }
    }

    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (rgb[i], rgb[i + 1], rgb[i + 2])
    }

    mutating func plot(_ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        (rgb[i], rgb[i + 1], rgb[i + 2]) = color
    }

    /// A rectangle outline for box [x1, y1, x2, y2] (pixels, x2/y2 exclusive).
    public mutating func box(_ b: [Double], color: (UInt8, UInt8, UInt8), thickness: Int = 1) {
        let x1 = Int(b[0].rounded()), y1 = Int(b[1].rounded()), x2 = Int(b[2].rounded()) - 1, y2 = Int(b[3].rounded()) - 1
        for t in 0..<thickness {
            for x in x1...max(x1, x2) { plot(x, y1 + t, color); plot(x, y2 - t, color) }
            for y in y1...max(y1, y2) { plot(x1 + t, y, color); plot(x2 - t, y, color) }
        }
    }

    /// `text` in the 5x7 font with a dark backing so it reads on any background.
    public mutating func text(_ text: String, x: Int, y: Int, color: (UInt8, UInt8, UInt8), scale: Int = 1) {
        let advance = (Font5x7.width + 1) * scale
        for dy in -1..<(Font5x7.height * scale + 1) {
            for dx in -1..<(text.count * advance) { plot(x + dx, y + dy, (0, 0, 0)) }
        }
        for (i, ch) in text.enumerated() {
            for gy in 0..<Font5x7.height {
                for gx in 0..<Font5x7.width where Font5x7.ink(ch, x: gx, y: gy) {
                    for sy in 0..<scale { for sx in 0..<scale { plot(x + i * advance + gx * scale + sx, y + gy * scale + sy, color) } }
                }
            }
        }
    }

    /// PNG bytes (8-bit RGB).
    public func png() throws -> Data {
        try PNGCodec.encodeRGB(rgb, width: width, height: height, name: "<overlay>")
    }
}
