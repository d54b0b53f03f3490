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
/// read and `parsed == false`.
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

    public init(_ raw: String, prompt: AnatomixPrompt, letterbox: Letterbox) {
        func groups(_ re: NSRegularExpression, _ s: String) -> [[String]] {
            let ns = s as NSString
            return re.matches(in: s, range: NSRange(location: 0, length: ns.length)).map { m in
                (0..<m.numberOfRanges).map { m.range(at: $0).location == NSNotFound ? "" : ns.substring(with: m.range(at: $0)) }
            }
        }
        func decode(_ locations: String) -> [Double] {
            let canvas = groups(Self.location, locations).map { prompt.dequantize(min(Int($0[1]) ?? 0, prompt.bins - 1), side: Double(letterbox.canvas)) }
            return letterbox.toOriginal(canvas).map { ($0 * 10).rounded() / 10 }
        }
        phrases = groups(Self.reference, raw).map { g in
            GroundedPhrase(phrase: g[1], boxes: groups(Self.box, g[2]).map { decode($0[1]) })
        }
        boxes = groups(Self.box, raw).map { decode($0[1]) }
        var readable = raw
        for g in groups(Self.box, raw) {
            let b = decode(g[1])
            readable = readable.replacingOccurrences(of: g[0], with: String(format: "(%.0f,%.0f),(%.0f,%.0f)", b[0], b[1], b[2], b[3]))
        }
        // well formed: every <ref> closed and followed by its boxes, no location or box markup left over
        let opened = raw.components(separatedBy: "<ref>").count - 1, closed = raw.components(separatedBy: "</ref>").count - 1
        let leftover = Self.stray.firstMatch(in: readable, range: NSRange(location: 0, length: (readable as NSString).length)) != nil
        parsed = !leftover && opened == closed && opened == phrases.count
        text = readable.replacingOccurrences(of: "<ref>", with: "").replacingOccurrences(of: "</ref>", with: "")
    }
}
