public import Foundation

/// The English WordNet 3.0 database as NLTK 3.10.4's `WordNetCorpusReader` reads it, for the synonym
/// stage of METEOR: `lemmaNames(of:)` is `{l.name() for s in wordnet.synsets(word) for l in s.lemmas()}`.
///
/// Reads the dict folder of the Debian package `wordnet-base` (`index.*`, `data.*`, `*.exc`;
/// `make deps`), by default /usr/share/wordnet, else `$ANATOMIX_WORDNET` or the folder given. The
/// index and exception lists load once, on first use; data files are memory-mapped and a synset is
/// the line at its offset. Safe to share between threads.
public final class WordNet: @unchecked Sendable {   // `database` guarded by `lock`
    /// The four data files; adjective satellites (type "s") live in the adjective files.
    public enum PartOfSpeech: String, CaseIterable, Sendable {
        case noun = "n", verb = "v", adjective = "a", adverb = "r"

        var fileSuffix: String {
            switch self {
            case .noun: "noun"
            case .verb: "verb"
            case .adjective: "adj"
            case .adverb: "adv"
            }
        }
    }

    /// One synset: where it is and its lemma names as NLTK prints them (case kept, underscores for
    /// spaces, syntactic markers such as "(a)" removed).
    public struct Synset: Hashable, Sendable {
        public let partOfSpeech: PartOfSpeech
        public let offset: Int
        public let lemmaNames: [String]
    }

    public static let environmentVariable = "ANATOMIX_WORDNET"
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/wordnet", isDirectory: true)

    /// The database at `$ANATOMIX_WORDNET` or /usr/share/wordnet, loaded on first use.
    public static let standard = WordNet()

    public let directory: URL
    private let lock = NSLock()
    private var database: WordNetDatabase?   // loaded on first use (NSLock: ThreadSanitizer sees it, see Tensor.Locked)

    /// The database in `directory`; else in `$ANATOMIX_WORDNET` if set, else /usr/share/wordnet.
    /// Nothing is read until the first lookup (or `load()`).
    public init(directory: URL? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let directory {
            self.directory = directory
        } else if let path = environment[Self.environmentVariable], !path.isEmpty {
            self.directory = URL(fileURLWithPath: path, isDirectory: true)
        } else {
            self.directory = Self.defaultDirectory
        }
    }

    /// Loads the index and exception lists now (later calls return at once); throws `WordNetError`
    /// if the database is missing or malformed.
    public func load() throws {
        _ = try loaded()
    }

    /// NLTK's `wordnet.synsets(word)`: for nouns, verbs, adjectives and adverbs in turn, the synsets
    /// of every base form morphy finds for the lower-cased word, in index order.
    public func synsets(_ word: String) throws -> [Synset] {
        let database = try loaded()
        let form = word.lowercased()
        var synsets: [Synset] = []
        for pos in PartOfSpeech.allCases {
            for lemma in database.morphy(form, pos) {
                for offset in database.offsets(of: lemma, pos) {
                    synsets.append(Synset(partOfSpeech: pos, offset: offset, lemmaNames: try database.lemmaNames(at: offset, pos)))
                }
            }
        }
        return synsets
    }

    /// The lemma names of all synsets of `word` (empty for a word WordNet lacks).
    public func lemmaNames(of word: String) throws -> Set<String> {
        Set(try synsets(word).lazy.flatMap(\.lemmaNames))
    }

    private func loaded() throws -> WordNetDatabase {
        lock.lock()
        defer { lock.unlock() }
        if let database { return database }
        let loaded = try WordNetDatabase(directory: directory)
        database = loaded
        return loaded
    }
}

/// What goes wrong reading the WordNet database, with the file and what to do.
public struct WordNetError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String

    public var description: String { "WordNet database \(path): \(reason)" }

    static func missing(_ url: URL, folder: URL, _ error: any Error) -> WordNetError {
        WordNetError(path: url.path, reason: """
            cannot read it (\(error.localizedDescription)); the WordNet 3.0 database is expected in \
            \(folder.path). Install the Debian package wordnet-base: make deps \
            (or set \(WordNet.environmentVariable) to a WordNet 3.0 dict folder)
            """)
    }

    static func malformed(_ url: URL, line: Int? = nil, offset: Int? = nil, _ what: String) -> WordNetError {
        let place = line.map { ", line \($0)" } ?? offset.map { ", offset \($0)" } ?? ""
        return WordNetError(path: url.path + place, reason: "\(what); reinstall wordnet-base (make deps)")
    }
}

