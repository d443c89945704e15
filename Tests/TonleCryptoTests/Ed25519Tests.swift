import Dispatch
import Testing
import TonleCrypto

struct RFC8032Vector: CustomTestStringConvertible, Sendable {
    let name: String
    let seed: Bytes32
    let publicKey: Ed25519.PublicKey
    let message: [UInt8]
    let signature: Ed25519.Signature
    var testDescription: String { name }

    static func all() throws -> [RFC8032Vector] {
        try vectorFile("rfc8032-section-7.1.txt").split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            return RFC8032Vector(
                name: f[0], seed: try #require(Bytes32(hex: f[1])), publicKey: try #require(.init(hex: f[2])),
                message: try #require(Hex.decode(f[3])), signature: try #require(.init(hex: f[4])))
        }
    }
}

@Suite struct Ed25519Tests {
    @Test func rfc8032SectionSevenOne() throws {
        let vectors = try RFC8032Vector.all()
        #expect(vectors.map(\.name) == ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"])
        for vector in vectors {
            let key = Ed25519.SigningKey(seed: vector.seed)
            #expect(key.publicKey == vector.publicKey, "\(vector.name): public key")
            #expect(key.sign(vector.message) == vector.signature, "\(vector.name): signature")
            #expect(vector.publicKey.isValidSignature(vector.signature, for: vector.message), "\(vector.name): verify")
        }
    }

    @Test func tamperedMessageKeyOrSignatureFails() throws {
        for vector in try RFC8032Vector.all() {
            let key = vector.publicKey, sig = vector.signature, msg = vector.message
            // Message: one more byte, and (when not empty) every single-bit flip of the first byte.
            #expect(!key.isValidSignature(sig, for: msg + [0]))
            if !msg.isEmpty {
                for bit in 0..<8 {
                    var changed = msg
                    changed[0] ^= 1 << bit
                    #expect(!key.isValidSignature(sig, for: changed))
                }
            }
            // Signature: a flip in R and in S.
            for position in [0, 40] {
                var bytes = sig.bytes
                bytes[position] ^= 0x01
                #expect(!key.isValidSignature(try #require(.init(bytes)), for: msg))
            }
            // Key: another valid key, and a flipped byte.
            #expect(!Ed25519.SigningKey.generate().publicKey.isValidSignature(sig, for: msg))
            var keyBytes = key.bytes
            keyBytes[5] ^= 0x80
            #expect(!(try #require(Ed25519.PublicKey(keyBytes))).isValidSignature(sig, for: msg))
        }
    }

    @Test func generatedKeysSignAndDiffer() {
        let a = Ed25519.SigningKey.generate(), b = Ed25519.SigningKey.generate()
        #expect(a.publicKey != b.publicKey)
        let message = Array("pay 100 KHR".utf8)
        let signature = a.sign(message)
        #expect(a.sign(message) == signature, "Ed25519 is deterministic")
        #expect(a.publicKey.isValidSignature(signature, for: message))
        #expect(!b.publicKey.isValidSignature(signature, for: message))
    }

    @Test func signingKeyNeverShowsItsSecret() throws {
        let vector = try RFC8032Vector.all()[0]
        let key = Ed25519.SigningKey(seed: vector.seed)
        var dumped = ""
        dump(key, to: &dumped)
        let renderings = [key.description, key.debugDescription, "\(key)", String(reflecting: key), dumped]
        for text in renderings {
            #expect(!text.contains(vector.seed.hex), "secret leaked in: \(text)")
            #expect(text.contains(vector.publicKey.hex) || text.contains("publicKey"))
        }
    }

    @Test func batchVerificationMatchesOneByOne() {
        let keys = (0..<8).map { _ in Ed25519.SigningKey.generate() }
        var checks: [SignatureCheck] = []
        for index in 0..<500 {
            let key = keys[index % keys.count]
            let message = Array("transfer \(index)".utf8)
            var signature = key.sign(message)
            if index % 7 == 3 { signature = key.sign(message + [1]) }   // wrong message signed
            let signer = index % 11 == 5 ? keys[(index + 1) % keys.count].publicKey : key.publicKey
            checks.append(SignatureCheck(publicKey: signer, signature: signature, message: message))
        }
        let expected = checks.map(\.isValid)
        #expect(expected.contains(false) && expected.contains(true))
        #expect(BatchVerifier.verify(checks, workers: 1, forkJoin: BatchVerifier.sequential) == expected)
        #expect(BatchVerifier.verify(checks, workers: 4, forkJoin: BatchVerifier.sequential) == expected)
        let parallel = BatchVerifier.verify(checks, workers: 2) { count, body in
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
        #expect(parallel == expected)
        #expect(BatchVerifier.verify([], workers: 2, forkJoin: BatchVerifier.sequential) == [])
    }
}
