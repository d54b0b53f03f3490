import Foundation
import Testing
@testable import Imaging

@Suite struct OverlayTests {
    @Test func boxesAndTextAreDrawnAndEncoded() throws {
        var o = Overlay(GrayImage(width: 80, height: 40, pixels: [Float](repeating: 0.5, count: 3200)))
        o.box([10, 10, 30, 20], color: (255, 0, 0))
        #expect(o[10, 10] == (255, 0, 0) && o[29, 19] == (255, 0, 0) && o[20, 15] == (128, 128, 128))
        o.text("LUNG 1", x: 40, y: 2, color: (255, 255, 0))
        // 'L' has ink down its left column; the space between letters is the black backing
        #expect(o[40, 2] == (255, 255, 0) && o[45, 2] == (0, 0, 0))
        let png = try o.png()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    @Test func everyGlyphIsFiveBySeven() {
        for (ch, rows) in Font5x7.glyphs {
            #expect(rows.count == 7, "\(ch)")
            #expect(rows.allSatisfy { $0.count == 5 && $0.allSatisfy { $0 == "#" || $0 == "." } }, "\(ch)")
        }
    }
}
