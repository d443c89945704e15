import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleTypes

/// Checks what a node returns without trusting the node (`tonle verify`, docs/api.md#proofs):
/// a block header against its commit certificate and a validator set, and an account proof
/// against such a header. Each check throws the first reason it is invalid.
public enum OfflineVerifier {
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// `header` (canonical bytes) is certified by `certificate` under `validators`: the
    /// certificate is for this header's height and hash, and validators with more than two thirds
    /// of the power signed its precommit.
    @discardableResult
    public static func verifyHeader(_ headerBytes: [UInt8], certificate certificateBytes: [UInt8], validators: ValidatorSet) throws(Invalid) -> BlockHeader {
        let header: BlockHeader, certificate: CommitCertificate
        do { header = try BlockHeader(canonical: headerBytes) } catch { throw Invalid("the header is not canonical: \(error)") }
        do { certificate = try CommitCertificate(canonical: certificateBytes) } catch { throw Invalid("the certificate is not canonical: \(error)") }
        guard header.validatorsHash == validators.hash else {
            throw Invalid("block \(header.height) was signed by the validator set with hash \(header.validatorsHash.hex), not the one given (\(validators.hash.hex)); pass the set of that height")
        }
        do {
            try certificate.verify(chainID: header.chainID, validators: validators, height: header.height, blockHash: header.hash)
        } catch { throw Invalid("commit certificate: \(error)") }
        return header
    }

    /// The account proof holds: its header is certified (as in `verifyHeader`), the header's state
    /// root is the proof's, the record decodes to `account`, and the Merkle path from it leads to that root.
    @discardableResult
    public static func verifyAccount(_ account: AccountID, proof view: AccountProofView, validators: ValidatorSet) throws(Invalid) -> AccountRecord {
        guard let headerBytes = Hex.decode(view.header), let certificateBytes = Hex.decode(view.certificate), let value = Hex.decode(view.value),
              let proofBytes = Hex.decode(view.proof)
        else { throw Invalid("header, certificate, value and proof must be hexadecimal") }
        let header = try verifyHeader(headerBytes, certificate: certificateBytes, validators: validators)
        guard header.height == view.height + 1 else {
            throw Invalid("the header is of block \(header.height), but a proof of the state after block \(view.height) is anchored in block \(view.height + 1)")
        }
        let record: AccountRecord
        do {
            guard case .account(let decoded) = try StateRecord(encoded: value) else { throw Invalid("the value is a state record, but not an account's") }
            record = decoded
        } catch let invalid as Invalid { throw invalid } catch { throw Invalid("the value is not a canonical state record: \(error)") }
        guard record.id == account else { throw Invalid("the value is the record of \(record.id), not of \(account)") }
        let proof: MerkleProof
        do { proof = try MerkleProof(encoded: proofBytes) } catch { throw Invalid("the proof does not decode: \(error)") }
        let key = StateKey.account(account)
        guard proof.verify(root: header.stateRoot, key: key.raw, value: value) else {
            throw Invalid("the Merkle proof does not lead from the record to the certified state root \(header.stateRoot.hex)")
        }
        return record
    }
}
