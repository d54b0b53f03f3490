import Foundation
import Testing
import TestSupport
@testable import Evaluation

/// Tests/Fixtures/metrics/text.json, written by Training/export_metric_fixtures.py from rouge-score
/// 0.1.2 and NLTK 3.10.4 over the WordNet 3.0 database of wordnet-base.
struct TextMetricsFixture: Decodable {
    struct Pair: Decodable {
        let candidate: String
        let reference: String
        let rouge_l: Double
        let bleu4: Double
        let meteor: Double
    }

    struct MultiReference: Decodable {
        let candidate_tokens: String
        let references_tokens: [String]
        let bleu4: Double
        let meteor: Double

        var candidate: [String] { candidate_tokens.split(separator: " ").map(String.init) }
        var references: [[String]] { references_tokens.map { $0.split(separator: " ").map(String.init) } }
    }

    let tokens: [String: [String]]
    let pairs: [Pair]
    let multi_reference: [MultiReference]
    let stems: [String: String]
    let lemma_names: [String: [String]]
}

/// The WordNet database is required: these tests fail (never skip) without it (`make deps`).
@Suite struct TextMetricsCrossCheckTests {
    let fixture: TextMetricsFixture
    let tolerance = 1e-6

    init() throws {
        fixture = try Repository.decodeFixture(TextMetricsFixture.self, "metrics/text.json")
    }

    @Test func tokenizerMatchesRougeScore() {
        #expect(fixture.tokens.count > 50)
        for (text, tokens) in fixture.tokens {
            #expect(TextMetrics.words(text) == tokens, "\(text.debugDescription)")
        }
    }

    @Test func rougeLMatchesRougeScore() {
        var worst = 0.0
        for pair in fixture.pairs {
            let diff = abs(TextMetrics.rougeL(pair.candidate, pair.reference) - pair.rouge_l)
            #expect(diff <= tolerance, "\(pair.candidate) | \(pair.reference)")
            worst = max(worst, diff)
        }
        #expect(fixture.pairs.count >= 250 && worst <= tolerance)
    }

    @Test func bleuMatchesNLTK() {
        for pair in fixture.pairs {
            let score = Bleu.score(TextMetrics.words(pair.candidate), references: [TextMetrics.words(pair.reference)])
            #expect(abs(score - pair.bleu4) <= tolerance, "\(pair.candidate) | \(pair.reference): \(score) vs \(pair.bleu4)")
            #expect(Bleu.score(pair.candidate, reference: pair.reference) == score)
        }
        for entry in fixture.multi_reference {
            let score = Bleu.score(entry.candidate, references: entry.references)
            #expect(abs(score - entry.bleu4) <= tolerance, "\(entry.candidate_tokens): \(score) vs \(entry.bleu4)")
        }
    }

    @Test func meteorMatchesNLTK() throws {
        let meteor = Meteor()
        for pair in fixture.pairs {
            let score = try meteor.score(pair.candidate, reference: pair.reference)
            #expect(abs(score - pair.meteor) <= tolerance, "\(pair.candidate) | \(pair.reference): \(score) vs \(pair.meteor)")
        }
        for entry in fixture.multi_reference {
            let score = try meteor.score(entry.candidate, references: entry.references)
            #expect(abs(score - entry.meteor) <= tolerance, "\(entry.candidate_tokens): \(score) vs \(entry.meteor)")
        }
        #expect(fixture.pairs.contains { $0.meteor > 0 && $0.meteor < 1 }, "the fixture exercises partial matches")
    }

    @Test func porterStemsMatchNLTK() {
        let stemmer = PorterStemmer()
        #expect(fixture.stems.count > 500)
        for (word, stem) in fixture.stems {
            #expect(stemmer.stem(word) == stem, "\(word)")
        }
    }

    @Test func wordNetLemmaNamesMatchNLTK() throws {
        #expect(fixture.lemma_names.count > 500)
        for (word, names) in fixture.lemma_names {
            #expect(try WordNet.standard.lemmaNames(of: word) == Set(names), "\(word)")
        }
    }
}

/// Hand-checked values, independent of the fixture.
@Suite struct TextMetricsHandTests {
    let hypothesis1 = ["It", "is", "a", "guide", "to", "action", "which", "ensures", "that", "the", "military",
                       "always", "obeys", "the", "commands", "of", "the", "party"]
    let reference1 = ["It", "is", "a", "guide", "to", "action", "that", "ensures", "that", "the", "military",
                      "will", "forever", "heed", "Party", "commands"]

    @Test func meteorReproducesNLTKsDoctest() throws {
        let meteor = Meteor()
        // 12 matches in 6 chunks, P 12/18, R 12/16: F = 0.5 / (0.9 * 2/3 + 0.1 * 3/4), penalty 0.5 * (6/12)^3.
        let score = try meteor.score(hypothesis1, reference: reference1)
        #expect((score * 10_000).rounded() / 10_000 == 0.6944, "NLTK's doctest: round(..., 4) == 0.6944")
        #expect(abs(score - (1 - 0.5 * 0.125) * 0.5 / 0.675) < 1e-12)
        let reference2 = ["It", "is", "the", "guiding", "principle", "which", "guarantees", "the", "military", "forces",
                          "always", "being", "under", "the", "command", "of", "the", "Party"]
        let score2 = try meteor.score(hypothesis1, reference: reference2)
        let best = try meteor.score(hypothesis1, references: [reference2, reference1])
        #expect(score2 < score && best == score, "the best reference")
        #expect(try meteor.score(["non", "matching", "hypothesis"], reference: ["this", "is", "a", "cat"]) == 0)
        #expect(try meteor.score([], reference: ["cat"]) == 0 && meteor.score(["cat"], reference: []) == 0)
    }

