import Testing
import TonleCrypto
import TonleTypes

@Suite struct GenesisTests {
    static func sample(issuance: Int64 = -1_000_000, extra: [GenesisAccount] = []) throws -> Genesis {
        let keys = KeySet(single: Gen.keys[0].publicKey)
        return try Genesis(
            chainID: ChainID("tonle-test"), genesisTime: Timestamp(millisecondsSinceEpoch: 1_790_000_000_000),
            validators: ValidatorSet(Gen.keys.prefix(4).map { try Validator(publicKey: $0.publicKey, power: 1, name: "v") }),
            participants: [
                Participant(id: InstitutionID("nbc"), role: .centralBank, name: "National Bank of Cambodia"),
                Participant(id: InstitutionID("aclb"), role: .bank, name: "ACLEDA"),
            ],
            accounts: [
                GenesisAccount(id: AccountID("issuance.khr@nbc"), keys: keys, flags: .issuance, balances: [Amount(issuance, .khr)]),
                GenesisAccount(id: AccountID("sokha@aclb"), keys: keys, balances: [Amount(1_000_000, .khr)]),
            ] + extra)
    }

    @Test func validGenesisPassesAndHashesStably() throws {
        let genesis = try Self.sample()
        try genesis.validate()
        #expect(genesis.accounts.map(\.id.text) == ["issuance.khr@nbc", "sokha@aclb"])
        #expect(genesis.participants.map(\.id.text) == ["aclb", "nbc"])
        #expect(try Genesis(canonical: genesis.encoded).hash == genesis.hash)
    }

    @Test func invalidGenesisSaysWhy() throws {
        let keys = KeySet(single: Gen.keys[0].publicKey)
        #expect(throws: GenesisError.unbalanced(.khr, sum: 1)) { try Self.sample(issuance: -999_999).validate() }
        let stray = try GenesisAccount(id: AccountID("x@wing"), keys: keys)
        #expect(throws: GenesisError.unknownInstitution(stray.id)) { try Self.sample(extra: [stray]).validate() }
        let fakeIssuer = try GenesisAccount(id: AccountID("mint@aclb"), keys: keys, flags: .issuance)
        #expect(throws: GenesisError.issuanceOutsideCentralBank(fakeIssuer.id)) { try Self.sample(extra: [fakeIssuer]).validate() }
        let negative = try GenesisAccount(id: AccountID("debt@aclb"), keys: keys, balances: [Amount(-5, .usd)])
        #expect(throws: GenesisError.negativeBalance(negative.id, Amount(-5, .usd))) { try Self.sample(extra: [negative]).validate() }
        #expect(throws: DecodeError.self) { try Self.sample(extra: [try GenesisAccount(id: AccountID("sokha@aclb"), keys: keys)]) }
    }
}

/// Hand-made non-canonical inputs: each has a canonical twin, and only the twin decodes.
@Suite struct NonCanonicalTests {
    let validVote: Vote = {
        var r = SeededRandom(seed: 99)
        return Gen.vote(&r)
    }()

    @Test func boolAndPresenceBytesAreZeroOrOne() throws {
        var bytes = validVote.encoded
        let flagIndex = 2 + 2 + 4 + validVote.body.chainID.text.utf8.count + 1 + 8 + 4
        #expect(bytes[flagIndex] <= 1)
        bytes[flagIndex] = 2
        #expect(throws: DecodeError.notCanonical(field: "block hash", reason: "boolean byte 2 is neither 0 nor 1")) { try Vote(canonical: bytes) }
    }

    @Test func unsortedOrRepeatedSetsAreRejected() throws {
        var r = SeededRandom(seed: 3)
        let tx = try Transaction.signing(Gen.transactionBody(&r), with: [Gen.keys[0], Gen.keys[1]])
        let body = tx.body.encoded
        var w = CanonicalWriter()
        w.u8(MessageKind.transaction.rawValue)
        w.u8(1)
        w.raw(body)
        w.list(tx.signatures.reversed())
        #expect(throws: DecodeError.notCanonical(field: "signatures", reason: "elements must be sorted ascending with no repeats")) { try Transaction(canonical: w.bytes) }
    }

    @Test func hugeCountsAreRejectedBeforeAllocating() {
        // A transaction claiming 2^32 - 1 signatures, and a block claiming 2^32 - 1 transactions.
        var r = SeededRandom(seed: 4)
        let body = Gen.transactionBody(&r).encoded
        #expect(throws: DecodeError.tooLarge(field: "signatures", count: Int(UInt32.max), max: Limits.transactionSignaturesMax)) {
            try Transaction(canonical: [MessageKind.transaction.rawValue, 1] + body + [0xff, 0xff, 0xff, 0xff])
        }
        #expect(throws: DecodeError.truncated(field: "signatures", needed: 3 * 96)) {
            try Transaction(canonical: [MessageKind.transaction.rawValue, 1] + body + [3, 0, 0, 0])
        }
        #expect(throws: DecodeError.tooLarge(field: "reference", count: 141, max: 140)) {
            var w = CanonicalWriter()
            w.u8(1)
            try! AccountID("a@bc").encode(to: &w)
            try! AccountID("a@bc").encode(to: &w)
            Amount(1, .khr).encode(to: &w)
            w.u32(141)
            var reader = CanonicalReader(w.bytes + Array(repeating: 0x41, count: 141))
            _ = try Command(from: &reader)
        }
    }

    @Test func kindsVersionsTagsAndFlags() throws {
        let encoded = validVote.encoded
        #expect(throws: DecodeError.wrongKind(expected: MessageKind.proposal.rawValue, found: MessageKind.vote.rawValue)) { try Proposal(canonical: encoded) }
        #expect(throws: DecodeError.unsupportedVersion(kind: MessageKind.vote.rawValue, version: 2)) { try Vote(canonical: [encoded[0], 2] + encoded.dropFirst(2)) }
        var reader = CanonicalReader([99])
        #expect(throws: DecodeError.unknownTag(field: "command", tag: 99)) { try Command(from: &reader) }
        var flags = CanonicalReader([2, 0, 0, 0])
        #expect(throws: DecodeError.notCanonical(field: "flags", reason: "undefined flag bits 0x2")) { try AccountFlags(from: &flags) }
        #expect(throws: DecodeError.invalidValue(field: "reference", reason: "control characters are not allowed")) {
            try Transfer(source: AccountID("a@bc"), target: AccountID("b@bc"), amount: Amount(1, .khr), reference: "pay\u{7}")
        }
        var badUTF8 = CanonicalReader([2, 0, 0, 0, 0xc3, 0x28])
        #expect(throws: DecodeError.invalidValue(field: "account id", reason: "not valid UTF-8")) { try AccountID(from: &badUTF8) }
    }
}
