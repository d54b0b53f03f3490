import Foundation

/// CheXpert-14 F1 of generated against reference reports, both labeled by `ReportLabeler`. A label
/// counts as positive when the labeler finds it present or uncertain (CheXpert's "uncertain" read
/// as positive, the U-ones convention). Micro F1 pools every label of every pair; `microF1Findings`
/// pools the 13 labels without No Finding (so reports that state no pathology score nothing for it,
/// where they agree perfectly on No Finding; 0 when neither side has a finding at all); macro F1 is
/// the mean per-label F1 over the labels with at least one positive on either side; `perSample` is
/// each pair's F1 over its own 14 labels (1 when neither report has a positive), `mean` their mean.
public struct CheXpertF1: Codable, Sendable, Equatable {
    public var microF1: Double
    public var microF1Findings: Double
    public var macroF1: Double
    public var perLabelF1: [String: Double]
    public var perSample: [Double]
    public var mean: Double
    public var n: Int

    enum CodingKeys: String, CodingKey {
        case microF1 = "micro_f1", microF1Findings = "micro_f1_findings", macroF1 = "macro_f1", perLabelF1 = "per_label_f1"
        case perSample = "per_sample", mean, n
    }
}

/// The finding-anatomy-side F1 (a rule-based stand-in for graph-based report F1s): per pair, the F1
/// of the generated report's `FindingTuple` set against the reference's (1 when both are empty),
/// their mean, and the micro F1 over all tuples of all pairs.
public struct FindingTupleF1: Codable, Sendable, Equatable {
    public var perSample: [Double]
    public var mean: Double
    public var microF1: Double
    public var n: Int

    enum CodingKeys: String, CodingKey { case perSample = "per_sample", mean, microF1 = "micro_f1", n }
}

/// What one sentence states: a finding (its CheXpert label), an anatomy named in the finding's clause
/// (nil: none), the finding's side, and whether it is stated present (present or uncertain).
public struct FindingTuple: Codable, Sendable, Hashable {
    public let finding: String
    public let anatomy: String?
    public let side: LabelSide?
    public let present: Bool
}

/// Clinical-content metrics of generated reports: CheXpert-14 F1 and `findingTupleF1`.
public struct ClinicalMetrics: Sendable {
    public let labeler: ReportLabeler
    public let lexicon: AnatomyLexicon

    /// `anatomyNames`: the anatomies tuples may name (the 36 of Schemas/anatomies.v1.json).
    public init(anatomyNames: [String], labeler: ReportLabeler = ReportLabeler()) {
        (self.labeler, self.lexicon) = (labeler, AnatomyLexicon(names: anatomyNames))
    }

    public func chexpertF1(generated: [String], references: [String]) -> CheXpertF1 {
        precondition(generated.count == references.count, "\(generated.count) generated reports for \(references.count) references")
        var pooled = [CheXpertLabel: LabelAgreement](), perSample: [Double] = []
        for (g, r) in zip(generated, references) {
            let p = labeler.label(g).positives, t = labeler.label(r).positives
            var sample = LabelAgreement()
            for label in CheXpertLabel.allCases {
                var row = pooled[label] ?? LabelAgreement()
                switch (p.contains(label), t.contains(label)) {
                case (true, true): row.truePositives += 1; sample.truePositives += 1
                case (true, false): row.falsePositives += 1; sample.falsePositives += 1
                case (false, true): row.falseNegatives += 1; sample.falseNegatives += 1
                case (false, false): break
                }
                pooled[label] = row
            }
            perSample.append(sample.truePositives + sample.falsePositives + sample.falseNegatives == 0 ? 1 : sample.f1)
        }
        let rows = CheXpertLabel.allCases.compactMap { label in pooled[label].map { (label, $0) } }
            .filter { $0.1.truePositives + $0.1.falsePositives + $0.1.falseNegatives > 0 }
        let micro = rows.map(\.1).reduce(LabelAgreement(), +)
        let findings = rows.filter { $0.0 != .noFinding }.map(\.1).reduce(LabelAgreement(), +)
        return CheXpertF1(microF1: micro.f1, microF1Findings: findings.f1,
                          macroF1: rows.isEmpty ? 0 : rows.map(\.1.f1).reduce(0, +) / Double(rows.count),
                          perLabelF1: Dictionary(uniqueKeysWithValues: rows.map { ($0.0.rawValue, $0.1.f1) }),
                          perSample: perSample, mean: Self.mean(perSample), n: perSample.count)
    }

