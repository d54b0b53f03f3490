import Contracts
import Foundation
import Pipeline
import TestSupport
import Testing
@testable import Workers

@Suite struct BankIndexTests {
    static let model = Repository.defaultModel.path

    @Test func aBankSeededFromTheModelIsTheModelsBank() throws {
        let index = BankIndex()
        let seed = try BankIndex.seed(fromModel: Self.model)
        for e in seed { try index.apply(e) }
        let folder = RetrievalStep(stage: try RetrievalStage(modelDirectory: Self.model))
        let step = try #require(index.step)
        #expect(step.bankVersion == folder.bankVersion && index.count == seed.count)
        #expect(step.stage.bank.healthyThreshold == folder.stage.bank.healthyThreshold)
    }

    @Test func lastValuePerKeyWinsAndDeletesRemove() throws {
        let seed = try BankIndex.seed(fromModel: Self.model)
        let a = BankIndex(), b = BankIndex()
        for e in seed { try a.apply(e) }
        let changed = BankEntryMessage(anatomy: seed[3].anatomy, sentence: seed[3].sentence, kinds: seed[3].kinds, vector: seed[3].vector.map { -$0 },
                                       temperature: seed[3].temperature, healthyThreshold: seed[3].healthyThreshold)
        let removed = BankEntryMessage(anatomy: seed[5].anatomy, sentence: seed[5].sentence, kinds: seed[5].kinds, vector: seed[5].vector,
                                       temperature: seed[5].temperature, healthyThreshold: seed[5].healthyThreshold, deleted: true)
        let before = try #require(a.step).bankVersion
        try a.apply(changed); try a.apply(removed)
        let after = try #require(a.step).bankVersion
        #expect(a.count == seed.count - 1 && after != before)
        // A replica reading the same log, duplicates included (compaction is lazy), holds the same bank.
        for e in seed + [seed[3], changed, removed, seed[7]] { try b.apply(e) }
        #expect(try #require(b.step).bankVersion == after)
        // A compacted log read in another order (the changed entry last, the removed one gone) gives the same version.
        let c = BankIndex()
        for e in Array(seed.reversed().filter { $0.key != seed[3].key && $0.key != seed[5].key }) + [changed] { try c.apply(e) }
        #expect(try #require(c.step).bankVersion == after)
        let wrong = BankEntryMessage(anatomy: "left lung", sentence: "x", kinds: [], vector: [1, 2], temperature: 0.1, healthyThreshold: 0.5)
        #expect(throws: ContractError.self) { try a.apply(wrong) }
    }
}
