import Foundation
import TonleCrypto
import TonleLedger
import TonleRPC
import TonleTypes

/// A block the indexer has checked against the validator set it trusts, with everything it
/// writes taken from certified bytes only: the header (its certificate), the transactions (their
/// ids give the certified transactions root; their signatures verify), the results (they give
/// the results root certified by the next block).
public struct VerifiedBlock: Sendable {
    public let header: BlockHeader
    public let headerBytes: [UInt8]
    public let certificateBytes: [UInt8]
    public let transactions: [Transaction]
    public let results: [TransactionResult]
    /// The state root after the block, certified by the next header.
    public let stateRootAfter: Digest
    /// The set that signs the next block (the next header's certificate verified under it).
    public let nextValidators: ValidatorSet

    public typealias Invalid = OfflineVerifier.Invalid

    /// Checks `view` (from `GET /v1/blocks/{h}?transactions=true`, with the next block's header
    /// and certificate) as the block after `previousHash` on `chainID`, signed by `validators`,
    /// the next block by `nextValidators` (whose hash the header must announce).
    public static func verify(_ view: BlockView, chainID: ChainID, previousHash: Digest, validators: ValidatorSet, nextValidators: ValidatorSet,
                              verifySignatures: ([SignatureCheck]) -> [Bool]) throws(Invalid) -> VerifiedBlock {
        guard view.nextHeader != nil, view.nextCertificate != nil else { throw Invalid("block \(view.height) has no next header yet, which certifies its results") }
        guard try OfflineVerifier.verifyBlock(view, validators: validators, nextValidators: nextValidators) else {
            throw Invalid("block \(view.height)'s results are not certified")
        }
        // verifyBlock decoded both; they are hexadecimal and canonical.
        let headerBytes = Hex.decode(view.header)!, certificateBytes = Hex.decode(view.certificate)!
        let header: BlockHeader
        do { header = try BlockHeader(canonical: headerBytes) } catch { throw Invalid("the header is not canonical: \(error)") }
        guard header.chainID == chainID else { throw Invalid("block \(header.height) is of chain \(header.chainID), not \(chainID)") }
        guard header.previousBlockHash == previousHash else {
            throw Invalid("block \(header.height) follows \(header.previousBlockHash.hex), not the block indexed before it (\(previousHash.hex))")
        }
        guard header.nextValidatorsHash == nextValidators.hash else {
            throw Invalid("block \(header.height) announces the next validator set \(header.nextValidatorsHash.hex), not the one given (\(nextValidators.hash.hex))")
        }
        guard let encoded = view.transactionBytes, encoded.count == view.transactions.count else {
            throw Invalid("block \(header.height) lacks its transactions' bytes (ask with ?transactions=true)")
        }
        var transactions: [Transaction] = []
        transactions.reserveCapacity(encoded.count)
        for (index, text) in encoded.enumerated() {
            guard let bytes = Data(base64Encoded: text), bytes.count <= Transaction.encodedBytesMax else {
                throw Invalid("transaction \(index) of block \(header.height) is not base64 of at most \(Transaction.encodedBytesMax) bytes")
            }
            let transaction: Transaction
            do { transaction = try Transaction(canonical: Array(bytes)) } catch { throw Invalid("transaction \(index) of block \(header.height) is not canonical: \(error)") }
            // The ids were checked against the certified root; each body must be the one with its id.
            guard transaction.id.digest.hex == view.transactions[index] else {
                throw Invalid("transaction \(index) of block \(header.height) has id \(transaction.id), not the certified \(view.transactions[index])")
            }
            transactions.append(transaction)
        }
        let checks = transactions.flatMap(\.signatureChecks)
        if let bad = verifySignatures(checks).firstIndex(of: false) {
            throw Invalid("a signature in block \(header.height) does not verify (check \(bad)): its bytes are not the ones signed")
        }
        // verifyBlock checked the file's state root is the next header's.
        let next: BlockHeader
        do { next = try BlockHeader(canonical: Hex.decode(view.nextHeader!)!) } catch { throw Invalid("the next header is not canonical: \(error)") }
        return VerifiedBlock(header: header, headerBytes: headerBytes, certificateBytes: certificateBytes, transactions: transactions,
                             results: view.fullResults!, stateRootAfter: next.stateRoot, nextValidators: nextValidators)
    }
}
