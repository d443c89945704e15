import Foundation
import Testing
import TonleSimulator

/// CI's short sweep; `tonle-sim` runs the long ones. Seeds per group of the sweep below.
let sweepGroup = ProcessInfo.processInfo.environment["TONLE_SIM_SEEDS"].flatMap(Int.init) ?? 25

func options(seed: UInt64, validators: Int, twins: Int, faults: Faults) -> SimulationOptions {
    var options = SimulationOptions(seed: seed)
    (options.validators, options.twins, options.faults) = (validators, twins, faults)
    return options
}

@Suite struct SimulatorTests {
    /// 300 seeds in 12 groups (run in parallel): n = 4 with one twin, n = 7 with two (f each),
    /// every fault kind, gateways submitting and retrying transfers. No violation: agreement,
    /// no double signing, equal roots, supply, no acknowledged payment lost or applied twice,
    /// re-gossip after a heal, idle waits kept, and liveness after healing.
    @Test(arguments: 0..<12)
    func sweepWithFTwinsFindsNoViolation(group: Int) {
        let (validators, twins) = group < 9 ? (4, 1) : (7, 2)
        var acknowledged = 0, held = 0
        for offset in 0..<sweepGroup {
            let seed = UInt64(10_000 + group * 1_000 + offset)
            let result = Simulation(options(seed: seed, validators: validators, twins: twins, faults: .all)).run()
            #expect(result.violations.isEmpty, "\(result.violations.prefix(3)) — replay: \(result.options.replayCommand)")
            #expect(result.heightsDecided >= 1, "no progress: replay: \(result.options.replayCommand)")
            (acknowledged, held) = (acknowledged + result.requestsAcknowledged, held + result.requestsHeldThroughHeal)
        }
        // The checkers had something to check: payments acknowledged, and some held by a node
        // through the heal (the re-gossip case).
        #expect(acknowledged >= sweepGroup * 10, "\(acknowledged) requests acknowledged")
        #expect(held >= 1, "no request was held through a heal in \(sweepGroup) seeds")
    }

    /// The canary: f + 1 twins on both sides of a partition must fork, and the checkers must say so.
    @Test(arguments: [(4, 2), (7, 3)])
    func fPlusOneTwinsAreCaughtForking(validators: Int, twins: Int) {
        for seed in UInt64(1)...3 {
            let result = Simulation(options(seed: seed, validators: validators, twins: twins, faults: .split)).run()
            #expect(result.violations.contains { $0.hasPrefix("agreement") }, "seed \(seed): the fork went unnoticed")
        }
    }

    /// The same attack with only f twins cannot fork.
    @Test(arguments: [(4, 1), (7, 2)])
    func fTwinsDoNotFork(validators: Int, twins: Int) {
        for seed in UInt64(1)...3 {
            let result = Simulation(options(seed: seed, validators: validators, twins: twins, faults: .split)).run()
            #expect(result.violations.isEmpty, "\(result.violations.prefix(3))")
        }
    }

    @Test func theSameSeedGivesTheSameEventLog() {
        var first = options(seed: 4242, validators: 4, twins: 1, faults: .all)
        first.recordEvents = true
        let a = Simulation(first).run(), b = Simulation(first).run()
        #expect(a.eventLog.count > 1_000)
        #expect(a.eventLog == b.eventLog)
        #expect(a.eventLogDigest == b.eventLogDigest)
        var other = first
        other.seed = 4243
        #expect(Simulation(other).run().eventLogDigest != a.eventLogDigest)
    }

    /// Node 0 crashes inside its k-th WAL write, for every k of a run, losing any part of what it
    /// wrote since its last sync, and restarts from its WAL and sign-state: the cluster still
    /// agrees, and node 0 never signs two messages for one slot.
    @Test func crashAtEveryWALWrite() {
        var base = options(seed: 7, validators: 4, twins: 0, faults: .none)
        base.faultMilliseconds = 2_000
        let plain = Simulation(base).run()
        #expect(plain.violations.isEmpty)
        // Group commit: peers' messages are written without a sync of their own; one sync
        // precedes each message node 0 signs (a proposal now and then, two votes a height).
        #expect(plain.nodeZeroWALSyncs < plain.nodeZeroWALWrites / 2, "\(plain.nodeZeroWALSyncs) syncs for \(plain.nodeZeroWALWrites) writes")
        #expect(plain.nodeZeroWALSyncs >= Int(plain.heightsDecided) * 2 - 2)
        // The writes of the first heights; every one of them is a crash point.
        let writes = min(plain.nodeZeroWALWrites, 60)
        #expect(writes > 20)
        for k in 0..<writes {
            var crashing = base
            crashing.crashNodeZeroAtWALWrite = k
            let result = Simulation(crashing).run()
            #expect(result.violations.isEmpty, "crash at write \(k): \(result.violations.prefix(3))")
            #expect(result.heightsDecided >= 3, "crash at write \(k): stuck at \(result.heightsDecided)")
        }
    }
}
