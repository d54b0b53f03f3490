// swift-tools-version: 6.1
// AnatomiX-Swift: the anatomy-aware chest X-ray model and its Kafka pipeline, on CPU.
// Layout: Shared/ (library targets, one folder each), Services/ (thin executables), Tests/.
import PackageDescription

/// Strict settings shared by every Swift target (Swift 6 language mode is the package default).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

// Release builds keep every check (plain `-O`, never `-Ounchecked`): a shape error from a bad file
// must stay an error, not an out-of-bounds read. The hot loops are C kernels and BLAS.

func library(_ name: String, dependencies: [Target.Dependency] = [], settings: [SwiftSetting] = strict) -> Target {
    .target(name: name, dependencies: dependencies, path: "Shared/\(name)", swiftSettings: settings)
}

func tests(_ name: String, dependencies: [Target.Dependency]) -> Target {
    .testTarget(name: "\(name)Tests", dependencies: dependencies + ["TestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
                path: "Tests/\(name)Tests", swiftSettings: strict)
}

let package = Package(
    name: "AnatomiX",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "anatomix", targets: ["anatomix"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Language", targets: ["Language"]),
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),   // for Fuzz/ (the libFuzzer binaries, `make fuzz`)
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian packages (see `make deps`).
        .systemLibrary(name: "CBLAS", path: "Shared/CBLAS"),
        .systemLibrary(name: "CPNG", path: "Shared/CPNG"),
        .systemLibrary(name: "CRdKafka", path: "Shared/CRdKafka"),

        // Hand-vectorised C kernels (AVX-512F, else AVX2 + FMA, else portable C, chosen at run time).
        .target(name: "CKernels", path: "Shared/CKernels"),

        library("Tensor", dependencies: ["CBLAS", "CKernels"]),
        library("Imaging", dependencies: ["CPNG"]),
        library("Tokenizers"),
        library("Models", dependencies: ["Tensor", "Tokenizers"]),
        library("Language", dependencies: ["Tensor", "Models", "Tokenizers", "Imaging"]),
        library("Contracts", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        library("Messaging", dependencies: ["CRdKafka"]),
        library("Retrieval", dependencies: ["Tensor"]),
        library("Evaluation"),
        library("Pipeline", dependencies: ["Models", "Imaging", "Retrieval", "Tensor", "Language", "Contracts"]),
        library("Operations", dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                                             .product(name: "NIOHTTP1", package: "swift-nio")]),
        library("Workers", dependencies: ["Contracts", "Messaging", "Pipeline", "Retrieval", "Tensor", "Operations",
                                          .product(name: "Prometheus", package: "swift-prometheus"),
                                          .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                          .product(name: "Logging", package: "swift-log")]),

        .executableTarget(
            name: "anatomix",
            dependencies: ["Models", "Tensor", "Imaging", "Pipeline", "Retrieval", "Evaluation", "Language", "Contracts", "Messaging", "Workers",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Services/anatomix", swiftSettings: strict),
        .executableTarget(
            name: "anatomix-bench",
            dependencies: ["Models", "Tensor", "Language", "Pipeline", "Contracts", "Imaging", "Messaging", "Operations"],
            path: "Services/anatomix-bench", swiftSettings: strict),

        // The three pipeline workers: thin executables over Workers (configured by ANATOMIX_* variables).
        .executableTarget(name: "perception-worker", dependencies: ["Workers"], path: "Services/perception-worker", swiftSettings: strict),
        .executableTarget(name: "retrieval-indexer", dependencies: ["Workers"], path: "Services/retrieval-indexer", swiftSettings: strict),
        .executableTarget(name: "language-worker", dependencies: ["Workers"], path: "Services/language-worker", swiftSettings: strict),

        .target(name: "TestSupport", dependencies: ["Contracts"], path: "Tests/TestSupport", swiftSettings: strict),
        // What each fuzz target does with one input; Fuzz/Package.swift wraps them for libFuzzer.
        .target(name: "FuzzTargets", dependencies: ["Contracts", "Imaging", "Language", "Tokenizers"], path: "Tests/Fuzz/Targets",
                swiftSettings: strict),
        .testTarget(name: "FuzzCorpusTests", dependencies: ["FuzzTargets", "TestSupport"], path: "Tests/FuzzCorpusTests", swiftSettings: strict),
        tests("Tensor", dependencies: ["Tensor"]),
        tests("Imaging", dependencies: ["Imaging"]),
        tests("Tokenizers", dependencies: ["Tokenizers"]),
        tests("Models", dependencies: ["Models", "Tensor", "Tokenizers", "Imaging", "Evaluation"]),
        tests("Language", dependencies: ["Language", "Models", "Tensor", "Tokenizers"]),
        tests("Contracts", dependencies: ["Contracts"]),
        tests("Messaging", dependencies: ["Messaging"]),
        tests("Retrieval", dependencies: ["Retrieval", "Tensor"]),
        tests("Evaluation", dependencies: ["Evaluation"]),
        tests("Pipeline", dependencies: ["Pipeline", "Imaging", "Models"]),
        tests("Workers", dependencies: ["Workers", "Contracts", "Messaging", "Pipeline", "Imaging", "Operations"]),
        // Broker-backed tests (Tansu + the worker executables); `make test` runs them with the rest.
        .testTarget(name: "IntegrationTests", dependencies: ["Contracts", "Messaging", "Pipeline", "Imaging", "TestSupport"],
                    path: "Tests/IntegrationTests", swiftSettings: strict),
    ]
)
