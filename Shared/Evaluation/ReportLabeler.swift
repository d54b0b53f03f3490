import Foundation

// A CheXpert-style rule labeler for chest X-ray reports. Conventions:
// - Sentences: the lower-cased report is split after '.', '?' or '!' followed by white space (so
//   "3.5 cm" stays whole, and "3 cm. Next" splits) but not after the abbreviations "vs.", "e.g.",
//   "i.e.", "approx." and "dr.", and at line breaks; "right and left"/"left and right" read
//   "bilateral". A sentence over `maximumSentenceLength` (2,000 UTF-16 units) is cut into pieces of
//   at most that length, after the last ',' or ';' in the second half of each piece, else after its
//   last space, else at the limit; each piece is then a sentence of its own (this bounds the work
//   per sentence: a 64 MiB line of `anatomix label --file` costs time linear in its length).
// - Mentions: per label, the patterns of ReportLabeler+Rules.swift. A match inside an excluded
//   phrase ("pericardial effusion") is no mention. A "fixed" phrase sets the state whatever the
//   context ("heart size is normal": Cardiomegaly absent; "borderline heart size": uncertain).
// - State of a mention: a trigger inside the mention ("heart is not enlarged") always reaches it.
//   The nearest trigger before it (or after it, with the "after" lists) reaches it unless a scope
//   breaker lies between them: but, however, although, which, except, ';', "there is", ...; and a
//   ", " or "and " followed by a modifier or a new clause ("no pneumothorax, small left effusion",
//   "no pneumothorax and unchanged effusion"; a comma not when an "or", "nor" or "/" later in the
//   clause closes a list: "no consolidation, large effusion, or pneumothorax"). A trigger after
//   the mention also stops at a comma ("mild cardiomegaly, vascularity is normal": the cardiomegaly
//   stays present; "opacity, atelectasis or scar": the opacity stays present), except that a
//   negation or hedged negation after it reaches back over a list of findings closed by a
//   conjunction ("pneumothorax, effusion or consolidation is not seen": every item between the
//   commas and conjunctions but the last holds a finding mention, and none a verb). Pseudo-triggers
//   ("no change") trigger nothing. A hedged negation ("cannot exclude") makes the mention
//   uncertain, else a negation absent, else an uncertainty trigger uncertain, else it is present.
//   "No definite X" is a negation (absent), as the IU reports' indexers read it; so is "no longer
//   enlarged" (or widened, seen, present, visualized).
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
    /// Where the phrase lies in its sentence, in UTF-16 offsets (NSString's).
    public let range: Range<Int>
    /// The phrase's clause (the sentence cut at the clause breaks of the side convention), in UTF-16 offsets.
    public let clause: Range<Int>
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

    /// The longest sentence the rules look at, in UTF-16 units; longer ones are cut (see the conventions).
    public static let maximumSentenceLength = 2_000

    /// The report's sentences, lower case and normalized (see the conventions).
    public func sentences(of report: String) -> [String] {
        var text = report.lowercased()
        text = Self.compiled.bilateral.stringByReplacingMatches(
            in: text, range: NSRange(location: 0, length: (text as NSString).length), withTemplate: "bilateral")
        return Self.compiled.sentenceEnd.split(text).flatMap { Self.cut($0) }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `sentence` in pieces of at most `limit` UTF-16 units: each cut after the last ',' or ';' of
    /// the piece's second half, else after its last space, else at the limit (moved back to the
    /// start of a composed character sequence, so no surrogate pair is split).
    static func cut(_ sentence: String, limit: Int = maximumSentenceLength) -> [String] {
        let text = sentence as NSString
        guard text.length > limit else { return [sentence] }
        var pieces: [String] = [], start = 0
        while text.length - start > limit {
            let half = NSRange(location: start + limit / 2, length: limit - limit / 2)
            var end = NSMaxRange(half)
            let clause = text.rangeOfCharacter(from: Self.pieceBreaks, options: .backwards, range: half)
            let space = text.rangeOfCharacter(from: .whitespacesAndNewlines, options: .backwards, range: half)
            if clause.location != NSNotFound { end = NSMaxRange(clause) } else if space.location != NSNotFound { end = NSMaxRange(space) } else {
                let character = text.rangeOfComposedCharacterSequence(at: end)
                if character.location > start { end = character.location }
            }
            pieces.append(text.substring(with: NSRange(location: start, length: end - start)))
            start = end
        }
        pieces.append(text.substring(from: start))
        return pieces
    }

    /// Where `cut` prefers to end a piece.
    static let pieceBreaks = CharacterSet(charactersIn: ",;")

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
    // not after the abbreviations vs. e.g. i.e. approx. dr. ("atelectasis vs. pneumonia" is one sentence)
    let sentenceEnd = Pattern([#"(?<=[.?!])(?<!\bvs\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bapprox\.)(?<!\bdr\.)\s+"#, #"\n+"#])
    let bilateral = Pattern([#"\b(?:right and left|left and right)\b"#]).regex
    // "right atrium", "right ventricular lead": chambers, not the patient's side
    let sideWord = Pattern([#"\b(?:left|right)\b(?![\s-]+(?:atri|ventric|heart\b|coronary))"#,
                            #"\b(?:bilateral\w*|both|bi(?:basilar|basal|basally|apical|hilar|lateral))\b"#])
    let clauseBreak = Pattern([#"[,;:()]"#, #"\b(?:and|with|but|while|which|whereas)\b"#])
    let comma = Pattern([","])
    /// What separates the items of a list of findings, and the verbs no item of one holds.
    let listSeparator = Pattern([",", #"\b(?:and|or|nor)\b"#]), conjunction = Pattern([#"\b(?:and|or|nor)\b"#])
    let verb = Pattern([#"\b(?:is|are|was|were|has|have|had|been|be|appears?|remains?|shows?)\b"#])
    /// The longest stretch a negation after a mention reaches back over a list of findings.
    static let longestList = 300

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
        // every label's mentions first: a negation after a mention reaches back over a list of them
        var candidates: [(label: CheXpertLabel, range: NSRange, fixed: MentionState?)] = []
        for rule in rules {
            let excluded = RangeIndex(rule.excluded?.ranges(in: text) ?? [])
            candidates += rule.mentions.ranges(in: text).filter { !excluded.overlaps($0) }.map { (rule.label, $0, nil) }
            for (pattern, state) in rule.fixed { candidates += pattern.ranges(in: text).map { (rule.label, $0, state) } }
        }
        guard !candidates.isEmpty else { return [] }
        let scopes = Context(engine: self, text: text, findings: candidates.filter { $0.fixed == nil }.map(\.range))
        return candidates.map { label, range, fixed in
            let state = fixed ?? scopes.state(of: range)
            let clause = scopes.clause(of: range)
            return LabelMention(label: label, state: state, side: scopes.side(of: range, clause: clause, sentenceWide: state.isPositive),
                                sentence: index, phrase: text.substring(with: range),
                                range: range.location..<NSMaxRange(range), clause: clause.location..<NSMaxRange(clause))
        }
    }

    /// The triggers, breakers, side words and finding mentions of one sentence.
    struct Context {
        let engine: LabelerEngine
        let text: NSString
        let hedgedBefore, hedgedAfter, negationBefore, negationAfter, uncertainBefore, uncertainAfter: RangeIndex
        let breakers, sides, clauseBreaks, commas, findings: RangeIndex
        let sentenceSide: LabelSide?     // the side words of the whole sentence, joined

        init(engine e: LabelerEngine, text: NSString, findings: [NSRange]) {
            (self.engine, self.text) = (e, text)
            let pseudo = RangeIndex(e.pseudo.ranges(in: text))
            func triggers(_ p: Pattern) -> RangeIndex { RangeIndex(p.ranges(in: text).filter { !pseudo.overlaps($0) }) }
            (hedgedBefore, hedgedAfter) = (triggers(e.hedgedBefore), triggers(e.hedgedAfter))
            (negationBefore, negationAfter) = (triggers(e.negationBefore), triggers(e.negationAfter))
            (uncertainBefore, uncertainAfter) = (triggers(e.uncertainBefore), triggers(e.uncertainAfter))
            breakers = RangeIndex(e.breakers.ranges(in: text))
            sides = RangeIndex(e.sideWord.ranges(in: text))
            clauseBreaks = RangeIndex(e.clauseBreak.ranges(in: text))
            commas = RangeIndex(e.comma.ranges(in: text))
            self.findings = RangeIndex(findings)
            sentenceSide = Self.side(sides.ranges.map { text.substring(with: $0) })
        }

        /// Whether a trigger reaches the mention at `m`: one inside it, or the nearest before (after)
        /// it with no breaker between; with `stopsAtComma` no comma either, unless `overLists` and
        /// what lies between is a list of findings (see `isFindingList`).
        func reaches(_ triggers: RangeIndex, _ m: NSRange, after: Bool, stopsAtComma: Bool = false, overLists: Bool = false) -> Bool {
            if triggers.anyWithin(m.location, NSMaxRange(m)) { return true }
            let from: Int, to: Int
            if after {
                guard let t = triggers.firstLocation(atOrAfter: NSMaxRange(m)) else { return false }
                (from, to) = (NSMaxRange(m), t)
            } else {
                guard let t = triggers.lastEnd(atOrBefore: m.location) else { return false }
                (from, to) = (t, m.location)
            }
            // a farther trigger has all of the nearest one's stretch between it and the mention
            if breakers.anyWithin(from, to) { return false }
            guard stopsAtComma, commas.anyWithin(from, to) else { return true }
            return overLists && isFindingList(from, to)
        }

        /// Whether `from..<to` is the rest of a list of findings: a conjunction in it, every piece between
        /// its commas and conjunctions but the last holding a finding mention, and none a verb.
        func isFindingList(_ from: Int, _ to: Int) -> Bool {
            guard to - from <= LabelerEngine.longestList else { return false }
            let stretch = NSRange(location: from, length: to - from)
            guard !engine.conjunction.ranges(in: text, within: stretch).isEmpty else { return false }
            guard engine.verb.ranges(in: text, within: stretch).isEmpty else { return false }
            var start = from
            for separator in engine.listSeparator.ranges(in: text, within: stretch) {
                let piece = NSRange(location: start, length: separator.location - start)
                start = NSMaxRange(separator)
                guard piece.length > 0, !text.substring(with: piece).allSatisfy(\.isWhitespace) else { continue }
                if !findings.overlaps(piece) { return false }
            }
            return true   // the last piece, the list's last item ("..., and blunting in the left base have cleared"), may be any
        }

        func state(of m: NSRange) -> MentionState {
            if reaches(hedgedBefore, m, after: false) || reaches(hedgedAfter, m, after: true, stopsAtComma: true, overLists: true) {
                return .uncertain
            }
            if reaches(negationBefore, m, after: false) || reaches(negationAfter, m, after: true, stopsAtComma: true, overLists: true) {
                return .absent
            }
            if reaches(uncertainBefore, m, after: false) || reaches(uncertainAfter, m, after: true, stopsAtComma: true) { return .uncertain }
            return .present
        }

        /// The mention's clause: from the end of the last clause break before it to the first after it.
        func clause(of m: NSRange) -> NSRange {
            let start = clauseBreaks.lastEnd(atOrBefore: m.location) ?? 0
            let end = clauseBreaks.firstLocation(atOrAfter: NSMaxRange(m)) ?? text.length
            return NSRange(location: start, length: end - start)
        }

        /// The side words of the mention's clause, else (when `sentenceWide`) of a one-sided sentence.
        func side(of m: NSRange, clause: NSRange, sentenceWide: Bool) -> LabelSide? {
            let inClause = sides.within(clause.location, NSMaxRange(clause))
            if let side = Self.side(inClause.map { text.substring(with: $0) }) { return side }
            guard sentenceWide else { return nil }
            return sentenceSide == .bilateral ? nil : sentenceSide
        }

        static func side(_ words: [String]) -> LabelSide? {
            words.reduce(nil as LabelSide?) { side, word in
                let s: LabelSide = word == "left" ? .left : word == "right" ? .right : .bilateral
                return s.joined(with: side)
            }
        }
    }
}

/// Ranges sorted by location, for the scope queries in O(log n) (no scan of every trigger and breaker per mention).
struct RangeIndex {
    let ranges: [NSRange]              // by location
    private let ends: [Int]            // every range's end, ascending
    private let minEndFrom: [Int]      // the least end of ranges[i...]
    private let maxEndTo: [Int]        // the greatest end of ranges[...i]

    init(_ ranges: [NSRange]) {
        self.ranges = ranges.sorted { ($0.location, $0.length) < ($1.location, $1.length) }
        ends = self.ranges.map { NSMaxRange($0) }.sorted()
        var minEnd = [Int](repeating: .max, count: self.ranges.count + 1)
        for i in self.ranges.indices.reversed() { minEnd[i] = min(minEnd[i + 1], NSMaxRange(self.ranges[i])) }
        minEndFrom = minEnd
        var maxEnd: [Int] = [], running = Int.min
        for r in self.ranges { running = max(running, NSMaxRange(r)); maxEnd.append(running) }
        maxEndTo = maxEnd
    }

    /// The index of the first range at or after `location` (by location).
    func firstIndex(atOrAfter location: Int) -> Int {
        var (low, high) = (0, ranges.count)
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].location < location { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Whether a range lies within `from...to`.
    func anyWithin(_ from: Int, _ to: Int) -> Bool { minEndFrom[firstIndex(atOrAfter: from)] <= to }

    /// Whether a range overlaps `r` (both non-empty).
    func overlaps(_ r: NSRange) -> Bool {
        let k = firstIndex(atOrAfter: NSMaxRange(r))
        return k > 0 && maxEndTo[k - 1] > r.location
    }

    /// The greatest end at or before `location`.
    func lastEnd(atOrBefore location: Int) -> Int? {
        var (low, high) = (0, ends.count)
        while low < high {
            let mid = (low + high) / 2
            if ends[mid] <= location { low = mid + 1 } else { high = mid }
        }
        return low > 0 ? ends[low - 1] : nil
    }

    /// The least location at or after `location`.
    func firstLocation(atOrAfter location: Int) -> Int? {
        let i = firstIndex(atOrAfter: location)
        return i < ranges.count ? ranges[i].location : nil
    }

    /// The ranges within `from...to`, by location.
    func within(_ from: Int, _ to: Int) -> [NSRange] {
        var found: [NSRange] = [], i = firstIndex(atOrAfter: from)
        while i < ranges.count, ranges[i].location <= to {
            if NSMaxRange(ranges[i]) <= to { found.append(ranges[i]) }
            i += 1
        }
        return found
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

    func ranges(in text: NSString) -> [NSRange] { ranges(in: text, within: NSRange(location: 0, length: text.length)) }

    /// The matches inside `range` (word boundaries seen through its ends).
    func ranges(in text: NSString, within range: NSRange) -> [NSRange] {
        regex.matches(in: text as String, options: .withTransparentBounds, range: range).map(\.range).filter { $0.length > 0 }
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
