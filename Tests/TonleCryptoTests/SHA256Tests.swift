import Testing
import TonleCrypto

@Suite struct SHA256Tests {
    @Test func nistShortAndLongMessages() throws {
        let records = try cavsRecords(vectorFile("SHA256ShortMsg.rsp")) + cavsRecords(vectorFile("SHA256LongMsg-first8.rsp"))
        #expect(records.count == 65 + 8)
        let hasher = SHA256Hasher()
        for record in records {
            let bitLength = try #require(Int(record["Len"] ?? ""))
            let message = Array(try #require(Hex.decode(record["Msg"] ?? "")).prefix(bitLength / 8))
            let expected = try #require(Digest(hex: record["MD"] ?? ""))
            #expect(SHA256.hash(message) == expected, "Len = \(bitLength)")
            #expect(hasher.hash(message) == expected, "Len = \(bitLength), reused hasher")
            // Fed in uneven pieces, the incremental hasher must agree.
            var offset = 0, piece = 1
            while offset < message.count {
                let end = min(message.count, offset + piece)
                hasher.update(message[offset..<end])
                (offset, piece) = (end, piece * 3 + 1)
            }
            #expect(hasher.finalize() == expected, "Len = \(bitLength), in pieces")
        }
    }

    /// NIST's Monte Carlo test: 100 checkpoints, each 1,000 chained hashes of the last three digests.
    @Test func nistMonteCarlo() throws {
        let records = cavsRecords(try vectorFile("SHA256Monte.rsp"))
        let seedHex = try #require(records.first?["Seed"])
        var seed = try #require(Hex.decode(seedHex))
        let checkpoints = records.compactMap { $0["MD"] }
        #expect(checkpoints.count == 100)
        let hasher = SHA256Hasher()
        for expected in checkpoints {
            var (md0, md1, md2) = (seed, seed, seed)
            for _ in 0..<1000 {
                let next = hasher.hash(md0 + md1 + md2).bytes
                (md0, md1, md2) = (md1, md2, next)
            }
            #expect(Hex.encode(md2) == expected)
            seed = md2
        }
    }

    @Test func digestHexRoundTripAndOrder() throws {
        let digest = SHA256.hash(Array("abc".utf8))
        #expect(digest.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest(hex: digest.hex) == digest)
        #expect(Digest(hex: digest.hex.uppercased()) == digest)
        #expect(Digest(hex: String(digest.hex.dropLast())) == nil)
        #expect(Digest(hex: "zz" + digest.hex.dropFirst(2)) == nil)
        #expect(Digest(Array(repeating: 1, count: 31)) == nil)
        #expect(MemoryLayout<Digest>.size == 32)
        let small = try #require(Digest([0] + Array(repeating: 0xff, count: 31)))
        let large = try #require(Digest([1] + Array(repeating: 0, count: 31)))
        #expect(small < large && !(large < small))
    }

    /// `<` compares words; it must agree with byte order for keys that differ in any one byte.
    @Test func orderIsByteOrder() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let a = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var b = a
            let at = Int.random(in: 0..<32, using: &generator)
            b[at] = UInt8.random(in: 0...255, using: &generator)
            if Bool.random(using: &generator) { b[Int.random(in: at..<32, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            let (x, y) = (try #require(Digest(a)), try #require(Digest(b)))
            #expect((x < y) == a.lexicographicallyPrecedes(b) && (y < x) == b.lexicographicallyPrecedes(a))
        }
    }
}
