import Foundation
public import Retrieval

/// Stage two without transport: each anatomy's token against that anatomy's bank sentences.
public struct RetrievalStage: Sendable {
    /// How a likely finding is chosen: AnatomiX's nearest sentence, or the calibrated classifier (default).
    public enum Lookup: String, Sendable, CaseIterable { case nearest, calibrated }

    public let bank: SentenceBank
    public let lookup: Lookup

    public init(bank: SentenceBank, lookup: Lookup = .calibrated) { (self.bank, self.lookup) = (bank, lookup) }

    public init(modelDirectory: String, lookup: Lookup = .calibrated) throws {
        bank = try SentenceBank(directory: modelDirectory)
        self.lookup = lookup
    }

    /// The likely finding of every anatomy (nil where the bank has no sentence for it).
    public func likelyFindings(_ perception: Perception) throws -> [String: SentenceBank.Match] {
        var out = [String: SentenceBank.Match]()
        for a in perception.anatomies {
            if let match = try likelyFinding(anatomy: a.name, token: a.token) { out[a.name] = match }
        }
        return out
    }

    /// One anatomy's likely finding (nil where the bank has no sentence for it).
    public func likelyFinding(anatomy: String, token: [Float]) throws -> SentenceBank.Match? {
        lookup == .nearest ? try bank.nearest(anatomy: anatomy, token: token) : try bank.retrieve(anatomy: anatomy, token: token)
    }
}
