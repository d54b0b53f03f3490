import Contracts
import Dispatch
import Foundation
import Imaging
import Pipeline
import Retrieval
import Synchronization
import Tensor

/// What one study of `anatomix eval` produced: stage one's output, the likely findings and, for the
/// studies the language model is asked about, its answers; with each stage's wall time.
struct StudyOutcome: Sendable {
    let perception: Perception
    let findings: [String: SentenceBank.Match]?
    let answers: [TaskAnswer]
    let perceptionSeconds: Double, retrievalSeconds: Double, languageSeconds: Double
}

/// Runs the stages over a manifest's studies on `workers` threads (each study on one thread, one
/// compute thread per study, so two workers keep two cores busy), with a progress bar on stderr.
/// Outcomes come back in manifest order whatever order they finish in.
struct EvalRunner {
    let perception: PerceptionStage
    let retrieval: RetrievalStage?
    let language: LanguageStage?
    let limits: PNGCodec.Limits
    let workers: Int

    /// `ask(i)`: the study's task examples to put to the language model (empty: none).
    func run(_ studies: [ManifestStudy], root: URL, ask: @Sendable (Int) -> [ManifestStudy.TaskExample]) throws -> [StudyOutcome] {
        let results = Locked<[Int: Result<StudyOutcome, any Error>]>([:])
        let done = Atomic<Int>(0)
        let started = DispatchTime.now().uptimeNanoseconds
        let (perception, retrieval, language, limits) = (perception, retrieval, language, limits)
        let total = studies.count
        let next = Atomic<Int>(0)
        let failed = Atomic<Bool>(false)                   // one failure stops the others taking new studies
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, total))) { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < total, !failed.load(ordering: .relaxed) else { return }
                let outcome = Result { () throws -> StudyOutcome in
                    let study = studies[i]
                    let path = root.appendingPathComponent(study.image).path
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let p = try perception.perceive(try PNGCodec.read(path: path, limits: limits))
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    let examples = ask(i)
                    let findings = try retrieval.map { try $0.likelyFindings(p) }
                    let t2 = DispatchTime.now().uptimeNanoseconds
                    var answers = [TaskAnswer]()
                    if let language, let findings, !examples.isEmpty {
                        answers = try language.answer(examples.map { .instruction($0.instruction) }, study: language.context(p, findings: findings), threads: 1)
                    }
                    let t3 = DispatchTime.now().uptimeNanoseconds
                    return StudyOutcome(perception: p, findings: findings, answers: answers, perceptionSeconds: Double(t1 - t0) / 1e9,
                                        retrievalSeconds: Double(t2 - t1) / 1e9, languageSeconds: Double(t3 - t2) / 1e9)
                }
                results.withLock { $0[i] = outcome }
                if case .failure = outcome { failed.store(true, ordering: .relaxed) }
                let finished = done.wrappingAdd(1, ordering: .relaxed).newValue
                if finished % 10 == 0 || finished == total { Self.progress(finished, total, since: started) }
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        return try results.withLock { all in
            if let (i, failure) = all.sorted(by: { $0.key < $1.key }).first(where: { if case .failure = $0.value { true } else { false } }),
               case let .failure(error) = failure {
                throw PipelineError("study \(studies[i].id) (manifest line \(i + 1)): \(error)")
            }
            return try (0..<total).map { i in try all[i]!.get() }
        }
    }

    static func progress(_ done: Int, _ total: Int, since start: UInt64) {
        let width = 30, filled = total == 0 ? width : done * width / total
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rate = Double(done) / max(seconds, 1e-9)
        let left = rate > 0 ? Double(total - done) / rate : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data(("\reval [\(bar)] \(done)/\(total) studies  " + String(format: "%.1f/s  %.0f s left ", rate, left)).utf8))
    }
}
