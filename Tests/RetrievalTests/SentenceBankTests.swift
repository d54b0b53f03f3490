import Foundation
import TestSupport
import Testing
@testable import Retrieval
import Tensor

@Suite struct SentenceBankTests {
    let bank = try! SentenceBank(
        entries: [.init(anatomy: "right lung", sentence: "Right lung is healthy.", kinds: []),
                  .init(anatomy: "right lung", sentence: "Right lung shows pneumothorax.", kinds: ["pneumothorax"]),
                  .init(anatomy: "right lung", sentence: "Right lung shows nodule.", kinds: ["nodule"]),
                  .init(anatomy: "left lung", sentence: "Left lung is healthy.", kinds: [])],
        vectors: Tensor(shape: [4, 2], storage: [1, 0, 0, 2, 0.6, 0.8, 1, 1]), temperature: 0.1, healthyThreshold: 0.3)

    @Test func nearestSearchesOnlyThatAnatomy() throws {
        let m = try #require(try bank.nearest(anatomy: "right lung", token: [0.1, 3]))
        #expect(m.sentence == "Right lung shows pneumothorax." && m.kinds == ["pneumothorax"] && m.probability == nil)
        #expect(abs(m.similarity - 3 / (0.01 + 9).squareRoot()) < 1e-5)
        // the left lung's only sentence, even though a right-lung vector is closer
        #expect(try bank.nearest(anatomy: "left lung", token: [0, 1])?.sentence == "Left lung is healthy.")
        #expect(try bank.nearest(anatomy: "carina", token: [1, 0]) == nil)
    }

    /// softmax(cos / T) over the anatomy's sentences, by hand: healthy unless P(healthy) < threshold.
    @Test func calibratedLookupFollowsTheSoftmaxAndTheThreshold() throws {
        func expected(_ token: [Float]) -> [Float] {
            let n = (token[0] * token[0] + token[1] * token[1]).squareRoot()
            let cos: [Float] = [token[0] / n, token[1] / n, (0.6 * token[0] + 0.8 * token[1]) / n]
            let w = cos.map { Foundation.exp($0 / 0.1) }
            return w.map { $0 / w.reduce(0, +) }
        }
        // Token between healthy and nodule: P(healthy) is above 0.3, so healthy, scored P(healthy).
        let a: [Float] = [1, 0.3]
        let pa = expected(a)
        let ma = try #require(try bank.retrieve(anatomy: "right lung", token: a))
        #expect(pa[0] >= 0.3 && ma.isHealthy && abs(ma.probability! - pa[0]) < 1e-5)
        // Token nearer nodule: P(healthy) < 0.3, so the best abnormal sentence with its own probability.
        let b: [Float] = [0.7, 0.75]
        let pb = expected(b)
        let mb = try #require(try bank.retrieve(anatomy: "right lung", token: b))
        #expect(pb[0] < 0.3)
        #expect(mb.sentence == "Right lung shows nodule." && abs(mb.probability! - pb[2]) < 1e-5)
        // The threshold decides even where the healthy sentence is not the single most probable one.
        let lenient = try SentenceBank(entries: bank.entries, vectors: Tensor(shape: [4, 2], storage: [1, 0, 0, 2, 0.6, 0.8, 1, 1]),
                                       temperature: 0.1, healthyThreshold: 0.0)
        #expect(try lenient.retrieve(anatomy: "right lung", token: b)?.isHealthy == true)
    }

    @Test func wrongDimensionsAndSettingsAreErrors() {
        let three = #expect(throws: RetrievalError.self) { try bank.nearest(anatomy: "right lung", token: [1, 2, 3]) }
        #expect(three?.message == "query token has 3 values; the bank holds 2-d vectors")
        let one = #expect(throws: RetrievalError.self) { try bank.retrieve(anatomy: "right lung", token: [1]) }
        #expect(one?.message == "query token has 1 values; the bank holds 2-d vectors")
        #expect(throws: RetrievalError.self) {
            try SentenceBank(entries: [.init(anatomy: "a", sentence: "b", kinds: [])], vectors: Tensor(shape: [2, 2]))
        }
        #expect(throws: RetrievalError.self) {
            try SentenceBank(entries: [.init(anatomy: "a", sentence: "b", kinds: [])], vectors: Tensor(shape: [1, 2]), temperature: 0)
        }
    }

    func folder(bank json: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bank-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(json.utf8).write(to: dir.appendingPathComponent("bank.json"))
        try SafeTensorsWriter.write(["vectors": Tensor(shape: [1, 4], storage: [0, 0, 3, 4])],
                                    to: dir.appendingPathComponent("bank.safetensors").path)
        let ontology = #"{"version": 1, "findings": [{"kind": "pneumothorax", "name": "pneumothorax", "labels": ["Pneumothorax"], "anatomies": ["right lung"]}]}"#
        try Data(ontology.utf8).write(to: dir.appendingPathComponent("findings.json"))
        return dir
    }

    @Test func loadsFromAModelFolder() throws {
        let dir = try folder(bank: #"{"temperature": 0.05, "healthy_threshold": 0.4, "entries": [{"anatomy": "right lung", "sentence": "Right lung shows pneumothorax.", "kinds": ["pneumothorax"]}]}"#)
        defer { try? FileManager.default.removeItem(at: dir) }
        let loaded = try SentenceBank(directory: dir.path)
        #expect(loaded.dimension == 4 && loaded.anatomies == ["right lung"] && loaded.healthyThreshold == 0.4)
        #expect(abs((try loaded.nearest(anatomy: "right lung", token: [0, 0, 3, 4])?.similarity ?? 0) - 1) < 1e-6)
        #expect(throws: RetrievalError.self) { try SentenceBank(directory: dir.appendingPathComponent("nope").path) }
    }

    @Test func anEntryTheOntologyForbidsIsAnError() throws {
        let dir = try folder(bank: #"{"temperature": 0.05, "healthy_threshold": 0.4, "entries": [{"anatomy": "spine", "sentence": "Spine shows pneumothorax.", "kinds": ["pneumothorax"]}]}"#)
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = #expect(throws: RetrievalError.self) { try SentenceBank(directory: dir.path) }
        #expect(error?.message.contains("states 'pneumothorax' for 'spine', which findings.json does not allow") == true)
    }

    @Test func theCommittedOntologyIsValidAndAllowsWhatTheIssueNames() throws {
        let o = try FindingOntology.load(path: Repository.schemas.appendingPathComponent("findings.v1.json").path)
        #expect(o.kinds.count == 15)
        #expect(o.allows("pneumothorax", for: "right apical zone") && !o.allows("pneumothorax", for: "descending aorta"))
        #expect(o.allows("cardiomegaly", for: "left cardiac silhouette") && !o.allows("cardiomegaly", for: "spine"))
        #expect(o.allows("endotracheal tube", for: "trachea") && o.allows("central venous catheter", for: "cavoatrial junction"))
    }
}
