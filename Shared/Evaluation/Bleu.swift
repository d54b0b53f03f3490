import Foundation

/// Sentence BLEU as NLTK 3.10.4's `sentence_bleu(references, hypothesis, weights=(0.25,) * 4,
/// smoothing_function=SmoothingFunction().method1)` computes it (Papineni et al. 2002): the geometric
/// mean of the modified (clipped) n-gram precisions for n = 1...4, times the brevity penalty against
/// the reference closest in length (the shorter on a tie). Method 1 smoothing replaces a zero
/// precision 0/d by epsilon/d (epsilon 0.1); no unigram match at all scores 0.
public enum Bleu {
    /// BLEU-`order` of pre-tokenized words against one or more references (0 for none, where NLTK
    /// raises), with uniform weights 1/`order`.
    public static func score(_ hypothesis: [String], references: [[String]], order: Int = 4, epsilon: Double = 0.1) -> Double {
        precondition(order > 0, "BLEU needs an n-gram order of at least 1")
        guard !references.isEmpty else { return 0 }
        let precisions = (1...order).map { modifiedPrecision(hypothesis, references, $0) }
        guard precisions[0].matches > 0 else { return 0 }
        let weight = 1 / Double(order)
        let logs = precisions.map { p in
            weight * log(p.matches == 0 ? epsilon / Double(p.total) : Double(p.matches) / Double(p.total))
        }
        return brevityPenalty(hypothesis.count, closestLength(references.map(\.count), to: hypothesis.count))
            * exp(exactSum(logs))
    }

    /// BLEU-4 of two texts, both tokenized as ROUGE tokenizes (`TextMetrics.words`).
    public static func score(_ candidate: String, reference: String) -> Double {
        score(TextMetrics.words(candidate), references: [TextMetrics.words(reference)])
    }

    /// Hypothesis n-grams found in some reference (each clipped to its most frequent use in one
    /// reference) and all hypothesis n-grams (at least 1).
    static func modifiedPrecision(_ hypothesis: [String], _ references: [[String]], _ n: Int) -> (matches: Int, total: Int) {
        let counts = ngramCounts(hypothesis, n)
        var most: [ArraySlice<String>: Int] = [:]
        for reference in references {
            let referenceCounts = ngramCounts(reference, n)
            for ngram in counts.keys { most[ngram] = max(most[ngram] ?? 0, referenceCounts[ngram] ?? 0) }
        }
        let matches = counts.reduce(0) { $0 + min($1.value, most[$1.key] ?? 0) }
        return (matches, max(1, counts.values.reduce(0, +)))
    }

    static func ngramCounts(_ words: [String], _ n: Int) -> [ArraySlice<String>: Int] {
        guard words.count >= n else { return [:] }
        var counts: [ArraySlice<String>: Int] = [:]
        for start in 0...(words.count - n) { counts[words[start..<(start + n)], default: 0] += 1 }
        return counts
    }

    /// The reference length nearest `length`, the shorter on a tie.
    static func closestLength(_ lengths: [Int], to length: Int) -> Int {
        lengths.min { (abs($0 - length), $0) < (abs($1 - length), $1) } ?? 0
    }

    static func brevityPenalty(_ hypothesis: Int, _ reference: Int) -> Double {
        if hypothesis > reference { return 1 }
        if hypothesis == 0 { return 0 }
        return exp(1 - Double(reference) / Double(hypothesis))
    }

    /// The correctly rounded sum of `values` (Python's `math.fsum`: Shewchuk's exact partials, then
    /// round-half-even across the last two).
    static func exactSum(_ values: [Double]) -> Double {
        var partials: [Double] = []
        for value in values {
            var x = value, kept = 0
            for var y in partials {
                if abs(x) < abs(y) { swap(&x, &y) }
                let hi = x + y, lo = y - (hi - x)
                if lo != 0 {
                    partials[kept] = lo
                    kept += 1
                }
                x = hi
            }
            partials.removeSubrange(kept...)
            if x != 0 { partials.append(x) }
        }
        guard var n = partials.indices.last else { return 0 }
        var hi = partials[n], lo = 0.0
        while n > 0 {
            let x = hi
            n -= 1
            let y = partials[n]
            hi = x + y
            lo = y - (hi - x)
            if lo != 0 { break }
        }
        if n > 0, (lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0) {
            let y = lo * 2, x = hi + y
            if y == x - hi { hi = x }
        }
        return hi
    }
}
