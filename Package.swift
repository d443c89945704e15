// swift-tools-version: 6.2
// Tonle: a permissioned payment ledger node. Targets follow the layers of docs/architecture.md;
// imports point down only (Tests/TidyTests enforces it).
import Foundation
import PackageDescription

/// Settings shared by every target we write: Swift 6 mode (strict concurrency) and warnings as errors.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "Tonle",
    products: [
        .executable(name: "tonle", targets: ["tonle"]),
        .executable(name: "tonle-node", targets: ["tonle-node"]),
        .executable(name: "tonle-sim", targets: ["tonle-sim"]),
        .library(name: "TonleCrypto", targets: ["TonleCrypto"]),
        .library(name: "KHQR", targets: ["KHQR"]),
        .library(name: "TonleTypes", targets: ["TonleTypes"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Layer 0: system libraries.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb", providers: [.apt(["librocksdb-dev"])]),
        // Layer 1: the only target that touches the C libraries.
        .target(name: "TonleCrypto", dependencies: ["CSodium", "COpenSSL"], swiftSettings: strict),
        // Layer 1 too, and usable alone: KHQR payloads (no dependencies).
        .target(name: "KHQR", swiftSettings: strict),
        // Layer 2: identifiers, amounts, transactions, blocks, votes, canonical codec.
        .target(name: "TonleTypes", dependencies: ["TonleCrypto"], swiftSettings: strict),
        .target(name: "TonleMerkle", dependencies: ["TonleCrypto"], swiftSettings: strict),
        // Layer 3: deterministic execution.
        .target(name: "TonleLedger", dependencies: ["KHQR", "TonleTypes", "TonleCrypto"], swiftSettings: strict),
        .target(name: "TonleConsensus", dependencies: ["TonleTypes", "TonleMerkle", "TonleCrypto"], swiftSettings: strict),
        // Layer 4: storage protocols and the in-memory store.
        .target(name: "TonleStorage", dependencies: ["TonleLedger", "TonleMerkle", "TonleTypes", "TonleCrypto"], swiftSettings: strict),
        // Layer 5: the deterministic driver (so far: block execution).
        .target(name: "TonleRuntime", dependencies: ["TonleStorage", "TonleConsensus", "TonleLedger", "TonleMerkle", "TonleTypes", "TonleCrypto"], swiftSettings: strict),
        // Layer 6: the embedded stores (RocksDB, the node's; SQLite; docs/storage.md).
        .target(name: "TonleStore", dependencies: ["CSQLite", "CRocksDB", "TonleStorage", "TonleLedger", "TonleMerkle", "TonleTypes", "TonleCrypto"], swiftSettings: strict),
        // Layer 6: the deterministic cluster simulator.
        .target(name: "TonleSimulator", dependencies: ["TonleRuntime", "TonleConsensus", "TonleStorage", "TonleLedger", "TonleTypes", "TonleCrypto"], swiftSettings: strict),
        // Layer 6: a deterministic workload for tests, the crash test and benchmarks.
        .target(name: "TonleWorkload", dependencies: ["TonleRuntime", "TonleStorage", "TonleLedger", "TonleMerkle", "TonleTypes", "TonleCrypto"], swiftSettings: strict),
        // Layer 6: peer links (SwiftNIO): framing, authenticated encrypted handshake, peer manager.
        .target(
            name: "TonleNetwork",
            dependencies: [
                "TonleConsensus", "TonleTypes", "TonleCrypto",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // Layer 6: the HTTP/JSON API (Hummingbird); the node implements its query protocol.
        .target(
            name: "TonleRPC",
            dependencies: [
                "TonleLedger", "TonleStorage", "TonleMerkle", "TonleTypes", "TonleCrypto", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"), .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The explorer's files, compiled into the binary (no resource bundle to install beside it).
            resources: [.embedInCode("Explorer/index.html"), .embedInCode("Explorer/app.js"), .embedInCode("Explorer/style.css")],
            swiftSettings: strict),
        // Layer 7: the node: configuration, genesis, the node loop, sync, services, logs, metrics.
        .target(
            name: "TonleNode",
            dependencies: [
                "TonleNetwork", "TonleRPC", "TonleStore", "TonleRuntime", "TonleConsensus", "TonleStorage", "TonleLedger", "TonleMerkle", "TonleTypes",
                "TonleCrypto",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict),
        // Layer 7: the SQL reporting sink: follows certified blocks from a node into PostgreSQL (docs/reporting.md).
        .target(
            name: "TonleIndexer",
            dependencies: [
                "TonleRPC", "TonleLedger", "TonleTypes", "TonleCrypto",
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        // Layer 8: the command trees, and the executables that run them.
        .target(
            name: "TonleCLI",
            dependencies: [
                "KHQR",
                "TonleNode", "TonleIndexer", "TonleRPC", "TonleLedger", "TonleMerkle", "TonleCrypto", "TonleTypes", "TonleRuntime", "TonleStorage", "TonleStore",
                "TonleWorkload",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict),
        // Layer 7: the fuzz targets (libFuzzer runs them through tonle-fuzz; a test runs their corpus).
        .target(
            name: "TonleFuzzTargets",
            dependencies: [
                "KHQR", "TonleConsensus", "TonleNetwork", "TonleRPC", "TonleTypes", "TonleCrypto",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "tonle", dependencies: ["TonleCLI"], swiftSettings: strict),
        .executableTarget(name: "tonle-node", dependencies: ["TonleCLI"], swiftSettings: strict),
        .executableTarget(
            name: "tonle-sim",
            dependencies: ["TonleSimulator", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        // Test helper: applies blocks to a SQLite store until killed (Tests/TonleStoreTests/CrashTests.swift).
        .executableTarget(name: "tonle-crash-child", dependencies: ["TonleStore", "TonleWorkload"], swiftSettings: strict),

        .testTarget(
            name: "TonleCryptoTests", dependencies: ["TonleCrypto"], exclude: ["Vectors"], swiftSettings: strict),
        .testTarget(name: "KHQRTests", dependencies: ["KHQR"], exclude: ["Vectors"], swiftSettings: strict),
        .testTarget(name: "TonleTypesTests", dependencies: ["TonleTypes", "TonleCrypto"], swiftSettings: strict),
        .testTarget(name: "TonleMerkleTests", dependencies: ["TonleMerkle", "TonleTypes", "TonleCrypto"], swiftSettings: strict),
        .testTarget(
            name: "TonleLedgerTests", dependencies: ["KHQR", "TonleLedger", "TonleRuntime", "TonleStorage", "TonleStore", "TonleTypes", "TonleCrypto"],
            swiftSettings: strict),
        .testTarget(
            name: "TonleStoreTests",
            dependencies: ["CSQLite", "TonleStore", "TonleStorage", "TonleRuntime", "TonleWorkload", "TonleRPC", "TonleLedger", "TonleMerkle", "TonleTypes", "TonleCrypto"],
            swiftSettings: strict),
        .testTarget(
            name: "TonleConsensusTests", dependencies: ["TonleConsensus", "TonleTypes", "TonleCrypto"], exclude: ["Transcripts"],
            swiftSettings: strict),
        .testTarget(name: "TonleSimulatorTests", dependencies: ["TonleSimulator"], swiftSettings: strict),
        .testTarget(
            name: "TonleRuntimeTests", dependencies: ["TonleRuntime", "TonleConsensus", "TonleStorage", "TonleWorkload", "TonleTypes", "TonleCrypto"],
            swiftSettings: strict),
        .testTarget(
            name: "TonleNetworkTests",
            dependencies: [
                "TonleNetwork", "TonleConsensus", "TonleTypes", "TonleCrypto", "TonleTestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "TonleNodeTests",
            dependencies: [
                "TonleNode", "TonleIndexer", "TonleNetwork", "TonleRPC", "TonleConsensus", "TonleWorkload", "TonleTypes", "TonleCrypto", "TonleTestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Schemathesis", "ISO20022"], swiftSettings: strict),
        .testTarget(
            name: "TonleRPCTests",
            dependencies: [
                "TonleRPC", "TonleLedger", "TonleMerkle", "TonleTypes", "TonleCrypto", "TonleTestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict),
        // Helpers shared by test targets (a raw TCP client that misbehaves on purpose).
        .target(
            name: "TonleTestSupport", dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "TonleFuzzTargetsTests", dependencies: ["TonleFuzzTargets", "TonleConsensus", "TonleMerkle", "TonleNetwork", "TonleStorage", "TonleWorkload", "TonleTypes", "TonleCrypto"],
            exclude: ["Corpus"], swiftSettings: strict),
        .testTarget(name: "TonleCLITests", dependencies: ["TonleCLI", "TonleTypes", "TonleCrypto"], swiftSettings: strict),
        .testTarget(name: "DocTests", dependencies: ["TonleTypes", "TonleMerkle", "TonleLedger", "TonleCrypto"], swiftSettings: strict),
        .testTarget(name: "TidyTests", swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)

// tonle-fuzz, the libFuzzer driver, needs libFuzzer at link time: it exists only in builds made
// with TONLE_FUZZ set (deploy/fuzz.sh: swift build --sanitize fuzzer --sanitize address).
if ProcessInfo.processInfo.environment["TONLE_FUZZ"] != nil {
    package.products.append(.executable(name: "tonle-fuzz", targets: ["tonle-fuzz"]))
    package.targets.append(.executableTarget(name: "tonle-fuzz", dependencies: ["TonleFuzzTargets"]))
}
