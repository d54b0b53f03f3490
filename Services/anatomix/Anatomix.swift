import ArgumentParser
import Imaging

/// `anatomix`: the AnatomiX command line (thin wiring over the Shared/ libraries).
@main
struct Anatomix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anatomix",
        abstract: "AnatomiX on CPU: anatomy-aware chest X-ray interpretation.",
        subcommands: [Embed.self, Similarity.self, Analyze.self, Eval.self, Topics.self, Submit.self, Results.self, Replay.self, Label.self])
}

/// Limits on input images, checked from the PNG header before any pixel is decoded
/// (`PNGCodec.Limits`, which the pipeline workers of [7/9] are to take from their configuration).
struct ImageLimitOptions: ParsableArguments {
    @Option(help: "Largest image in pixels.")
    var maxPixels: Int = PNGCodec.Limits().maximumPixels
    @Option(help: "Longest side in pixels.")
    var maxSide: Int = PNGCodec.Limits().maximumSide
    @Option(help: "Largest long side / short side.")
    var maxAspectRatio: Double = PNGCodec.Limits().maximumAspectRatio

    var limits: PNGCodec.Limits {
        PNGCodec.Limits(maximumSide: maxSide, maximumPixels: maxPixels, maximumAspectRatio: maxAspectRatio)
    }

    func validate() throws {
        guard maxPixels >= 64 * 64, maxSide >= 64, maxAspectRatio >= 1, maxAspectRatio.isFinite else {
            throw ValidationError("--max-pixels must be at least 4096, --max-side at least 64 and --max-aspect-ratio a number >= 1")
        }
    }
}

/// Options every model-running command shares.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads for convolutions, products, attention heads and batches.")
    var threads: Int = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}
