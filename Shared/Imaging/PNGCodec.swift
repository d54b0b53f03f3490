import CPNG
public import Foundation

/// PNG reading and writing through libpng's simplified API (`png_image_*`).
///
/// 8-bit files (gray, gray+alpha, RGB, RGBA, palette) are read as 8-bit gray; 16-bit files as
/// 16-bit linear gray, so no precision is lost. Colour is converted to gray by libpng.
public enum PNGCodec {
    /// Size limits checked from the header, before any pixel is decoded.
    public struct Limits: Sendable {
        public var minimumSide = 64
        public var maximumPixels = 100_000_000
        public init(minimumSide: Int = 64, maximumPixels: Int = 100_000_000) {
            self.minimumSide = minimumSide
            self.maximumPixels = maximumPixels
        }
        public static let none = Limits(minimumSide: 1, maximumPixels: Int.max)
    }

    /// Decodes the PNG at `path`.
    public static func read(path: String, limits: Limits = Limits()) throws -> GrayImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImagingError(path: path, reason: "cannot read the file (missing or unreadable)")
        }
        return try decode(data, name: path, limits: limits)
    }

    /// Decodes PNG bytes; `name` labels errors.
    public static func decode(_ data: Data, name: String = "<memory>", limits: Limits = .none) throws -> GrayImage {
        guard data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw ImagingError(path: name, reason: "not a PNG file (bad signature); convert the image to PNG first")
        }
        var image = anatomix_png_image()
        defer { png_image_free(&image) }
        let began = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard began != 0 else { throw ImagingError(path: name, reason: "corrupt PNG header: \(message(image))") }
        let sixteenBit = image.format & PNG_FORMAT_FLAG_LINEAR != 0
        image.format = sixteenBit ? png_uint_32(PNG_FORMAT_LINEAR_Y) : png_uint_32(PNG_FORMAT_GRAY)
        let (width, height) = (Int(image.width), Int(image.height))
        guard min(width, height) >= limits.minimumSide else {
            throw ImagingError(path: name, reason: "image is \(width)x\(height); both sides must be at least \(limits.minimumSide) px")
        }
        guard width * height <= limits.maximumPixels else {
            throw ImagingError(path: name, reason: "image is \(width)x\(height) (\(width * height / 1_000_000) MP); the limit is \(limits.maximumPixels / 1_000_000) MP — downscale it first")
        }
        var pixels = [Float](repeating: 0, count: width * height)
        if sixteenBit {
            var buffer = [UInt16](repeating: 0, count: width * height)
            let ok = png_image_finish_read(&image, nil, &buffer, Int32(width), nil)
            guard ok != 0 else { throw ImagingError(path: name, reason: "cannot decode PNG data (truncated?): \(message(image))") }
            for i in pixels.indices { pixels[i] = Float(buffer[i]) / 65535 }
        } else {
            var buffer = [UInt8](repeating: 0, count: width * height)
            let ok = png_image_finish_read(&image, nil, &buffer, Int32(width), nil)
            guard ok != 0 else { throw ImagingError(path: name, reason: "cannot decode PNG data (truncated?): \(message(image))") }
            for i in pixels.indices { pixels[i] = Float(buffer[i]) / 255 }
        }
        return GrayImage(width: width, height: height, pixels: pixels, bitDepth: sixteenBit ? 16 : 8)
    }

    /// Encodes `image` as an 8- or 16-bit gray PNG (`image.bitDepth`).
    public static func encode(_ image: GrayImage) throws -> Data {
        var png = anatomix_png_image()
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = image.bitDepth == 16 ? png_uint_32(PNG_FORMAT_LINEAR_Y) : png_uint_32(PNG_FORMAT_GRAY)
        defer { png_image_free(&png) }
        var size = 0
        let clamp = { (v: Float) in min(max(v, 0), 1) }
        let ok: Int32
        var output: [UInt8]
        if image.bitDepth == 16 {
            var samples = image.pixels.map { UInt16((clamp($0) * 65535).rounded()) }
            _ = png_image_write_to_memory(&png, nil, &size, 0, &samples, 0, nil)
            output = [UInt8](repeating: 0, count: size)
            ok = png_image_write_to_memory(&png, &output, &size, 0, &samples, 0, nil)
        } else {
            var samples = image.pixels.map { UInt8((clamp($0) * 255).rounded()) }
            _ = png_image_write_to_memory(&png, nil, &size, 0, &samples, 0, nil)
            output = [UInt8](repeating: 0, count: size)
            ok = png_image_write_to_memory(&png, &output, &size, 0, &samples, 0, nil)
        }
        guard ok != 0 else { throw ImagingError(path: "<memory>", reason: "libpng could not encode: \(message(png))") }
        return Data(output.prefix(size))
    }

    /// Writes `image` to `path` atomically.
    public static func write(_ image: GrayImage, to path: String) throws {
        do {
            try encode(image).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch let error as ImagingError {
            throw ImagingError(path: path, reason: error.reason)
        } catch {
            throw ImagingError(path: path, reason: "cannot write: \(error)")
        }
    }

    private static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
