/// Token ids of several texts, right-padded to one length, with the attention mask.
public struct TokenBatch: Sendable, Equatable {
    /// `[batch][length]` ids, padded with the pad id.
    public let ids: [[Int]]
    /// `[batch][length]`: 1 for real tokens, 0 for padding.
    public let attentionMask: [[Int]]
    /// Real (unpadded) length of each row.
    public let lengths: [Int]

    public var length: Int { ids.first?.count ?? 0 }

    public init(sequences: [[Int]], padID: Int) {
        let length = sequences.map(\.count).max() ?? 0
        ids = sequences.map { $0 + [Int](repeating: padID, count: length - $0.count) }
        attentionMask = sequences.map { [Int](repeating: 1, count: $0.count) + [Int](repeating: 0, count: length - $0.count) }
        lengths = sequences.map(\.count)
    }
}

extension WordPieceTokenizer {
    /// Encodes `texts` and pads them to the longest one.
    public func encodeBatch(_ texts: [String], maxLength: Int? = nil) -> TokenBatch {
        TokenBatch(sequences: texts.map { encode($0, maxLength: maxLength) }, padID: padID)
    }
}
