import Foundation
import TestSupport
import Testing
@testable import Pipeline

@Suite struct ManifestStudyTests {
    @Test func readsTheCommittedSamples() throws {
        let studies = try ManifestStudy.load(manifest: Repository.root.appendingPathComponent("Samples/manifest.jsonl").path)
        #expect(studies.count == 8)
        #expect(studies.allSatisfy { $0.anatomies.count == 36 && $0.labels.count == 14 })
        #expect(studies.filter(\.flipped).count == 1)
    }

    @Test func aBadLineIsNamed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("{\"id\": 1}\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: PipelineError.self) { try ManifestStudy.load(manifest: path) }
        #expect(error?.message.contains(":1 is not a dataset manifest line") == true)
    }
}
