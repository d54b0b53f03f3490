import Foundation

/// The text scores of the generating tasks (grounded diagnosis, grounded captioning, reports): ROUGE,
/// BLEU, METEOR, BERTScore and finding-tuple F1 are means over samples of the per-sample score (as
/// the paper averages them); the CheXpert-14 F1s are pooled over all samples (micro) or over labels
/// (macro), as CheXbert-F1 is usually reported:
///
/// - `rouge_l` (ROUGE-L F, `rouge-score`'s tokenizer), `bleu4` (sentence BLEU-4, NLTK smoothing
///   method 1), `meteor` (NLTK's METEOR with WordNet 3.0), `bertscore` (F1 over all-MiniLM-L6-v2's
///   last layer; not the usual roberta-large, so not comparable with papers' values);
/// - `chexpert_f1`: CheXpert-14 micro F1 of the rule labeler's labels of the generated text against
///   those of the reference (present or uncertain = positive), `chexpert_macro_f1` its mean over
///   labels that are positive on either side somewhere, `chexpert_f1_findings` the micro F1 over the
///   13 labels without No Finding (a text without any pathology otherwise scores on No Finding alone);
/// - `finding_f1`: F1 over (finding, anatomy, side, present) tuples of the two texts, our stand-in
///   for RadGraph-F1 (it is not RadGraph).
public struct TextGenerationScores: Codable, Sendable, Equatable {
    public var rougeL = 0.0, bleu4 = 0.0, meteor = 0.0, bertscore = 0.0
    public var chexpertF1 = 0.0, chexpertMacroF1 = 0.0, chexpertF1Findings = 0.0, findingF1 = 0.0
    public var n = 0

    enum CodingKeys: String, CodingKey {
        case rougeL = "rouge_l", bleu4, meteor, bertscore, chexpertF1 = "chexpert_f1", chexpertMacroF1 = "chexpert_macro_f1"
        case chexpertF1Findings = "chexpert_f1_findings"
        case findingF1 = "finding_f1", n
    }
}

/// Scores (generated, reference) text pairs.
public struct TextGenerationMetrics: Sendable {
    public let embedder: any TextEmbedder
    public let meteor: Meteor
    public let clinical: ClinicalMetrics

    public init(embedder: any TextEmbedder, meteor: Meteor = Meteor(), clinical: ClinicalMetrics) {
        (self.embedder, self.meteor, self.clinical) = (embedder, meteor, clinical)
    }

    /// Per-sample BERTScore F1 of each pair.
    public func bertScores(_ pairs: [(candidate: String, reference: String)]) throws -> [Double] {
        guard !pairs.isEmpty else { return [] }
        let states = try embedder.tokenStates(pairs.flatMap { [$0.candidate, $0.reference] })
        return pairs.indices.map { BERTScore.score(candidate: states[2 * $0], reference: states[2 * $0 + 1]).f1 }
    }

    public func score(_ pairs: [(candidate: String, reference: String)]) throws -> TextGenerationScores? {
        guard !pairs.isEmpty else { return nil }
        let n = Double(pairs.count)
        func mean(_ f: ((candidate: String, reference: String)) throws -> Double) rethrows -> Double {
            try pairs.map(f).reduce(0, +) / n
        }
        var s = TextGenerationScores()
        s.n = pairs.count
        s.rougeL = mean { TextMetrics.rougeL($0.candidate, $0.reference) }
        s.bleu4 = mean { Bleu.score($0.candidate, reference: $0.reference) }
        s.meteor = try mean { try meteor.score($0.candidate, reference: $0.reference) }
        s.bertscore = try bertScores(pairs).reduce(0, +) / n
        let chexpert = clinical.chexpertF1(generated: pairs.map(\.candidate), references: pairs.map(\.reference))
        (s.chexpertF1, s.chexpertMacroF1, s.chexpertF1Findings) = (chexpert.microF1, chexpert.macroF1, chexpert.microF1Findings)
        s.findingF1 = clinical.findingTupleF1(generated: pairs.map(\.candidate), references: pairs.map(\.reference)).mean
        return s
    }
}
