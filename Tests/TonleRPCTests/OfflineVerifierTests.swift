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

    func proof() async throws -> AccountProofView { try #require(try await node.account(account, proof: true).proof) }

    @Test func aGenuineProofIsValid() async throws {
        #expect(try OfflineVerifier.verifyAccount(account, proof: try await proof(), validators: node.validatorSet).id == account)
    }

    @Test func everyTamperingIsCaught() async throws {
        let genuine = try await proof()
        var other = StateRecord.account(AccountRecord(id: account, keys: KeySet(single: node.key.publicKey), flags: [], balances: [Balance(currency: .usd, balance: 99_999_999)]))
        var cases: [(String, AccountProofView)] = []
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
}