    public func findingTupleF1(generated: [String], references: [String]) -> FindingTupleF1 {
        precondition(generated.count == references.count, "\(generated.count) generated reports for \(references.count) references")
        var perSample: [Double] = [], pooled = LabelAgreement()
        for (g, r) in zip(generated, references) {
            let p = findingTuples(g), t = findingTuples(r)
            let overlap = p.intersection(t).count
            pooled = pooled + LabelAgreement(truePositives: overlap, falsePositives: p.count - overlap, falseNegatives: t.count - overlap)
            perSample.append(p.isEmpty && t.isEmpty ? 1 : 2 * Double(overlap) / Double(p.count + t.count))
        }
        return FindingTupleF1(perSample: perSample, mean: Self.mean(perSample), microF1: pooled.f1, n: perSample.count)
    }

    /// The (finding, anatomy, side, present) tuples of every sentence of `report`. The anatomies are
    /// those named in the mention's clause (`LabelMention.clause`: the sentence cut at commas, ';',
    /// ':', parentheses, "and", "with", "but", "while", "which"), so "right lower lobe consolidation
    /// and left upper lobe atelectasis" gives the tuples of its two sentences "Right lower lobe
    /// consolidation. Left upper lobe atelectasis."; a mention whose clause names no anatomy gives one
    /// tuple with `anatomy` nil.
    public func findingTuples(_ report: String) -> Set<FindingTuple> {
        let sentences = labeler.sentences(of: report).map { $0 as NSString }
        var tuples = Set<FindingTuple>()
        for m in labeler.mentions(in: report) {
            let clause = sentences[m.sentence].substring(with: NSRange(location: m.clause.lowerBound, length: m.clause.count))
            let anatomies = lexicon.anatomies(in: clause, side: m.side)
            for anatomy in anatomies.isEmpty ? [nil] : anatomies.map(Optional.some) {
                tuples.insert(FindingTuple(finding: m.label.rawValue, anatomy: anatomy, side: m.side, present: m.state.isPositive))
            }
        }
        return tuples
    }

    static func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
}

/// Finds anatomy names and their common synonyms in a (lower-case) sentence. The names come from
/// the caller; a lateral name ("left lower lung zone") is its side plus a core ("lower lung zone"),
/// and the synonyms below are per core, so "right base", "right lower lobe" and "right basilar" all
/// name the right lower lung zone. A core found without a side word in the three words before it
/// takes the side the synonym implies ("lingula": left; "bibasilar", "apices": both), else both
/// sides when plural, else the finding's side; a midline name with the same core wins when no side
/// is stated at all.
public struct AnatomyLexicon: Sendable {
    /// Common synonyms per core, with the side a synonym implies.
    static let synonyms: [String: [(text: String, side: LabelSide?)]] = [
        "lung": [("lung", nil), ("hemithorax", nil)],
        "upper lung zone": [("upper lobe", nil), ("upper lung", nil), ("upper zone", nil)],
        "mid lung zone": [("middle lobe", nil), ("mid lung", nil), ("midlung", nil), ("mid zone", nil), ("lingula", .left), ("lingular", .left)],
        "lower lung zone": [("lower lobe", nil), ("lower lung", nil), ("lung base", nil), ("base", nil), ("basilar", nil), ("basal", nil),
                            ("bibasilar", .bilateral), ("bibasal", .bilateral), ("bases", .bilateral)],
        "apical zone": [("apex", nil), ("apical", nil), ("apices", .bilateral), ("biapical", .bilateral)],
        "hilar structures": [("hilum", nil), ("hilar", nil), ("perihilar", nil), ("hila", .bilateral), ("bihilar", .bilateral)],
        "cardiac silhouette": [("heart", nil), ("cardiac", nil)],
        "mediastinum": [("mediastinal", nil)],
        "upper mediastinum": [("superior mediastinum", nil), ("paratracheal", nil)],
        "hemidiaphragm": [("diaphragm", nil)],
        "costophrenic angle": [("costophrenic", nil), ("costophrenic sulcus", nil), ("costophrenic recess", nil)],
        "cardiophrenic angle": [("cardiophrenic", nil)],
        "clavicle": [("clavicular", nil)],
        "spine": [("spinal", nil), ("vertebra", nil), ("vertebrae", nil), ("vertebral", nil)],
        "aortic arch": [("aortic knob", nil)],
        "descending aorta": [("descending thoracic aorta", nil)],
        "svc": [("superior vena cava", nil)],
        "cavoatrial junction": [("cavoatrial", nil), ("caval atrial junction", nil), ("caval-atrial junction", nil)],
        "trachea": [("tracheal", nil)],
        "atrium": [("atrial", nil)],
        "abdomen": [("abdominal", nil)],
        "upper abdomen": [("upper abdominal", nil), ("upper quadrant", nil)],
    ]

