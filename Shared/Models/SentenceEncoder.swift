import Foundation
public import Tensor
public import Tokenizers

/// A sentence-transformers text encoder: WordPiece → BERT → mean pooling over real tokens →
/// L2 normalisation (the all-MiniLM-L6-v2 recipe), mirrored by
/// `Training/anatomix/bert.py::SentenceEncoder`.
public struct SentenceEncoder: Sendable {
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    /// Longest input in tokens, `[CLS]` and `[SEP]` included (sentence-transformers' max_seq_length).
    public let maxLength: Int
    /// Whether embeddings are L2-normalised (a `Normalize` module in modules.json).
    public let normalizes: Bool

    public var dimension: Int { model.configuration.hiddenSize }

    public init(tokenizer: WordPieceTokenizer, model: BertModel, maxLength: Int, normalizes: Bool = true) {
        self.tokenizer = tokenizer
        self.model = model
        self.maxLength = min(maxLength, model.configuration.maxPositions)
        self.normalizes = normalizes
    }

    /// Token ids for each text, truncated to `maxLength`.
    public func tokenize(_ texts: [String]) -> [[Int]] {
        texts.map { tokenizer.encode($0, maxLength: maxLength) }
    }

    /// `[texts.count, D]` sentence embeddings, computed `batchSize` texts at a time; batches run
    /// on up to `threads` threads (default `ComputeThreads.count`).
    public func embed(_ texts: [String], batchSize: Int = 32, threads: Int? = nil) throws -> Tensor {
        try embed(tokenIDs: tokenize(texts), batchSize: batchSize, threads: threads)
    }

    /// Embeddings of already tokenised texts.
    public func embed(tokenIDs: [[Int]], batchSize: Int = 32, threads: Int? = nil) throws -> Tensor {
        guard batchSize > 0 else { throw ModelError(.invalidInput, "batch size must be positive, got \(batchSize)") }
        let d = dimension
        let batches = stride(from: 0, to: tokenIDs.count, by: batchSize).map { $0..<min($0 + batchSize, tokenIDs.count) }
        let results = try BatchRunner.map(batches, threads: threads ?? ComputeThreads.count) { range in try pooledBatch(Array(tokenIDs[range])) }
        return Tensor(shape: [tokenIDs.count, d], storage: results.flatMap { $0 })
    }

    /// The last layer's states of every token of each text, `[n_i, D]` per text ([CLS] first, [SEP]
    /// last, not normalised): what BERTScore compares. Texts are cut at the model's positions (512
    /// for MiniLM, as `bert-score` cuts at the tokenizer's `model_max_length`), not at the sentence
    /// embedding's 256. Runs `batchSize` texts per forward pass.
    public func tokenStates(_ texts: [String], batchSize: Int = 32, threads: Int? = nil) throws -> [Tensor] {
        guard batchSize > 0 else { throw ModelError(.invalidInput, "batch size must be positive, got \(batchSize)") }
        let ids = texts.map { tokenizer.encode($0, maxLength: model.configuration.maxPositions) }, d = dimension
        let batches = stride(from: 0, to: ids.count, by: batchSize).map { $0..<min($0 + batchSize, ids.count) }
        let results = try BatchRunner.map(batches, threads: threads ?? ComputeThreads.count) { range -> [Tensor] in
            let (hidden, offsets) = try model.hiddenStates(Array(ids[range]))
            return (0..<range.count).map { s in
                Tensor(shape: [offsets[s + 1] - offsets[s], d], storage: Array(hidden.storage[(offsets[s] * d)..<(offsets[s + 1] * d)]))
            }
        }
        return results.flatMap { $0 }
    }

    /// Mean-pooled (and normalised) embeddings of one packed batch, `[B * D]`.
    func pooledBatch(_ sequences: [[Int]]) throws -> [Float] {
        let (hidden, offsets) = try model.hiddenStates(sequences)
        let d = dimension
        var pooled = [Float](repeating: 0, count: sequences.count * d)
        hidden.storage.withUnsafeBufferPointer { h in
            for s in sequences.indices {
                let (start, end) = (offsets[s], offsets[s + 1])
                let scale = 1 / Float(max(end - start, 1))
                for r in start..<end { for k in 0..<d { pooled[s * d + k] += h[r * d + k] } }
                for k in 0..<d { pooled[s * d + k] *= scale }
            }
        }
        guard normalizes else { return pooled }
        return Tensor(shape: [sequences.count, d], storage: pooled).l2Normalized().storage
    }
}
