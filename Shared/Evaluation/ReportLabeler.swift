import Foundation

// A CheXpert-style rule labeler for chest X-ray reports. Conventions:
// - Sentences: the lower-cased report is split after '.', '?' or '!' followed by white space (so
//   "3.5 cm" stays whole) and at line breaks; "right and left"/"left and right" read "bilateral".
// - Mentions: per label, the patterns of ReportLabeler+Rules.swift. A match inside an excluded
//   phrase ("pericardial effusion") is no mention. A "fixed" phrase sets the state whatever the
//   context ("heart size is normal": Cardiomegaly absent; "borderline heart size": uncertain).
// - State of a mention: a trigger before it (or after it, with the "after" lists) reaches it unless
//   a scope breaker (but, however, although, which, except, ';', "there is", ...) lies between
//   them, and an uncertainty trigger after it also stops at a comma ("opacity, atelectasis or
//   scar": the opacity stays present); a trigger inside the mention ("heart is not enlarged")
//   always does; pseudo-triggers ("no change") trigger nothing. A hedged negation ("cannot
//   exclude") makes it uncertain, else a negation absent, else an uncertainty trigger uncertain,
//   else it is present. "No definite X" is a negation (absent), as the IU reports' indexers read it.
// - State of a label (CheXpert's combination rule): present if any mention is present, else
//   uncertain if any is uncertain, else absent if any is absent, else not mentioned.
// - Side: the left/right/bilateral words of the mention's clause (the sentence cut at commas, ';',
//   ':', parentheses, "and", "with", "but", "while", "which"), else of the whole sentence when it
//   names one side only (for present and uncertain mentions); left and right together,
//   "bilateral", "both" or bi- words read bilateral; "right atrium/ventricle/heart" name chambers,
//   not sides. A label's side joins the sides of the mentions that gave its state.
// - Hierarchy (off by default, as in the CheXpert labeler): with `hierarchy`, a present or
//   uncertain child also marks its parent (Cardiomegaly -> Enlarged Cardiomediastinum; Lung Lesion,
//   Edema, Consolidation, Pneumonia, Atelectasis -> Lung Opacity), as the synthetic generator's
//   labels (Schemas/findings.v1.json) do. The parent keeps its own state when that is stronger.
// - No Finding is present iff no label other than Support Devices is present or uncertain; else
//   absent. It has no side.

/// The 14 CheXpert labels, in the order of Schemas/anatomies.v1.json's `chexpert_labels`.
public enum CheXpertLabel: String, CaseIterable, Codable, Sendable, Comparable {
    case noFinding = "No Finding", enlargedCardiomediastinum = "Enlarged Cardiomediastinum", cardiomegaly = "Cardiomegaly"
    case lungOpacity = "Lung Opacity", lungLesion = "Lung Lesion", edema = "Edema", consolidation = "Consolidation"
    case pneumonia = "Pneumonia", atelectasis = "Atelectasis", pneumothorax = "Pneumothorax"
    case pleuralEffusion = "Pleural Effusion", pleuralOther = "Pleural Other", fracture = "Fracture"
    case supportDevices = "Support Devices"

    /// The parent in CheXpert's label hierarchy (used when the labeler's `hierarchy` is on).
    public var parent: CheXpertLabel? {
        switch self {
        case .cardiomegaly: .enlargedCardiomediastinum
        case .lungLesion, .edema, .consolidation, .pneumonia, .atelectasis: .lungOpacity
        default: nil
        }
    }

    /// Whether a present or uncertain mention rules out No Finding (all but No Finding and Support Devices).
    public var isPathology: Bool { self != .noFinding && self != .supportDevices }

    public static func < (a: CheXpertLabel, b: CheXpertLabel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!   // both are cases
    }
}

/// What a report says of a label, weakest first (the combination rule takes the strongest).
public enum MentionState: String, Codable, Sendable, Comparable, CaseIterable {
    case notMentioned = "not_mentioned", absent, uncertain, present

    /// Present or uncertain: what the clinical metrics count as positive.
    public var isPositive: Bool { self == .present || self == .uncertain }

    public static func < (a: MentionState, b: MentionState) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!   // both are cases
    }
}

/// The patient's side a report states for a finding.
public enum LabelSide: String, Codable, Sendable, Hashable {
    case left, right, bilateral

    /// Both sides' statements together: left with right (or anything with bilateral) is bilateral.
    public func joined(with other: LabelSide?) -> LabelSide {
        guard let other, other != self else { return self }
        return .bilateral
    }
}

/// A label's state in a report and the side stated (nil: none stated).
public struct LabelState: Codable, Sendable, Hashable {
    public var state: MentionState
    public var side: LabelSide?
    public init(state: MentionState, side: LabelSide? = nil) { (self.state, self.side) = (state, side) }
}

/// One mention of a label in one sentence.
public struct LabelMention: Sendable, Hashable {
    public let label: CheXpertLabel
    public let state: MentionState
    public let side: LabelSide?
    public let sentence: Int         // index into `ReportLabeler.sentences(of:)`
    public let phrase: String        // the matched text, lower case
}