    struct Core: Sendable {
        let pattern: NSRegularExpression
        let alternatives: Set<String>           // the core and its synonyms, singular
        let implied: [String: LabelSide]        // synonym -> the side it implies
        let midline: String?
        let lateral: [LabelSide: String]
    }

    let cores: [Core]
    let sideBefore = Pattern([#"\b(?:left|right|bilateral\w*|both)\b"#])

    public init(names: [String]) {
        var byCore: [String: (midline: String?, lateral: [LabelSide: String])] = [:]
        for name in names {
            let lower = name.lowercased()
            for (prefix, side) in [("left ", LabelSide.left), ("right ", .right)] where lower.hasPrefix(prefix) {
                byCore[String(lower.dropFirst(prefix.count)), default: (nil, [:])].lateral[side] = name
            }
            if !lower.hasPrefix("left "), !lower.hasPrefix("right ") { byCore[lower, default: (nil, [:])].midline = name }
        }
        cores = byCore.sorted { $0.key < $1.key }.map { core, names in
            let alternatives = [(core, nil)] + (Self.synonyms[core] ?? [])
            let source = alternatives.map { NSRegularExpression.escapedPattern(for: $0.0) }.sorted { $0.count > $1.count }.joined(separator: "|")
            let implied = Dictionary(alternatives.compactMap { a in a.1.map { (a.0, $0) } }, uniquingKeysWith: { a, _ in a })
            guard let re = try? NSRegularExpression(pattern: "\\b(?:\(source))(?:s|es)?\\b") else {
                preconditionFailure("anatomy pattern for \(core) does not compile")   // escaped literals
            }
            return Core(pattern: re, alternatives: Set(alternatives.map(\.0)), implied: implied, midline: names.midline, lateral: names.lateral)
        }
    }

    /// The anatomy names `sentence` names; `side` is the finding's side, for cores named without one.
    public func anatomies(in sentence: String, side: LabelSide?) -> [String] {
        let text = sentence as NSString
        var found: [String] = []
        for core in cores {
            for match in core.pattern.matches(in: sentence, range: NSRange(location: 0, length: text.length)) {
                let word = text.substring(with: match.range)
                let plural = !core.alternatives.contains(word)   // the pattern took an "s" or "es"
                let own = statedSide(before: match.range.location, in: text) ?? core.implied[word] ?? (plural ? .bilateral : nil)
                if own == nil, let midline = core.midline {
                    found.append(midline)
                    continue
                }
                switch own ?? side {
                case .left?: found += [core.lateral[.left]].compactMap { $0 }
                case .right?: found += [core.lateral[.right]].compactMap { $0 }
                case .bilateral?: found += [core.lateral[.left], core.lateral[.right]].compactMap { $0 }
                case nil: break
                }
            }
        }
        return Array(Set(found)).sorted()
    }

    /// The side word among the three words before `location`, within its clause.
    func statedSide(before location: Int, in text: NSString) -> LabelSide? {
        let before = text.substring(to: location)
        let clause = before.split(omittingEmptySubsequences: false, whereSeparator: { ",;:()".contains($0) }).last.map(String.init) ?? ""
        let words = clause.split(whereSeparator: { $0 == " " || $0 == "-" }).suffix(3).joined(separator: " ")
        return sideBefore.ranges(in: words as NSString).last.map { r in
            let w = (words as NSString).substring(with: r)
            return w == "left" ? .left : w == "right" ? .right : .bilateral
        }
    }
}
