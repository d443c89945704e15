import Testing
import TonleCrypto

@Suite struct KeyFileTests {
    let key = Ed25519.SigningKey(seed: Bytes32(Array(0..<32))!)

    @Test func roundTrip() throws {
        let text = KeyFile.encode(key)
        #expect(text.hasPrefix("# Tonle signing key."))
        #expect(text.contains("public-key: \(key.publicKey.hex)\n"))
        let decoded = try KeyFile.decode(text)
        #expect(decoded.publicKey == key.publicKey)
        #expect(decoded.sign([1, 2, 3]) == key.sign([1, 2, 3]))
        // Windows line endings and extra comments are tolerated.
        let crlf = "# copied from the vault\n" + text.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(try KeyFile.decode(crlf).publicKey == key.publicKey)
    }

    @Test(arguments: [
        ("", KeyFileError.missingField("tonle-signing-key")),
        ("tonle-signing-key: 2\n", .unsupportedVersion),
        ("tonle-signing-key: 1\nalgorithm: rsa\n", .unsupportedAlgorithm),
        ("tonle-signing-key: 1\ntonle-signing-key: 1\n", .duplicateField("tonle-signing-key")),
        ("tonle-signing-key:1\n", .malformedLine(1)),
        ("\nsecret: abc\n", .malformedLine(2)),
        ("tonle-signing-key: 1\nalgorithm: ed25519\npublic-key: 00\n", .missingField("seed")),
    ])
    func malformedFilesAreRefusedWithAReason(text: String, expected: KeyFileError) {
        #expect(throws: expected) { try KeyFile.decode(text) }
    }

    @Test func badHexMismatchAndSize() {
        let text = KeyFile.encode(key)
        let seedLine = text.split(separator: "\n").first { $0.hasPrefix("seed: ") }!
        let upper = text.replacingOccurrences(of: String(seedLine), with: seedLine.uppercased().replacingOccurrences(of: "SEED", with: "seed"))
        #expect(throws: KeyFileError.badHex(field: "seed")) { try KeyFile.decode(upper) }
        let short = text.replacingOccurrences(of: String(seedLine), with: String(seedLine.dropLast(2)))
        #expect(throws: KeyFileError.badHex(field: "seed")) { try KeyFile.decode(short) }
        let other = Ed25519.SigningKey.generate()
        let swapped = text.replacingOccurrences(of: key.publicKey.hex, with: other.publicKey.hex)
        #expect(throws: KeyFileError.publicKeyMismatch) { try KeyFile.decode(swapped) }
        let huge = text + String(repeating: "#", count: KeyFile.textBytesMax)
        #expect(throws: KeyFileError.tooLarge(bytes: huge.utf8.count)) { try KeyFile.decode(huge) }
    }

    @Test func errorsNeverEchoTheSecret() {
        let text = KeyFile.encode(key)
        let seedHex = text.split(separator: "\n").first { $0.hasPrefix("seed: ") }!.dropFirst(6)
        let broken = text.replacingOccurrences(of: "seed: ", with: "seed= ")
        do {
            _ = try KeyFile.decode(broken)
            Issue.record("a malformed file decoded")
        } catch {
            #expect(!error.description.contains(seedHex))
        }
    }
}