/// The loaded database: per part of speech, the index (lemma -> synset offsets), the exception list
/// of morphy and the memory-mapped data file.
struct WordNetDatabase: Sendable {
    struct Part: Sendable {
        var index: [String: Range<Int>] = [:]   // lemma -> its slice of `offsets`
        var offsets: [Int] = []
        var exceptions: [String: [String]] = [:]
        var data = Data()
        var dataURL: URL
    }

    let parts: [WordNet.PartOfSpeech: Part]

    init(directory: URL) throws {
        var parts: [WordNet.PartOfSpeech: Part] = [:]
        for pos in WordNet.PartOfSpeech.allCases {
            parts[pos] = Part(dataURL: directory.appendingPathComponent("data.\(pos.fileSuffix)"))
        }
        for pos in WordNet.PartOfSpeech.allCases {
            let url = directory.appendingPathComponent("index.\(pos.fileSuffix)")
            // NLTK files each index line under the part of speech the line names.
            try Self.readIndex(Self.read(url, in: directory), url: url) { lemma, linePOS, offsets in
                guard let target = WordNet.PartOfSpeech(rawValue: linePOS) else { return }
                let start = parts[target]!.offsets.count
                parts[target]!.offsets.append(contentsOf: offsets)
                parts[target]!.index[lemma] = start..<(start + offsets.count)
            }
            let exceptions = directory.appendingPathComponent("\(pos.fileSuffix).exc")
            parts[pos]!.exceptions = Self.readExceptions(try Self.read(exceptions, in: directory))
            parts[pos]!.data = try Self.read(parts[pos]!.dataURL, in: directory, mapped: true)
        }
        self.parts = parts
    }

    static func read(_ url: URL, in folder: URL, mapped: Bool = false) throws -> Data {
        do {
            return try Data(contentsOf: url, options: mapped ? [.alwaysMapped] : [])
        } catch {
            throw WordNetError.missing(url, folder: folder, error)
        }
    }

    func offsets(of lemma: String, _ pos: WordNet.PartOfSpeech) -> ArraySlice<Int> {
        guard let part = parts[pos], let range = part.index[lemma] else { return [] }
        return part.offsets[range]
    }

    func contains(_ lemma: String, _ pos: WordNet.PartOfSpeech) -> Bool { parts[pos]?.index[lemma] != nil }

    func exceptions(of form: String, _ pos: WordNet.PartOfSpeech) -> [String]? { parts[pos]?.exceptions[form] }

    /// The lemma names of the synset whose line starts at byte `offset` of the data file.
    func lemmaNames(at offset: Int, _ pos: WordNet.PartOfSpeech) throws -> [String] {
        guard let part = parts[pos] else { return [] }
        return try part.data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws -> [String] in
            guard offset >= 0, offset < bytes.count else {
                throw WordNetError.malformed(part.dataURL, offset: offset, "no synset at this offset (file of \(bytes.count) bytes)")
            }
            var end = offset
            while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x7C { end += 1 }   // "\n", "|": the gloss
            let fields = Self.fields(bytes, offset..<end)
            // NLTK's check: the line begins with the offset as eight zero-padded digits.
            guard let first = fields.first, Self.text(bytes, first) == String(format: "%08d", offset) else {
                throw WordNetError.malformed(part.dataURL, offset: offset, "the line here does not start with this offset")
            }
            // count from the file: checked against the fields before any arithmetic with it
            guard fields.count >= 4, let count = Int(Self.text(bytes, fields[3]), radix: 16), count >= 0,
                  count <= (fields.count - 4) / 2 else {
                throw WordNetError.malformed(part.dataURL, offset: offset, "a synset line without its word list")
            }
            return (0..<count).map { Self.withoutSyntacticMarker(Self.text(bytes, fields[4 + 2 * $0])) }
        }
    }

    /// "galore(ip)" -> "galore": a final parenthesised group without nested parentheses goes.
    static func withoutSyntacticMarker(_ name: String) -> String {
        guard name.hasSuffix(")"), let open = name.lastIndex(of: "(") else { return name }
        let inside = name[name.index(after: open)..<name.index(before: name.endIndex)]
        return inside.contains(")") ? name : String(name[..<open])
    }
}

// MARK: Parsing the index and exception files (as NLTK splits them: on whitespace, line by line)

