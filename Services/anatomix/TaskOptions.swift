import ArgumentParser
import Pipeline

/// `analyze`'s language-model options: which tasks, their parameters, and how to decode.
struct TaskOptions: ParsableArguments {
    @Option(name: .customLong("task"), help: ArgumentHelp(
        "A task to answer (repeatable; default: report when the model has a language model): \(StudyTask.names.joined(separator: ", ")).",
        valueName: "name"))
    var tasks: [String] = []
    @Option(help: ArgumentHelp("x1,y1,x2,y2 in image pixels for grounded-diagnosis / grounded-caption (one per such task, in order).",
                               valueName: "box"))
    var box: [String] = []
    @Option(help: "The phrase of a phrase-grounding task (one per such task, in order).")
    var phrase: [String] = []
    @Option(help: "The anatomy of an anatomy-grounding task, e.g. \"left lung\" (one per such task, in order).")
    var anatomy: [String] = []
    @Option(help: "The question of a vqa task (one per such task, in order).")
    var question: [String] = []
    @Flag(help: "Print each answer's text to stderr as it is generated.")
    var stream = false
    @Option(help: "Sampling temperature (0 = greedy, the default).")
    var temperature: Float = 0
    @Option(help: "Nucleus sampling: smallest token set with this probability (with --temperature > 0).")
    var topP: Float = 0.9
    @Option(help: "Seed of the sampler (same seed, same text).")
    var seed: UInt64 = 0
    @Option(help: "Most tokens generated per task (default: the model's language.json).")
    var maxNewTokens: Int?

    func validate() throws {
        guard temperature >= 0, temperature.isFinite, topP > 0, topP <= 1 else {
            throw ValidationError("--temperature must be >= 0 and --top-p in (0, 1]")
        }
        if let maxNewTokens, !(1...4096).contains(maxNewTokens) { throw ValidationError("--max-new-tokens must be in 1...4096") }
    }

    var decoding: Decoding { temperature == 0 ? .greedy : .nucleus(temperature: temperature, topP: topP, seed: seed) }

    /// The tasks with their parameters, each parameter list consumed in order.
    func studyTasks(defaultTasks: [String], anatomies: [String]) throws -> [StudyTask] {
        var boxes = box[...], phrases = phrase[...], names = anatomy[...], questions = question[...]
        let parsed = try (tasks.isEmpty ? defaultTasks : tasks).map { name -> StudyTask in
            switch name {
            case "grounded-diagnosis", "grounded-caption":
                guard let text = boxes.popFirst() else { throw ValidationError("task \(name) needs a --box x1,y1,x2,y2") }
                let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard values.count == 4, values.allSatisfy({ $0 != nil }) else {
                    throw ValidationError("--box '\(text)' is not four numbers x1,y1,x2,y2")
                }
                return try StudyTask.parse(name: name, box: values.map { $0! })
            case "phrase-grounding": return try StudyTask.parse(name: name, text: phrases.popFirst())
            case "anatomy-grounding": return try StudyTask.parse(name: name, text: names.popFirst(), anatomies: anatomies)
            case "vqa": return try StudyTask.parse(name: name, text: questions.popFirst())
            default: return try StudyTask.parse(name: name)
            }
        }
        let unused = boxes.count + phrases.count + names.count + questions.count
        guard unused == 0 else { throw ValidationError("\(unused) --box/--phrase/--anatomy/--question value(s) belong to no --task") }
        return parsed
    }
}