/// The 14 labels of one report.
public struct ReportLabels: Sendable, Equatable {
    public private(set) var states: [CheXpertLabel: LabelState]

    public init(_ states: [CheXpertLabel: LabelState] = [:]) { self.states = states }

    public subscript(label: CheXpertLabel) -> LabelState {
        get { states[label] ?? LabelState(state: .notMentioned) }
        set { states[label] = newValue }
    }

    /// The labels stated present or uncertain.
    public var positives: Set<CheXpertLabel> { Set(CheXpertLabel.allCases.filter { self[$0].state.isPositive }) }
}

/// Labels reports with the rules of ReportLabeler+Rules.swift (see the conventions above).
public struct ReportLabeler: Sendable {
    public var hierarchy: Bool

    public init(hierarchy: Bool = false) { self.hierarchy = hierarchy }

    /// The report's sentences, lower case and normalized (see the conventions).
    public func sentences(of report: String) -> [String] {
        var text = report.lowercased()
        text = Self.compiled.bilateral.stringByReplacingMatches(
            in: text, range: NSRange(location: 0, length: (text as NSString).length), withTemplate: "bilateral")
        return Self.compiled.sentenceEnd.split(text).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Every mention of every label, sentence by sentence.
    public func mentions(in report: String) -> [LabelMention] {
        sentences(of: report).enumerated().flatMap { index, sentence in Self.compiled.mentions(in: sentence, index: index) }
    }

    /// The 14 labels of `report`.
    public func label(_ report: String) -> ReportLabels {
        label(mentions: mentions(in: report))
    }

    /// The 14 labels from already found mentions.
    public func label(mentions: [LabelMention]) -> ReportLabels {
        var labels = ReportLabels()
        for label in CheXpertLabel.allCases where label != .noFinding {
            let own = mentions.filter { $0.label == label }
            guard let strongest = own.map(\.state).max() else { continue }
            let side = own.filter { $0.state == strongest }.compactMap(\.side).reduce(nil as LabelSide?) { $1.joined(with: $0) }
            labels[label] = LabelState(state: strongest, side: side)
        }
        if hierarchy {
            for child in CheXpertLabel.allCases {
                guard let parent = child.parent, labels[child].state.isPositive, labels[parent].state <= labels[child].state else { continue }
                let joined = labels[parent].state == labels[child].state ? labels[child].side.map { $0.joined(with: labels[parent].side) } : nil
                labels[parent] = LabelState(state: labels[child].state, side: joined ?? labels[child].side ?? labels[parent].side)
            }
        }
        let pathology = CheXpertLabel.allCases.contains { $0.isPathology && labels[$0].state.isPositive }
        labels[.noFinding] = LabelState(state: pathology ? .absent : .present)
        return labels
    }
}

/// The compiled rules and the matching: mentions, trigger scopes and sides within one sentence.
struct LabelerEngine: Sendable {
    struct Rule: Sendable {
        let label: CheXpertLabel
        let mentions: Pattern
        let fixed: [(pattern: Pattern, state: MentionState)]
        let excluded: Pattern?
    }

