public import Contracts
public import Foundation
public import Imaging

/// The picture of a study's result: the lungs and heart in blue, the abnormal regions (the six best
/// scored) in orange with "anatomy: finding score", and every answer's boxes in green with their
/// phrase or task name. `analyze --out` and `anatomix results --out` draw the same.
public enum StudyOverlay {
    public struct Region: Sendable {
        public let name: String, box: [Double], kinds: [String], score: Float?
        public init(name: String, box: [Double], kinds: [String], score: Float?) { (self.name, self.box, self.kinds, self.score) = (name, box, kinds, score) }
    }

    public static func png(picture: GrayImage, anatomies: [Region], tasks: [TaskAnswer]) throws -> Data {
        var overlay = Overlay(picture)
        let scale = max(1, picture.width / 512)
        for a in anatomies where a.name.contains("lung") && !a.name.contains("zone") || a.name == "cardiac silhouette" {
            overlay.box(a.box, color: (90, 180, 255), thickness: scale)
            overlay.text(a.name, x: Int(a.box[0]) + 2, y: Int(a.box[1]) + 2, color: (150, 210, 255), scale: scale)
        }
        let abnormal = anatomies.filter { !$0.kinds.isEmpty }.sorted { ($0.score ?? 0) > ($1.score ?? 0) }.prefix(6)
        for (row, a) in abnormal.enumerated() {
            overlay.box(a.box, color: (255, 140, 40), thickness: scale)
            let label = "\(a.name): \(a.kinds.joined(separator: ", ")) \(String(format: "%.2f", a.score ?? 0))"
            overlay.text(label, x: 4 * scale, y: picture.height - (row + 1) * 10 * scale - 4 * scale, color: (255, 170, 90), scale: scale)
        }
        for answer in tasks {
            let named = answer.phrases.flatMap { p in p.boxes.map { (p.phrase, $0) } }
            for (label, box) in named.isEmpty ? answer.boxes.map({ (answer.task, $0) }) : named where box.count == 4 {
                overlay.box(box, color: (80, 230, 120), thickness: 2 * scale)
                overlay.text(label, x: Int(box[0]) + 2, y: max(0, Int(box[3]) - 10 * scale), color: (120, 255, 150), scale: scale)
            }
        }
        return try overlay.png()
    }
}
