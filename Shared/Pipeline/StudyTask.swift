import Foundation

/// One question a study is asked (the seven AnatomiX tasks). Boxes are original-image pixels.
public enum StudyTask: Sendable, Equatable {
    case report
    case groundedDiagnosis(box: [Double])
    case groundedCaption(box: [Double])
    case phraseGrounding(phrase: String)
    case anatomyGrounding(anatomy: String)
    case vqa(question: String)
    case imageUnderstanding
    /// A free instruction as the generator writes them (evaluation replays a manifest's examples).
    case instruction(String)

    /// The task's name in the CLI and in `cxr.studies.v1` / `cxr.results.v1`.
    public var name: String {
        switch self {
        case .report: "report"
        case .groundedDiagnosis: "grounded-diagnosis"
        case .groundedCaption: "grounded-caption"
        case .phraseGrounding: "phrase-grounding"
        case .anatomyGrounding: "anatomy-grounding"
        case .vqa: "vqa"
        case .imageUnderstanding: "image-understanding"
        case .instruction: "instruction"
        }
    }

    public static let names = ["report", "grounded-diagnosis", "grounded-caption", "phrase-grounding", "anatomy-grounding",
                               "vqa", "image-understanding"]

    /// The longest phrase, question or anatomy name accepted (the prompt has a fixed budget).
    public static let maximumTextCharacters = 500

    /// A task from its name and its one parameter (a box "x1,y1,x2,y2", a phrase, an anatomy or a
    /// question); errors name what is missing or wrong and how to give it.
    public static func parse(name: String, box: [Double]? = nil, text: String? = nil, anatomies: [String] = []) throws -> StudyTask {
        func needBox() throws -> [Double] {
            guard let box, box.count == 4, box.allSatisfy(\.isFinite), box[2] > box[0], box[3] > box[1] else {
                throw PipelineError("task \(name) needs a box x1,y1,x2,y2 in image pixels with x2 > x1 and y2 > y1 (--box)")
            }
            return box
        }
        func needText(_ what: String, _ flag: String) throws -> String {
            guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                throw PipelineError("task \(name) needs \(what) (\(flag))")
            }
            guard text.count <= maximumTextCharacters else {
                throw PipelineError("task \(name): the \(what) has \(text.count) characters; the limit is \(maximumTextCharacters)")
            }
            guard !text.contains("<") else { throw PipelineError("task \(name): the \(what) may not contain '<' (markup tokens)") }
            return text
        }
        switch name {
        case "report": return .report
        case "grounded-diagnosis": return .groundedDiagnosis(box: try needBox())
        case "grounded-caption": return .groundedCaption(box: try needBox())
        case "phrase-grounding": return .phraseGrounding(phrase: try needText("a phrase", "--phrase"))
        case "anatomy-grounding":
            let anatomy = try needText("an anatomy name", "--anatomy").lowercased()
            guard anatomies.isEmpty || anatomies.contains(anatomy) else {
                throw PipelineError("task anatomy-grounding: '\(anatomy)' is not one of the 36 anatomies (\(anatomies.prefix(4).joined(separator: ", ")), ...)")
            }
            return .anatomyGrounding(anatomy: anatomy)
        case "vqa": return .vqa(question: try needText("a question", "--question"))
        case "image-understanding": return .imageUnderstanding
        default: throw PipelineError("unknown task '\(name)'; tasks are \(names.joined(separator: ", "))")
        }
    }

    /// The instruction, in the generator's own templates (Training/cxrgen/tasks.py; a test keeps
    /// them in step), with boxes as `<box>(x1,y1),(x2,y2)</box>` in original pixels.
    public func instruction(labels: [String]) -> String {
        func box(_ b: [Double]) -> String { String(format: "<box>(%.0f,%.0f),(%.0f,%.0f)</box>", b[0], b[1], b[2], b[3]) }
        switch self {
        case .report: return "Generate report:\n"
        case let .groundedDiagnosis(b): return "What is the diagnosis for the region \(box(b))?"
        case let .groundedCaption(b): return "Describe the region \(box(b))."
        case let .phraseGrounding(phrase): return "Please locate the following phrase: \(phrase)"
        case let .anatomyGrounding(anatomy): return "Locate the \(anatomy) in this image."
        case let .vqa(question): return question
        case .imageUnderstanding: return "Identify any diseases visible in the given CXR. Options: " + labels.joined(separator: ", ") + "."
        case let .instruction(text): return text
        }
    }
}
