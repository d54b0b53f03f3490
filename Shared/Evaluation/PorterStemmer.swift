/// The Porter stemmer as NLTK 3.10.4's `nltk.stem.porter.PorterStemmer()` stems (its default mode,
/// NLTK_EXTENSIONS: Martin Porter's later fixes plus NLTK's irregular forms and rule tweaks), the
/// stemmer METEOR's second matching stage uses.
///
/// Words are lower-cased first and handled as sequences of Unicode scalars, as Python indexes strings.
public struct PorterStemmer: Sendable {
    typealias Letters = [Unicode.Scalar]

    public init() {}

    /// NLTK's pool of irregular forms, looked up before any rule.
    static let irregularForms: [String: String] = [
        "sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "news": "news",
        "innings": "inning", "inning": "inning", "outings": "outing", "outing": "outing",
        "cannings": "canning", "canning": "canning", "howe": "howe",
        "proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
    ]

    /// The stem of `word`, lower-cased.
    public func stem(_ word: String) -> String {
        let lower = word.lowercased()
        // NLTK 3.10.4 looks the lower-cased word up in its pool ("Dying" -> "die").
        if let irregular = Self.irregularForms[lower] { return irregular }
        // NLTK tests the length of the word as given, before lower-casing.
        if word.unicodeScalars.count <= 2 { return lower }
        var letters = Letters(lower.unicodeScalars)
        letters = step1a(letters)
        letters = step1b(letters)
        letters = step1c(letters)
        letters = step2(letters)
        letters = step3(letters)
        letters = step4(letters)
        letters = step5a(letters)
        letters = step5b(letters)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: letters)
        return String(view)
    }

    // MARK: Steps (Porter 1980, with NLTK_EXTENSIONS)

    func step1a(_ word: Letters) -> Letters {
        if word.count == 4, word.hasSuffix("ies") { return word.replacingSuffix(3, with: "ie") }
        return applyFirst(word, [Rule("sses", "ss"), Rule("ies", "i"), Rule("ss", "ss"), Rule("s", "")])
    }

    func step1b(_ word: Letters) -> Letters {
        if word.hasSuffix("ied") { return word.replacingSuffix(3, with: word.count == 4 ? "ie" : "i") }
        if word.hasSuffix("eed") {
            let stem = Letters(word.dropLast(3))
            return measure(stem) > 0 ? stem + Letters("ee".unicodeScalars) : word
        }
        var intermediate: Letters?
        for suffix in ["ed", "ing"] where word.hasSuffix(suffix) {
            let stem = Letters(word.dropLast(suffix.unicodeScalars.count))
            if containsVowel(stem) {
                intermediate = stem
                break
            }
        }
        guard let stem = intermediate, let last = stem.last else { return word }
        return applyFirst(stem, [
            Rule("at", "ate"), Rule("bl", "ble"), Rule("iz", "ize"),
            Rule(doubleConsonantTo: String(last)) { _ in !"lsz".unicodeScalars.contains(last) },
            Rule("", "e") { measure($0) == 1 && endsCVC($0) },
        ])
    }

    func step1c(_ word: Letters) -> Letters {
        // NLTK: y -> i only after a consonant that is not the whole stem (happy -> happi, enjoy, by).
        applyFirst(word, [Rule("y", "i") { $0.count > 1 && isConsonant($0, $0.count - 1) }])
    }

    func step2(_ word: Letters) -> Letters {
        if word.hasSuffix("alli"), measure(Letters(word.dropLast(4))) > 0 {
            return step2(word.replacingSuffix(4, with: "al"))
        }
        let positive: (Letters) -> Bool = { measure($0) > 0 }
        let pairs = [
            ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
            ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"),
            ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"),
            ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
            ("fulli", "ful"),
        ]
        // NLTK's "logi" rule measures the word less "ogi", not the stem less "logi".
        let withoutOgi = Letters(word.dropLast(3))
        return applyFirst(word, pairs.map { Rule($0.0, $0.1, positive) } + [Rule("logi", "log") { _ in measure(withoutOgi) > 0 }])
    }

    func step3(_ word: Letters) -> Letters {
        let positive: (Letters) -> Bool = { measure($0) > 0 }
        let pairs = [("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", "")]
        return applyFirst(word, pairs.map { Rule($0.0, $0.1, positive) })
    }

    func step4(_ word: Letters) -> Letters {
        let aboveOne: (Letters) -> Bool = { measure($0) > 1 }
        let before = ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent"]
        let after = ["ou", "ism", "ate", "iti", "ous", "ive", "ize"]
        let ion = Rule("ion", "") { stem in measure(stem) > 1 && (stem.last == "s" || stem.last == "t") }
        return applyFirst(word, before.map { Rule($0, "", aboveOne) } + [ion] + after.map { Rule($0, "", aboveOne) })
    }

    func step5a(_ word: Letters) -> Letters {
        guard word.last == "e" else { return word }
        let stem = Letters(word.dropLast())
        let m = measure(stem)
        return m > 1 || (m == 1 && !endsCVC(stem)) ? stem : word
    }

    func step5b(_ word: Letters) -> Letters {
        let withoutLastL = Letters(word.dropLast())
        return applyFirst(word, [Rule("ll", "l") { _ in measure(withoutLastL) > 1 }])
    }
}

