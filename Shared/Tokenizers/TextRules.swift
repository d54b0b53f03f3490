import Foundation

/// A compiled regular expression (ICU, as Foundation's `NSRegularExpression`; HF uses Oniguruma: both
/// take `\p{L}`, `\p{N}`, look-ahead, `(?i:...)` and possessive quantifiers). Immutable, so shared.
public final class TextPattern: @unchecked Sendable {
    public let source: String
    let regex: NSRegularExpression

    public init(regex source: String) throws {
        self.source = source
        do {
            regex = try NSRegularExpression(pattern: source)
        } catch {
            throw TokenizerError(path: "<pattern>", reason: "regular expression \(source.debugDescription) does not compile: \(error)")
        }
    }

    /// A pattern that matches `literal` verbatim (HF `{"String": ...}`).
    public convenience init(literal: String) throws {
        try self.init(regex: NSRegularExpression.escapedPattern(for: literal))
    }

    /// `text` cut into consecutive pieces, each flagged whether it is a match (non-overlapping, leftmost).
    func segments(_ text: String) -> [(piece: String, isMatch: Bool)] {
        let ns = text as NSString
        var out = [(piece: String, isMatch: Bool)]()
        var last = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) where match.range.length > 0 {
            if match.range.location > last {
                out.append((ns.substring(with: NSRange(location: last, length: match.range.location - last)), false))
            }
            out.append((ns.substring(with: match.range), true))
            last = match.range.location + match.range.length
        }
        if last < ns.length { out.append((ns.substring(from: last), false)) }
        return out
    }

    func replacing(in text: String, with content: String) -> String {
        regex.stringByReplacingMatches(in: text, range: NSRange(location: 0, length: (text as NSString).length),
                                       withTemplate: NSRegularExpression.escapedTemplate(for: content))
    }
}

/// What HF's `Split` does with the matches (`SplitDelimiterBehavior`).
public enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    func apply(_ segments: [(piece: String, isMatch: Bool)]) -> [String] {
        var out = [String]()
        switch self {
        case .removed:
            out = segments.filter { !$0.isMatch }.map(\.piece)
        case .isolated:
            out = segments.map(\.piece)
        case .mergedWithPrevious:
            for s in segments {
                if s.isMatch, !out.isEmpty { out[out.count - 1] += s.piece } else { out.append(s.piece) }
            }
        case .mergedWithNext:
            var pending = ""
            for s in segments {
                if s.isMatch { pending += s.piece } else { out.append(pending + s.piece); pending = "" }
            }
            if !pending.isEmpty { out.append(pending) }
        case .contiguous:
            var previousMatched = false
            for s in segments {
                if s.isMatch, previousMatched, !out.isEmpty { out[out.count - 1] += s.piece } else { out.append(s.piece) }
                previousMatched = s.isMatch
            }
        }
        return out.filter { !$0.isEmpty }
    }
}

/// HF normalizers a byte-level BPE tokenizer may carry.
public indirect enum TextNormalizer: Sendable {
    case nfc, nfd, nfkc, nfkd, lowercase
    case strip(left: Bool, right: Bool)
    case replace(TextPattern, with: String)
    case prepend(String)
    case sequence([TextNormalizer])

    public func callAsFunction(_ text: String) -> String {
        switch self {
        case .nfc: text.precomposedStringWithCanonicalMapping
        case .nfd: text.decomposedStringWithCanonicalMapping
        case .nfkc: text.precomposedStringWithCompatibilityMapping
        case .nfkd: text.decomposedStringWithCompatibilityMapping
        case .lowercase: text.lowercased()
        case let .strip(left, right): Self.strip(text, left: left, right: right)
        case let .replace(pattern, content): pattern.replacing(in: text, with: content)
        case let .prepend(prefix): text.isEmpty ? text : prefix + text
        case let .sequence(steps): steps.reduce(text) { $1($0) }
        }
    }

    static func strip(_ text: String, left: Bool, right: Bool) -> String {
        var s = Substring(text)
        if left { s = s.drop(while: \.isWhitespace) }
        if right { while let last = s.last, last.isWhitespace { s = s.dropLast() } }
        return String(s)
    }
}

/// HF pre-tokenizers of byte-level BPE tokenizers: each turns pieces of text into smaller pieces.
public indirect enum PreTokenizer: Sendable {
    /// GPT-2's: optionally a leading space, the GPT-2 split pattern (with `useRegex`), then bytes as characters.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(TextPattern, behavior: SplitBehavior, invert: Bool)
    case digits(individual: Bool)
    case sequence([PreTokenizer])

    /// The pattern HF's ByteLevel pre-tokenizer splits with (GPT-2's).
    public static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let gpt2 = try! TextPattern(regex: gpt2Pattern)          // a constant that compiles (tested)
    static let digit = try! TextPattern(regex: #"\p{N}"#)

    /// Pieces of `pieces`; characters are still text (the byte mapping is `mapsBytes`).
    public func callAsFunction(_ pieces: [String]) -> [String] {
        switch self {
        case let .byteLevel(addPrefixSpace, useRegex):
            return pieces.flatMap { piece -> [String] in
                let spaced = addPrefixSpace && !piece.hasPrefix(" ") ? " " + piece : piece
                return useRegex ? SplitBehavior.isolated.apply(Self.gpt2.segments(spaced)) : [spaced]
            }
        case let .split(pattern, behavior, invert):
            return pieces.flatMap { piece in
                behavior.apply(pattern.segments(piece).map { ($0.piece, $0.isMatch != invert) })
            }
        case let .digits(individual):
            return pieces.flatMap { (individual ? SplitBehavior.isolated : .contiguous).apply(Self.digit.segments($0)) }
        case let .sequence(steps):
            return steps.reduce(pieces) { $1($0) }
        }
    }

    /// Whether a `byteLevel` step maps the pieces' bytes to characters (else the BPE sees raw text).
    public var mapsBytes: Bool {
        switch self {
        case .byteLevel: true
        case let .sequence(steps): steps.contains { $0.mapsBytes }
        default: false
        }
    }
}
