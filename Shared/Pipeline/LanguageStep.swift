public import Contracts
import Dispatch
import Foundation
import Imaging
public import Language

/// The language worker's logic, free of transport: `cxr.grounded.v1` -> `cxr.results.v1`. Without a
/// language model (`stage` nil) a study with tasks is an error and one without gets the stage-one
/// summary alone.
public struct LanguageStep: Sendable {
    public let stage: LanguageStage?
    public let model: ModelID?
    public let catalog: AnatomyCatalog
    public let decoding: Decoding
    public let maxNewTokens: Int?
    /// A study's tasks must be answered within this many seconds (nil: no limit); past it generation
    /// stops and the study is a `timeout` dead letter (a worker's record must finish well inside
    /// `max.poll.interval.ms`).
    public let timeoutSeconds: Double?

    public init(stage: LanguageStage?, model: ModelID?, catalog: AnatomyCatalog, decoding: Decoding = .greedy, maxNewTokens: Int? = nil,
                timeoutSeconds: Double? = nil) {
        (self.stage, self.model, self.catalog, self.decoding, self.maxNewTokens) = (stage, model, catalog, decoding, maxNewTokens)
        self.timeoutSeconds = timeoutSeconds
    }

    /// `onText(i, piece)` receives each task's text as it is generated (`analyze --stream`).
    public func run(_ grounded: GroundedMessage, threads: Int? = nil,
                    onText: ((Int, String) -> Void)? = nil) throws(ContractError) -> ResultMessage {
        let perception = grounded.perception
        let names = catalog.anatomies.map(\.name)
        var tasks = [StudyTask]()
        for request in perception.tasks { tasks.append(try StudyTask(request: request, anatomies: names)) }
        for task in tasks { try task.checkBox(width: perception.image.width, height: perception.image.height) }
        let start = DispatchTime.now().uptimeNanoseconds
        var answers = [TaskAnswer]()
        if !tasks.isEmpty {
            guard let stage else {
                throw ContractError(.processingFailed, "study \(grounded.studyID) asks \(tasks.count) task(s) but this model folder has no language model (lm/)")
            }
            let context = try Self.context(grounded, model: stage.model, anatomies: catalog.anatomies.count)
            let deadline = timeoutSeconds.map { ContinuousClock.now + .nanoseconds(Int64($0 * 1e9)) }
            do {
                answers = try stage.answer(tasks, study: context, decoding: decoding, maxNewTokens: maxNewTokens, threads: threads,
                                           deadline: deadline, onText: onText)
            } catch let timeout as LanguageTimeout {
                throw ContractError(.timeout, String(format: "study %@: task %d of %d passed the %.1f s limit after %d generated tokens; stopped (ANATOMIX_STAGE_TIMEOUT_S, or fewer tasks per study)",
                                                     grounded.studyID, timeout.task + 1, tasks.count, timeoutSeconds ?? 0, timeout.tokens))
            } catch {
                throw ContractError(.processingFailed, "study \(grounded.studyID): the language model failed: \(error)")
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let byAnatomy = Dictionary(grounded.findings.map { ($0.anatomy, $0) }, uniquingKeysWith: { a, _ in a })
        let anatomies = perception.anatomies.map { a in
            ResultMessage.Anatomy(name: a.name, box: a.box, finding: byAnatomy[a.name]?.sentence, kinds: byAnatomy[a.name]?.kinds ?? [],
                                  score: byAnatomy[a.name]?.score)
        }
        // The id names what decides the text: the model, the decoding settings and the box snapping.
        let snapped = stage?.snap.map { "/snap\($0.minimumIoU)" } ?? ""
        let languageVersion = tasks.isEmpty ? "none" : "\(model?.version ?? "unknown")/\(decoding)/\(maxNewTokens.map(String.init) ?? "default")\(snapped)"
        let id = MessageID.make(studyID: grounded.studyID, stage: "language", modelVersion: languageVersion, inputDigest: grounded.id)
        return ResultMessage(id: id, studyID: grounded.studyID, image: perception.image, anatomies: anatomies, labels: perception.labels,
                             tasks: answers, metadata: perception.metadata,
                             models: .init(perception: perception.model, bank: grounded.bank.version, language: tasks.isEmpty ? nil : model,
                                           preprocessing: perception.preprocessing),
                             promptVersion: stage?.model.settings.version ?? 1,
                             timings: .init(perceptionSeconds: perception.timings.perceptionSeconds,
                                            retrievalSeconds: grounded.timings.retrievalSeconds, languageSeconds: seconds))
    }

    /// What the language model reads of a grounded study; shapes that do not fit the model are `schema_violation`.
    static func context(_ grounded: GroundedMessage, model: AnatomixLanguageModel, anatomies: Int) throws(ContractError) -> StudyContext {
        let p = grounded.perception
        guard p.anatomies.count == anatomies, p.anatomies.map(\.index) == Array(0..<anatomies),
              p.anatomies.allSatisfy({ $0.token.count == model.tokenDimension }) else {
            throw ContractError(.schemaViolation, "study \(grounded.studyID) has \(p.anatomies.count) anatomies; the language model reads \(anatomies) in index order, each with a \(model.tokenDimension)-d token")
        }
        guard p.imageTokens.shape == [model.settings.imageTokens, model.imageDimension] else {
            throw ContractError(.schemaViolation, "study \(grounded.studyID): image_tokens has shape \(p.imageTokens.shape); the language model reads [\(model.settings.imageTokens), \(model.imageDimension)]")
        }
        let byAnatomy = Dictionary(grounded.findings.map { ($0.anatomy, $0.kinds) }, uniquingKeysWith: { a, _ in a })
        return StudyContext(letterbox: Letterbox(width: p.image.width, height: p.image.height, canvas: p.canvas),
                            imageFeatures: p.imageTokens.values, tokens: p.anatomies.flatMap(\.token),
                            canvasBoxes: p.anatomies.map(\.canvasBox), findings: p.anatomies.map { byAnatomy[$0.name] ?? [] })
    }
}