extension WordNetDatabase {
    /// Calls `body(lemma, pos, offsets)` for each entry of an index file
    /// (`lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...`).
    static func readIndex(_ data: Data, url: URL, _ body: (String, String, [Int]) throws -> Void) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var lineNumber = 0
            for line in lines(bytes) {
                lineNumber += 1
                guard !line.isEmpty, bytes[line.lowerBound] != 0x20 else { continue }   // the license header
                let fields = fields(bytes, line)
                var next = 0
                func field() throws -> String {
                    guard next < fields.count else { throw WordNetError.malformed(url, line: lineNumber, "an index line cut short") }
                    defer { next += 1 }
                    return text(bytes, fields[next])
                }
                func number() throws -> Int {
                    let token = try field()
                    guard let value = Int(token) else { throw WordNetError.malformed(url, line: lineNumber, "\"\(token)\" is not a number") }
                    return value
                }
                let lemma = try field(), pos = try field()
                let synsetCount = try number()
                guard synsetCount > 0, synsetCount <= fields.count else {
                    throw WordNetError.malformed(url, line: lineNumber, "a lemma with \(synsetCount) synsets on a line of \(fields.count) fields")
                }
                let pointers = try number()
                guard pointers >= 0, pointers <= fields.count - next else {
                    throw WordNetError.malformed(url, line: lineNumber, "\(pointers) pointer symbols on a line of \(fields.count) fields")
                }
                next += pointers               // the pointer symbols
                guard try number() == synsetCount else {
                    throw WordNetError.malformed(url, line: lineNumber, "sense and synset counts differ")
                }
                _ = try field()        // senses ranked by tagged frequency
                try body(lemma, pos, try (0..<synsetCount).map { _ in try number() })
            }
        }
    }

    /// An exception list: each line an inflected form, then its base forms.
    static func readExceptions(_ data: Data) -> [String: [String]] {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var exceptions: [String: [String]] = [:]
            for line in lines(bytes) {
                let terms = fields(bytes, line).map { text(bytes, $0) }
                if let form = terms.first { exceptions[form] = Array(terms.dropFirst()) }
            }
            return exceptions
        }
    }

    /// The lines of `bytes`, without their "\n" (none after a final "\n").
    static func lines(_ bytes: UnsafeRawBufferPointer) -> [Range<Int>] {
        var lines: [Range<Int>] = [], start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
            if i < bytes.count || i > start { lines.append(start..<i) }
            start = i + 1
        }
        return lines
    }

    /// The whitespace-separated fields of `bytes[range]` (Python's `str.split()` on ASCII text).
    static func fields(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> [Range<Int>] {
        var fields: [Range<Int>] = [], start: Int?
        for i in range.lowerBound...range.upperBound {
            let space = i == range.upperBound || isSpace(bytes[i])
            if space, let s = start {
                fields.append(s..<i)
                start = nil
            } else if !space, start == nil {
                start = i
            }
        }
        return fields
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte) }

    static func text(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

// MARK: Morphy

/// Morphy as NLTK 3.10.4's `WordNetCorpusReader._morphy` finds base forms: a form in the part of
/// speech's exception list is replaced by its listed bases, any other has each detachment rule whose
/// suffix it ends with applied once; the form itself and those candidates that the index holds for
/// this part of speech are the base forms, in that order, each once.
extension WordNetDatabase {
    /// (suffix, replacement) per part of speech, in NLTK's order (adjective satellites share the
    /// adjective rules and list; adverbs have none).
    static let detachments: [WordNet.PartOfSpeech: [(suffix: String, replacement: String)]] = [
        .noun: [("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
                ("men", "man"), ("ies", "y")],
        .verb: [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")],
        .adjective: [("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
        .adverb: [],
    ]

    /// The base forms of `form` (already lower-cased) that WordNet lists under `pos`.
    func morphy(_ form: String, _ pos: WordNet.PartOfSpeech) -> [String] {
        let candidates = exceptions(of: form, pos) ?? Self.detach(form, Self.detachments[pos] ?? [])
        var seen = Set<String>(), bases: [String] = []
        for candidate in [form] + candidates where contains(candidate, pos) && seen.insert(candidate).inserted {
            bases.append(candidate)
        }
        return bases
    }

    /// Every rule whose suffix `form` ends with, applied once to `form` (suffixes compared as
    /// Unicode scalars, as Python compares strings).
    static func detach(_ form: String, _ rules: [(suffix: String, replacement: String)]) -> [String] {
        let scalars = Array(form.unicodeScalars)
        return rules.compactMap { rule in
            let suffix = Array(rule.suffix.unicodeScalars)
            guard scalars.count >= suffix.count, scalars[(scalars.count - suffix.count)...].elementsEqual(suffix) else { return nil }
            var stem = String.UnicodeScalarView()
            stem.append(contentsOf: scalars.dropLast(suffix.count))
            return String(stem) + rule.replacement
        }
    }
}
