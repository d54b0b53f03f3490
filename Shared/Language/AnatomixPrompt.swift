import Foundation
public import Imaging

/// The compact AnatomiX prompt, twin of `Training/anatomix/prompt.py` (the layout is documented
/// there and in Schemas/prompt.v1.json):
///
///     <|user|><image_start><image>x17<image_end>
///     <obj_i><loc_x1><loc_y1><loc_x2><loc_y2>[ kind, kind]   for i in 0..<36, then "\n"
///     {instruction}<|end|><|assistant|>
///
/// A coordinate on the letterboxed canvas is one of `bins` location tokens; boxes written
/// `<box>(x1,y1),(x2,y2)</box>` in original pixels become `<box><loc_.>x4</box>`.
public struct AnatomixPrompt: Sendable {
    public let imageTokens: Int
    public let bins: Int

    public init(imageTokens: Int = 17, bins: Int = 128) {
        (self.imageTokens, self.bins) = (imageTokens, bins)
    }

    public func quantize(_ value: Double, side: Double) -> Int {
        min(max(Int((value / side * Double(bins)).rounded(.down)), 0), bins - 1)
    }

    public func dequantize(_ index: Int, side: Double) -> Double { (Double(index) + 0.5) / Double(bins) * side }

    /// `[x1, y1, x2, y2]` on the canvas -> four location tokens.
    public func locationTokens(_ canvasBox: [Double], side: Double) -> String {
        canvasBox.map { "<loc_\(quantize($0, side: side))>" }.joined()
    }

    /// What every task of a study shares: image placeholders and the 36 anatomy entries.
    public func studyText(canvasBoxes: [[Double]], findings: [[String]], side: Double) -> String {
        var text = "<|user|><image_start>" + String(repeating: "<image>", count: imageTokens) + "<image_end>"
        for (i, box) in canvasBoxes.enumerated() {
            text += "<obj_\(i)>" + locationTokens(box, side: side)
            if i < findings.count, !findings[i].isEmpty { text += " " + findings[i].joined(separator: ", ") }
        }
        return text + "\n"
    }

    /// The ablation's study text: image placeholders only.
    public func globalStudyText() -> String {
        "<|user|><image_start>" + String(repeating: "<image>", count: imageTokens) + "<image_end>\n"
    }

    public func questionText(_ instruction: String) -> String { instruction + "<|end|><|assistant|>" }

    public static let answerEnd = "<|end|>"

    static let pixelBox = try! NSRegularExpression(       // a constant pattern (tested)
        pattern: #"<box>\((-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)\),\((-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)\)</box>"#)

    /// Every `<box>(x1,y1),(x2,y2)</box>` (original pixels) in `text` -> `<box><loc_.>x4</box>`.
    public func compactBoxes(_ text: String, letterbox: Letterbox) -> String {
        let ns = text as NSString
        var out = "", last = 0
        for m in Self.pixelBox.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            out += ns.substring(with: NSRange(location: last, length: m.range.location - last))
            let values = (1...4).map { Double(ns.substring(with: m.range(at: $0))) ?? 0 }
            out += "<box>" + locationTokens(letterbox.toCanvas(values), side: Double(letterbox.canvas)) + "</box>"
            last = m.range.location + m.range.length
        }
        return out + ns.substring(from: last)
    }

    /// A box given by a user in original pixels, as the prompt writes it.
    public func boxText(_ box: [Double], letterbox: Letterbox) -> String {
        "<box>" + locationTokens(letterbox.toCanvas(box), side: Double(letterbox.canvas)) + "</box>"
    }
}
