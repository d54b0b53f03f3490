import Foundation

/// The parts of a dataset manifest line (Schemas/dataset-manifest.v1.json) that evaluation reads.
public struct ManifestStudy: Decodable, Sendable {
    public struct Anatomy: Decodable, Sendable {
        public let name: String
        public let box: [Double]
    }

    /// The ground-truth region sentence of one anatomy and the finding kinds it names.
    public struct RegionSentence: Decodable, Sendable {
        public let anatomy: String
        public let sentence: String
        public let kinds: [String]
    }

    /// A derived benchmark image (pad, crop, collimation, hires) and the id of the study it was made from.
    public struct Variant: Decodable, Sendable {
        public let kind: String
        public let of: String
    }

    /// One instruction example (the seven tasks) with its answer; boxes in original pixels.
    public struct TaskExample: Decodable, Sendable {
        public let task: String
        public let instruction: String
        public let answer: String
    }

    /// An inserted finding's kind and side (left, right, bilateral, midline).
    public struct Finding: Decodable, Sendable {
        public let kind: String
        public let side: String?
        /// `[x1, y1, x2, y2]` in original pixels (absent in manifests that do not give it).
        public let box: [Double]?
    }

    public let id: String
    public let image: String
    public let width: Int
    public let height: Int
    public let flipped: Bool
    public let anatomies: [Anatomy]
    public let labels: [String: Int]
    /// Absent in manifests written before the ontology (generator cxrgen-1); `eval --tasks retrieval` needs them.
    public let regionSentences: [RegionSentence]?
    public let variant: Variant?
    /// The task examples and inserted findings (`eval --tasks language` scores against them).
    public let tasks: [TaskExample]?
    public let findings: [Finding]?

    enum CodingKeys: String, CodingKey {
        case id, image, width, height, flipped, anatomies, labels, regionSentences = "region_sentences", variant, tasks, findings
    }

    /// Every study of a `manifest.jsonl`, with a clear error for the first bad line.
    public static func load(manifest path: String) throws -> [ManifestStudy] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw PipelineError("cannot read \(path): give the manifest.jsonl of a dataset (make dataset / make dataset-test)")
        }
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").enumerated().map { number, line in
            do {
                return try decoder.decode(ManifestStudy.self, from: Data(line.utf8))
            } catch {
                throw PipelineError("\(path):\(number + 1) is not a dataset manifest line: \(error)")
            }
        }
    }
}
