public import Contracts
import Dispatch
import Foundation
public import Retrieval

/// The retrieval indexer's logic, free of transport: `cxr.anatomy.v1` -> `cxr.grounded.v1`, each
/// anatomy's token looked up in the sentence bank the step holds.
public struct RetrievalStep: Sendable {
    public let stage: RetrievalStage
    /// Digest of the bank's entries, vectors and calibration (`cxr.grounded.v1` bank.version).
    public let bankVersion: String

    public init(stage: RetrievalStage) {
        self.stage = stage
        bankVersion = Self.version(of: stage.bank)
    }

    public func run(_ message: AnatomyMessage) throws(ContractError) -> GroundedMessage {
        let start = DispatchTime.now().uptimeNanoseconds
        var findings = [GroundedMessage.Finding]()
        for anatomy in message.anatomies {
            let match: SentenceBank.Match?
            do { match = try stage.likelyFinding(anatomy: anatomy.name, token: anatomy.token) } catch {
                throw ContractError(.schemaViolation, "anatomy '\(anatomy.name)': \(error)")
            }
            guard let match else { continue }
            findings.append(.init(anatomy: anatomy.name, sentence: match.sentence, kinds: match.kinds, similarity: match.similarity,
                                  score: match.probability))
        }
        let id = MessageID.make(studyID: message.studyID, stage: "retrieval", modelVersion: bankVersion + stage.lookup.rawValue,
                                inputDigest: message.id)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return GroundedMessage(id: id, studyID: message.studyID, perception: message, findings: findings,
                               bank: .init(version: bankVersion, lookup: stage.lookup.rawValue, entries: stage.bank.entries.count),
                               timings: .init(retrievalSeconds: seconds))
    }

    /// First 16 hex digits of SHA-256 over the entries (in key order, so replicas that read the same
    /// entries in another order agree), their vectors, the temperature and the threshold.
    static func version(of bank: SentenceBank) -> String {
        var data = Data()
        let d = bank.dimension
        let order = bank.entries.indices.sorted { (bank.entries[$0].anatomy, bank.entries[$0].sentence) < (bank.entries[$1].anatomy, bank.entries[$1].sentence) }
        for i in order {
            let e = bank.entries[i]
            data.append(contentsOf: (e.anatomy + "\u{1F}" + e.sentence + "\u{1F}" + e.kinds.joined(separator: ",") + "\n").utf8)
            for value in bank.vectors[(i * d)..<((i + 1) * d)] { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        for value in [bank.temperature, bank.healthyThreshold] { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return String(Digest.sha256Hex(data).prefix(16))
    }
}
