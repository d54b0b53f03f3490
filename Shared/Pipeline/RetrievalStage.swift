import Foundation
public import Retrieval

/// Stage two without transport: each anatomy's token against that anatomy's bank sentences.
public struct RetrievalStage: Sendable {
    public let bank: SentenceBank

    public init(bank: SentenceBank) { self.bank = bank }

    public init(modelDirectory: String) throws { bank = try SentenceBank(directory: modelDirectory) }

    /// The likely finding of every anatomy (nil where the bank has no sentence for it).
    public func likelyFindings(_ perception: Perception) throws -> [String: SentenceBank.Match] {
        var out = [String: SentenceBank.Match]()
        for a in perception.anatomies {
            if let match = try bank.bestMatch(anatomy: a.name, token: a.token) { out[a.name] = match }
        }
        return out
    }
}
