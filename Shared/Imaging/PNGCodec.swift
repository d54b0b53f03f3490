import CPNG
public import Foundation

/// PNG reading and writing through libpng's simplified API (`png_image_*`): the only file that
/// calls libpng. Every buffer libpng reads or writes is owned by the caller for the whole call
/// (the compressed bytes stay pinned from `begin_read` to `finish_read`).
///
/// 8-bit files (gray, gray+alpha, RGB, RGBA, palette) are read as 8-bit gray; 16-bit files as
/// 16-bit linear gray, so no precision is lost. Colour is converted to gray by libpng.
public enum PNGCodec {
    /// Limits checked before any pixel is decoded (file size, then the header's width and height).
    /// On by default: a 4 KB file can claim 64 x 60000 pixels, and a chest X-ray is never that.
    public struct Limits: Sendable, Equatable {
        public var minimumSide: Int
        public var maximumSide: Int
        public var maximumPixels: Int
        /// Longest side / shortest side.
        public var maximumAspectRatio: Double
        public var maximumBytes: Int

        public init(minimumSide: Int = 64, maximumSide: Int = 16_384, maximumPixels: Int = 40_000_000,
                    maximumAspectRatio: Double = 4, maximumBytes: Int = 128 << 20) {
            self.minimumSide = minimumSide
            self.maximumSide = maximumSide
            self.maximumPixels = maximumPixels
            self.maximumAspectRatio = maximumAspectRatio
            self.maximumBytes = maximumBytes
        }

        /// No limits (files this program wrote itself, tests).
        public static let none = Limits(minimumSide: 1, maximumSide: Int(Int32.max), maximumPixels: Int.max,
                                        maximumAspectRatio: .infinity, maximumBytes: Int.max)

        func check(width: Int, height: Int, name: String) throws {
            let (short, long) = (min(width, height), max(width, height))
            guard short >= minimumSide else {
                throw ImagingError(path: name, reason: "image is \(width)x\(height); both sides must be at least \(minimumSide) px")
            }
            guard Double(long) <= Double(short) * maximumAspectRatio else {
                let ratio = (Double(long) / Double(short) * 10).rounded() / 10
                throw ImagingError(path: name, reason: "image is \(width)x\(height), aspect ratio \(ratio):1; a radiograph is at most \(maximumAspectRatio):1 — crop it to the chest")
            }
            guard long <= maximumSide else {
                throw ImagingError(path: name, reason: "image is \(width)x\(height); the longest side may be \(maximumSide) px — downscale it first")
            }
            guard width * height <= maximumPixels else {
                throw ImagingError(path: name, reason: "image is \(width)x\(height) (\(PNGCodec.pixelCount(width * height))); the limit is \(PNGCodec.pixelCount(maximumPixels)) — downscale it first")
            }
        }
    }

    /// Decodes the PNG at `path`: a regular file, read up to the byte limit (a FIFO or a device
    /// cannot stream unbounded data into memory).
    public static func read(path: String, limits: Limits = Limits()) throws -> GrayImage {
        try decode(try readBytes(path: path, limits: limits), name: path, limits: limits)
    }

    /// The bytes of the regular file at `path`, at most `limits.maximumBytes` of them.
    public static func readBytes(path: String, limits: Limits = Limits()) throws -> Data {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let attributes else { throw ImagingError(path: path, reason: "cannot read the file (missing or unreadable)") }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw ImagingError(path: path, reason: "not a regular file; give the path of a PNG file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImagingError(path: path, reason: "cannot read the file (missing or unreadable)")
        }
        defer { try? handle.close() }
        let cap = limits.maximumBytes == Int.max ? Int.max : limits.maximumBytes + 1
        let data: Data
        do {
            data = try handle.read(upToCount: cap) ?? Data()
        } catch {
            throw ImagingError(path: path, reason: "cannot read the file: \(error)")
        }
        guard data.count <= limits.maximumBytes else {
            throw ImagingError(path: path, reason: "file is over \(byteCount(limits.maximumBytes)), the limit")
        }
        return data
    }

    /// Checks the signature and the header's size against `limits` without decoding a pixel (a
    /// command can refuse a decompression bomb before it loads a model).
    public static func checkHeader(_ data: Data, name: String = "<memory>", limits: Limits = Limits()) throws {
        try checkSizeAndSignature(data, name: name, limits: limits)
        let image = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
        image.initialize(to: anatomix_png_image())
        defer { png_image_free(image); image.deinitialize(count: 1); image.deallocate() }
        try data.withUnsafeBytes { bytes in
            guard png_image_begin_read_from_memory(image, bytes.baseAddress, bytes.count) != 0 else {
                throw ImagingError(path: name, reason: "corrupt PNG header: \(message(image.pointee))")
            }
            try limits.check(width: Int(image.pointee.width), height: Int(image.pointee.height), name: name)
        }
    }

