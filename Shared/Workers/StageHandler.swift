public import Contracts
public import Messaging

/// One stage of the pipeline as a worker runs it: a record of its input topic in, the records to
/// publish out, or a `ContractError` (which becomes a dead letter). Handlers hold no transport.
public protocol StageHandler: Sendable {
    /// "perception", "retrieval" or "language" (the dead-letter `stage`).
    var stage: String { get }
    var inputTopic: Topic { get }
    func handle(_ record: IncomingRecord) throws(ContractError) -> [OutgoingRecord]
}

extension StageHandler {
    /// `message` as a record of `topic`, keyed by the study, stamped with its schema and the trace id
    /// of the record it came from (a new study starts its trace with its study id).
    func output(_ message: some Encodable, topic: Topic, studyID: String, from record: IncomingRecord) throws(ContractError) -> OutgoingRecord {
        let value: [UInt8]
        do { value = Array(try MessageCodec.encode(message)) } catch {
            throw ContractError(.processingFailed, "cannot encode the \(topic.rawValue) message of study \(studyID): \(error)")
        }
        return OutgoingRecord(topic: topic.rawValue, key: studyID, value: .init(value),
                              headers: [Topic.schemaHeader: topic.rawValue, Topic.traceHeader: record.headers[Topic.traceHeader] ?? studyID])
    }
}
