/// A single-channel image with intensities in [0, 1], row-major, top row first.
public struct GrayImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]
    /// Bits per sample of the file it came from (8 or 16), or of the intended output.
    public var bitDepth: Int

    public init(width: Int, height: Int, pixels: [Float], bitDepth: Int = 8) {
        precondition(width > 0 && height > 0 && pixels.count == width * height, "image \(width)x\(height) with \(pixels.count) pixels")
        self.width = width
        self.height = height
        self.pixels = pixels
        self.bitDepth = bitDepth
    }

    public subscript(x: Int, y: Int) -> Float {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }
}

/// Errors reading or writing images; each names the file and what to do.
public struct ImagingError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
