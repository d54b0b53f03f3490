import Testing
@testable import Imaging

@Suite struct LetterboxTests {
    @Test func boxesRoundTripThroughTheCanvas() {
        for (w, h) in [(400, 300), (300, 400), (512, 512), (2000, 1500)] {
            let lb = Letterbox(width: w, height: h, canvas: 256)
            let box: [Double] = [10, 20, Double(w) - 30, Double(h) - 5]
            let back = lb.toOriginal(lb.toCanvas(box))
            for (a, b) in zip(box, back) { #expect(abs(a - b) < 1e-9) }
        }
    }

    @Test func paddingIsCentred() {
        let lb = Letterbox(width: 400, height: 200, canvas: 100)
        #expect(lb.offset.x == 0 && lb.offset.y == 100 && lb.scale == 0.25)
        // the top padding band maps outside the image and is clipped
        #expect(lb.toOriginal([0, 0, 100, 100]) == [0, 0, 400, 200])
    }

    @Test func letterboxedImageKeepsContentAndZeroPadding() {
        let image = GrayImage(width: 64, height: 32, pixels: [Float](repeating: 1, count: 64 * 32))
        let out = Letterbox(width: 64, height: 32, canvas: 32).apply(image)
        #expect(out.width == 32 && out.height == 32)
        #expect(out[16, 2] == 0 && out[16, 29] == 0)          // padding rows
        #expect(abs(out[16, 16] - 1) < 1e-6)                   // content
        let total = out.pixels.reduce(0, +)
        #expect(abs(total - 32 * 16) < 1e-3)                   // area preserved: half the canvas is content
    }

    @Test func downsamplingAveragesAreas() {
        let pixels: [Float] = [0, 1, 0, 1, 0, 1, 0, 1]          // 8x1 stripes
        #expect(Resample.area(pixels, width: 8, height: 1, toWidth: 4, toHeight: 1) == [0.5, 0.5, 0.5, 0.5])
        #expect(Resample.area([0, 1], width: 2, height: 1, toWidth: 4, toHeight: 1) == [0, 0.25, 0.75, 1])
    }
}
