import Contracts
import Foundation
import TestSupport
import Testing

@Suite struct MessageCodecTests {
    static let limit = 16 << 20

    func decode<M: Decodable>(_ type: M.Type, _ schema: String, _ text: String) -> ContractError? {
        do { _ = try MessageCodec.decode(type, schema: schema, from: Data(text.utf8), maximumBytes: Self.limit); return nil } catch { return error }
    }

    @Test func everyMessageRoundTrips() throws {
        for study in Examples.studies {
            #expect(try MessageCodec.decode(StudyMessage.self, schema: StudyMessage.schema, from: MessageCodec.encode(study), maximumBytes: Self.limit) == study)
        }
        #expect(try MessageCodec.decode(AnatomyMessage.self, schema: AnatomyMessage.schema, from: MessageCodec.encode(Examples.anatomy), maximumBytes: Self.limit) == Examples.anatomy)
        #expect(try MessageCodec.decode(GroundedMessage.self, schema: GroundedMessage.schema, from: MessageCodec.encode(Examples.grounded), maximumBytes: Self.limit) == Examples.grounded)
        #expect(try MessageCodec.decode(ResultMessage.self, schema: ResultMessage.schema, from: MessageCodec.encode(Examples.result), maximumBytes: Self.limit) == Examples.result)
        #expect(try MessageCodec.decode(DeadLetterMessage.self, schema: DeadLetterMessage.schema, from: MessageCodec.encode(Examples.deadLetter), maximumBytes: Self.limit) == Examples.deadLetter)
        #expect(try MessageCodec.decode(BankEntryMessage.self, schema: BankEntryMessage.schema, from: MessageCodec.encode(Examples.bankEntry), maximumBytes: Self.limit) == Examples.bankEntry)
    }

    @Test func examplesAreKeptForTheSchemaValidator() throws {
        for (schema, examples) in try Examples.all() {
            for (i, data) in examples.enumerated() { try Repository.keepProducedMessage(data, schema: schema, name: "example-\(i)") }
        }
    }

    @Test func tokensSurviveJSONExactlyAndImageTokensAreHalfPrecision() throws {
        let values: [Float] = [0.1, 1.0 / 3, -7.123456e-5, 3.4e38, 1e-45]
        let a = AnatomyMessage.Anatomy(index: 0, name: "x", box: [0, 0, 1, 1], canvasBox: [0, 0, 1, 1], token: values)
        let back = try JSONDecoder().decode(AnatomyMessage.Anatomy.self, from: MessageCodec.encode(a))
        #expect(back.token == values)                                 // bit for bit: Kafka and in-process agree
        let half = HalfTensor(shape: [5], values: values.map { $0 })
        #expect(half.values[0] == Float(Float16(0.1)))
        #expect(half.values[3] == .infinity)                          // beyond half range, as fp16 stores it
        let decoded = try JSONDecoder().decode(HalfTensor.self, from: MessageCodec.encode(half))
        #expect(decoded == half)
    }

