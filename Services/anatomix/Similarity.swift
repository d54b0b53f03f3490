import ArgumentParser
import Foundation
import Models

/// `anatomix similarity`: the cosine-similarity matrix of a few sentences, as a readable table.
struct Similarity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the cosine similarity matrix of sentences embedded with all-MiniLM-L6-v2.")

    @Argument(help: "Two or more sentences.")
    var sentences: [String]

    @Option(help: "A sentence-transformers folder (default: the MiniLM fetched by `make deps`).")
    var modelDir: String?

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard sentences.count >= 2 else { throw ValidationError("give at least two sentences") }
    }

    func run() throws {
        let encoder = try loadEncoder(modelDir, threads: compute.threads)
        let e = try encoder.embed(sentences)
        let cosine = e.matmul(e, transposeB: true)   // [n, n]; rows are unit vectors
        for (i, s) in sentences.enumerated() { print("[\(i)] \(s)") }
        func padded(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        print("\n     " + sentences.indices.map { padded("[\($0)]", 6) }.joined())
        for i in sentences.indices {
            print(padded("[\(i)]", 5) + sentences.indices.map { String(format: "%6.2f", cosine[i, $0]) }.joined())
        }
    }
}
