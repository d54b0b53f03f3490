import Foundation
import Testing
@testable import Imaging

@Suite struct PNGCodecTests {
    let gradient = GrayImage(width: 7, height: 5, pixels: (0..<35).map { Float($0) / 34 })

    @Test func eightBitRoundTrip() throws {
        let back = try PNGCodec.decode(PNGCodec.encode(gradient), limits: .none)
        #expect(back.width == 7 && back.height == 5 && back.bitDepth == 8)
        for (a, b) in zip(back.pixels, gradient.pixels) { #expect(abs(a - b) <= 0.5 / 255 + 1e-6) }
    }

    @Test func sixteenBitRoundTripKeepsPrecision() throws {
        var deep = gradient
        deep.bitDepth = 16
        let back = try PNGCodec.decode(PNGCodec.encode(deep), limits: .none)
        #expect(back.bitDepth == 16)
        for (a, b) in zip(back.pixels, gradient.pixels) { #expect(abs(a - b) <= 0.5 / 65535 + 1e-6) }
    }

    @Test func fileRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("anatomix-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNGCodec.write(gradient, to: path)
        #expect(try PNGCodec.read(path: path, limits: .none).pixels.count == 35)
    }

    @Test func badInputsGiveClearErrors() throws {
        let notPNG = #expect(throws: ImagingError.self) { try PNGCodec.decode(Data("GIF89a....".utf8), name: "x.gif") }
        #expect(notPNG?.reason.contains("not a PNG") == true)
        let full = try PNGCodec.encode(GrayImage(width: 64, height: 64, pixels: (0..<4096).map { Float($0 % 13) / 13 }))
        let truncated = #expect(throws: ImagingError.self) { try PNGCodec.decode(full.prefix(full.count / 2), name: "half.png") }
        #expect(truncated?.path == "half.png")
        #expect(truncated?.reason.hasPrefix("cannot decode PNG data") == true)
        let missing = #expect(throws: ImagingError.self) { try PNGCodec.read(path: "/nonexistent.png") }
        #expect(missing?.reason.contains("cannot read the file") == true)
    }
}

@Suite struct PNGLimitTests {
    @Test func tooSmallAndTooLargeAreRejectedFromTheHeader() throws {
        let small = try PNGCodec.encode(GrayImage(width: 32, height: 80, pixels: [Float](repeating: 0.5, count: 32 * 80)))
        let error = #expect(throws: ImagingError.self) { try PNGCodec.decode(small, name: "small.png", limits: .init()) }
        #expect(error?.reason.contains("at least 64") == true)
        let ok = try PNGCodec.encode(GrayImage(width: 64, height: 64, pixels: [Float](repeating: 0.5, count: 64 * 64)))
        let pixels = #expect(throws: ImagingError.self) { try PNGCodec.decode(ok, limits: .init(minimumSide: 1, maximumPixels: 4000)) }
        #expect(pixels?.reason.contains("(4096 pixels); the limit is 4000 pixels") == true)
        #expect(try PNGCodec.decode(ok, limits: .init()).width == 64)
    }

    @Test func aLongThinImageIsRejectedBeforeItsPixelsAreDecoded() throws {
        // 64 x 20000 gray compresses to a few KB; without the limit it decodes to 1.3 M pixels.
        let thin = try PNGCodec.encode(GrayImage(width: 64, height: 20_000, pixels: [Float](repeating: 0.5, count: 64 * 20_000)))
        #expect(thin.count < 64 << 10)
        let error = #expect(throws: ImagingError.self) { try PNGCodec.decode(thin, name: "thin.png") }
        #expect(error?.reason.contains("aspect ratio 312.5:1") == true)
        let side = #expect(throws: ImagingError.self) { try PNGCodec.decode(thin, limits: .init(maximumSide: 10_000, maximumAspectRatio: 1000)) }
        #expect(side?.reason.contains("the longest side may be 10000 px") == true)
        #expect(try PNGCodec.decode(thin, limits: .init(maximumSide: 20_000, maximumAspectRatio: 1000)).height == 20_000)
        let bytes = #expect(throws: ImagingError.self) { try PNGCodec.decode(thin, limits: .init(maximumBytes: 1000)) }
        #expect(bytes?.reason.contains("the limit is 1000 bytes") == true)
    }

    @Test func overlaysEncodeThroughTheSameCodec() throws {
        var overlay = Overlay(GrayImage(width: 4, height: 3, pixels: [Float](repeating: 0.25, count: 12)))
        overlay.box([0, 0, 4, 3], color: (255, 0, 0))
        let back = try PNGCodec.decode(overlay.png(), limits: .none)    // read back as gray: red -> luminance
        #expect(back.width == 4 && back.height == 3)
        #expect(abs(back[1, 1] - 0.25) < 2 / 255 && abs(back[0, 0] - 0.25) > 0.1)   // the gray inside, the red box drawn
        #expect(throws: ImagingError.self) { try PNGCodec.encodeRGB([0, 0], width: 1, height: 1) }
    }
}
