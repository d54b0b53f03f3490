import Foundation
import Testing
@testable import Retrieval
import Tensor

@Suite struct SentenceBankTests {
    let bank = try! SentenceBank(
        entries: [.init(anatomy: "right lung", sentence: "Right lung is healthy."),
                  .init(anatomy: "right lung", sentence: "Right lung shows pneumothorax."),
                  .init(anatomy: "left lung", sentence: "Left lung is healthy.")],
        vectors: Tensor(shape: [3, 2], storage: [1, 0, 0, 2, 1, 1]))

    @Test func bestMatchSearchesOnlyThatAnatomy() throws {
        let m = try #require(try bank.bestMatch(anatomy: "right lung", token: [0.1, 3]))
        #expect(m.sentence == "Right lung shows pneumothorax.")
        #expect(abs(m.similarity - 3 / (0.01 + 9).squareRoot()) < 1e-5)
        // the left lung's only sentence, even though a right-lung vector is closer
        #expect(try bank.bestMatch(anatomy: "left lung", token: [0, 1])?.sentence == "Left lung is healthy.")
        #expect(try bank.bestMatch(anatomy: "carina", token: [1, 0]) == nil)
    }

    @Test func wrongDimensionsAreErrors() {
        #expect(throws: RetrievalError.self) { try bank.bestMatch(anatomy: "right lung", token: [1, 2, 3]) }
        #expect(throws: RetrievalError.self) {
            try SentenceBank(entries: [.init(anatomy: "a", sentence: "b")], vectors: Tensor(shape: [2, 2]))
        }
    }

    @Test func loadsFromAModelFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bank-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = #"{"entries": [{"anatomy": "trachea", "sentence": "Trachea is healthy."}]}"#
        try Data(json.utf8).write(to: dir.appendingPathComponent("bank.json"))
        try SafeTensorsWriter.write(["vectors": Tensor(shape: [1, 4], storage: [0, 0, 3, 4])],
                                    to: dir.appendingPathComponent("bank.safetensors").path)
        let loaded = try SentenceBank(directory: dir.path)
        #expect(loaded.dimension == 4 && loaded.anatomies == ["trachea"])
        #expect(abs((try loaded.bestMatch(anatomy: "trachea", token: [0, 0, 3, 4])?.similarity ?? 0) - 1) < 1e-6)
        #expect(throws: RetrievalError.self) { try SentenceBank(directory: dir.appendingPathComponent("nope").path) }
    }
}
