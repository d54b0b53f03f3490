import Evaluation
import Models
import Tensor

/// all-MiniLM-L6-v2 as the language-task scores use it: BERTScore over its last layer's token
/// states and phrase matching by cosine of its (normalised, mean-pooled) sentence embeddings.
struct MiniLMEmbedder: TextEmbedder {
    let encoder: SentenceEncoder

    func tokenStates(_ texts: [String]) throws -> [BERTScore.TokenStates] {
        try encoder.tokenStates(texts).map { BERTScore.TokenStates(rows: $0.storage, dimension: $0.shape[1]) }
    }

    func sentenceEmbeddings(_ texts: [String]) throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let e = try encoder.embed(texts)                         // [n, D], unit rows
        return (0..<texts.count).map { e.rows($0..<($0 + 1)).storage }
    }
}
