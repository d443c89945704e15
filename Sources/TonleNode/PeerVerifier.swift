import Foundation
import TonleConsensus
import TonleNetwork
import TonleTypes

/// Checks the signatures of what peers send on threads of its own, so that the network's event
/// loops only read and decode (docs/network.md, "Signature checks"). Consensus messages go in
/// the urgent lane and are always taken first; gossiped transactions go in the bulk lane in
/// chunks of `chunkTransactions`, so a vote waits behind at most one chunk per worker, never
/// behind a whole flood. A full bulk lane drops gossip (counted): the node that sent it still
/// holds those transactions and proposes them itself. Events without signatures (status, block
/// sync, links) go straight to the node loop, in the order the network gave them.
final class PeerVerifier: Sendable {
    static let chunkTransactions = 64
    /// Per lane: 1,024 consensus messages (about 50 ms of checking), 1,024 chunks (65,536
    /// transactions, about 20 MB and 1.6 s of checking on two cores).
    static let queueCapacity = 1_024

    private let queue: Mailbox<NetworkEvent?>
    private let deliver: @Sendable (NetworkEvent) -> Void
    private let dropped: @Sendable (Int) -> Void
    private let workers: Int

    /// `deliver` receives every event that passed (on a worker thread); `dropped` counts messages
    /// (a transaction each) refused because their lane was full.
    init(workers: Int, capacity: Int, deliver: @escaping @Sendable (NetworkEvent) -> Void, dropped: @escaping @Sendable (Int) -> Void) {
        (self.workers, self.deliver, self.dropped) = (max(1, workers), deliver, dropped)
        queue = Mailbox(capacity: capacity)
        for index in 0..<self.workers {
            let thread = Thread { [self] in
                while let event = queue.take(deadline: nil), let event {
                    if let checked = Self.check(event) { self.deliver(checked) }
                }
            }
            thread.name = "tonle-verify-\(index)"
            thread.start()
        }
    }

    /// Called on the network's event loops: hands the event on without checking anything there.
    func submit(_ event: NetworkEvent) {
        switch event {
        case .message(.consensus, _):
            if !queue.post(event, lane: .urgent) { dropped(1) }   // consensus re-sends: a drop costs a retransmit interval
        case .message(.transactions(let transactions), let peer):
            for start in stride(from: 0, to: transactions.count, by: Self.chunkTransactions) {
                let chunk = Array(transactions[start..<min(start + Self.chunkTransactions, transactions.count)])
                if !queue.post(.message(.transactions(chunk), from: peer), lane: .bulk) { dropped(chunk.count) }
            }
        default:
            deliver(event)
        }
    }

    /// Stops the workers once they have finished what they hold.
    func stop() {
        for _ in 0..<workers { queue.post(nil, lane: .bulk, force: true) }
    }

    /// Consensus messages must be signed by their signer; transactions with a bad signature are dropped.
    static func check(_ event: NetworkEvent) -> NetworkEvent? {
        guard case .message(let message, let peer) = event else { return event }
        switch message {
        case .consensus(.proposal(let proposal, _)):
            return proposal.signatureCheck.isValid ? event : nil
        case .consensus(.vote(let vote)):
            return vote.signatureCheck.isValid ? event : nil
        case .transactions(let transactions):
            let valid = transactions.filter(\.hasValidSignatures)
            return valid.isEmpty ? nil : .message(.transactions(valid), from: peer)
        case .status, .blocksRequest, .blocks, .snapshotsRequest, .snapshots, .snapshotTopRequest, .snapshotTop, .chunkRequest, .chunk:
            return event
        }
    }
}
