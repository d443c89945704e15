import Foundation
import Testing
import TonleTypes

/// Partitions under load at a 40 ms round trip (issue 15's test): one validator cut off for 30 s,
/// then two for 15 s, while a gateway keeps submitting to all four. Asserted: nothing acknowledged
/// is lost or applied twice, the nodes agree, and everything commits after the heals. Printed, as
/// figures (a shared machine): how long payments waited after each heal, and how long the first
/// block took once quorum was back.
extension ProcessTests {
    @Test("partitions under load at 40 ms RTT: one validator cut off 30 s, then two 15 s; nothing lost, pending payments commit after each heal")
    func partitionsUnderLoad() async throws {
        let cutOne = 30.0, cutTwo = 15.0
        try await withNetwork(proxied: true, delayMilliseconds: 20) { network in
            let load = Load()
            let gateway = Task { try await load.run(network, targets: { [0, 1, 2, 3] }, tag: 15) }
            defer { gateway.cancel() }
            try await Task.sleep(for: .seconds(3))

            network.isolate(2, true)
            try await Task.sleep(for: .seconds(cutOne))
            let firstHeal = LocalNetwork.milliseconds()
            network.isolate(2, false)
            let leaders = await heights(network, [0, 1, 3]).max()!
            #expect(await LocalNetwork.eventually(60) { (await network.height(2) ?? 0) >= leaders }, "healed, node 2 catches up")
            try await Task.sleep(for: .seconds(3))

            network.isolate(2, true)
            network.isolate(3, true)
            try await Task.sleep(for: .seconds(1))
            let stalled = await heights(network, [0, 1, 2, 3]).max()!
            try await Task.sleep(for: .seconds(max(0, cutTwo - 1)))
            let secondHeal = LocalNetwork.milliseconds()
            let stalledBeforeHeal = await heights(network, [0, 1, 2, 3]).max()!
            network.isolate(2, false)
            network.isolate(3, false)
            var firstBlockAfterQuorum: UInt64?
            for _ in 0..<600 where firstBlockAfterQuorum == nil {
                if await heights(network, [0, 1, 2, 3]).max()! > stalledBeforeHeal { firstBlockAfterQuorum = LocalNetwork.milliseconds() - secondHeal }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(stalledBeforeHeal <= stalled + 1, "no commits without a quorum: \(stalled) then \(stalledBeforeHeal)")
            #expect(firstBlockAfterQuorum != nil, "commits resume once quorum is back")
            try await Task.sleep(for: .seconds(5))
            load.stop()
            _ = try? await gateway.value

            // Everything acknowledged commits, once, applied; the four agree.
            let acknowledged = load.acknowledgedTimes
            #expect(acknowledged.count >= 1_000, "the gateway kept submitting: \(acknowledged.count) acknowledged")
            var committed: [String: (height: UInt64, milliseconds: UInt64)] = [:], twice: [String] = [], notApplied = 0, scanned: UInt64 = 0
            let wanted = Set(acknowledged.map(\.id))
            #expect(await LocalNetwork.eventually(90) {
                let top = await network.height(0) ?? 0
                while scanned < top, let block = await network.block(0, scanned + 1) {
                    let ids = block["transactions"] as? [String] ?? [], results = block["results"] as? [String] ?? []
                    let time = (block["time_ms"] as? NSNumber)?.uint64Value ?? 0
                    for (id, result) in zip(ids, results) {
                        if committed[id] != nil { twice.append(id) }
                        committed[id] = (scanned + 1, time)
                        if wanted.contains(id), result != "applied" { notApplied += 1 }
                    }
                    scanned += 1
                }
                return wanted.isSubset(of: committed.keys)
            }, "every acknowledged payment commits: \(wanted.subtracting(committed.keys).count) of \(wanted.count) missing")
            #expect(twice.isEmpty, "applied twice: \(twice.prefix(3))")
            #expect(notApplied == 0)
            let common = await heights(network, [0, 1, 2, 3]).min()!
            #expect(await network.agree(at: common, among: [0, 1, 2, 3]))

            // Figures: waits from acknowledgement to the block's time, and after each heal.
            func waitAfter(_ heal: UInt64) -> UInt64 {
                acknowledged.filter { $0.milliseconds < heal }.compactMap { committed[$0.id]?.milliseconds }
                    .filter { $0 > heal }.map { $0 - heal }.max() ?? 0
            }
            let waits = acknowledged.compactMap { a in committed[a.id].map { $0.milliseconds > a.milliseconds ? $0.milliseconds - a.milliseconds : 0 } }.sorted()
            let p = { (q: Double) in waits.isEmpty ? 0 : waits[min(waits.count - 1, Int(Double(waits.count) * q))] }
            print("""
                partition figures: \(acknowledged.count) payments acknowledged, all committed once; \
                wait p50 \(p(0.5)) ms, p99 \(p(0.99)) ms, max \(waits.last ?? 0) ms; \
                longest wait after the one-node heal \(waitAfter(firstHeal)) ms, after the two-node heal \(waitAfter(secondHeal)) ms; \
                first block \(firstBlockAfterQuorum ?? 0) ms after quorum returned
                """)
        }
    }
}
