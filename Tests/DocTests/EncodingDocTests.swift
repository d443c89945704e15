import Foundation
import Testing
import TonleCrypto
import TonleLedger
import TonleTypes

/// docs/encoding.md's worked examples are checked against the encoder, so the document a
/// gateway implements from cannot drift from the code.
@Suite struct EncodingDocTests {
    /// RFC 8032's TEST 1 key: public, so anyone can reproduce the signatures. Never use it for money.
    static let key = Ed25519.SigningKey(seed: Bytes32(hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!)

    static func examples() throws -> [String: [UInt8]] {
        let chain = try ChainID("tonle-local")
        let body = try TransactionBody(
            chainID: chain, creator: AccountID("sokha@aclb"), clientID: ID128(hex: "000102030405060708090a0b0c0d0e0f")!,
            expiry: Timestamp(millisecondsSinceEpoch: 1_790_000_000_000),
            commands: [.transfer(Transfer(source: AccountID("sokha@aclb"), target: AccountID("dara@wing"), amount: Amount(1250, .usd), reference: "lunch"))])
        let tx = try Transaction.signing(body, with: [key])
        let vote = VoteBody(chainID: chain, type: .precommit, height: 42, round: 1, blockHash: SHA256.hash(Array("block 42".utf8)), validator: key.publicKey)
        var amount = CanonicalWriter()
        Amount(1250, .usd).encode(to: &amount)
        let quote = try FXQuote(
            quoteID: "q1", unitCurrency: "CNY", quotedCurrency: "KHR", rate: "563.25", rounding: .halfEven,
            quotedAt: Timestamp(millisecondsSinceEpoch: 1_790_000_000_000), expiresAt: Timestamp(millisecondsSinceEpoch: 1_790_000_600_000))
        let remittance = Command.settlement(try SettlementEntry(
            kind: .inwardRemittance, gateway: InstitutionID("upi"), externalReference: "wu-77", amount: Amount(56_325, .khr),
            account: AccountID("sokha@aclb"), foreignAmount: ForeignAmount(currency: "CNY", minorUnits: 10_000), fx: quote,
            counterpartyCountry: "CN", purposeCode: "GP2P"))
        var command = CanonicalWriter()
        remittance.encode(to: &command)
        // A block of two: the transfer above, applied; a second transaction (id SHA-256("second")),
        // rejected KHQR_INVALID (KHQR_CRC_MISMATCH) in command 0.
        let ids = [tx.id, TransactionID(SHA256.hash(Array("second".utf8)))]
        let results: [TransactionResult] = [.applied, .rejected(.khqrInvalid, command: 0, detail: .khqrCRCMismatch)]
        var rejected = CanonicalWriter(), leafInput = CanonicalWriter(), proof = CanonicalWriter()
        results[1].encode(to: &rejected)
        leafInput.u32(1)
        leafInput.bytes32(ids[1].digest.raw)
        results[1].encode(to: &leafInput)
        MerkleList.proof(ResultsTree.leaves(ids, results), index: 1).encode(to: &proof)
        // State: sokha@aclb's account record and key; upi's KHR position on 2026-11-21 and its key.
        let sokha = try AccountID("sokha@aclb"), upi = try InstitutionID("upi"), day = BusinessDate(day: 20_778)
        let account = AccountRecord(id: sokha, keys: KeySet(single: key.publicKey), flags: [],
                                    balances: [Balance(currency: .khr, balance: 1_000_000), Balance(currency: .usd, balance: 1_250, held: 500)])
        var position = PositionRecord(gateway: upi, currency: .khr, businessDate: day)
        (position.count, position.grossInward) = (1, 56_325)
        position.entriesDigest = SHA256.hash(Array(repeating: 0, count: 32) + SHA256.hash(Array("entry".utf8)).bytes)
        position.last = StateKey.settlement(upi, .payment, "wu-77")
        return [
            "account-key-input": [StateKey.accountNamespace] + Array(sokha.text.utf8),
            "account-key": StateKey.account(sokha).bytes,
            "account-record": StateRecord.account(account).encoded,
            "position-key-input": [StateKey.positionNamespace, 3] + Array(upi.text.utf8) + [0x00, 0x74] + [0, 0, 0, 0, 0, 0, 0x51, 0x2a],
            "position-key": StateKey.position(upi, .khr, day).bytes,
            "position-record": StateRecord.position(position).encoded,
            "entry-key-input": [StateKey.settlementNamespace, 3] + Array(upi.text.utf8) + [SettlementReferenceClass.payment.rawValue] + Array("wu-77".utf8),
            "entry-key": StateKey.settlement(upi, .payment, "wu-77").bytes,
            "rejected-result": rejected.bytes,
            "results-leaf-input": leafInput.bytes,
            "results-leaf": ResultsTree.leaves(ids, results)[1].bytes,
            "results-root": ResultsTree.root(ids, results).bytes,
            "results-proof": proof.bytes,
            "amount": amount.bytes,
            "remittance-command": command.bytes,
            "transfer-body": body.encoded,
            "transfer-id": body.id.digest.bytes,
            "transfer-transaction": tx.encoded,
            "precommit-body": vote.encoded,
            "precommit-vote": Vote(signing: vote, with: key).encoded,
        ]
    }

    @Test func workedExamplesMatchTheEncoder() throws {
        let expected = try Self.examples(), documented = try documentedExamples("encoding.md")
        for (name, bytes) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(documented[name] == bytes, "docs/encoding.md example '\(name)' should be:\n\(Hex.encode(bytes))")
        }
    }

