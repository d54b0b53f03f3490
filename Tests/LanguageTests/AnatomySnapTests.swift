import Imaging
import Testing
@testable import Language

/// An answer's box for a named anatomy takes stage one's box only when the name is an anatomy's
/// and the two overlap enough; everything else keeps the box the model wrote, in the text too.
@Suite struct AnatomySnapTests {
    let prompt = AnatomixPrompt()
    let letterbox = Letterbox(width: 256, height: 256, canvas: 256)
    // stage one's boxes, original pixels: 0 left lung, 1 right lung, 2 aortic arch
    let stageOne: [[Double]] = [[130, 20, 230, 200], [20, 20, 120, 200], [103, 55, 140, 87]]
    let snap = AnatomySnap(names: [["left lung", "Left Lung"], ["right lung"], ["aortic arch"]], minimumIoU: 0.2)

    func answer(_ phrase: String, _ box: [Double]) -> String {
        "The <ref>\(phrase)</ref> is located at the coordinates \(prompt.boxText(box, letterbox: letterbox)) on the image."
    }

    func parsed(_ raw: String) -> ParsedAnswer {
        ParsedAnswer(raw, prompt: prompt, letterbox: letterbox) { snap.snapped($1, phrase: $0, anatomyBoxes: stageOne) }
    }

    @Test func aNamedAnatomyWithAnOverlappingBoxTakesStageOnesBox() {
        let p = parsed(answer("Left lung", [136, 30, 226, 180]))
        #expect(p.boxes == [stageOne[0]])
        #expect(p.phrases == [GroundedPhrase(phrase: "Left lung", boxes: [stageOne[0]])])
        #expect(p.text == "The Left lung is located at the coordinates (130,20),(230,200) on the image.")
        #expect(p.parsed)
    }

    @Test func aBoxOnTheOtherSideStaysAsWritten() {
        // "left lung" written over the right lung: IoU 0 with the left lung's box, so the model's error stays visible
        let p = parsed(answer("left lung", [22, 24, 118, 196]))
        #expect(p.boxes.count == 1 && abs(p.boxes[0][0] - 22) <= 1.1 && abs(p.boxes[0][2] - 118) <= 1.1)
        #expect(p.boxes[0] != stageOne[1] && p.boxes[0] != stageOne[0])
    }

    @Test func phrasesThatAreNotAnatomiesAndBoxesOutsideARefKeepTheirBoxes() {
        let finding = parsed("<ref>pleural effusion</ref>" + prompt.boxText([130, 120, 230, 200], letterbox: letterbox))
        #expect(finding.boxes.count == 1 && finding.boxes[0] != stageOne[0])
        let bare = parsed("Look here: " + prompt.boxText([131, 21, 229, 199], letterbox: letterbox))
        #expect(bare.boxes.count == 1 && bare.boxes[0] != stageOne[0])
    }

    @Test func eachBoxOfAnAnswerIsJudgedOnItsOwn() {
        let raw = answer("aortic arch", [104, 56, 139, 86]) + " " + answer("right lung", [200, 200, 250, 250])
        let p = parsed(raw)
        #expect(p.boxes.count == 2)
        #expect(p.boxes[0] == stageOne[2])
        #expect(p.boxes[1] != stageOne[1])                      // no overlap with the right lung
        #expect(p.text.contains("(103,55),(140,87)"))
    }

    @Test func theOverlapIsIoU() {
        #expect(AnatomySnap.iou([0, 0, 10, 10], [5, 0, 15, 10]) == 50.0 / 150.0)
        #expect(AnatomySnap.iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0)
        #expect(AnatomySnap.iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0)
    }
}

/// The same on a non-square study: the answer's location tokens are decoded through the letterbox,
/// compared with stage one's boxes in original pixels, and the text shows the snapped original box.
@Suite struct AnatomySnapLetterboxTests {
    @Test func aPaddedStudySnapsInOriginalPixels() {
        let prompt = AnatomixPrompt(), letterbox = Letterbox(width: 632, height: 552, canvas: 256)
        let leftLung: [Double] = [330, 40, 600, 480]
        let snap = AnatomySnap(names: [["left lung"]], minimumIoU: 0.2)
        let written = [340.0, 50, 590, 470]
        let raw = "The <ref>left lung</ref> is located at the coordinates \(prompt.boxText(written, letterbox: letterbox)) on the image."
        let p = ParsedAnswer(raw, prompt: prompt, letterbox: letterbox) { snap.snapped($1, phrase: $0, anatomyBoxes: [leftLung]) }
        #expect(p.boxes == [leftLung])
        #expect(p.text.contains("(330,40),(600,480)"))
        let plain = ParsedAnswer(raw, prompt: prompt, letterbox: letterbox)
        #expect(plain.boxes.count == 1 && zip(plain.boxes[0], written).allSatisfy { abs($0 - $1) <= 0.5 * 632 / 128 + 0.05 })
    }

    @Test func aReplacementThatIsNotABoxIsIgnored() {
        let prompt = AnatomixPrompt(), letterbox = Letterbox(width: 256, height: 256, canvas: 256)
        let raw = "<ref>left lung</ref>" + prompt.boxText([10, 10, 100, 100], letterbox: letterbox)
        let written = ParsedAnswer(raw, prompt: prompt, letterbox: letterbox)
        for bad: [Double] in [[], [1, 2, 3], [.nan, 0, 1, 1], [0, 0, .infinity, 1]] {
            let p = ParsedAnswer(raw, prompt: prompt, letterbox: letterbox) { _, _ in bad }
            #expect(p.boxes == written.boxes && p.text == written.text)
        }
    }
}
