import Foundation
public import Imaging

/// A phrase the answer grounds and its boxes (original pixels, `[x1, y1, x2, y2]`).
public struct GroundedPhrase: Codable, Sendable, Equatable {
    public let phrase: String
    public let boxes: [[Double]]
}

/// A generated answer taken apart: readable text (boxes as `(x1,y1),(x2,y2)` in original pixels),
/// the `<ref>phrase</ref><box>…</box>` pairs, every box, and whether the markup was well formed.
/// Twin of `prompt.parse_boxes`; it never fails: malformed output gives its text, the boxes it could
/// read and `parsed == false`. `refine(phrase, box)` may replace each decoded box (original pixels;
/// `phrase` is its `<ref>` phrase, nil for a box outside one), in the text as well; a replacement that is
/// not four finite numbers is ignored.
public struct ParsedAnswer: Codable, Sendable, Equatable {
    public let text: String
    public let phrases: [GroundedPhrase]
    public let boxes: [[Double]]
    public let parsed: Bool

    static let location = try! NSRegularExpression(pattern: #"<loc_(\d+)>"#)               // constant patterns (tested)
    static let box = try! NSRegularExpression(pattern: #"<box>((?:<loc_\d+>){4})</box>"#)
    static let reference = try! NSRegularExpression(pattern: #"<ref>(.*?)</ref>[^<]*((?:<box>(?:<loc_\d+>){4}</box>)+)"#,
                                                    options: [.dotMatchesLineSeparators])
    static let stray = try! NSRegularExpression(pattern: #"<box>|</box>|<loc_\d+>|<obj_\d+>|<image[a-z_]*>|<emb>|</emb>|<\|[a-z]+\|>|<s>|</s>|<pad>"#)

    public init(_ raw: String, prompt: AnatomixPrompt, letterbox: Letterbox,
                refine: (_ phrase: String?, _ box: [Double]) -> [Double] = { $1 }) {
        func matches(_ re: NSRegularExpression, _ s: String) -> [NSTextCheckingResult] {
            re.matches(in: s, range: NSRange(location: 0, length: (s as NSString).length))
        }
        func groups(_ re: NSRegularExpression, _ s: String) -> [[String]] {
            let ns = s as NSString
            return matches(re, s).map { m in
                (0..<m.numberOfRanges).map { m.range(at: $0).location == NSNotFound ? "" : ns.substring(with: m.range(at: $0)) }
            }
        }
        func decode(_ locations: String) -> [Double] {
            let canvas = groups(Self.location, locations).map { prompt.dequantize(min(Int($0[1]) ?? 0, prompt.bins - 1), side: Double(letterbox.canvas)) }
            return letterbox.toOriginal(canvas).map { ($0 * 10).rounded() / 10 }
        }
        let ns = raw as NSString
        let references = matches(Self.reference, raw).map { (phrase: ns.substring(with: $0.range(at: 1)), boxes: $0.range(at: 2)) }
        let located = matches(Self.box, raw).map { m in
            let owner = references.first { NSLocationInRange(m.range.location, $0.boxes) }
            let written = decode(ns.substring(with: m.range(at: 1))), refined = refine(owner?.phrase, written)
            return (range: m.range, phrase: owner?.phrase, box: refined.count == 4 && refined.allSatisfy(\.isFinite) ? refined : written)
        }
        phrases = references.map { r in
            GroundedPhrase(phrase: r.phrase, boxes: located.filter { NSLocationInRange($0.range.location, r.boxes) }.map(\.box))
        }
        boxes = located.map(\.box)
        var readable = "", last = 0
        for l in located {
            readable += ns.substring(with: NSRange(location: last, length: l.range.location - last))
            readable += String(format: "(%.0f,%.0f),(%.0f,%.0f)", l.box[0], l.box[1], l.box[2], l.box[3])
            last = l.range.location + l.range.length
        }
        readable += ns.substring(from: last)
        // well formed: every <ref> closed and followed by its boxes, no location or box markup left over
        let opened = raw.components(separatedBy: "<ref>").count - 1, closed = raw.components(separatedBy: "</ref>").count - 1
        let leftover = Self.stray.firstMatch(in: readable, range: NSRange(location: 0, length: (readable as NSString).length)) != nil
        parsed = !leftover && opened == closed && opened == phrases.count
        text = readable.replacingOccurrences(of: "<ref>", with: "").replacingOccurrences(of: "</ref>", with: "")
    }
}