    @Test func errorsNameTheProblem() throws {
        #expect(decode(StudyMessage.self, "cxr.studies.v1", "not json")?.code == .badJSON)
        #expect(decode(StudyMessage.self, "cxr.studies.v1", "[1, 2]")?.code == .badJSON)
        #expect(decode(StudyMessage.self, "cxr.studies.v1", #"{"schema": "cxr.studies.v2"}"#)?.code == .unsupportedSchema)
        let missing = decode(StudyMessage.self, "cxr.studies.v1", #"{"schema": "cxr.studies.v1", "study_id": "a", "tasks": []}"#)
        #expect(missing?.code == .schemaViolation)
        #expect(missing?.message.contains("image is missing") == true, "\(String(describing: missing))")
        let unknown = decode(StudyMessage.self, "cxr.studies.v1",
                             #"{"schema": "cxr.studies.v1", "study_id": "a", "image": {"uri": "file:///x.png"}, "tasks": [], "priority": 1}"#)
        #expect(unknown?.code == .schemaViolation)
        #expect(unknown?.message.contains("'priority'") == true, "\(String(describing: unknown))")
        let nestedUnknown = decode(StudyMessage.self, "cxr.studies.v1",
                                   #"{"schema": "cxr.studies.v1", "study_id": "a", "image": {"uri": "file:///x.png"}, "tasks": [{"task": "vqa", "questoin": "?"}]}"#)
        #expect(nestedUnknown?.message.contains("tasks.[0].questoin") == true, "\(String(describing: nestedUnknown))")
        let both = decode(StudyMessage.self, "cxr.studies.v1",
                          #"{"schema": "cxr.studies.v1", "study_id": "a", "image": {"uri": "file:///x.png", "png_base64": "AAAA"}, "tasks": []}"#)
        #expect(both?.message.contains("exactly one") == true)
        let badID = decode(StudyMessage.self, "cxr.studies.v1", #"{"schema": "cxr.studies.v1", "study_id": "../etc", "image": {"uri": "file:///x.png"}, "tasks": []}"#)
        #expect(badID?.message.contains("study_id") == true)
        let big = Data(repeating: 0x20, count: 2048)
        #expect(throws: ContractError.self) { try MessageCodec.decode(StudyMessage.self, schema: "cxr.studies.v1", from: big, maximumBytes: 1024) }
        do { _ = try MessageCodec.decode(StudyMessage.self, schema: "cxr.studies.v1", from: big, maximumBytes: 1024) } catch { #expect(error.code == .oversize) }
    }

    @Test func halfTensorRejectsWrongSizes() {
        let short = #"{"dtype": "float16", "shape": [2, 3], "data": "AAAA"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(HalfTensor.self, from: Data(short.utf8)) }
        let huge = #"{"dtype": "float16", "shape": [1048576, 1048576, 1048576], "data": ""}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(HalfTensor.self, from: Data(huge.utf8)) }
    }

    @Test func idsAreDeterministicAndDependOnEveryPart() {
        let a = MessageID.make(studyID: "s1", stage: "perception", modelVersion: "v1", inputDigest: "d")
        #expect(a == MessageID.make(studyID: "s1", stage: "perception", modelVersion: "v1", inputDigest: "d"))
        #expect(a.hasPrefix("perception:") && a.count == "perception:".count + 32)
        let others = [MessageID.make(studyID: "s2", stage: "perception", modelVersion: "v1", inputDigest: "d"),
                      MessageID.make(studyID: "s1", stage: "retrieval", modelVersion: "v1", inputDigest: "d"),
                      MessageID.make(studyID: "s1", stage: "perception", modelVersion: "v2", inputDigest: "d"),
                      MessageID.make(studyID: "s1", stage: "perception", modelVersion: "v1", inputDigest: "e")]
        #expect(Set(others.map { String($0.split(separator: ":")[1]) }).count == 4 && !others.contains(a))
    }

    @Test func deadLetterKeepsSmallPayloadsAndDigestsLargeOnes() {
        let small = DeadLetterMessage(studyID: "s1", source: .init(topic: "t", partition: 0, offset: 1), stage: "perception",
                                      error: ContractError(.badJSON, "x"), payload: Data([1, 2, 3]), inlineLimit: 10, attempts: 0, worker: nil)
        #expect(small.payload == Data([1, 2, 3]) && small.payloadBytes == 3 && small.attempts == 1)
        let large = DeadLetterMessage(studyID: "../bad id", source: .init(topic: "t", partition: 0, offset: 1), stage: "perception",
                                      error: ContractError(.oversize, "x"), payload: Data(count: 100), inlineLimit: 10, attempts: 2, worker: nil)
        #expect(large.payload == nil && large.payloadBytes == 100 && large.payloadSHA256.count == 64 && large.studyID == nil)
    }
}
