import ArgumentParser
import Foundation
import Models
import Tensor

/// `anatomix embed`: sentence embeddings from all-MiniLM-L6-v2, one JSON object per line.
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed sentences with all-MiniLM-L6-v2; prints {\"text\", \"embedding\"} JSON lines.",
        discussion: "Pass - to read one sentence per line from standard input.")

    @Argument(help: "Sentences to embed.")
    var sentences: [String]

    @Option(help: "A sentence-transformers folder (default: the MiniLM fetched by `make deps`).")
    var modelDir: String?

    @Option(help: "Sentences per batch.")
    var batchSize: Int = 32

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard !sentences.isEmpty else { throw ValidationError("give at least one sentence (or - for standard input)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let texts = sentences == ["-"] ? readLines() : sentences
        let encoder = try loadEncoder(modelDir, threads: compute.threads)
        let embeddings = try encoder.embed(texts, batchSize: batchSize)
        let encoderJSON = JSONEncoder()
        for (i, text) in texts.enumerated() {
            let line = EmbeddingLine(text: text, embedding: Array(embeddings.storage[(i * encoder.dimension)..<((i + 1) * encoder.dimension)]))
            print(String(decoding: try encoderJSON.encode(line), as: UTF8.self))
        }
    }
}

struct EmbeddingLine: Codable {
    let text: String
    let embedding: [Float]
}

func readLines() -> [String] {
    var lines = [String]()
    while let line = Swift.readLine() { lines.append(line) }
    return lines
}

/// Loads the sentence encoder, turning load failures into a one-line error that says what to do.
func loadEncoder(_ modelDir: String?, threads: Int) throws -> SentenceEncoder {
    ComputeThreads.set(threads)
    do {
        return try SentenceEncoder(directory: modelDir ?? ModelLocations.miniLM.path)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
