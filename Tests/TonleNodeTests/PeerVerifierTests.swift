import Foundation
import Synchronization
import Testing
import TonleConsensus
import TonleCrypto
@testable import TonleNode
import TonleNetwork
import TonleTypes
import TonleWorkload

/// Signatures from peers are checked on the verifier's threads, votes before gossip, and nothing
/// unsigned or badly signed gets through.
@Suite struct PeerVerifierTests {
    let workload = Workload(seed: 3, accounts: 50, signed: true)
    let peer = Ed25519.SigningKey.generate().publicKey

    final class Delivered: Sendable {
        let events = Mutex<[NetworkEvent]>([])
        let dropped = Mutex(0)
        var count: Int { events.withLock { $0.count } }
    }

    func vote(_ key: Ed25519.SigningKey, round: UInt32) -> Vote {
        Vote(signing: VoteBody(chainID: workload.chainID, type: .prevote, height: 1, round: round, blockHash: nil, validator: key.publicKey), with: key)
    }

    func waitFor(_ delivered: Delivered, _ count: Int) async {
        for _ in 0..<500 where delivered.count < count { try? await Task.sleep(for: .milliseconds(10)) }
    }

    @Test func aVoteOvertakesAFloodOfGossip() async {
        let delivered = Delivered()
        let verifier = PeerVerifier(workers: 1, capacity: 1_024, deliver: { event in delivered.events.withLock { $0.append(event) } },
                                    dropped: { count in delivered.dropped.withLock { $0 += count } })
        defer { verifier.stop() }
        let flood = workload.transactions(height: 5, transfers: 2_048)   // 32 chunks, ~100 ms of checking on one thread
        verifier.submit(.message(.transactions(flood), from: peer))
        let key = workload.validatorKeys[0], signed = vote(key, round: 0)
        verifier.submit(.message(.consensus(.vote(signed)), from: peer))
        await waitFor(delivered, 33)
        let events = delivered.events.withLock { $0 }
        #expect(events.count == 33)
        let position = events.firstIndex { if case .message(.consensus(.vote(let v)), _) = $0 { v == signed } else { false } }
        #expect(position.map { $0 <= 2 } == true, "the vote waited behind \(position ?? -1) chunks of gossip")
        let transactions = events.flatMap { event -> [Transaction] in if case .message(.transactions(let t), _) = event { t } else { [] } }
        #expect(Set(transactions.map(\.id)) == Set(flood.map(\.id)) && transactions.count == flood.count)
    }

    @Test func badSignaturesAreDroppedAndUnsignedEventsPassStraightThrough() async {
        let delivered = Delivered()
        let verifier = PeerVerifier(workers: 2, capacity: 1_024, deliver: { event in delivered.events.withLock { $0.append(event) } },
                                    dropped: { count in delivered.dropped.withLock { $0 += count } })
        defer { verifier.stop() }
        let key = workload.validatorKeys[1], other = workload.validatorKeys[2]
        let good = vote(key, round: 0)
        let forged = Vote(body: vote(key, round: 1).body, signature: vote(other, round: 1).signature)
        var transactions = workload.transactions(height: 2, transfers: 3)
        let tampered = try! Transaction(body: transactions[1].body, signatures: transactions[2].signatures)
        transactions[1] = tampered
        verifier.submit(.connected(peer))   // no signature: delivered at once, on this thread
        #expect(delivered.count == 1)
        verifier.submit(.message(.status(height: 7), from: peer))
        verifier.submit(.message(.consensus(.vote(forged)), from: peer))
        verifier.submit(.message(.consensus(.vote(good)), from: peer))
        verifier.submit(.message(.transactions(transactions), from: peer))
        await waitFor(delivered, 4)
        try? await Task.sleep(for: .milliseconds(100))   // time for anything wrongly let through
        let events = delivered.events.withLock { $0 }
        #expect(events.count == 4)
        let votes = events.compactMap { if case .message(.consensus(.vote(let v)), _) = $0 { v } else { nil } }
        #expect(votes == [good])
        let passed = events.flatMap { event -> [Transaction] in if case .message(.transactions(let t), _) = event { t } else { [] } }
        #expect(passed.map(\.id) == [transactions[0].id, transactions[2].id])
    }

    @Test func aFullGossipLaneDropsAndCountsButKeepsVotes() async {
        let delivered = Delivered(), gate = Mutex(true)
        // One worker, held until released: the bulk lane (capacity 2) fills behind it.
        let verifier = PeerVerifier(workers: 1, capacity: 2, deliver: { event in
            while gate.withLock({ $0 }) { usleep(1_000) }
            delivered.events.withLock { $0.append(event) }
        }, dropped: { count in delivered.dropped.withLock { $0 += count } })
        defer { verifier.stop() }
        let transactions = workload.transactions(height: 3, transfers: 64 * 5)
        verifier.submit(.message(.transactions(Array(transactions[..<64])), from: peer))   // taken by the worker, which then waits
        try? await Task.sleep(for: .milliseconds(200))
        verifier.submit(.message(.transactions(Array(transactions[64...])), from: peer))   // 4 chunks: 2 queued, 2 dropped
        verifier.submit(.message(.consensus(.vote(vote(workload.validatorKeys[3], round: 0))), from: peer))
        gate.withLock { $0 = false }
        await waitFor(delivered, 4)
        #expect(delivered.dropped.withLock { $0 } == 128)
        let events = delivered.events.withLock { $0 }
        #expect(events.count == 4)
        #expect(events.contains { if case .message(.consensus(.vote), _) = $0 { true } else { false } })
    }
}
