import Foundation

/// Sentence METEOR as NLTK 3.10.4's `nltk.translate.meteor_score` computes it (Lavie & Agarwal 2007):
/// words are aligned by exact match, then by Porter stem, then by WordNet synonym; the score is the
/// recall-weighted harmonic mean of unigram precision and recall, less a fragmentation penalty
/// `gamma * (chunks / matches)^beta`; with several references, the best.
///
/// Mirrors NLTK's greedy alignment exactly: each stage walks the unmatched hypothesis words from the
/// last to the first and takes the last unmatched reference position that fits; the synonym stage
/// sees the stems the stem stage left (NLTK passes them on), and synonyms are WordNet lemma names
/// without underscores.
public struct Meteor: Sendable {
    public let wordNet: WordNet
    public let stemmer: PorterStemmer
    public let alpha: Double
    public let beta: Double
    public let gamma: Double

    /// NLTK's defaults: alpha 0.9, beta 3, gamma 0.5, the Porter stemmer and WordNet 3.0.
    public init(wordNet: WordNet = .standard, alpha: Double = 0.9, beta: Double = 3, gamma: Double = 0.5) {
        self.wordNet = wordNet
        stemmer = PorterStemmer()
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
    }

    /// `meteor_score(references, hypothesis)`: the best `score(_:reference:)` over `references`
    /// (0 for none, where NLTK raises).
    public func score(_ hypothesis: [String], references: [[String]]) throws -> Double {
        try references.map { try score(hypothesis, reference: $0) }.max() ?? 0
    }

    /// `single_meteor_score(reference, hypothesis)` on pre-tokenized words (lower-cased here); 0 when
    /// either side is empty or nothing matches.
    public func score(_ hypothesis: [String], reference: [String]) throws -> Double {
        let hypothesis = hypothesis.map { $0.lowercased() }, reference = reference.map { $0.lowercased() }
        let matches = try align(hypothesis, reference)
        guard !hypothesis.isEmpty, !reference.isEmpty, !matches.isEmpty else { return 0 }
        let count = Double(matches.count)
        let precision = count / Double(hypothesis.count), recall = count / Double(reference.count)
        let fMean = precision * recall / (alpha * precision + (1 - alpha) * recall)
        let fragmentation = Double(Self.chunks(matches)) / count
        let penalty = gamma * pow(fragmentation, beta)
        return (1 - penalty) * fMean
    }

    /// METEOR of two texts, both tokenized as ROUGE tokenizes (`TextMetrics.words`).
    public func score(_ candidate: String, reference: String) throws -> Double {
        try score(TextMetrics.words(candidate), reference: TextMetrics.words(reference))
    }

    // MARK: Alignment

    /// A word still to align and its position in the sentence.
    typealias Indexed = [(position: Int, word: String)]

    /// The matched (hypothesis position, reference position) pairs, by hypothesis position.
    func align(_ hypothesis: [String], _ reference: [String]) throws -> [(Int, Int)] {
        var h: Indexed = hypothesis.enumerated().map { ($0.offset, $0.element) }
        var r: Indexed = reference.enumerated().map { ($0.offset, $0.element) }
        let exact = Self.match(&h, &r) { [$0] }
        h = h.map { ($0.position, stemmer.stem($0.word)) }
        r = r.map { ($0.position, stemmer.stem($0.word)) }
        let stemmed = Self.match(&h, &r) { [$0] }
        var synonymsByWord: [String: [String]] = [:]
        for word in Set(h.map(\.word)) where !r.isEmpty {
            synonymsByWord[word] = try wordNet.lemmaNames(of: word).filter { !$0.contains("_") } + [word]
        }
        let synonyms = Self.match(&h, &r) { synonymsByWord[$0] ?? [$0] }
        return (exact + stemmed + synonyms).sorted { $0.0 < $1.0 }
    }

    /// One stage: from the last hypothesis word to the first, the candidate words of `alternatives`
    /// that are still unmatched in the reference, and of those the one whose last unmatched position
    /// is furthest right (NLTK's exact stage: that of the word itself). Removes the matched words.
    static func match(_ hypothesis: inout Indexed, _ reference: inout Indexed,
                      alternatives: (String) -> [String]) -> [(Int, Int)] {
        var positions: [String: [Int]] = [:]   // word -> its indices into `reference`, ascending
        for (j, entry) in reference.enumerated() { positions[entry.word, default: []].append(j) }
        var matches: [(Int, Int)] = [], matchedHypothesis = Set<Int>(), matchedReference = Set<Int>()
        for i in hypothesis.indices.reversed() {
            var best: (j: Int, word: String)?
            for candidate in alternatives(hypothesis[i].word) {
                if let j = positions[candidate]?.last, j > best?.j ?? -1 { best = (j, candidate) }
            }
            guard let best else { continue }
            positions[best.word]!.removeLast()
            matchedHypothesis.insert(i)
            matchedReference.insert(best.j)
            matches.append((hypothesis[i].position, reference[best.j].position))
        }
        hypothesis = hypothesis.indices.filter { !matchedHypothesis.contains($0) }.map { hypothesis[$0] }
        reference = reference.indices.filter { !matchedReference.contains($0) }.map { reference[$0] }
        return matches
    }

    /// The fewest chunks of matches adjacent in both sentences (`matches` by hypothesis position).
    static func chunks(_ matches: [(Int, Int)]) -> Int {
        1 + zip(matches, matches.dropFirst()).count { !($1.0 == $0.0 + 1 && $1.1 == $0.1 + 1) }
    }
}
