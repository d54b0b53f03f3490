import Foundation
import Testing
@testable import Imaging

@Suite struct PNGCodecTests {
    let gradient = GrayImage(width: 7, height: 5, pixels: (0..<35).map { Float($0) / 34 })

    @Test func eightBitRoundTrip() throws {
        let back = try PNGCodec.decode(PNGCodec.encode(gradient))
        #expect(back.width == 7 && back.height == 5 && back.bitDepth == 8)
        for (a, b) in zip(back.pixels, gradient.pixels) { #expect(abs(a - b) <= 0.5 / 255 + 1e-6) }
    }

    @Test func sixteenBitRoundTripKeepsPrecision() throws {
        var deep = gradient
        deep.bitDepth = 16
        let back = try PNGCodec.decode(PNGCodec.encode(deep))
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
        #expect(throws: ImagingError.self) { try PNGCodec.read(path: "/nonexistent.png") }
    }
}

@Suite struct PNGLimitTests {
    @Test func tooSmallAndTooLargeAreRejectedFromTheHeader() throws {
        let small = try PNGCodec.encode(GrayImage(width: 32, height: 80, pixels: [Float](repeating: 0.5, count: 32 * 80)))
        let error = #expect(throws: ImagingError.self) { try PNGCodec.decode(small, name: "small.png", limits: .init()) }
        #expect(error?.reason.contains("at least 64") == true)
        let ok = try PNGCodec.encode(GrayImage(width: 64, height: 64, pixels: [Float](repeating: 0.5, count: 64 * 64)))
        #expect(throws: ImagingError.self) { try PNGCodec.decode(ok, limits: .init(minimumSide: 1, maximumPixels: 4000)) }
        #expect(try PNGCodec.decode(ok, limits: .init()).width == 64)
    }
}
