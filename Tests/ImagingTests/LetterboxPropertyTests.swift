import PropertyBased
import Testing
@testable import Imaging

/// Properties of the letterbox over random image shapes and canvases (swift-property-based: on a
/// failure it shrinks to the smallest shape that breaks and prints a seed to replay it).
@Suite struct LetterboxPropertyTests {
    static let side = Gen.int(in: 1...6000), canvas = Gen.int(in: 8...1024), unit = Gen.double(in: 0...1)

    @Test func boxesRoundTripAndStayOnTheCanvas() async {
        await propertyCheck(count: 300, input: Self.side, Self.side, Self.canvas, Self.unit, Self.unit) { w, h, canvas, u, v in
            let lb = Letterbox(width: w, height: h, canvas: canvas)
            let box = [u * Double(w) / 2, v * Double(h) / 2, Double(w) * (0.5 + u / 2), Double(h) * (0.5 + v / 2)]
            for (a, b) in zip(box, lb.toOriginal(lb.toCanvas(box))) { #expect(abs(a - b) <= 1e-9 * Double(max(w, h)), "\(w)x\(h) -> \(canvas)") }
            let corners = lb.toCanvas([0, 0, Double(w), Double(h)])
            #expect(corners.allSatisfy { $0 >= -1e-9 && $0 <= Double(canvas) + 1e-9 }, "\(w)x\(h) -> \(canvas): \(corners)")
            // the image is centred: equal padding either side, up to the odd pixel
            let (left, right) = (corners[0], Double(canvas) - corners[2]), (top, bottom) = (corners[1], Double(canvas) - corners[3])
            #expect(abs(left - right) <= lb.scale + 1e-9 && abs(top - bottom) <= lb.scale + 1e-9)
        }
    }

    @Test func downsamplingKeepsTheImageMass() async {
        await propertyCheck(count: 150, input: Gen.int(in: 1...96), Gen.int(in: 1...96), Gen.int(in: 4...64)) { w, h, canvas in
            let lb = Letterbox(width: w, height: h, canvas: canvas)
            guard lb.side >= canvas else { return }                      // area averaging (upsampling interpolates)
            let pixels = (0..<(w * h)).map { Float(($0 * 7919 + w * 31 + h) % 97) / 96 }
            let out = lb.apply(GrayImage(width: w, height: h, pixels: pixels))
            let mass = Double(pixels.reduce(0, +)) * lb.scale * lb.scale
            #expect(abs(Double(out.pixels.reduce(0, +)) - mass) <= 1e-4 * max(mass, 1), "\(w)x\(h) -> \(canvas)")
            #expect(out.pixels.allSatisfy { $0 >= 0 && $0 <= 1 + 1e-6 })
        }
    }
}
