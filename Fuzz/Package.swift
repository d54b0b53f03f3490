// swift-tools-version: 6.1
// The libFuzzer binaries: one per FuzzTargets case, built with `-Xswiftc -sanitize=fuzzer,address` (one flag:
// SwiftPM's --sanitize=fuzzer --sanitize=address gives swiftc two flags and the second drops the coverage)
// by `make fuzz`, in its own package so the main build never links libFuzzer's main.
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
