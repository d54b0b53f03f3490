// swift-tools-version: 6.1
// The libFuzzer binaries: one per FuzzTargets case, built by `make fuzz` in their own package (so the
// main build never links libFuzzer's main) with `--sanitize=fuzzer --sanitize=address` (SwiftPM then
// lets libFuzzer provide main) plus `-Xswiftc -sanitize=fuzzer,address`: swiftc keeps only the last
// of two -sanitize flags, so SwiftPM's pair alone leaves the Swift code without coverage.
import PackageDescription

let targets = ["png", "contracts", "tokenizers", "parser"]

let package = Package(
    name: "AnatomiXFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "AnatomiX", path: "..")],
    targets: targets.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: [.product(name: "FuzzTargets", package: "AnatomiX")],
                          path: "Sources/fuzz-\(name)")
    }
)
