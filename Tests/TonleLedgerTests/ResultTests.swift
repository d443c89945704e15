import KHQR
import Testing
import TonleCrypto
import TonleLedger
import TonleTypes

/// Results as blocks record them and receipts prove them: their bytes, their Merkle list, their
/// detail codes.
@Suite struct ResultTests {
    static let results: [TransactionResult] = [
        .applied, .rejected(.insufficientFunds, command: 0), .rejected(.expired, command: nil),
        .rejected(.khqrInvalid, command: 2, detail: .khqrCRCMismatch), .rejected(.fxInvalid, command: 65_535, detail: .fxQuotePair),
    ]

    @Test func resultBytesRoundTripAndRefuseUnknownNumbers() throws {
        for result in Self.results {
            var writer = CanonicalWriter()
            result.encode(to: &writer)
            var reader = CanonicalReader(writer.bytes)
            #expect(try TransactionResult(from: &reader) == result)
            try reader.finish()
        }
        // 01, INSUFFICIENT_FUNDS, command absent, detail 9999: not a detail.
        var reader = CanonicalReader([1] + le16(RejectionCode.insufficientFunds.rawValue) + [0, 1] + le16(9_999))
        #expect(throws: DecodeError.self) { try TransactionResult(from: &reader) }
        var unknownCode = CanonicalReader([1, 0xff, 0xff, 0, 0])
        #expect(throws: DecodeError.self) { try TransactionResult(from: &unknownCode) }
    }

    /// Each leaf is SHA-256(u32 index ‖ id ‖ result bytes), under the RFC 6962 list root; every
    /// leaf proves at its index and at no other.
    @Test func resultsRootAndProofs() {
        let ids = Self.results.indices.map { TransactionID(SHA256.hash([UInt8($0)])) }
        let leaves = ResultsTree.leaves(ids, Self.results)
        var writer = CanonicalWriter()
        writer.u32(3)
        writer.bytes32(ids[3].digest.raw)
        Self.results[3].encode(to: &writer)
        #expect(leaves[3] == SHA256.hash(writer.bytes))
        let root = ResultsTree.root(ids, Self.results)
        #expect(root == MerkleList.root(leaves))
        for index in ids.indices {
            let proof = MerkleList.proof(leaves, index: index)
            #expect(proof.verify(leaf: ResultsTree.leaf(UInt32(index), ids[index], Self.results[index]), root: root))
            #expect(!proof.verify(leaf: ResultsTree.leaf(UInt32(index), ids[index], .rejected(.quorumNotMet, command: 0)), root: root))
            #expect(!proof.verify(leaf: ResultsTree.leaf(UInt32(index + 1), ids[index], Self.results[index]), root: root))
        }
        #expect(ResultsTree.root(ids, Self.results.reversed()) != root)
    }

    /// KHQR details carry the KHQR library's names; every detail has its own number and name.
    @Test func detailNamesAndNumbersAreStable() {
        let errors: [KHQRError] = [
            .empty, .tooLong(characters: 600, max: 512), .crcMissing, .crcMismatch(stated: "0000", computed: "1111"),
            .malformed(offset: 0, reason: "x"), .duplicateTag("00"), .missingTag("59", field: "merchant name"),
            .badLength("59", field: "merchant name", length: 0, rule: "x"), .badValue("00", field: "x", reason: "x"), .unsupportedCurrency("764"),
            .badAmount("x", reason: "x"), .amountRule("x"), .expired(expiresAtMilliseconds: 0, nowMilliseconds: 1),
        ]
        #expect(Set(errors.map { RejectionDetail($0) }).count == errors.count)
        for error in errors { #expect(RejectionDetail(error).name == error.code) }
        #expect(Set(RejectionDetail.allCases.map(\.name)).count == RejectionDetail.allCases.count)
        #expect(RejectionDetail.allCases.allSatisfy { $0.name.hasPrefix("KHQR_") || $0.name.hasPrefix("ENTRY_") || $0.name.hasPrefix("FX_") })
    }

    func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
}

/// The per-block supply check a running node makes before it stores a block.
@Suite struct BlockInvariantTests {
    typealias H = LedgerHarness

    func write(_ account: AccountRecord?, for id: String) -> StateWrite {
        StateWrite(key: StateKey.account(H.id(id)), value: account.map { StateRecord.account($0).encoded })
    }

    @Test func realBlocksPassAndInventedMoneyDoesNot() {
        var h = H()
        // Every block the harness applies went through the check in BlockExecutor.apply; this one moves money.
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 5_000)], signers: [H.sokhaKey]) == .applied)
        let before = { (key: Digest) in h.value(key) }
        var sokha = h.account("sokha@aclb")!
        #expect(LedgerInvariants.blockViolations([write(sokha, for: "sokha@aclb")], before: before).isEmpty, "rewriting a record unchanged")
        sokha.balances = sokha.balances.map { $0.currency == .khr ? Balance(currency: .khr, balance: $0.balance + 1, held: $0.held) : $0 }
        #expect(LedgerInvariants.blockViolations([write(sokha, for: "sokha@aclb")], before: before) == ["the block changes the KHR supply by 1"])
        // Moved from one account to another: the supply holds, but a bank account may not go below zero.
        var dara = h.account("dara@wing")!
        dara.balances = dara.balances.map { $0.currency == .khr ? Balance(currency: .khr, balance: $0.balance - 1_000_001, held: $0.held) : $0 }
        sokha.balances = sokha.balances.map { $0.currency == .khr ? Balance(currency: .khr, balance: $0.balance - 1 + 1_000_001, held: $0.held) : $0 }
        let overdrawn = LedgerInvariants.blockViolations([write(sokha, for: "sokha@aclb"), write(dara, for: "dara@wing")], before: before)
        #expect(overdrawn == ["dara@wing would have -995001 KHR", "dara@wing would hold more than its KHR balance"])
        // An account removed with money on it takes that money out of the supply.
        #expect(LedgerInvariants.blockViolations([write(nil, for: "dara@wing")], before: before) == ["the block changes the KHR supply by -5000", "the block changes the USD supply by -10000"])
    }
}
