import Foundation

/// What the language-task scores need from a sentence encoder (all-MiniLM-L6-v2 in `anatomix eval`):
/// token states for BERTScore and unit sentence embeddings for matching phrases.
public protocol TextEmbedder: Sendable {
    /// Per text, the encoder's last-layer token states, [CLS] first and [SEP] last.
    func tokenStates(_ texts: [String]) throws -> [BERTScore.TokenStates]
    /// Per text, its L2-normalised sentence embedding.
    func sentenceEmbeddings(_ texts: [String]) throws -> [[Float]]
}

/// Box scores of the grounding tasks (phrase grounding, anatomy grounding through the LM):
///
/// - mean IoU: per predicted box, its best IoU with the sample's true boxes; a sample scores the
///   mean over its boxes, and a sample without a parseable box scores 0 and is counted in `no_box`
///   (the published code skipped such samples).
/// - mAP: COCO mAP over IoU {0.25, 0.5, 0.75, 0.95} (`MeanAveragePrecision`), every score 1. The
///   classes are the distinct true phrases; a predicted box takes the class of its sample's true
///   phrase when the MiniLM cosine of the two phrases is >= 0.8 (as the paper matches labels), else
///   of the most similar true phrase of the benchmark at >= 0.8 (a false positive there), else none.
///   With every score 1, COCO's stable sort keeps sample order among ties, so the mAP depends on
///   the order of the samples (manifest order here), as pycocotools' does on the order it is given;
///   and MiniLM puts "left X" and "right X" above 0.8 (0.95 for the clavicles), so the phrase rule
///   does not check sides: the true box does (a box on the wrong side misses it).
public enum GroundingTaskMetrics {
    public static let phraseMatch: Float = 0.8

    public struct Scores: Codable, Sendable, Equatable {
        public let iou: Double, map: Double, n: Int, noBox: Int
        public let mapPerThreshold: [Double]
        enum CodingKeys: String, CodingKey { case iou, map, n, noBox = "no_box", mapPerThreshold = "map_per_threshold" }
    }

    /// The text inside the first `<ref>...</ref>` of a ground-truth answer (nil without one).
    public static func referencePhrase(_ answer: String) -> String? {
        guard let open = answer.range(of: "<ref>"), let close = answer.range(of: "</ref>", range: open.upperBound..<answer.endIndex) else { return nil }
        return String(answer[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces)
    }

    /// Per sample, the mean best IoU of its predicted boxes (0 without a box).
    public static func sampleIoU(_ sample: TaskSample) -> Double {
        let truth = TextMetrics.pixelBoxes(sample.truth)
        let predicted = sample.boxes.compactMap { Box($0) }
        guard !predicted.isEmpty else { return 0 }
        return predicted.map { p in truth.map { p.iou($0) }.max() ?? 0 }.reduce(0, +) / Double(predicted.count)
    }

    /// Throws when a true answer carries no box (`<box>(x1,y1),(x2,y2)</box>`): nothing to score against.
    public static func score(_ samples: [TaskSample], embedder: any TextEmbedder) throws -> Scores? {
        guard !samples.isEmpty else { return nil }
        if let bad = samples.firstIndex(where: { TextMetrics.pixelBoxes($0.truth).isEmpty }) {
            throw EvaluationError("\(samples[bad].task) sample \(bad + 1) (\"\(samples[bad].instruction.prefix(80))\"): its true answer has no "
                                  + "<box>(x1,y1),(x2,y2)</box> to score against: \"\(samples[bad].truth.prefix(120))\"")
        }
        let ious = samples.map(sampleIoU)
        let noBox = samples.filter { $0.boxes.compactMap { Box($0) }.isEmpty }.count
        var map = 0.0, perThreshold = [Double]()
        do {
            let truthPhrases = samples.map { (referencePhrase($0.truth) ?? $0.instruction).lowercased() }
            let classes = Array(Set(truthPhrases)).sorted()
            let classID = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
            let predictedPhrases = samples.map { s in s.phrases.map { $0.phrase.lowercased() } }
            let distinct = Array(Set(classes + predictedPhrases.flatMap { $0 } + samples.map { $0.text.lowercased() })).sorted()
            let vectors = try embedder.sentenceEmbeddings(distinct)
            let vector = Dictionary(uniqueKeysWithValues: zip(distinct, vectors))
            func cosine(_ a: String, _ b: String) -> Float {
                guard let u = vector[a], let v = vector[b] else { return -1 }
                return zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }
            }
            func label(of phrase: String, own: String) -> Int? {
                if cosine(phrase, own) >= phraseMatch { return classID[own] }
                let best = classes.max { cosine(phrase, $0) < cosine(phrase, $1) }
                guard let best, cosine(phrase, best) >= phraseMatch else { return nil }
                return classID[best]
            }
            var metric = MeanAveragePrecision()
            for (i, sample) in samples.enumerated() {
                let own = truthPhrases[i]
                let truths = TextMetrics.pixelBoxes(sample.truth).map { MeanAveragePrecision.Truth(box: $0, label: classID[own]!) }
                var detections = [MeanAveragePrecision.Detection]()
                if sample.phrases.isEmpty {   // boxes without a <ref>: the whole answer stands for the phrase
                    let l = label(of: sample.text.lowercased(), own: own)
                    detections = sample.boxes.compactMap { b in Box(b).flatMap { box in l.map { .init(box: box, label: $0) } } }
                } else {
                    for p in sample.phrases {
                        guard let l = label(of: p.phrase.lowercased(), own: own) else { continue }
                        detections += p.boxes.compactMap { Box($0).map { .init(box: $0, label: l) } }
                    }
                }
                metric.add(detections: detections, truths: truths)
            }
            if let s = metric.score() { (map, perThreshold) = s }
        }
        return Scores(iou: ious.reduce(0, +) / Double(ious.count), map: map, n: samples.count, noBox: noBox, mapPerThreshold: perThreshold)
    }
}

/// An evaluation input that cannot be scored, with what is wrong and where.
public struct EvaluationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