    /// The byte limit and the PNG signature, before libpng sees the data.
    private static func checkSizeAndSignature(_ data: Data, name: String, limits: Limits) throws {
        guard data.count <= limits.maximumBytes else {
            throw ImagingError(path: name, reason: "PNG is \(byteCount(data.count)); the limit is \(byteCount(limits.maximumBytes))")
        }
        guard data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw ImagingError(path: name, reason: "not a PNG file (bad signature); convert the image to PNG first")
        }
    }

    /// Decodes PNG bytes; `name` labels errors.
    public static func decode(_ data: Data, name: String = "<memory>", limits: Limits = Limits()) throws -> GrayImage {
        try checkSizeAndSignature(data, name: name, limits: limits)
        // libpng keeps the pointer given to begin_read until finish_read: both run inside one closure.
        // The png_image lives on the heap: libpng keeps its address (as its error pointer) across calls.
        let image = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
        image.initialize(to: anatomix_png_image())
        defer { png_image_free(image); image.deinitialize(count: 1); image.deallocate() }
        return try data.withUnsafeBytes { bytes in
            guard png_image_begin_read_from_memory(image, bytes.baseAddress, bytes.count) != 0 else {
                throw ImagingError(path: name, reason: "corrupt PNG header: \(message(image.pointee))")
            }
            let sixteenBit = image.pointee.format & PNG_FORMAT_FLAG_LINEAR != 0
            image.pointee.format = sixteenBit ? png_uint_32(PNG_FORMAT_LINEAR_Y) : png_uint_32(PNG_FORMAT_GRAY)
            let (width, height) = (Int(image.pointee.width), Int(image.pointee.height))
            try limits.check(width: width, height: height, name: name)
            guard width <= Int(Int32.max) / 2 else {
                throw ImagingError(path: name, reason: "image is \(width) px wide; libpng takes at most \(Int32.max / 2)")
            }
            let pixels: [Float]
            if sixteenBit {
                let samples: [UInt16] = try finishRead(image, count: width * height, stride: width, name: name)
                pixels = samples.map { Float($0) / 65535 }
            } else {
                let samples: [UInt8] = try finishRead(image, count: width * height, stride: width, name: name)
                pixels = samples.map { Float($0) / 255 }
            }
            return GrayImage(width: width, height: height, pixels: pixels, bitDepth: sixteenBit ? 16 : 8)
        }
    }

    private static func finishRead<Sample: FixedWidthInteger>(_ image: UnsafeMutablePointer<png_image>, count: Int, stride: Int,
                                                              name: String) throws -> [Sample] {
        var buffer = [Sample](repeating: 0, count: count)
        let ok = buffer.withUnsafeMutableBytes { png_image_finish_read(image, nil, $0.baseAddress, Int32(stride), nil) }
        guard ok != 0 else { throw ImagingError(path: name, reason: "cannot decode PNG data (truncated?): \(message(image.pointee))") }
        return buffer
    }

    /// Encodes `image` as an 8- or 16-bit gray PNG (`image.bitDepth`).
    public static func encode(_ image: GrayImage) throws -> Data {
        let clamp = { (v: Float) in min(max(v, 0), 1) }
        if image.bitDepth == 16 {
            return try write(image.pixels.map { UInt16((clamp($0) * 65535).rounded()) }, width: image.width, height: image.height,
                             format: png_uint_32(PNG_FORMAT_LINEAR_Y), name: "<memory>")
        }
        return try write(image.pixels.map { UInt8((clamp($0) * 255).rounded()) }, width: image.width, height: image.height,
                         format: png_uint_32(PNG_FORMAT_GRAY), name: "<memory>")
    }

    /// Encodes interleaved 8-bit RGB (`rgb.count == width * height * 3`) as a PNG.
    public static func encodeRGB(_ rgb: [UInt8], width: Int, height: Int, name: String = "<memory>") throws -> Data {
        guard width > 0, height > 0, rgb.count == width * height * 3 else {
            throw ImagingError(path: name, reason: "RGB buffer of \(rgb.count) bytes is not \(width)x\(height)x3")
        }
        return try write(rgb, width: width, height: height, format: png_uint_32(PNG_FORMAT_RGB), name: name)
    }

    /// libpng's two-pass write to memory: the size first, then the bytes.
    private static func write<Sample>(_ samples: [Sample], width: Int, height: Int, format: png_uint_32,
                                      name: String) throws -> Data {
        guard width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw ImagingError(path: name, reason: "image \(width)x\(height) is too large for PNG")
        }
        precondition(samples.count == width * height * (format == png_uint_32(PNG_FORMAT_RGB) ? 3 : 1), "samples for \(width)x\(height)")
        let png = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
        png.initialize(to: anatomix_png_image())
        defer { png_image_free(png); png.deinitialize(count: 1); png.deallocate() }
        png.pointee.width = png_uint_32(width)
        png.pointee.height = png_uint_32(height)
        png.pointee.format = format
        return try samples.withUnsafeBytes { input in
            var size = 0
            _ = png_image_write_to_memory(png, nil, &size, 0, input.baseAddress, 0, nil)
            var output = [UInt8](repeating: 0, count: size)
            let ok = output.withUnsafeMutableBytes { png_image_write_to_memory(png, $0.baseAddress, &size, 0, input.baseAddress, 0, nil) }
            guard ok != 0, size <= output.count else {
                throw ImagingError(path: name, reason: "libpng could not encode: \(message(png.pointee))")
            }
            return Data(output.prefix(size))
        }
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

    static func byteCount(_ n: Int) -> String { n >= 1 << 20 ? "\(n >> 20) MB" : "\(n) bytes" }
    static func pixelCount(_ n: Int) -> String { n >= 1_000_000 ? "\(n / 1_000_000) MP" : "\(n) pixels" }

    private static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
