import ArgumentParser

/// `anatomix`: the AnatomiX command line (thin wiring over the Shared/ libraries).
@main
struct Anatomix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anatomix",
        abstract: "AnatomiX on CPU: anatomy-aware chest X-ray interpretation.",
        subcommands: [Embed.self, Similarity.self, Analyze.self, Eval.self])
}

/// Options every model-running command shares.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads for matrix products and batches (default: 1).")
    var threads: Int = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}
