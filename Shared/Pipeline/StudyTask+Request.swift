public import Contracts

extension StudyTask {
    /// A task of a `cxr.studies.v1` message: an unknown name is `unknown_task`, a missing or bad
    /// parameter `bad_task` (the dead-letter codes).
    public init(request: TaskRequest, anatomies: [String]) throws(ContractError) {
        guard Self.names.contains(request.task) else {
            throw ContractError(.unknownTask, "unknown task '\(request.task.prefix(64))'; tasks are \(Self.names.joined(separator: ", "))")
        }
        let text = request.phrase ?? request.anatomy ?? request.question
        do { self = try Self.parse(name: request.task, box: request.box, text: text, anatomies: anatomies) } catch {
            throw ContractError(.badTask, "\(error)")
        }
    }

    /// The request form of this task (what `cxr.studies.v1` carries).
    public var request: TaskRequest {
        switch self {
        case .report: TaskRequest(task: name)
        case let .groundedDiagnosis(box), let .groundedCaption(box): TaskRequest(task: name, box: box)
        case let .phraseGrounding(phrase): TaskRequest(task: name, phrase: phrase)
        case let .anatomyGrounding(anatomy): TaskRequest(task: name, anatomy: anatomy)
        case let .vqa(question): TaskRequest(task: name, question: question)
        case .imageUnderstanding: TaskRequest(task: name)
        case let .instruction(text): TaskRequest(task: name, question: text)
        }
    }

    /// A box task's box must overlap the image (`width` x `height` pixels).
    public func checkBox(width: Int, height: Int) throws(ContractError) {
        switch self {
        case let .groundedDiagnosis(b), let .groundedCaption(b):
            guard b[0] < Double(width), b[1] < Double(height), b[2] > 0, b[3] > 0, b[0] >= -1, b[1] >= -1,
                  b[2] <= Double(width) + 1, b[3] <= Double(height) + 1 else {
                throw ContractError(.badTask, "task \(name): the box \(b.map { Int($0) }) is outside the \(width)x\(height) image; give x1,y1,x2,y2 in its pixels")
            }
        default: return
        }
    }
}
