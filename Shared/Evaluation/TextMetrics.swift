import Foundation

/// Text overlap metrics on word tokens (lower-cased, non-alphanumerics as separators, as the
/// `rouge-score` package tokenizes without stemming).
public enum TextMetrics {
    /// rouge-score 0.1.2's tokenizer: lower-case, then every run of characters outside [a-z0-9]
    /// separates tokens, so accented and other non-ASCII letters split words ("effusión" -> "effusi", "n").
    public static func words(_ text: String) -> [String] {
        text.lowercased().unicodeScalars
            .split { !(("a"..."z").contains($0) || ("0"..."9").contains($0)) }
            .map { String(String.UnicodeScalarView($0)) }
    }

    /// ROUGE-L F1: the longest common subsequence's precision and recall, harmonic mean.
    public static func rougeL(_ candidate: String, _ reference: String) -> Double {
        let c = words(candidate), r = words(reference)
        guard !c.isEmpty, !r.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: r.count + 1), current = previous
        for i in 1...c.count {
            for j in 1...r.count {
                current[j] = c[i - 1] == r[j - 1] ? previous[j - 1] + 1 : max(previous[j], current[j - 1])
            }
            swap(&previous, &current)
        }
        let lcs = Double(previous[r.count])
        guard lcs > 0 else { return 0 }
        let precision = lcs / Double(c.count), recall = lcs / Double(r.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// A closed-ended answer as compared: lower case, without surrounding punctuation and spaces.
    public static func normalizedAnswer(_ text: String) -> String {
        text.lowercased().trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
    }

    /// Comma-separated labels of an image-understanding answer ("Edema, Pleural Effusion.").
    public static func labelSet(_ text: String) -> Set<String> {
        Set(text.split(separator: ",").map { normalizedAnswer(String($0)) }.filter { !$0.isEmpty })
    }

    /// Boxes written `<box>(x1,y1),(x2,y2)</box>` (ground-truth answers), in the order given.
    public static func pixelBoxes(_ text: String) -> [Box] {
        let pattern = #"<box>\((-?[\d.]+),(-?[\d.]+)\),\((-?[\d.]+),(-?[\d.]+)\)</box>"#
        guard let re = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = text as NSString
        return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).compactMap { m in
            Box((1...4).compactMap { Double(ns.substring(with: m.range(at: $0))) })
        }
    }
}

/// Whether a report states a finding (positive, not negated), and on which side, by keyword rules
/// per finding kind (the generator's report vocabulary; [8/9] brings the full CheXpert-style labeler).
public enum FindingMentions {
    static let patterns: [String: String] = [
        "nodule": #"\bnodul"#, "mass": #"\bmass\b"#, "consolidation": #"consolidat|pneumonia|airspace disease"#,
        "opacity": #"opacit"#, "atelectasis": #"atelecta"#, "pleural effusion": #"effusion"#,
        "pneumothorax": #"pneumothora"#, "pleural thickening": #"pleural thickening"#,
        "cardiomegaly": #"cardiomegaly|heart (size )?is (mildly |moderately |markedly )?enlarged|enlarged (cardiac|heart)"#,
        "widened mediastinum": #"widen\w* (of the )?mediastin|mediastin\w* (is )?(widen|enlarg|prominent)"#,
        "edema": #"edema|vascular congestion"#, "rib fracture": #"fracture"#,
        "endotracheal tube": #"endotracheal"#, "central venous catheter": #"central venous|\bpicc\b|venous catheter|central line"#,
        "pacemaker": #"pacemaker|pacer\b|cardiac (device|generator)"#,
    ]
    static let negation = try! NSRegularExpression(pattern: #"\b(no|without|negative for|free of|resolved|not)\b"#)   // constant

    public static var kinds: [String] { patterns.keys.sorted() }

    /// The sentences of `report` that state `kind` positively.
    public static func sentences(stating kind: String, in report: String) -> [String] {
        guard let source = patterns[kind], let re = try? NSRegularExpression(pattern: source) else { return [] }
        return report.lowercased().split(whereSeparator: { ".\n".contains($0) }).map(String.init).filter { sentence in
            let ns = sentence as NSString
            guard let m = re.firstMatch(in: sentence, range: NSRange(location: 0, length: ns.length)) else { return false }
            let before = ns.substring(to: m.range.location)
            return negation.firstMatch(in: before, range: NSRange(location: 0, length: (before as NSString).length)) == nil
        }
    }

    /// Whether `report` states `kind` with `side` ("left", "right", "bilateral" or nil: any side).
    public static func states(_ kind: String, side: String?, in report: String) -> Bool {
        let found = sentences(stating: kind, in: report)
        guard let side, side == "left" || side == "right" else { return !found.isEmpty }
        let other = side == "left" ? "right" : "left"
        return found.contains { $0.contains(side) && !$0.contains(other) }
    }
}
