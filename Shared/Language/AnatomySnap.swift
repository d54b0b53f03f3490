import Foundation

/// Stage one's box for a structure the answer names. The language model grounds an anatomy by
/// writing the location tokens of that structure's prompt entry; it copies them inexactly (held-out
/// anatomy-grounding IoU 0.72 against 0.87 for the prompt's own boxes). Where an answer's `<ref>`
/// phrase is an anatomy's name and its box overlaps that anatomy's stage-one box at `minimumIoU` or
/// more, the answer takes the stage-one box. The language model still decides both the structure (by
/// name) and where it is (by overlap): a box written on the other side, or one that overlaps the named
/// anatomy's box less than `minimumIoU`, is left as written. Neighbouring structures can overlap that
/// much (right hemidiaphragm and right lower lung zone about 0.8), so a box drawn over a neighbour but
/// named as this anatomy takes this anatomy's box: the name decides.
public struct AnatomySnap: Sendable {
    /// Lower-cased names (catalog and display) -> anatomy index.
    public let indices: [String: Int]
    public let minimumIoU: Double

    public init(names: [[String]], minimumIoU: Double) {
        var indices = [String: Int]()
        for (i, list) in names.enumerated() {
            for name in list where indices[name.lowercased()] == nil { indices[name.lowercased()] = i }      // the first anatomy with a name keeps it
        }
        (self.indices, self.minimumIoU) = (indices, minimumIoU)
    }

    /// `box` (original pixels) for `phrase`, or stage one's box for the anatomy it names (`anatomyBoxes`,
    /// original pixels, by index) when the two overlap enough.
    public func snapped(_ box: [Double], phrase: String?, anatomyBoxes: [[Double]]) -> [Double] {
        guard let phrase, let i = indices[phrase.trimmingCharacters(in: .whitespaces).lowercased()], i < anatomyBoxes.count,
              Self.iou(box, anatomyBoxes[i]) >= minimumIoU else { return box }
        return anatomyBoxes[i].map { ($0 * 10).rounded() / 10 }
    }

    static func iou(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == 4, b.count == 4 else { return 0 }
        let w = max(0, min(a[2], b[2]) - max(a[0], b[0])), h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return union > 0 ? w * h / union : 0
    }
}
