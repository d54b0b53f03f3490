/// The AnatomiX input transform: zero-pad the image to a centred square, then resize it to the
/// model's canvas; and the inverse for boxes, so every output box is in original-image pixels.
public struct Letterbox: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let canvas: Int

    public init(width: Int, height: Int, canvas: Int) {
        precondition(width > 0 && height > 0 && canvas > 0, "letterbox of \(width)x\(height) onto \(canvas)")
        self.width = width
        self.height = height
        self.canvas = canvas
    }

    /// Side of the padded square in original pixels.
    public var side: Int { max(width, height) }
    /// Canvas pixels per original pixel.
    public var scale: Double { Double(canvas) / Double(side) }
    /// Whole-pixel padding added on the left and top, in original pixels.
    public var offset: (x: Double, y: Double) { (Double((side - width) / 2), Double((side - height) / 2)) }

    /// [x1, y1, x2, y2] on the canvas -> original pixels (clipped to the image).
    public func toOriginal(_ box: [Double]) -> [Double] {
        let (ox, oy) = offset
        let x = [box[0], box[2]].map { min(max($0 / scale - ox, 0), Double(width)) }
        let y = [box[1], box[3]].map { min(max($0 / scale - oy, 0), Double(height)) }
        return [x[0], y[0], x[1], y[1]]
    }

    /// [x1, y1, x2, y2] in original pixels -> canvas pixels.
    public func toCanvas(_ box: [Double]) -> [Double] {
        let (ox, oy) = offset
        return [(box[0] + ox) * scale, (box[1] + oy) * scale, (box[2] + ox) * scale, (box[3] + oy) * scale]
    }

    /// The letterboxed canvas image (area-weighted resampling, so large images are not aliased),
    /// resampled straight from the image: the padded square is never built, so memory is
    /// `height x canvas + canvas²` floats whatever the aspect ratio (the padding is zeros, and the
    /// taps that fall on it are skipped, which leaves every sum exactly as over the square).
    public func apply(_ image: GrayImage) -> GrayImage {
        precondition(image.width == width && image.height == height && image.pixels.count == width * height,
                     "letterbox built for \(width)x\(height)")
        let (px, py) = (Int(offset.x), Int(offset.y))
        let taps = Resample.weights(from: side, to: canvas)                  // the same along both axes of the square
        var rows = [Float](repeating: 0, count: height * canvas)          // each image row resampled to the canvas width
        image.pixels.withUnsafeBufferPointer { source in
            rows.withUnsafeMutableBufferPointer { rows in
                for y in 0..<height {
                    for (ox, tapsX) in taps.enumerated() {
                        var acc: Float = 0
                        for (x, w) in tapsX where x >= px && x < px + width { acc += source[y * width + x - px] * w }
                        rows[y * canvas + ox] = acc
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: canvas * canvas)
        rows.withUnsafeBufferPointer { rows in
            out.withUnsafeMutableBufferPointer { out in
                for (oy, tapsY) in taps.enumerated() {
                    for (y, w) in tapsY where y >= py && y < py + height {
                        for x in 0..<canvas { out[oy * canvas + x] += rows[(y - py) * canvas + x] * w }
                    }
                }
            }
        }
        return GrayImage(width: canvas, height: canvas, pixels: out, bitDepth: image.bitDepth)
    }
}

/// Separable area (box-filter) resampling: each output pixel averages the input area it covers.
public enum Resample {
    public static func area(_ pixels: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Float] {
        let horizontal = weights(from: width, to: toWidth)
        let vertical = weights(from: height, to: toHeight)
        var rows = [Float](repeating: 0, count: height * toWidth)
        for y in 0..<height {
            for (ox, taps) in horizontal.enumerated() {
                var acc: Float = 0
                for (x, w) in taps { acc += pixels[y * width + x] * w }
                rows[y * toWidth + ox] = acc
            }
        }
        var out = [Float](repeating: 0, count: toHeight * toWidth)
        for (oy, taps) in vertical.enumerated() {
            for (y, w) in taps {
                for x in 0..<toWidth { out[oy * toWidth + x] += rows[y * toWidth + x] * w }
            }
        }
        return out
    }

    /// For each output index, the input indices it overlaps and their normalised weights. When
    /// upsampling this is linear interpolation between pixel centres.
    static func weights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let ratio = Double(n) / Double(m)
        return (0..<m).map { o in
            if ratio <= 1 {
                let center = (Double(o) + 0.5) * ratio - 0.5
                let i0 = Int(center.rounded(.down)), t = Float(center - Double(i0))
                let a = min(max(i0, 0), n - 1), b = min(max(i0 + 1, 0), n - 1)
                return a == b ? [(a, Float(1))] : [(a, 1 - t), (b, t)]
            }
            let lo = Double(o) * ratio, hi = Double(o + 1) * ratio
            var taps = [(Int, Float)]()
            var i = Int(lo.rounded(.down))
            while Double(i) < hi && i < n {
                let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                if overlap > 0 { taps.append((i, Float(overlap / ratio))) }
                i += 1
            }
            return taps
        }
    }
}
