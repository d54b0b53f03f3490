import Foundation
import Imaging
import TestSupport
import Testing
import Tokenizers
@testable import Language

/// The compact prompt and the answer parser must give Python's texts, ids and boxes
/// (Training/export_language_fixtures.py, the AnatomiX-recipe fixture tokenizer).
@Suite struct AnatomixPromptTests {
    struct Study: Decodable { let canvas_boxes: [[Double]], findings: [[String]], text: String, ids: [Int] }
    struct Question: Decodable { let width: Int, height: Int, instruction: String, text: String, ids: [Int] }
    struct Phrase: Decodable { let phrase: String, boxes: [[Double]] }
    struct Answer: Decodable { let width: Int, height: Int, raw: String, text: String, phrases: [Phrase], boxes: [[Double]], parsed: Bool }
    struct Cases: Decodable { let studies: [Study], questions: [Question], answers: [Answer] }

    static let cases = try! Repository.decodeFixture(Cases.self, "language/prompt-cases.json")
    static let tokenizer = try! BPETokenizer(tokenizerJSON: Repository.fixture("tokenizer/gpt2.json").path)
    let prompt = AnatomixPrompt()

    @Test func studyTextsAndIdsMatchPython() {
        #expect(Self.cases.studies.count == 3)
        for s in Self.cases.studies {
            let text = prompt.studyText(canvasBoxes: s.canvas_boxes, findings: s.findings, side: 256)
            #expect(text == s.text)
            #expect(Self.tokenizer.encode(text) == s.ids)
        }
    }

    @Test func questionsCompactTheirBoxesAsPythonDoes() {
        for q in Self.cases.questions {
            let letterbox = Letterbox(width: q.width, height: q.height, canvas: 256)
            let text = prompt.questionText(prompt.compactBoxes(q.instruction, letterbox: letterbox))
            #expect(text == q.text, "\(q.width)x\(q.height): \(q.instruction.debugDescription)")
            #expect(Self.tokenizer.encode(text) == q.ids)
        }
    }

    @Test func answersParseAsPythonDoesAndMalformedOnesAreFlagged() {
        var malformed = 0
        for a in Self.cases.answers {
            let parsed = ParsedAnswer(a.raw, prompt: prompt, letterbox: Letterbox(width: a.width, height: a.height, canvas: 256))
            #expect(parsed.parsed == a.parsed, "\(a.raw.debugDescription)")
            #expect(parsed.text == a.text, "\(a.raw.debugDescription)")
            #expect(parsed.phrases.map(\.phrase) == a.phrases.map(\.phrase))
            let got = parsed.boxes.flatMap { $0 }, want = a.boxes.flatMap { $0 }
            #expect(got.count == want.count && zip(got, want).allSatisfy { abs($0 - $1) <= 0.051 }, "\(got) vs \(want)")
            malformed += a.parsed ? 0 : 1
        }
        #expect(malformed >= 12, "the fixture's malformed answers are flagged")
    }

    @Test func aLocationRoundTripsWithinHalfABin() {
        // 632x552 letterbox: a pixel box -> location tokens -> back lands within half a bin (in original pixels)
        let letterbox = Letterbox(width: 632, height: 552, canvas: 256)
        let box = [100.0, 60.0, 420.0, 500.0]
        let answer = ParsedAnswer(prompt.boxText(box, letterbox: letterbox), prompt: prompt, letterbox: letterbox)
        let half = 0.5 * 632.0 / 128.0
        #expect(answer.boxes.count == 1 && zip(answer.boxes[0], box).allSatisfy { abs($0 - $1) <= half + 0.05 })
        #expect(answer.parsed)
    }

    @Test func garbageNeverTraps() {
        let letterbox = Letterbox(width: 256, height: 256, canvas: 256)
        for raw in ["<box><loc_999999999999999999999><loc_1><loc_2><loc_3></box>", "<ref><ref></ref></ref>", String(repeating: "<box>", count: 1000),
                    "<loc_-1>", "\u{0}\u{FFFF}"] {
            let parsed = ParsedAnswer(raw, prompt: prompt, letterbox: letterbox)
            #expect(parsed.boxes.allSatisfy { $0.count == 4 && $0.allSatisfy(\.isFinite) })
        }
    }
}