    @Test func kindTableMatchesTheCode() throws {
        let url = repository.appendingPathComponent("docs/encoding.md")
        let maxima: [MessageKind: Int] = [
            .transactionBody: TransactionBody.encodedBytesMax, .transaction: Transaction.encodedBytesMax,
            .blockHeader: BlockHeader.encodedBytesMax, .block: Block.encodedBytesMax, .voteBody: VoteBody.encodedBytesMax,
            .vote: Vote.encodedBytesMax, .proposalBody: ProposalBody.encodedBytesMax, .proposal: Proposal.encodedBytesMax,
            .commitCertificate: CommitCertificate.encodedBytesMax, .validatorSet: ValidatorSet.encodedBytesMax,
            .genesis: Genesis.encodedBytesMax, .blockResults: BlockResults.encodedBytesMax,
        ]
        var rows: [UInt8: String] = [:]
        for line in try Self.section("Message kinds", of: String(contentsOf: url, encoding: .utf8)) where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if let kind = UInt8(cells[0].trimmingCharacters(in: ["`"]), radix: 16) { rows[kind] = cells[2] }
        }
        for kind in MessageKind.allCases {
            let max = try #require(maxima[kind])
            let expected = max % (1 << 20) == 0 ? "\(max >> 20) MiB" : max.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
            #expect(rows[kind.rawValue] == expected, "kind \(kind): maximum \(max)")
        }
    }

    /// The lines of the `## title` section of a document.
    static func section(_ title: String, of text: String) -> [String] {
        let lines = text.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: "## \(title)") else { return [] }
        let rest = lines[(start + 1)...]
        return Array(rest.prefix { !$0.hasPrefix("## ") })
    }

    /// The state-key table names every namespace the ledger uses, and the record table every tag,
    /// with the same number (a record's tag is its key's namespace).
    @Test func stateTablesMatchTheCode() throws {
        let text = try String(contentsOf: repository.appendingPathComponent("docs/encoding.md"), encoding: .utf8)
        func numbers(_ title: String) -> [UInt8] {
            Self.section(title, of: text).filter { $0.hasPrefix("| `") }.compactMap { line in
                UInt8(line.split(separator: "|")[0].trimmingCharacters(in: CharacterSet(charactersIn: " `")), radix: 16)
            }
        }
        let namespaces: [UInt8] = [StateKey.accountNamespace, StateKey.participantNamespace, StateKey.holdNamespace, StateKey.requestNamespace,
                                   StateKey.blockRequestsNamespace, StateKey.holdExpiryNamespace, StateKey.metaNamespace, StateKey.validatorsNamespace,
                                   StateKey.gatewayNamespace, StateKey.settlementNamespace, StateKey.positionNamespace, StateKey.khqrPaidNamespace,
                                   StateKey.uetrNamespace, StateKey.referenceRateNamespace]
        #expect(numbers("State keys") == namespaces)
        #expect(numbers("State records") == namespaces)
        // Each record's first byte is its namespace.
        let records: [(UInt8, StateRecord)] = [
            (StateKey.metaNamespace, .meta(LedgerMeta(holdExpirySecondProcessed: 0, oldestRememberedHeight: 0))),
            (StateKey.holdExpiryNamespace, .holdExpiry(HoldExpiryRecord(holds: []))),
            (StateKey.uetrNamespace, .uetr(UETRRecord(gateway: try InstitutionID("upi"), referenceClass: .payment, externalReference: "wu-77"))),
        ]
        for (namespace, record) in records { #expect(record.encoded.first == namespace) }
    }

    @Test func documentedTransactionVerifies() throws {
        let documented = try documentedExamples("encoding.md")
        let bytes = try #require(documented["transfer-transaction"])
        let tx = try Transaction(canonical: bytes)
        #expect(tx.hasValidSignatures)
        #expect(tx.id.digest.bytes == documented["transfer-id"])
    }
}
