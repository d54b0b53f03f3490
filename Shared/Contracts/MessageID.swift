import Crypto
public import Foundation

/// Deterministic output ids: `stage:` + the first 32 hex digits of SHA-256 over (study, stage, model
/// version, input digest). A redelivery or a replay with the same models gives the same id, so
/// readers keep one output per id (at-least-once delivery, no visible duplicates).
public enum MessageID {
    public static func make(studyID: String, stage: String, modelVersion: String, inputDigest: String) -> String {
        let text = [studyID, stage, modelVersion, inputDigest].joined(separator: "\u{1F}")
        return stage + ":" + String(Digest.sha256Hex(Data(text.utf8)).prefix(32))
    }

    static func validated<K>(_ id: String, in c: KeyedDecodingContainer<K>, key: K) throws -> String {
        let parts = id.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ ("a"..."z").contains($0) }), parts[1].count == 32,
              parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "id '\(id.prefix(80))' is not stage:<32 hex digits>")
        }
        return id
    }
}

/// SHA-256 helpers (swift-crypto).
public enum Digest {
    public static func sha256Hex(_ data: some DataProtocol) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
