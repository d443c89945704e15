import ArgumentParser
import Foundation
import TonleCrypto
import TonleNode
import TonleTypes

/// `tonle bench load`: a simple load against a running local network made by `tonle genesis
/// local`: pre-signed transfers among the demo accounts, submitted in batches to every validator
/// at once, then waited for. Prints committed transfers/s, blocks/s and each node's memory.
/// (The full network benchmark with latency percentiles comes with the RPC work.)
struct LoadBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Submit pre-signed transfers to a local network and measure committed transfers/s.")

    @Option(help: "The local network's directory (from tonle genesis local).") var network = ".tonle-local"
    @Option(help: "Transfers to submit.") var transfers = 20_000
    @Option(help: "Transfers per batch request.") var batch = 500
    @Option(help: "Concurrent submitters.") var connections = 4
    @Option(help: "Seconds to wait for everything to commit.") var timeout = 120.0

    func run() throws {
        guard transfers > 0, batch > 0, connections > 0 else { throw ValidationError("--transfers, --batch and --connections must be positive") }
        let root = URL(fileURLWithPath: network)
        let nodes = try nodeURLs(root)
        let signed = try sign(root)
        FileHandle.standardError.write(Data("signed \(signed.count) transfers; submitting to \(nodes.count) nodes over \(connections) connections\n".utf8))
        let clients = try nodes.map { try RPCClient($0) }
        let startHeight = try height(clients[0])
        let batches = stride(from: 0, to: signed.count, by: batch).map { Array(signed[$0..<min($0 + batch, signed.count)]) }
        let accepted = Counter(), refused = Counter(), next = Counter()
        let start = Date()
        DispatchQueue.concurrentPerform(iterations: connections) { worker in
            while true {
                let index = next.add(1) - 1
                guard index < batches.count else { return }
                let client = clients[index % clients.count]
                guard let answer = try? client.call("POST", "v1/transactions/batch", body: ["transactions": batches[index]], timeout: 60),
                      let results = answer.json["results"] as? [[String: Any]]
                else { _ = refused.add(batches[index].count); continue }
                let ok = results.filter { ($0["status"] as? String).map { ["pending", "committed"].contains($0) } ?? false }.count
                _ = accepted.add(ok)
                _ = refused.add(results.count - ok)
            }
        }
        let submitted = Date().timeIntervalSince(start)
        // Wait until every node's mempool is empty: everything accepted is in a block.
        var endHeight = startHeight, done = false
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let statuses = clients.compactMap { try? $0.call("GET", "v1/status").json }
            if statuses.count == clients.count, statuses.allSatisfy({ ($0["mempool_transactions"] as? Int) == 0 }) {
                endHeight = (statuses[0]["height"] as? Int).map(UInt64.init) ?? endHeight
                done = true
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let elapsed = Date().timeIntervalSince(start)
        let memory = residentMemory(root)
        let rate = Double(accepted.value) / elapsed, blocks = Double(endHeight - startHeight) / elapsed
        print("submitted \(signed.count) transfers in \(String(format: "%.2f", submitted)) s: \(accepted.value) accepted, \(refused.value) refused")
        print("committed \(done ? "all" : "NOT all (timed out)") in \(String(format: "%.2f", elapsed)) s: \(String(format: "%.0f", rate)) transfers/s, \(endHeight - startHeight) blocks (\(String(format: "%.1f", blocks)) blocks/s)")
        for (name, kib) in memory { print("  \(name): RSS \(kib / 1024) MiB") }
        let rss = memory.map { "\"\($0.0)\":\($0.1 / 1024)" }.joined(separator: ",")
        print("{\"bench\":\"load\",\"validators\":\(nodes.count),\"transfers\":\(signed.count),\"accepted\":\(accepted.value),\"seconds\":\(String(format: "%.3f", elapsed)),\"committed_per_s\":\(String(format: "%.0f", rate)),\"blocks\":\(endHeight - startHeight),\"blocks_per_s\":\(String(format: "%.2f", blocks)),\"rss_mib\":{\(rss)}}")
    }

    private func nodeURLs(_ root: URL) throws -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("nodes").path).filter { $0.hasSuffix(".json") }.sorted()) ?? []
        guard !files.isEmpty else { throw CLIError("no node configurations in \(network)/nodes; run 'tonle genesis local' (or deploy/run.sh) first") }
        return try files.map { file in
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("nodes/\(file)"))) as? [String: Any]
            guard let listen = (object?["rpc"] as? [String: Any])?["listen"] as? String else { throw CLIError("\(file) has no rpc.listen") }
            return "http://\(listen)"
        }
    }

    /// Transfers among the demo accounts of genesis/local.json, each signed by its institution's key.
    private func sign(_ root: URL) throws -> [String] {
        let banks = [("aba", ["sokha@aba", "dara@aba"]), ("acleda", ["chenda@acleda", "vibol@acleda"]), ("wing", ["srey@wing", "market@wing"])]
        let keys = try banks.map { try KeyFileIO.read(root.appendingPathComponent("keys/\($0.0).key").path) }
        let chain = try ChainID("tonle-local")
        let expiry = Timestamp(millisecondsSinceEpoch: UInt64(Date().timeIntervalSince1970 * 1000) + 1_800_000)
        var random = SystemRandomNumberGenerator()
        let run = random.next() as UInt64
        var out = [String](repeating: "", count: transfers)
        out.withUnsafeMutableBufferPointer { buffer in
            let base = UncheckedBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: transfers) { i in
                let from = banks[i % 3].1[(i / 3) % 2], to = banks[(i + 1) % 3].1[(i / 6) % 2]
                let body = try! TransactionBody(
                    chainID: chain, creator: AccountID(from), clientID: ID128(high: run, low: UInt64(i)), expiry: expiry,
                    commands: [.transfer(Transfer(source: AccountID(from), target: AccountID(to), amount: Amount(Int64(1 + i % 100), .khr)))])
                base.set(i, Data(try! Transaction.signing(body, with: [keys[i % 3]]).encoded).base64EncodedString())
            }
        }
        return out
    }

    private func height(_ client: RPCClient) throws -> UInt64 {
        let status = try client.call("GET", "v1/status")
        guard let height = status.json["height"] as? Int else { throw CLIError("the node at \(client.base) did not answer /v1/status") }
        return UInt64(height)
    }

    /// RSS of each node listed in NETWORK/pids (written by deploy/local-network.sh), from /proc.
    private func residentMemory(_ root: URL) -> [(String, Int)] {
        guard let pids = try? String(contentsOf: root.appendingPathComponent("pids"), encoding: .utf8) else { return [] }
        return pids.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let status = try? String(contentsOfFile: "/proc/\(parts[0])/status", encoding: .utf8),
                  let rss = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })?.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
            else { return nil }
            return (String(parts[1]), rss)
        }
    }
}

/// A counter shared by the submitting threads.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add(_ n: Int) -> Int { lock.withLock { count += n; return count } }
}

/// Lets parallel iterations each write their own slot.
private struct UncheckedBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<String>
    init(_ buffer: UnsafeMutableBufferPointer<String>) { self.buffer = buffer }
    func set(_ index: Int, _ value: String) { buffer[index] = value }
}
