import Evaluation
import Foundation
import Imaging
import Pipeline

/// cases.png: the three best and three worst phrase-grounding answers of an eval run (by the
/// sample's IoU), each its study at 256 px with the true box(es) in green and the model's in red,
/// captioned with the phrase and the IoU.
enum EvalCases {
    static let tile = 256, caption = 24

    static func picture(samples: [TaskSample], studies: [ManifestStudy], root: URL, limits: PNGCodec.Limits) throws -> Data {
        precondition(samples.count == studies.count, "one study per sample")
        let ranked = samples.indices.sorted { GroundingTaskMetrics.sampleIoU(samples[$0]) > GroundingTaskMetrics.sampleIoU(samples[$1]) }
        let best = Array(ranked.prefix(3)), worst = Array(ranked.suffix(min(3, max(0, ranked.count - best.count))).reversed())
        let rows = [best, worst].filter { !$0.isEmpty }
        let width = 3 * tile, height = rows.count * (tile + caption)
        var canvas = GrayImage(width: width, height: height, pixels: [Float](repeating: 0, count: width * height))
        var placed = [(index: Int, x: Int, y: Int, scale: Double)]()
        for (r, row) in rows.enumerated() {
            for (c, i) in row.enumerated() {
                let image = try PNGCodec.read(path: root.appendingPathComponent(studies[i].image).path, limits: limits)
                let scale = Double(tile) / Double(max(image.width, image.height))
                let (x0, y0) = (c * tile, r * (tile + caption) + caption)
                for y in 0..<tile {
                    for x in 0..<tile {
                        let (sx, sy) = (Int(Double(x) / scale), Int(Double(y) / scale))
                        guard sx < image.width, sy < image.height else { continue }
                        canvas.pixels[(y0 + y) * width + x0 + x] = image[sx, sy]
                    }
                }
                placed.append((i, x0, y0, scale))
            }
        }
        var overlay = Overlay(canvas)
        for p in placed {
            let s = samples[p.index]
            func drawn(_ b: [Double]) -> [Double]? {
                guard b.count == 4, b.allSatisfy(\.isFinite) else { return nil }
                return b.enumerated().map { k, v in (k % 2 == 0 ? Double(p.x) : Double(p.y)) + min(max(v * p.scale, 0), Double(tile)) }
            }
            for t in TextMetrics.pixelBoxes(s.truth) { if let b = drawn([t.x1, t.y1, t.x2, t.y2]) { overlay.box(b, color: (40, 220, 60), thickness: 2) } }
            for b in s.boxes { if let b = drawn(b) { overlay.box(b, color: (235, 50, 40)) } }
            let phrase = GroundingTaskMetrics.referencePhrase(s.truth) ?? s.instruction
            let label = String(format: "IoU %.2f ", GroundingTaskMetrics.sampleIoU(s)) + String(phrase.prefix(30))
            overlay.text(label, x: p.x + 3, y: p.y - caption + 8, color: (255, 255, 255))
        }
        return try overlay.png()
    }
}
