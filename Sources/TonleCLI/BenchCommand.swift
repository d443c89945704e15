import ArgumentParser
import Dispatch
import Foundation
import TonleCrypto

/// `tonle bench ...`: benchmarks that print figures (never assertions).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures.", subcommands: [CryptoBench.self, ExecBench.self, NetworkBench.self])
}

/// `tonle bench crypto`: Ed25519 and SHA-256 through TonleCrypto, each beside the same C calls
/// made directly (CryptoBaseline), on one thread and on all cores. Each figure is the best of
/// `--rounds` runs of about `--seconds`; wrapper and C runs alternate so load on a shared machine
/// falls on both. The last line is JSON.
struct CryptoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypto", abstract: "Ed25519 sign/verify and SHA-256 rates, against the C libraries called directly.")

    @Option(help: "Seconds per measurement.") var seconds = 1.0
    @Option(help: "Measurements per figure (the best is kept).") var rounds = 3

    func run() throws {
        guard seconds > 0, rounds >= 1 else { throw ValidationError("--seconds must be positive and --rounds at least 1") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let key = Ed25519.SigningKey(seed: Bytes32(Array(repeating: 7, count: 32))!)
        let seed = Array(repeating: UInt8(7), count: 32)
        let message = Array(repeating: UInt8(0x5a), count: 200)   // about one transfer body
        let signature = key.sign(message)
        let input64 = Array(repeating: UInt8(0xa5), count: 64)
        let hasher = SHA256Hasher()
        var results: [(name: String, wrapper: Double, direct: Double)] = []

        func pair(_ name: String, wrapper: (Int) -> Void, direct: (Int) -> Void) {
            let (w, d) = measurePair(wrapper, direct)
            results.append((name, w, d))
            FileHandle.standardError.write(Data("  \(name): \(format(w))/s (C: \(format(d))/s)\n".utf8))
        }

        pair("sha256_64b_oneshot", wrapper: { n in
            var fold: UInt8 = 0
            for _ in 0..<n { fold ^= SHA256.hash(input64).raw.withUnsafeBytes { $0[0] } }
            blackHole(fold)
        }, direct: { n in blackHole(CryptoBaseline.sha256OneShot(input64, iterations: n)) })
        pair("sha256_64b_reused", wrapper: { n in
            var fold: UInt8 = 0
            for _ in 0..<n { fold ^= hasher.hash(input64).raw.withUnsafeBytes { $0[0] } }
            blackHole(fold)
        }, direct: { n in blackHole(CryptoBaseline.sha256ReusedContext(input64, iterations: n)) })
        pair("ed25519_sign_1core", wrapper: { n in
            for _ in 0..<n { blackHole(key.sign(message).bytes[0]) }
        }, direct: { n in blackHole(CryptoBaseline.ed25519Sign(seed: seed, message: message, iterations: n)) })
        pair("ed25519_verify_1core", wrapper: { n in
            var valid = 0
            for _ in 0..<n where key.publicKey.isValidSignature(signature, for: message) { valid += 1 }
            blackHole(UInt8(truncatingIfNeeded: valid))
        }, direct: { n in blackHole(UInt8(truncatingIfNeeded: CryptoBaseline.ed25519Verify(publicKey: key.publicKey.bytes, signature: signature.bytes, message: message, iterations: n))) })

        let check = SignatureCheck(publicKey: key.publicKey, signature: signature, message: message)
        pair("ed25519_verify_\(cores)cores", wrapper: { n in
            let checks = Array(repeating: check, count: n)
            let valid = BatchVerifier.verify(checks, workers: cores) { DispatchQueue.concurrentPerform(iterations: $0, execute: $1) }
            blackHole(UInt8(truncatingIfNeeded: valid.count))
        }, direct: { n in
            DispatchQueue.concurrentPerform(iterations: cores) { worker in
                let share = n / cores + (worker < n % cores ? 1 : 0)
                blackHole(UInt8(truncatingIfNeeded: CryptoBaseline.ed25519Verify(publicKey: key.publicKey.bytes, signature: signature.bytes, message: message, iterations: share)))
            }
        })
        pair("ed25519_sign_\(cores)cores", wrapper: { n in
            DispatchQueue.concurrentPerform(iterations: cores) { worker in
                let share = n / cores + (worker < n % cores ? 1 : 0)
                for _ in 0..<share { blackHole(key.sign(message).bytes[0]) }
            }
        }, direct: { n in
            DispatchQueue.concurrentPerform(iterations: cores) { worker in
                let share = n / cores + (worker < n % cores ? 1 : 0)
                blackHole(CryptoBaseline.ed25519Sign(seed: seed, message: message, iterations: share))
            }
        })

        print("benchmark".padding(toLength: 24, withPad: " ", startingAt: 0) + "TonleCrypto/s   C direct/s   wrapper/C")
        for r in results {
            print(r.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                + format(r.wrapper).leftPadded(12) + format(r.direct).leftPadded(13) + String(format: "%11.3f", r.wrapper / r.direct))
        }
        var json: [String: Any] = ["bench": "crypto", "cores": cores, "seconds": seconds, "rounds": rounds]
        for r in results {
            json[r.name + "_per_s"] = Int(r.wrapper)
            json[r.name + "_c_per_s"] = Int(r.direct)
        }
        printJSON(json)
    }

    /// Best rates of `wrapper` and `direct` over `rounds` alternating runs of about `seconds`.
    private func measurePair(_ wrapper: (Int) -> Void, _ direct: (Int) -> Void) -> (Double, Double) {
        let iterations = calibrate(wrapper)
        var best = (0.0, 0.0)
        for _ in 0..<rounds {
            best.0 = max(best.0, rate(wrapper, iterations))
            best.1 = max(best.1, rate(direct, iterations))
        }
        return best
    }

    /// Iterations that take about `seconds`.
    private func calibrate(_ body: (Int) -> Void) -> Int {
        var n = 16
        while true {
            let elapsed = time { body(n) }
            if elapsed >= 0.05 || n >= 1 << 30 { return max(1, Int(Double(n) * seconds / max(elapsed, 1e-9))) }
            n *= 4
        }
    }

    private func rate(_ body: (Int) -> Void, _ n: Int) -> Double { Double(n) / time { body(n) } }

    private func time(_ body: () -> Void) -> Double {
        let elapsed = ContinuousClock().measure(body)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private func format(_ rate: Double) -> String {
        rate >= 1e6 ? String(format: "%.2fM", rate / 1e6) : String(format: "%.1fk", rate / 1e3)
    }
}

/// Keeps a result alive so the optimiser cannot drop the work that made it.
@inline(never) func blackHole(_ value: UInt8) {
    if value == 0xff, ProcessInfo.processInfo.environment["TONLE_NEVER_SET"] != nil { print(value) }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
