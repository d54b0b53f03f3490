import Foundation
import FuzzTargets
import TestSupport
import Testing

/// Every committed fuzz input (the seed corpus and any crash found since, `Tests/Fuzz/Corpus/<target>`)
/// through its target in the ordinary test run: what once crashed a target stays fixed. The targets'
/// own checks (round trips, boxes inside the image) run on each.
@Suite struct FuzzCorpusTests {
    static let corpus = Repository.root.appendingPathComponent("Tests/Fuzz/Corpus")

    @Test(arguments: FuzzTarget.allCases) func everyCommittedInputRunsClean(_ target: FuzzTarget) throws {
        let folder = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(files.count >= 5, "a seed corpus for \(target)")
        if target == .tokenizers { #expect(FuzzTarget.hasTokenizer, "Weights/anatomix-tiny/lm/tokenizer.json loads: the round trip runs") }
        for name in files { target.run(try Data(contentsOf: folder.appendingPathComponent(name))) }
    }
}
