import Foundation
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleTypes

/// Checks what a node returns without trusting the node (`tonle verify`, docs/api.md#proofs):
/// a block header against its commit certificate and a validator set; a whole block (its
/// transactions, results and resulting state root) against its header and the next; a receipt;
/// an account proof. Each check throws the first reason it is invalid.
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

    /// A state proof holds: its header is certified under `validators` (the set of block
    /// `height + 1`) and is that block; the proof is of `key`; and the Merkle path from the value
    /// (or from nothing, for an absence) leads to the header's state root. Returns the record, or
    /// nil for a proven absence.
    public static func verifyState(_ view: StateProofView, key: Digest, validators: ValidatorSet) throws(Invalid) -> StateRecord? {
        guard let headerBytes = Hex.decode(view.header), let certificateBytes = Hex.decode(view.certificate), let proofBytes = Hex.decode(view.proof)
        else { throw Invalid("header, certificate, value and proof must be hexadecimal") }
        let value: [UInt8]?
        if let text = view.value {
            guard let bytes = Hex.decode(text) else { throw Invalid("header, certificate, value and proof must be hexadecimal") }
            value = bytes
        } else {
            value = nil
        }
        let header = try verifyHeader(headerBytes, certificate: certificateBytes, validators: validators)
        guard header.height == view.height + 1 else {
            throw Invalid("the header is of block \(header.height), but a proof of the state after block \(view.height) is anchored in block \(view.height + 1)")
        }
        guard view.key == key.hex else { throw Invalid("the proof is of state key \(view.key), not \(key.hex)") }
        let proof: MerkleProof
        do { proof = try MerkleProof(encoded: proofBytes) } catch { throw Invalid("the proof does not decode: \(error)") }
        guard proof.verify(root: header.stateRoot, key: key.raw, value: value) else {
            throw Invalid("the Merkle proof does not lead from the \(value == nil ? "absence" : "record") to the certified state root \(header.stateRoot.hex)")
        }
        guard let value else { return nil }
        do { return try StateRecord(encoded: value) } catch { throw Invalid("the value is not a canonical state record: \(error)") }
    }

    /// The account proof holds (`verifyState` under the account's key) and is of an account.
    @discardableResult
    public static func verifyAccount(_ account: AccountID, proof view: StateProofView, validators: ValidatorSet) throws(Invalid) -> AccountRecord {
        guard case .account(let record)? = try verifyState(view, key: StateKey.account(account), validators: validators) else {
            throw Invalid("the proven value is not an account record")
        }
        guard record.id == account else { throw Invalid("the value is the record of \(record.id), not of \(account)") }
        return record
    }

    /// A position from `GET /v1/gateways/{id}/positions?proof=true` holds: its proof verifies under
    /// the key of (`gateway`, its currency, `date`), and every figure shown is the proven record's
    /// (an absence proves an empty position). Returns the record.
    @discardableResult
    public static func verifyPosition(_ position: GatewayPositionsView.Position, gateway: InstitutionID, date: BusinessDate,
                                      validators: ValidatorSet) throws(Invalid) -> PositionRecord {
        guard let view = position.proof else { throw Invalid("the \(position.currency) position has no proof; ask with ?proof=true") }
        guard let currency = Currency(code: position.currency) else { throw Invalid("\(position.currency) is not a ledger currency") }
        let record: PositionRecord
        switch try verifyState(view, key: StateKey.position(gateway, currency, date), validators: validators) {
        case nil: record = PositionRecord(gateway: gateway, currency: currency, businessDate: date)
        case .position(let proven)?: record = proven
        case _?: throw Invalid("the proven value is not a position record")
        }
        var shown = position
        shown.proof = nil
        guard GatewayPositionsView.Position(record, proof: nil) == shown else {
            throw Invalid("the \(position.currency) figures differ from the proven position record")
        }
        return record
    }

    /// A settlement entry from `GET /v1/settlements/{gateway}/{reference}?proof=true` holds: its
    /// proof verifies under the key of its gateway, reference class and reference, and every
    /// field shown is the proven record's. Returns the record.
    @discardableResult
    public static func verifyEntry(_ entry: SettlementEntryView, validators: ValidatorSet) throws(Invalid) -> SettlementRecord {
        guard let view = entry.proof else { throw Invalid("the entry \(entry.reference) has no proof; ask with ?proof=true") }
        guard let gateway = try? InstitutionID(entry.gateway), let referenceClass = SettlementReferenceClass.allCases.first(where: { $0.name == entry.referenceClass }),
              SettlementEntry.isValidReference(entry.reference)
        else { throw Invalid("the entry's gateway, class or reference is not one the ledger has") }
        guard case .settlement(let record)? = try verifyState(view, key: StateKey.settlement(gateway, referenceClass, entry.reference), validators: validators) else {
            throw Invalid("the proven value is not a settlement entry record")
        }
        guard SettlementEntryView(record, proof: view) == entry else { throw Invalid("the entry's fields differ from the proven record") }
        return record
    }

    /// Block `height + 1` (`nextHeader`, certified by `nextCertificate` under `validators`, the
    /// set that signs it) follows `header`: what it certifies about that block — its results root
    /// and the state root after it — can be trusted.
    @discardableResult
    public static func verifyNext(_ header: BlockHeader, nextHeader: [UInt8], nextCertificate: [UInt8], validators: ValidatorSet) throws(Invalid) -> BlockHeader {
        let next = try verifyHeader(nextHeader, certificate: nextCertificate, validators: validators)
        guard next.height == header.height + 1, next.previousBlockHash == header.hash, next.chainID == header.chainID else {
            throw Invalid("the next header (block \(next.height)) does not follow block \(header.height) \(header.hash.hex)")
        }
        return next
    }

    /// What a verified receipt proves.
    public struct Receipt: Sendable, Equatable {
        public let transaction: Transaction
        public let result: TransactionResult
        public let height: UInt64
        public let index: UInt32
    }

    /// The receipt holds: the next header is certified under `validators` (the set that signs
    /// block `height + 1`) and follows the receipt's header; the transaction's id is leaf `index`
    /// of that header's transactions root; its result is leaf `index` of the next header's results root.
    public static func verifyReceipt(_ view: ReceiptView, validators: ValidatorSet) throws(Invalid) -> Receipt {
        guard let headerBytes = Hex.decode(view.header), let nextHeader = Hex.decode(view.nextHeader), let nextCertificate = Hex.decode(view.nextCertificate),
              let resultBytes = Hex.decode(view.resultBytes), let transactionsProof = Hex.decode(view.transactionsProof),
              let resultsProof = Hex.decode(view.resultsProof), let transactionBytes = Data(base64Encoded: view.transaction)
        else { throw Invalid("headers, certificate, result and proofs must be hexadecimal, the transaction base64") }
        let header: BlockHeader
        do { header = try BlockHeader(canonical: headerBytes) } catch { throw Invalid("the header is not canonical: \(error)") }
        guard header.height == view.height else { throw Invalid("the header is of block \(header.height), not \(view.height)") }
        let next = try verifyNext(header, nextHeader: nextHeader, nextCertificate: nextCertificate, validators: validators)
        let transaction: Transaction, result: TransactionResult
        do { transaction = try Transaction(canonical: Array(transactionBytes)) } catch { throw Invalid("the transaction is not canonical: \(error)") }
        do { result = try decodeResult(resultBytes) } catch { throw Invalid("the result is not canonical: \(error)") }
        guard transaction.id.digest.hex == view.id else { throw Invalid("the transaction's id is \(transaction.id), not \(view.id)") }
        // The roots commit to the id (the body's hash); the signatures are checked here, as the block's were.
        guard transaction.hasValidSignatures else { throw Invalid("a signature of the transaction does not verify") }
        guard result.code == view.result, result.command == view.command, result.detail?.name == view.detail else {
            throw Invalid("the result bytes say \(result), not the \(view.result) the file claims")
        }
        let included = try leafProof(transactionsProof, index: view.index)
        guard included.verify(leaf: transaction.id.digest, root: header.transactionsRoot) else {
            throw Invalid("the transaction is not leaf \(view.index) of block \(header.height)'s transactions root")
        }
        let resulted = try leafProof(resultsProof, index: view.index)
        guard resulted.verify(leaf: ResultsTree.leaf(view.index, transaction.id, result), root: next.lastResultsRoot) else {
            throw Invalid("the result is not leaf \(view.index) of the results root certified by block \(next.height)")
        }
        return Receipt(transaction: transaction, result: result, height: header.height, index: view.index)
    }

    /// A whole block holds: its header is certified under `validators` (the set of its height);
    /// its transaction ids give the header's transactions root; and, when the file has the next
    /// block's header and certificate (under `nextValidators`, the next height's set), its results
    /// give the next header's results root and its state root is the one that header certifies.
    /// Returns whether the results and state root were checked (they cannot be before block
    /// `height + 1` exists).
    public static func verifyBlock(_ view: BlockView, validators: ValidatorSet, nextValidators: ValidatorSet) throws(Invalid) -> Bool {
        guard let headerBytes = Hex.decode(view.header), let certificate = Hex.decode(view.certificate) else {
            throw Invalid("header and certificate must be hexadecimal")
        }
        let header = try verifyHeader(headerBytes, certificate: certificate, validators: validators)
        guard header.hash.hex == view.hash, header.height == view.height, header.previousBlockHash.hex == view.previousHash,
              header.time.millisecondsSinceEpoch == view.timeMilliseconds, header.proposer.hex == view.proposer
        else { throw Invalid("the certified header is block \(header.height) \(header.hash.hex); the file's fields say otherwise") }
        guard view.transactions.count <= Limits.blockTransactionsMax else { throw Invalid("a block holds at most \(Limits.blockTransactionsMax) transactions") }
        let ids = view.transactions.map { Bytes32(hex: $0).map(Digest.init) }
        guard ids.allSatisfy({ $0 != nil }) else { throw Invalid("transaction ids must be 64 hexadecimal digits") }
        guard MerkleList.root(ids.map { $0! }) == header.transactionsRoot else {
            throw Invalid("the transaction ids do not give the certified transactions root \(header.transactionsRoot.hex)")
        }
        guard let results = view.fullResults, results.count == ids.count else { throw Invalid("the results are not one per transaction, each a known code") }
        guard let nextHeader = view.nextHeader.flatMap(Hex.decode), let nextCertificate = view.nextCertificate.flatMap(Hex.decode) else { return false }
        let next = try verifyNext(header, nextHeader: nextHeader, nextCertificate: nextCertificate, validators: nextValidators)
        guard ResultsTree.root(ids.map { TransactionID($0!) }, results) == next.lastResultsRoot else {
            throw Invalid("the results do not give the results root \(next.lastResultsRoot.hex) certified by block \(next.height)")
        }
        guard next.stateRoot.hex == view.stateRoot else {
            throw Invalid("the state root after the block is \(next.stateRoot.hex) (certified by block \(next.height)), not \(view.stateRoot)")
        }
        return true
    }

    static func decodeResult(_ bytes: [UInt8]) throws(DecodeError) -> TransactionResult {
        var reader = CanonicalReader(bytes)
        let result = try TransactionResult(from: &reader)
        try reader.finish()
        return result
    }

    static func leafProof(_ bytes: [UInt8], index: UInt32) throws(Invalid) -> MerkleListProof {
        var reader = CanonicalReader(bytes)
        do {
            let proof = try MerkleListProof(from: &reader)
            try reader.finish()
            guard proof.index == index else { throw Invalid("a proof is of leaf \(proof.index), not \(index)") }
            return proof
        } catch let invalid as Invalid { throw invalid } catch { throw Invalid("a Merkle list proof does not decode: \(error)") }
    }
}
