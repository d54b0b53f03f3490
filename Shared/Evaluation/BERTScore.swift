/// BERTScore (Zhang et al. 2020) as the `bert-score` package computes it without idf weighting or
/// baseline rescaling, over the token states of one encoder layer: every token row L2-normalised;
/// precision = the mean over the candidate's tokens of the best cosine with any reference token,
/// recall the same the other way, F1 their harmonic mean. The first and last rows ([CLS], [SEP])
/// carry weight 0 in those means but can still be the best match of a token on the other side, as
/// in `bert-score` (its idf dictionary gives both special tokens 0).
///
/// The usual encoder (roberta-large, layer 17) is not available on this machine; AnatomiX-Swift
/// uses all-MiniLM-L6-v2's last layer (layer 6), the same encoder that matches phrases for mAP.
/// Scores are therefore not comparable with papers' BERTScore numbers, only with each other.
public enum BERTScore {
    public struct Score: Codable, Sendable, Equatable {
        public let precision: Double, recall: Double, f1: Double
    }

    /// Row-major token states `[n, dimension]` of one text, [CLS] first and [SEP] last.
    public struct TokenStates: Sendable {
        public let rows: [Float]
        public let dimension: Int
        public var count: Int { dimension == 0 ? 0 : rows.count / dimension }

        public init(rows: [Float], dimension: Int) {
            precondition(dimension > 0 && rows.count % dimension == 0, "\(rows.count) values are not rows of \(dimension)")
            self.rows = rows
            self.dimension = dimension
        }

        /// Unit rows (a zero row stays zero).
        func normalized() -> [Double] {
            var out = rows.map(Double.init)
            for r in 0..<count {
                var norm = 0.0
                for k in 0..<dimension { norm += out[r * dimension + k] * out[r * dimension + k] }
                let scale = norm > 0 ? 1 / norm.squareRoot() : 0
                for k in 0..<dimension { out[r * dimension + k] *= scale }
            }
            return out
        }
    }

    /// Zero when either text has no token between its special tokens (as `bert-score` does for an empty candidate).
    public static func score(candidate: TokenStates, reference: TokenStates) -> Score {
        precondition(candidate.dimension == reference.dimension, "token states of \(candidate.dimension) and \(reference.dimension) dimensions")
        let (n, m, d) = (candidate.count, reference.count, candidate.dimension)
        guard n > 2, m > 2 else { return Score(precision: 0, recall: 0, f1: 0) }
        let c = candidate.normalized(), r = reference.normalized()
        var bestForCandidate = [Double](repeating: -.infinity, count: n)
        var bestForReference = [Double](repeating: -.infinity, count: m)
        for i in 0..<n {
            for j in 0..<m {
                var dot = 0.0
                for k in 0..<d { dot += c[i * d + k] * r[j * d + k] }
                bestForCandidate[i] = max(bestForCandidate[i], dot)
                bestForReference[j] = max(bestForReference[j], dot)
            }
        }
        let precision = bestForCandidate[1..<(n - 1)].reduce(0, +) / Double(n - 2)
        let recall = bestForReference[1..<(m - 1)].reduce(0, +) / Double(m - 2)
        let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        return Score(precision: precision, recall: recall, f1: f1)
    }
}