extension PorterStemmer {
    /// A suffix rule: the first rule whose suffix the word ends with decides (its condition failing
    /// leaves the word unchanged); `doubleConsonant` rules match a double consonant ending.
    struct Rule {
        let suffix: Letters
        let replacement: Letters
        let doubleConsonant: Bool
        let condition: ((Letters) -> Bool)?

        init(_ suffix: String, _ replacement: String, _ condition: ((Letters) -> Bool)? = nil) {
            self.suffix = Letters(suffix.unicodeScalars)
            self.replacement = Letters(replacement.unicodeScalars)
            doubleConsonant = false
            self.condition = condition
        }

        init(doubleConsonantTo replacement: String, _ condition: @escaping (Letters) -> Bool) {
            // NLTK spells this rule's suffix "*d" and also matches those two characters literally.
            suffix = Letters("*d".unicodeScalars)
            self.replacement = Letters(replacement.unicodeScalars)
            doubleConsonant = true
            self.condition = condition
        }
    }

    func applyFirst(_ word: Letters, _ rules: [Rule]) -> Letters {
        for rule in rules {
            let matches = (rule.doubleConsonant && endsDoubleConsonant(word)) || word.hasSuffix(rule.suffix)
            guard matches else { continue }
            let stem = Letters(word.dropLast(rule.doubleConsonant ? 2 : rule.suffix.count))
            let applies = rule.condition?(stem) ?? true
            return applies ? stem + rule.replacement : word
        }
        return word
    }

    // MARK: Conditions of the paper

    /// Whether `word[i]` is a consonant: not a vowel, and a "y" only at the start or after a vowel.
    func isConsonant(_ word: Letters, _ i: Int) -> Bool {
        var i = i, negated = false
        while i > 0, word[i] == "y" {
            negated.toggle()
            i -= 1
        }
        return !Self.vowels.contains(word[i]) != negated
    }

    static let vowels: Set<Unicode.Scalar> = ["a", "e", "i", "o", "u"]

    /// `isConsonant` of every letter in one pass (a run of "y"s would make the calls quadratic).
    func consonantFlags(_ word: Letters) -> [Bool] {
        var flags: [Bool] = []
        flags.reserveCapacity(word.count)
        for (i, letter) in word.enumerated() {
            flags.append(letter == "y" ? (i == 0 || !flags[i - 1]) : !Self.vowels.contains(letter))
        }
        return flags
    }

    /// m in [C](VC){m}[V]: how often a vowel is followed by a consonant.
    func measure(_ stem: Letters) -> Int {
        let flags = consonantFlags(stem)
        return zip(flags, flags.dropFirst()).count { !$0 && $1 }
    }

    func containsVowel(_ stem: Letters) -> Bool { consonantFlags(stem).contains(false) }

    /// *d: the word ends with two equal consonants.
    func endsDoubleConsonant(_ word: Letters) -> Bool {
        word.count >= 2 && word[word.count - 1] == word[word.count - 2] && isConsonant(word, word.count - 1)
    }

    /// *o: the word ends consonant-vowel-consonant, the last not w, x or y (NLTK: or is vowel-consonant).
    func endsCVC(_ word: Letters) -> Bool {
        let n = word.count
        if n >= 3, isConsonant(word, n - 3), !isConsonant(word, n - 2), isConsonant(word, n - 1),
           !"wxy".unicodeScalars.contains(word[n - 1]) {
            return true
        }
        return n == 2 && !isConsonant(word, 0) && isConsonant(word, 1)
    }
}

fileprivate extension Array where Element == Unicode.Scalar {
    func hasSuffix(_ suffix: [Unicode.Scalar]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }

    func hasSuffix(_ suffix: String) -> Bool { hasSuffix(Array(suffix.unicodeScalars)) }

    func replacingSuffix(_ length: Int, with replacement: String) -> [Unicode.Scalar] {
        Array(dropLast(length)) + Array(replacement.unicodeScalars)
    }
}