    let rules: [Rule]
    let hedgedBefore, hedgedAfter, negationBefore, negationAfter, uncertainBefore, uncertainAfter: Pattern
    let pseudo, breakers: Pattern
    let sentenceEnd = Pattern([#"(?<=[.?!])\s+"#, #"\n+"#])
    let bilateral = Pattern([#"\b(?:right and left|left and right)\b"#]).regex
    // "right atrium", "right ventricular lead": chambers, not the patient's side
    let sideWord = Pattern([#"\b(?:left|right)\b(?![\s-]+(?:atri|ventric|heart\b|coronary))"#,
                            #"\b(?:bilateral\w*|both|bi(?:basilar|basal|basally|apical|hilar|lateral))\b"#])
    let clauseBreak = Pattern([#"[,;:()]"#, #"\b(?:and|with|but|while|which|whereas)\b"#])
    let comma = Pattern([","])

    init() {
        typealias R = ReportLabeler
        rules = R.labelRules.map { r in
            Rule(label: r.label, mentions: Pattern(r.mentions), fixed: r.fixed.map { (Pattern([$0.pattern]), $0.state) },
                 excluded: r.excluded.isEmpty ? nil : Pattern(r.excluded))
        }
        (hedgedBefore, hedgedAfter) = (Pattern(R.hedgedNegationBefore), Pattern(R.hedgedNegationAfter))
        (negationBefore, negationAfter) = (Pattern(R.negationBefore), Pattern(R.negationAfter))
        (uncertainBefore, uncertainAfter) = (Pattern(R.uncertaintyBefore), Pattern(R.uncertaintyAfter))
        (pseudo, breakers) = (Pattern(R.pseudoTriggers), Pattern(R.scopeBreakers))
    }

    func mentions(in sentence: String, index: Int) -> [LabelMention] {
        let text = sentence as NSString
        var found: [LabelMention] = []
        var context: Context?
        for rule in rules {
            let excluded = rule.excluded?.ranges(in: text) ?? []
            var ranges = rule.mentions.ranges(in: text).filter { m in !excluded.contains { NSIntersectionRange($0, m).length > 0 } }
                .map { ($0, MentionState?.none) }
            for (pattern, state) in rule.fixed { ranges += pattern.ranges(in: text).map { ($0, state) } }
            guard !ranges.isEmpty else { continue }
            let scopes = context ?? Context(engine: self, text: text)   // built once, for the first sentence with a mention
            context = scopes
            for (range, fixedState) in ranges {
                let state = fixedState ?? scopes.state(of: range)
                found.append(LabelMention(label: rule.label, state: state, side: scopes.side(of: range, sentenceWide: state.isPositive),
                                          sentence: index, phrase: text.substring(with: range)))
            }
        }
        return found
    }

    /// The triggers, breakers and side words of one sentence.
    struct Context {
        let text: NSString
        let hedgedBefore, hedgedAfter, negationBefore, negationAfter, uncertainBefore, uncertainAfter: [NSRange]
        let breakers, sides, clauseBreaks, commas: [NSRange]

        init(engine e: LabelerEngine, text: NSString) {
            self.text = text
            let pseudo = e.pseudo.ranges(in: text)
            func triggers(_ p: Pattern) -> [NSRange] {
                p.ranges(in: text).filter { t in !pseudo.contains { NSIntersectionRange($0, t).length > 0 } }
            }
            (hedgedBefore, hedgedAfter) = (triggers(e.hedgedBefore), triggers(e.hedgedAfter))
            (negationBefore, negationAfter) = (triggers(e.negationBefore), triggers(e.negationAfter))
            (uncertainBefore, uncertainAfter) = (triggers(e.uncertainBefore), triggers(e.uncertainAfter))
            breakers = e.breakers.ranges(in: text)
            sides = e.sideWord.ranges(in: text)
            clauseBreaks = e.clauseBreak.ranges(in: text)
            commas = e.comma.ranges(in: text)
        }

        /// Whether a trigger reaches the mention at `m`: inside it, or before/after it with no breaker
        /// between (an uncertainty trigger after it also stops at a comma: "opacity, atelectasis or scar").
        func reaches(_ triggers: [NSRange], _ m: NSRange, after: Bool, stopsAtComma: Bool = false) -> Bool {
            triggers.contains { t in
                if t.location >= m.location && NSMaxRange(t) <= NSMaxRange(m) { return true }
                let (from, to) = after ? (NSMaxRange(m), t.location) : (NSMaxRange(t), m.location)
                guard from <= to else { return false }
                let between = { (b: NSRange) in b.location >= from && NSMaxRange(b) <= to }
                return !breakers.contains(where: between) && !(stopsAtComma && commas.contains(where: between))
            }
        }

        func state(of m: NSRange) -> MentionState {
            if reaches(hedgedBefore, m, after: false) || reaches(hedgedAfter, m, after: true) { return .uncertain }
            if reaches(negationBefore, m, after: false) || reaches(negationAfter, m, after: true) { return .absent }
            if reaches(uncertainBefore, m, after: false) || reaches(uncertainAfter, m, after: true, stopsAtComma: true) { return .uncertain }
            return .present
        }

        /// The side words of the mention's clause, else (when `sentenceWide`) of a one-sided sentence.
        func side(of m: NSRange, sentenceWide: Bool) -> LabelSide? {
            let start = clauseBreaks.filter { NSMaxRange($0) <= m.location }.map { NSMaxRange($0) }.max() ?? 0
            let end = clauseBreaks.filter { $0.location >= NSMaxRange(m) }.map(\.location).min() ?? text.length
            let inClause = sides.filter { $0.location >= start && NSMaxRange($0) <= end }
            if let side = Self.side(inClause.map { text.substring(with: $0) }) { return side }
            guard sentenceWide else { return nil }
            let all = Self.side(sides.map { text.substring(with: $0) })
            return all == .bilateral ? nil : all
        }

        static func side(_ words: [String]) -> LabelSide? {
            words.reduce(nil as LabelSide?) { side, word in
                let s: LabelSide = word == "left" ? .left : word == "right" ? .right : .bilateral
                return s.joined(with: side)
            }
        }
    }
}

/// Alternatives joined into one case-sensitive ICU expression (the text is lower case already).
struct Pattern: Sendable {
    let regex: NSRegularExpression

    init(_ alternatives: [String]) {
        let source = alternatives.map { "(?:\($0))" }.joined(separator: "|")
        do { regex = try NSRegularExpression(pattern: source) } catch {
            preconditionFailure("a labeler pattern does not compile: \(source): \(error)")   // the rules are constants
        }
    }

    func ranges(in text: NSString) -> [NSRange] {
        regex.matches(in: text as String, range: NSRange(location: 0, length: text.length)).map(\.range).filter { $0.length > 0 }
    }

    /// The pieces of `text` between matches.
    func split(_ text: String) -> [String] {
        let ns = text as NSString
        var pieces: [String] = [], start = 0
        for r in ranges(in: ns) {
            pieces.append(ns.substring(with: NSRange(location: start, length: r.location - start)))
            start = NSMaxRange(r)
        }
        pieces.append(ns.substring(from: start))
        return pieces
    }
}

extension ReportLabeler {
    static let compiled = LabelerEngine()
}
