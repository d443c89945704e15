import Foundation
import Testing
import TonleCrypto
import TonleLedger
import TonleRPC
import TonleTypes

/// `tonle verify`'s checks refuse every part of a proof that was changed.
@Suite struct OfflineVerifierTests {
    let node = FakeNode()
    var account: AccountID { try! AccountID("sokha@aba") }

    func proof() async throws -> StateProofView { try #require(try await node.account(account, proof: true).proof) }

    @Test func aGenuineProofIsValid() async throws {
        #expect(try OfflineVerifier.verifyAccount(account, proof: try await proof(), validators: node.validatorSet).id == account)
    }

    @Test func everyTamperingIsCaught() async throws {
        let genuine = try await proof()
        var other = StateRecord.account(AccountRecord(id: account, keys: KeySet(single: node.key.publicKey), flags: [], balances: [Balance(currency: .usd, balance: 99_999_999)]))
        var cases: [(String, StateProofView)] = []
        var edited = genuine
        edited.value = Hex.encode(other.encoded)
        cases.append(("another record", edited))
        other = .account(AccountRecord(id: try AccountID("dara@aba"), keys: KeySet(single: node.key.publicKey), flags: []))
        edited = genuine
        edited.value = Hex.encode(other.encoded)
        cases.append(("another account's record", edited))
        edited = genuine
        edited.proof = String(edited.proof.dropLast(2)) + (edited.proof.hasSuffix("00") ? "01" : "00")
        cases.append(("a changed sibling", edited))
        edited = genuine
        edited.header = Hex.encode(node.header(7).encoded)
        cases.append(("a header the certificate is not for", edited))
        edited = genuine
        edited.height = 9
        cases.append(("a height the header is not the anchor of", edited))
        edited = genuine
        edited.certificate = String(edited.certificate.dropLast(2)) + (edited.certificate.hasSuffix("00") ? "01" : "00")
        cases.append(("a changed signature", edited))
        for (what, view) in cases {
            #expect(throws: OfflineVerifier.Invalid.self, "\(what)") { try OfflineVerifier.verifyAccount(account, proof: view, validators: node.validatorSet) }
        }
    }

    /// Flips one bit of byte `index` of a hex field (hex fields) or of its decoded bytes (base64).
    static func flipped(_ hex: String, _ index: Int) -> String {
        var bytes = Hex.decode(hex)!
        bytes[index] ^= 0x01
        return Hex.encode(bytes)
    }

    /// Every byte of every part of a receipt, changed, makes it INVALID.
    @Test func everyByteOfAReceiptIsChecked() async throws {
        let tx = node.transaction("sokha@aba", 77)
        _ = await node.submit([tx])
        node.commit(tx.id)
        let genuine = try await node.receipt(tx.id)
        let receipt = try OfflineVerifier.verifyReceipt(genuine, validators: node.validatorSet)
        #expect(receipt.transaction == tx && receipt.result == .applied && receipt.height == genuine.height)
        let fields: [(String, WritableKeyPath<ReceiptView, String>)] = [
            ("header", \.header), ("next header", \.nextHeader), ("next certificate", \.nextCertificate), ("result bytes", \.resultBytes),
            ("transactions proof", \.transactionsProof), ("results proof", \.resultsProof),
        ]
        var tried = 0
        for (name, field) in fields {
            for index in 0..<(Hex.decode(genuine[keyPath: field])!.count) {
                var edited = genuine
                edited[keyPath: field] = Self.flipped(genuine[keyPath: field], index)
                #expect(throws: OfflineVerifier.Invalid.self, "\(name) byte \(index)") { try OfflineVerifier.verifyReceipt(edited, validators: node.validatorSet) }
                tried += 1
            }
        }
        let transaction = Data(base64Encoded: genuine.transaction)!
        for index in transaction.indices {
            var bytes = transaction
            bytes[index] ^= 0x01
            var edited = genuine
            edited.transaction = bytes.base64EncodedString()
            #expect(throws: OfflineVerifier.Invalid.self, "transaction byte \(index)") { try OfflineVerifier.verifyReceipt(edited, validators: node.validatorSet) }
            tried += 1
        }
        #expect(tried > 900)
        var claims = genuine
        claims.index = 1
        #expect(throws: OfflineVerifier.Invalid.self, "another index") { try OfflineVerifier.verifyReceipt(claims, validators: node.validatorSet) }
        claims = genuine
        claims.height += 1
        #expect(throws: OfflineVerifier.Invalid.self, "another height") { try OfflineVerifier.verifyReceipt(claims, validators: node.validatorSet) }
        claims = genuine
        claims.result = "QUORUM_NOT_MET"
        #expect(throws: OfflineVerifier.Invalid.self, "another result named") { try OfflineVerifier.verifyReceipt(claims, validators: node.validatorSet) }
    }

    /// Positions and entries prove like accounts; the figures shown must be the proven record's;
    /// a date without entries proves as an empty position (by the key's absence).
    @Test func positionAndEntryProofs() async throws {
        let upi = try InstitutionID("upi")
        let view = try await node.withCommittedState { state in
            Result { () throws(APIError) in try SettlementReports.positions(state, gateway: upi, date: nil, proof: true) }
        }
        let anchor = try await node.stateAnchor(after: view.height)
        var anchored = view
        for index in anchored.positions.indices {
            anchored.positions[index].proof?.header = Hex.encode(anchor.header.encoded)
            anchored.positions[index].proof?.certificate = Hex.encode(anchor.certificate.encoded)
        }
        let date = try #require(BusinessDate(view.businessDate))
        let khr = try #require(anchored.positions.first { $0.currency == "KHR" })
        #expect(try OfflineVerifier.verifyPosition(khr, gateway: upi, date: date, validators: node.validatorSet).count == 4)
        let usd = try #require(anchored.positions.first { $0.currency == "USD" })
        #expect(usd.proof?.value == nil, "no USD entries: the proof is of an absence")
        #expect(try OfflineVerifier.verifyPosition(usd, gateway: upi, date: date, validators: node.validatorSet).count == 0)
        var edited = khr
        edited.grossInwardMinor += 1
        #expect(throws: OfflineVerifier.Invalid.self) { try OfflineVerifier.verifyPosition(edited, gateway: upi, date: date, validators: node.validatorSet) }
        edited = khr
        edited.closedBy = "forged"
        #expect(throws: OfflineVerifier.Invalid.self) { try OfflineVerifier.verifyPosition(edited, gateway: upi, date: date, validators: node.validatorSet) }
        #expect(throws: OfflineVerifier.Invalid.self, "another date") {
            try OfflineVerifier.verifyPosition(khr, gateway: upi, date: BusinessDate(day: date.day + 1), validators: node.validatorSet)
        }
        edited = usd
        edited.proof?.value = khr.proof?.value
        #expect(throws: OfflineVerifier.Invalid.self, "a record where the state has none") {
            try OfflineVerifier.verifyPosition(edited, gateway: upi, date: date, validators: node.validatorSet)
        }

        let lookup = try await node.withCommittedState { state in
            Result { () throws(APIError) in try SettlementReports.lookup(state, gateway: upi, reference: "upi-2", proof: true) }
        }
        var entry = try #require(lookup.entries.first)
        entry.proof?.header = Hex.encode(anchor.header.encoded)
        entry.proof?.certificate = Hex.encode(anchor.certificate.encoded)
        #expect(try OfflineVerifier.verifyEntry(entry, validators: node.validatorSet).externalReference == "upi-2")
        var changed = entry
        changed.amountMinor += 1
        #expect(throws: OfflineVerifier.Invalid.self) { try OfflineVerifier.verifyEntry(changed, validators: node.validatorSet) }
        changed = entry
        changed.reference = "upi-1"
        #expect(throws: OfflineVerifier.Invalid.self, "another entry's key") { try OfflineVerifier.verifyEntry(changed, validators: node.validatorSet) }
        changed = entry
        let value = entry.proof?.value.map { Self.flipped($0, 20) }
        changed.proof?.value = value
        #expect(throws: OfflineVerifier.Invalid.self) { try OfflineVerifier.verifyEntry(changed, validators: node.validatorSet) }
    }
}
