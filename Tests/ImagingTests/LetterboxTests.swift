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

    @Test func oddPaddingPlacesTheImageAsComputedByHand() {
        // 4x1 onto a 2x2 canvas: square side 4, 1 padding row above and 2 below (the odd one at the
        // bottom); canvas row 0 = half image row + half padding, averaged in pairs: (1+2)/4, (3+4)/4.
        let out = Letterbox(width: 4, height: 1, canvas: 2).apply(GrayImage(width: 4, height: 1, pixels: [1, 2, 3, 4]))
        #expect(out.pixels == [0.75, 1.75, 0, 0])
        // 1x4 onto 2x2: the same, transposed: padding column 1 left, 2 right
        let tall = Letterbox(width: 1, height: 4, canvas: 2).apply(GrayImage(width: 1, height: 4, pixels: [1, 2, 3, 4]))
        #expect(tall.pixels == [0.75, 0, 1.75, 0])
        // 3x1 onto 3x3: no resampling, the row lands in the middle
        let same = Letterbox(width: 3, height: 1, canvas: 3).apply(GrayImage(width: 3, height: 1, pixels: [0.1, 0.2, 0.3]))
        #expect(same.pixels == [0, 0, 0, 0.1, 0.2, 0.3, 0, 0, 0])
    }

    @Test func resamplingFromTheImageEqualsPaddingThenResampling() {
        for (w, h, canvas) in [(7, 4, 5), (4, 7, 5), (33, 64, 16), (64, 33, 48), (5, 5, 9), (300, 17, 64)] {
            let pixels = (0..<(w * h)).map { Float(($0 * 7919) % 101) / 100 }
            let lb = Letterbox(width: w, height: h, canvas: canvas)
            var square = [Float](repeating: 0, count: lb.side * lb.side)
            let (px, py) = (Int(lb.offset.x), Int(lb.offset.y))
            for y in 0..<h { for x in 0..<w { square[(y + py) * lb.side + x + px] = pixels[y * w + x] } }
            let reference = Resample.area(square, width: lb.side, height: lb.side, toWidth: canvas, toHeight: canvas)
            #expect(lb.apply(GrayImage(width: w, height: h, pixels: pixels)).pixels == reference, "\(w)x\(h) -> \(canvas)")
        }
    }
}
