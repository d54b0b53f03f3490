public import Contracts
import Dispatch
import Foundation
public import Imaging
public import Language
public import Retrieval

/// How the next token is picked.
public enum Decoding: Sendable, Equatable {
    case greedy
    case nucleus(temperature: Float, topP: Float, seed: UInt64)
}

/// Stage three without transport: the study's prompt (image tokens, anatomy entries with boxes and
/// retrieved findings) prefilled once, then each task's question and answer after it.
public struct LanguageStage: Sendable {
    public let model: AnatomixLanguageModel
    public let labels: [String]
    /// Stage one's boxes for the anatomies answers name (nil: `language.json` has no `anatomy_snap_iou`).
    public let snap: AnatomySnap?

    public init(modelDirectory: String, catalog: AnatomyCatalog) throws {
        model = try AnatomixLanguageModel(directory: modelDirectory)
        labels = catalog.chexpertLabels
        snap = model.settings.anatomySnapIoU.map { t in
            AnatomySnap(names: catalog.anatomies.map { [$0.name, $0.displayName] }, minimumIoU: t)
        }
    }

    /// Stage one and two's outputs as the language model reads them.
    public func context(_ perception: Perception, findings: [String: SentenceBank.Match]) -> StudyContext {
        let letterbox = Letterbox(width: perception.width, height: perception.height, canvas: perception.canvas)
        return StudyContext(letterbox: letterbox, imageFeatures: perception.imageFeatures,
                            tokens: perception.anatomies.flatMap(\.token),
                            canvasBoxes: perception.canvasBoxes,
                            findings: perception.anatomies.map { findings[$0.name]?.kinds ?? [] })
    }

    /// Answers `tasks` in order; `onText(i, piece)` receives each task's text as it is generated.
    /// Past `deadline` generation stops and `LanguageTimeout` is thrown.
    public func answer(_ tasks: [StudyTask], study: StudyContext, decoding: Decoding = .greedy, maxNewTokens: Int? = nil,
                       threads: Int? = nil, deadline: ContinuousClock.Instant? = nil, onText: ((Int, String) -> Void)? = nil) throws -> [TaskAnswer] {
        let llm = model.llm
        let limit = maxNewTokens ?? model.settings.maxNewTokens
        let (prefix, count) = try model.studyEmbeddings(study)
        var shared = llm.makeCache(capacity: llm.configuration.maxPositions)
        let started = DispatchTime.now().uptimeNanoseconds
        _ = try llm.forward(prefix, count: count, cache: &shared, threads: threads)
        let prefixSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let anatomyBoxes = study.canvasBoxes.map { $0.count == 4 ? study.letterbox.toOriginal($0) : [] }   // AnatomySnap's, once per study
        var answers = [TaskAnswer]()
        for (index, task) in tasks.enumerated() {
            let instruction = task.instruction(labels: labels)
            let question = model.prompt.questionText(model.prompt.compactBoxes(instruction, letterbox: study.letterbox))
            let ids = model.tokenizer.encode(question)
            let room = shared.capacity - shared.count - ids.count
            guard room > 0 else {
                throw PipelineError("task \(task.name): the prompt takes \(shared.count + ids.count) of the model's \(shared.capacity) positions; shorten the question")
            }
            let settings = GenerationSettings(maxNewTokens: min(limit, room), stopTokens: [try endToken()])
            let tokens: [Int], generator: any TimedGeneration
            switch decoding {
            case .greedy:
                let g = try TokenGenerator(model: llm, continuing: shared, prompt: try llm.embed(ids), count: ids.count,
                                           settings: settings, sampler: GreedySampler(), threads: threads)
                tokens = try stream(g, index: index, deadline: deadline, onText: onText); generator = g
            case let .nucleus(temperature, topP, seed):
                let g = try TokenGenerator(model: llm, continuing: shared, prompt: try llm.embed(ids), count: ids.count, settings: settings,
                                           sampler: try NucleusSampler(temperature: temperature, topP: topP, seed: seed &+ UInt64(index)),
                                           threads: threads)
                tokens = try stream(g, index: index, deadline: deadline, onText: onText); generator = g
            }
            if let failure = generator.failure { throw failure }
            let raw = model.tokenizer.decode(tokens)
            let parsedAnswer = ParsedAnswer(raw, prompt: model.prompt, letterbox: study.letterbox) { phrase, box in
                snap?.snapped(box, phrase: phrase, anatomyBoxes: anatomyBoxes) ?? box
            }
            let isReport = task == .report || (task.name == "instruction" && instruction.hasPrefix("Generate report"))
            let text = isReport ? TextCleanup.removingDuplicateSentences(parsedAnswer.text) : parsedAnswer.text
            let timings = TaskAnswer.Timings(prefill: generator.prefillSeconds + (index == 0 ? prefixSeconds : 0),
                                             decode: generator.decodeSeconds, tokensPerSecond: generator.tokensPerSecond,
                                             promptTokens: generator.promptTokens, generatedTokens: tokens.count)
            answers.append(TaskAnswer(task: task.name, instruction: instruction, text: text,
                                      phrases: parsedAnswer.phrases.map { .init(phrase: $0.phrase, boxes: $0.boxes) },
                                      boxes: parsedAnswer.boxes, parsed: parsedAnswer.parsed, raw: raw, timings: timings))
        }
        return answers
    }

    func endToken() throws -> Int {
        guard let id = model.tokenizer.id(of: AnatomixPrompt.answerEnd) else { throw PipelineError("the tokenizer lacks <|end|>") }
        return id
    }

    func stream<S>(_ generator: TokenGenerator<S>, index: Int, deadline: ContinuousClock.Instant?,
                   onText: ((Int, String) -> Void)?) throws(LanguageTimeout) -> [Int] {
        var tokens = [Int](), shown = ""
        if let deadline, ContinuousClock.now > deadline { throw LanguageTimeout(task: index, tokens: 0) }
        for token in generator {
            tokens.append(token)
            if let deadline, ContinuousClock.now > deadline { throw LanguageTimeout(task: index, tokens: tokens.count) }
            guard let onText else { continue }
            let text = model.tokenizer.decode(tokens)
            if text.hasPrefix(shown), !text.hasSuffix("\u{FFFD}") {       // whole characters only
                onText(index, String(text.dropFirst(shown.count)))
                shown = text
            }
        }
        return tokens
    }
}

/// Generation passed its deadline: in task `task` (0-based), after `tokens` tokens.
public struct LanguageTimeout: Error {
    public let task: Int
    public let tokens: Int
}

/// What `answer` reads of a finished generator, whatever its sampler.
protocol TimedGeneration {
    var failure: (any Error)? { get }
    var prefillSeconds: Double { get }
    var decodeSeconds: Double { get }
    var tokensPerSecond: Double { get }
    var promptTokens: Int { get }
}

extension TokenGenerator: TimedGeneration {}
