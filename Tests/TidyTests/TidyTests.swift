import Foundation
import Testing

@Suite struct TidyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func sourcesRespectTheLayers() throws {
        let sources = Self.repository.appendingPathComponent("Sources")
        let targets = try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted()
        #expect(targets.contains("TonleCrypto") && targets.contains("TonleTypes"), "found the Sources folder")
        var violations: [LayerRules.Violation] = [], files = 0
        for target in targets {
            let directory = sources.appendingPathComponent(target)
            guard let walker = FileManager.default.enumerator(atPath: directory.path) else { continue }
            for case let path as String in walker where path.hasSuffix(".swift") {
                let source = try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
                violations += LayerRules.violations(target: target, file: "Sources/\(target)/\(path)", source: source)
                files += 1
            }
            if LayerRules.layers[target] == nil {
                violations.append(.init(file: "Sources/\(target)", line: 0, message: "target \(target) is not in the layer table"))
            }
        }
        #expect(files > 10)
        #expect(violations.isEmpty, "\(violations.map(\.description).joined(separator: "\n"))")
    }

    // The checker itself: each rule catches what it should, and lets the rest through.

    @Test func importsAreFoundInEveryForm() {
        let source = """
            import Foundation
            @testable import TonleTypes
            @_implementationOnly import CSodium
            public import struct TonleCrypto.Digest
            internal import NIOCore
            // import Commented
            let importer = 1
            """
        #expect(LayerRules.imports(in: source).map(\.module) == ["Foundation", "TonleTypes", "CSodium", "TonleCrypto", "NIOCore"])
    }

    @Test func upwardSidewaysAndCImportsAreCaught() {
        let check = { (target: String, source: String) in LayerRules.violations(target: target, file: "f.swift", source: source).map(\.message) }
        #expect(check("TonleTypes", "import TonleCrypto").isEmpty)
        #expect(check("TonleCrypto", "import CSodium\nimport COpenSSL").isEmpty)
        #expect(check("TonleCLI", "import Foundation\nimport ArgumentParser\nimport TonleTypes").isEmpty)
        #expect(check("TonleTypes", "import TonleMerkle").first?.contains("imports point down only") == true)
        #expect(check("TonleCrypto", "import TonleTypes").first?.contains("imports point down only") == true)
        #expect(check("TonleTypes", "import CSodium").first == "only TonleCrypto may import CSodium")
        #expect(check("TonleStore", "import CSQLite").isEmpty)
        #expect(check("TonleNode", "import CSQLite").first == "only TonleStore may import CSQLite")
        #expect(check("TonleLedger", "import Foundation").first?.contains("pure") == true)
        #expect(check("TonleRuntime", "import NIOCore").first?.contains("pure") == true)
        #expect(check("TonleRuntime", "import OrderedCollections").isEmpty)
        #expect(check("TonleUnknown", "").first?.contains("not in the layer table") == true)
    }

    @Test func impureCodeInPureLayersIsCaught() {
        let check = { (target: String, source: String) in LayerRules.violations(target: target, file: "f.swift", source: source).count }
        #expect(check("TonleLedger", "func f() async {}") == 1)
        #expect(check("TonleConsensus", "let x = await y") == 1)
        #expect(check("TonleStorage", "actor Store {}") == 1)
        #expect(check("TonleRuntime", "Task { work() }") == 1)
        #expect(check("TonleTypes", "let now = Date()") == 1)
        #expect(check("TonleTypes", "let n = Int.random(in: 0...9)") == 1)
        #expect(check("TonleTypes", "let n = Int.random(in: 0...9, using: &rng)") == 0)
        #expect(check("TonleTypes", "// async in a comment, and \"await\" in a string\nlet s = \"actor\"") == 0)
        #expect(check("TonleTypes", "/* Task { } */ let asyncValue = 1") == 0)
        #expect(check("TonleRPC", "func f() async { await g() }") == 0, "the shell may be async")
    }
}