    @Test func meteorCountsOneChunkForAnIdenticalSentence() throws {
        // P = R = 1, one chunk of 4: (1 - 0.5 * (1/4)^3) * 1.
        let words = ["left", "lung", "is", "clear"]
        #expect(abs(try Meteor().score(words, reference: words) - (1 - 0.5 / 64)) < 1e-15)
        // "lungs" meets "lung" by stem, "heart" meets "pump" by WordNet: still 3 of 3 in one chunk.
        #expect(abs(try Meteor().score(["heart", "lungs", "clear"], reference: ["pump", "lung", "clear"]) - (1 - 0.5 / 27)) < 1e-15)
        // The synonym stage sees stems, as in NLTK: "small" (stem "small") misses "little" (stem "littl").
        #expect(abs(try Meteor().score(["small", "lungs", "clear"], reference: ["little", "lung", "clear"]) - 0.625) < 1e-15)
    }

    @Test func bleuOfIdenticalSentencesIsOneAndOfNothingZero() {
        let sentence = ["the", "heart", "is", "normal", "in", "size"]
        #expect(abs(Bleu.score(sentence, references: [sentence]) - 1) < 1e-15)
        #expect(Bleu.score([], references: [sentence]) == 0 && Bleu.score(sentence, references: [[]]) == 0)
        #expect(Bleu.score("", reference: "") == 0 && Bleu.score("a b", reference: "c d") == 0)
        // Two words, one matching unigram and no bigram: p1 = 1/2, p2..p4 smoothed to 0.1/1, 0.1/1, 0.1/1;
        // equal length, no brevity penalty.
        let expected = exp(0.25 * (log(0.5) + 3 * log(0.1)))
        #expect(abs(Bleu.score(["heart", "big"], references: [["heart", "small"]]) - expected) < 1e-15)
    }

    @Test func bleuPenalisesBrevityAgainstTheClosestReference() {
        // Hypothesis of 4 identical to a 4-word prefix; references of 5 and 9 words: r = 5, BP = e^(1 - 5/4).
        let hypothesis = ["no", "acute", "cardiopulmonary", "abnormality"]
        let short = hypothesis + ["seen"], long = hypothesis + ["is", "seen", "on", "this", "study"]
        #expect(abs(Bleu.score(hypothesis, references: [long, short]) - exp(1 - 5.0 / 4)) < 1e-15)
        #expect(Bleu.closestLength([3, 5], to: 4) == 3, "a tie goes to the shorter")
    }

    @Test func exactSumIsCorrectlyRounded() {
        #expect(Bleu.exactSum(Array(repeating: 0.1, count: 10)) == 1.0)   // naive summation gives 0.9999999999999999
        #expect(Bleu.exactSum([1e100, 1, -1e100]) == 1 && Bleu.exactSum([]) == 0)
    }

    @Test func porterStemmerFollowsThePaperAndNLTKsExtensions() {
        let stemmer = PorterStemmer()
        let cases = ["caresses": "caress", "ponies": "poni", "ties": "tie", "cats": "cat", "agreed": "agre",
                     "plastered": "plaster", "motoring": "motor", "hopping": "hop", "filing": "file",
                     "happy": "happi", "enjoy": "enjoy", "relational": "relat", "generalizations": "gener",
                     "effusions": "effus", "enlarged": "enlarg", "dying": "die", "skies": "sky", "is": "is",
                     "Lungs": "lung", "controlling": "control",
                     "Dying": "die", "Skies": "sky"]      // NLTK 3.10.4 looks the lower-cased word up in its pool
        for (word, stem) in cases { #expect(stemmer.stem(word) == stem, "\(word)") }
    }

    @Test func wordNetAppliesMorphyAndKeepsLemmaCase() throws {
        let wordNet = WordNet.standard
        #expect(try wordNet.lemmaNames(of: "geese").contains("goose"), "noun.exc")
        #expect(try wordNet.lemmaNames(of: "enlarged").isSuperset(of: ["enlarge", "expand", "hypertrophied"]))
        #expect(try wordNet.lemmaNames(of: "heart").contains("center"))
        #expect(try wordNet.lemmaNames(of: "party").contains("political_party"))
        #expect(try wordNet.lemmaNames(of: "galore").contains("galore"), "the (ip) marker is dropped")
        #expect(try wordNet.lemmaNames(of: "xxxx").isEmpty)
        #expect(try wordNet.synsets("Dogs").first == WordNet.Synset(partOfSpeech: .noun, offset: 2_084_071,
                                                                    lemmaNames: ["dog", "domestic_dog", "Canis_familiaris"]))
    }

    @Test func aMissingWordNetFolderIsAnErrorNamingIt() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("no-wordnet-\(UUID().uuidString)")
        let wordNet = WordNet(directory: folder)
        let error = try #require(throws: WordNetError.self) { try wordNet.lemmaNames(of: "heart") }
        #expect(error.description.contains(folder.path) && error.description.contains("wordnet-base"))
        #expect(throws: WordNetError.self) { try Meteor(wordNet: wordNet).score(["big"], reference: ["large"]) }
        #expect(WordNet(environment: [WordNet.environmentVariable: folder.path]).directory.path == folder.path)
        #expect(WordNet(environment: [:]).directory == WordNet.defaultDirectory)
    }
}
