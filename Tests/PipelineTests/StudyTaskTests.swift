import Testing
@testable import Pipeline

@Suite struct StudyTaskTests {
    @Test func everyTaskParsesWithItsParameter() throws {
        #expect(try StudyTask.parse(name: "report") == .report)
        #expect(try StudyTask.parse(name: "grounded-diagnosis", box: [1, 2, 30, 40]) == .groundedDiagnosis(box: [1, 2, 30, 40]))
        #expect(try StudyTask.parse(name: "phrase-grounding", text: " small effusion ") == .phraseGrounding(phrase: "small effusion"))
        #expect(try StudyTask.parse(name: "anatomy-grounding", text: "Left Lung", anatomies: ["left lung"]) == .anatomyGrounding(anatomy: "left lung"))
        #expect(StudyTask.names.count == 7)
        for name in StudyTask.names where !["grounded-diagnosis", "grounded-caption", "phrase-grounding", "anatomy-grounding", "vqa"].contains(name) {
            #expect(try StudyTask.parse(name: name).name == name)
        }
    }

    @Test func badParametersAreErrorsNamingTheFix() {
        func message(_ body: () throws -> StudyTask) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        #expect(message { try StudyTask.parse(name: "grounded-caption") }.contains("--box"))
        #expect(message { try StudyTask.parse(name: "grounded-caption", box: [5, 5, 1, 1]) }.contains("x2 > x1"))
        #expect(message { try StudyTask.parse(name: "grounded-caption", box: [.nan, 0, 1, 1]) }.contains("--box"))
        #expect(message { try StudyTask.parse(name: "vqa") }.contains("--question"))
        #expect(message { try StudyTask.parse(name: "vqa", text: String(repeating: "a", count: 501)) }.contains("limit is 500"))
        #expect(message { try StudyTask.parse(name: "vqa", text: "is there <obj_3>?") }.contains("'<'"))
        #expect(message { try StudyTask.parse(name: "anatomy-grounding", text: "left knee", anatomies: ["left lung"]) }.contains("not one of the 36"))
        #expect(message { try StudyTask.parse(name: "diagnose") }.contains("unknown task 'diagnose'"))
    }

    @Test func instructionsAreTheGeneratorTemplates() {
        #expect(StudyTask.report.instruction(labels: []) == "Generate report:\n")
        #expect(StudyTask.groundedDiagnosis(box: [17, 79, 28, 98]).instruction(labels: [])
                == "What is the diagnosis for the region <box>(17,79),(28,98)</box>?")
        #expect(StudyTask.imageUnderstanding.instruction(labels: ["No Finding", "Edema"])
                == "Identify any diseases visible in the given CXR. Options: No Finding, Edema.")
    }
}
