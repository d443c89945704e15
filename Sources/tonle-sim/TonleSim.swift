import ArgumentParser
import Dispatch
import Foundation
import TonleSimulator

/// `tonle-sim`: seeded cluster simulations with faults and Byzantine twins (docs/simulator.md).
@main
struct TonleSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tonle-sim",
        abstract: "Run seeded cluster simulations and check safety and liveness.",
        discussion: "Ends with a summary line; exits 1 when any violation was found, and prints the command that replays each failing seed.")

    @Option(help: "How many seeds to run.") var seeds = 100
    @Option(help: "The first seed.") var firstSeed: UInt64 = 1
    @Option(help: "Validators (each seed).") var validators = 4
    @Option(help: "Validators run twice with one key (Byzantine twins).") var twins = 0
    @Option(help: "none, all or split.") var faults = "all"
    @Flag(help: "Print every event of each run.") var events = false

    func validate() throws {
        guard seeds >= 1, (1...64).contains(validators), (0...validators).contains(twins), Faults(rawValue: faults) != nil else {
            throw ValidationError("need --seeds ≥ 1, 1 ≤ --validators ≤ 64, 0 ≤ --twins ≤ validators, --faults none|all|split")
        }
    }

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        var heights: UInt64 = 0, violations = 0, failing: [UInt64] = [], writes = 0, syncs = 0, requests = 0, maxWait: UInt64 = 0, maxWaitSeed: UInt64 = 0, idleMax = 0
        for offset in 0..<UInt64(seeds) {
            var options = SimulationOptions(seed: firstSeed + offset)
            (options.validators, options.twins, options.faults, options.recordEvents) = (validators, twins, Faults(rawValue: faults)!, events)
            let result = Simulation(options).run()
            heights += result.heightsDecided
            (writes, syncs) = (writes + result.nodeZeroWALWrites, syncs + result.nodeZeroWALSyncs)
            (requests, idleMax) = (requests + result.requestsAcknowledged, max(idleMax, result.idleBlocks))
            if result.maxCommitWaitAfterHeal > maxWait { (maxWait, maxWaitSeed) = (result.maxCommitWaitAfterHeal, options.seed) }
            if events { result.eventLog.forEach { print($0) } }
            if !result.violations.isEmpty {
                violations += result.violations.count
                failing.append(options.seed)
                for violation in result.violations.prefix(5) { print("VIOLATION seed \(options.seed): \(violation)") }
                print("  replay: \(options.replayCommand)")
            }
            if (offset + 1) % 100 == 0 {
                FileHandle.standardError.write(Data("  \(offset + 1) seeds, \(heights) heights, \(violations) violations\n".utf8))
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("seeds \(seeds), validators \(validators), twins \(twins), faults \(faults): heights decided \(heights), violations \(violations), node 0 WAL \(writes) writes \(syncs) syncs, requests acknowledged \(requests), longest wait after heal \(maxWait) ms (seed \(maxWaitSeed)), most idle blocks \(idleMax) in 3 s, \(String(format: "%.1f", seconds)) s")
        if violations > 0 { throw ExitCode(1) }
    }
}
