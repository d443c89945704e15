import Foundation
import Testing
import TonleCrypto
import TonleMerkle

/// docs/merkle.md's worked example, computed by the Swift tree, and its proofs checked by the
/// documentation's own Python verifier: two implementations, one definition.
@Suite struct MerkleDocTests {
    static func exampleStore() -> MemoryNodeStore {
        var store = MemoryNodeStore()
        let updates = [("a", "1"), ("b", "2"), ("c", "3")].map {
            MerkleUpdate(key: SHA256.hash(Array($0.0.utf8)).raw, valueHash: SHA256.hash(Array($0.1.utf8)))
        }
        store.apply(SparseMerkleTree.update(store, updates).writes)
        return store
    }

    static func key(_ text: String) -> Bytes32 { SHA256.hash(Array(text.utf8)).raw }

    @Test func workedExampleMatchesTheTree() throws {
        let documented = try documentedExamples("merkle.md"), store = Self.exampleStore()
        #expect(documented["merkle-root"] == SparseMerkleTree.root(store).bytes)
        #expect(documented["merkle-proof-b"] == MerkleProof(store, key: Self.key("b")).encoded)
        #expect(documented["merkle-proof-d"] == MerkleProof(store, key: Self.key("d")).encoded)
    }

    @Test func pythonVerifierAgreesWithSwift() throws {
        let store = Self.exampleStore(), root = SparseMerkleTree.root(store).hex
        var r = SystemRandomNumberGenerator()
        let absent = "zz\(r.next())"
        let cases: [(key: String, value: String?, expected: Bool)] = [
            ("b", "2", true), ("a", "1", true), ("b", "3", false), ("d", nil, true), (absent, nil, true), ("c", nil, false),
        ]
        for (text, value, expected) in cases {
            let key = Self.key(text)
            let arguments = [root, key.hex, Hex.encode(MerkleProof(store, key: key).encoded)] + (value.map { [Hex.encode(Array($0.utf8))] } ?? [])
            #expect(MerkleProof(store, key: key).verify(root: SparseMerkleTree.root(store), key: key, value: value.map { Array($0.utf8) }) == expected)
            let (status, output) = try python(["docs/examples/merkle_verify.py"] + arguments)
            #expect(status == (expected ? 0 : 1) && output == (expected ? "VALID\n" : "INVALID\n"), "\(text): \(output)")
        }
    }

    func python(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.currentDirectoryURL = repository
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
