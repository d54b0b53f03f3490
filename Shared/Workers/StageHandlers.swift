public import Contracts
public import Messaging
public import Pipeline

/// `cxr.studies.v1` -> `cxr.anatomy.v1` (the perception worker).
public struct PerceptionHandler: StageHandler {
    public let step: PerceptionStep
    public let maximumMessageBytes: Int
    public var stage: String { "perception" }
    public var inputTopic: Topic { .studies }

    public init(step: PerceptionStep, maximumMessageBytes: Int) { (self.step, self.maximumMessageBytes) = (step, maximumMessageBytes) }

    public func handle(_ record: IncomingRecord) throws(ContractError) -> [OutgoingRecord] {
        let study = try MessageCodec.decode(StudyMessage.self, schema: StudyMessage.schema, from: record.value, maximumBytes: maximumMessageBytes)
        let anatomy = try step.run(study)
        return [try output(anatomy, topic: .anatomy, studyID: study.studyID, from: record)]
    }
}

/// `cxr.anatomy.v1` -> `cxr.grounded.v1` (the retrieval indexer), against the bank `index` holds now.
public struct RetrievalHandler: StageHandler {
    public let index: BankIndex
    public let maximumMessageBytes: Int
    public var stage: String { "retrieval" }
    public var inputTopic: Topic { .anatomy }

    public init(index: BankIndex, maximumMessageBytes: Int) { (self.index, self.maximumMessageBytes) = (index, maximumMessageBytes) }

    public func handle(_ record: IncomingRecord) throws(ContractError) -> [OutgoingRecord] {
        let anatomy = try MessageCodec.decode(AnatomyMessage.self, schema: AnatomyMessage.schema, from: record.value, maximumBytes: maximumMessageBytes)
        guard let step = index.step else { throw ContractError(.processingFailed, "the sentence bank is empty (cxr.bank.v1 holds no entries)") }
        return [try output(try step.run(anatomy), topic: .grounded, studyID: anatomy.studyID, from: record)]
    }
}

/// `cxr.grounded.v1` -> `cxr.results.v1` (the language worker).
public struct LanguageHandler: StageHandler {
    public let step: LanguageStep
    public let maximumMessageBytes: Int
    public var stage: String { "language" }
    public var inputTopic: Topic { .grounded }

    public init(step: LanguageStep, maximumMessageBytes: Int) { (self.step, self.maximumMessageBytes) = (step, maximumMessageBytes) }

    public func handle(_ record: IncomingRecord) throws(ContractError) -> [OutgoingRecord] {
        let grounded = try MessageCodec.decode(GroundedMessage.self, schema: GroundedMessage.schema, from: record.value, maximumBytes: maximumMessageBytes)
        return [try output(try step.run(grounded), topic: .results, studyID: grounded.studyID, from: record)]
    }
}
