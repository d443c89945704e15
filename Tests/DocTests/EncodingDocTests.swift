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
        return [
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
        for line in try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if let kind = UInt8(cells[0].trimmingCharacters(in: ["`"]), radix: 16) { rows[kind] = cells[2] }
        }
        for kind in MessageKind.allCases {
            let max = try #require(maxima[kind])
            let expected = max % (1 << 20) == 0 ? "\(max >> 20) MiB" : max.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
            #expect(rows[kind.rawValue] == expected, "kind \(kind): maximum \(max)")
        }
    }

    @Test func documentedTransactionVerifies() throws {
        let documented = try documentedExamples("encoding.md")
        let bytes = try #require(documented["transfer-transaction"])
        let tx = try Transaction(canonical: bytes)
        #expect(tx.hasValidSignatures)
        #expect(tx.id.digest.bytes == documented["transfer-id"])
    }
}
