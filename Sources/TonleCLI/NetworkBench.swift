import ArgumentParser
import AsyncHTTPClient
import Foundation
import Histogram
import NIOCore
import Synchronization
import KHQR
import TonleCrypto
import TonleLedger
import TonleNode
import TonleTypes

/// `tonle bench network`: load against a running local network (from `tonle genesis local`).
///
/// Setup (not timed): opens `--accounts` bench accounts, spread over the demo institutions, and
/// funds them; pre-signs `--transfers` transfers among them. Then submits them in batches over
/// `--connections` connections to every validator in turn, at `--rate` a second (0: as fast as the
/// nodes take them), follows `/v1/events` to time each transfer from its submission to the event
/// of its block (HdrHistogram), prints progress each second, a summary, and last one JSON line.
struct NetworkBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Load a running local network and measure committed transfers/s and submit-to-commit latency.",
        discussion: "deploy/bench.sh starts a fresh 4-validator network and runs this at 5,000/s and flat out (docs/benchmarks.md).")

    @Option(help: "The local network's directory (from tonle genesis local).") var network = ".tonle-local"
    @Option(help: "Transfers to submit.") var transfers = 50_000
    @Option(help: "Bench accounts the transfers move between (opened and funded first).") var accounts = 1_000
    @Option(help: "Offered transfers a second; 0 submits as fast as the nodes accept.") var rate = 0.0
    @Option(help: "Transfers per batch request.") var batch = 100
    @Option(help: "Concurrent submitting connections.") var connections = 8
    @Option(help: "Seconds to wait, after the last submission, for everything to commit.") var timeout = 120.0
    @Option(help: "What to submit: transfers; inward-qr (Alipay+ and UnionPay paying bench merchants' dynamic KHQRs); mixed (50% transfers, 40% inward QR, 10% outward QR).")
    var mix: BenchAccounts.Mix = .transfers

    func run() async throws {
        guard transfers > 0, batch > 0, connections > 0, accounts >= 2, rate >= 0 else {
            throw ValidationError("--transfers, --batch and --connections must be positive, --accounts at least 2, --rate not negative")
        }
        let root = URL(fileURLWithPath: network)
        let local = try LocalNetworkFiles(root: root)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await run(local, http)
            try? await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func run(_ local: LocalNetworkFiles, _ http: HTTPClient) async throws {
        let clients = local.rpcURLs.map { BenchClient(http: http, base: $0) }
        let chain = try await clients[0].chainID()
        let pool = try BenchAccounts(count: accounts, keys: local.institutionKeys(), admin: try local.key("nbc"), chain: chain)
        log("opening and funding \(accounts) bench accounts (not timed)")
        try await pool.setUp(clients)
        log("signing \(transfers) \(mix == .transfers ? "transfers" : "transactions (\(mix.rawValue))") (not timed)")
        let gateways = try ["alipay", "upi"].map { (try InstitutionID($0), try local.key($0)) }
        let batches = pool.signed(transfers, mix: mix, gateways: gateways).chunked(batch)
        let startHeight = try await clients[0].height()
        let cpuBefore = local.processTimes(), ownBefore = LocalNetworkFiles.cpuSeconds(pid: "self")

        let tracker = LatencyTracker(expected: transfers)
        let follower = Task { try await clients[0].follow(from: startHeight + 1, tracker) }
        let counters = BenchCounters()
        let start = ContinuousClock.now
        let progress = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                let seconds = (ContinuousClock.now - start).seconds
                let (done, p50) = tracker.snapshot()
                log(String(format: "%5.1f s  submitted %d  committed %d (%.0f/s)  p50 %.0f ms", seconds, counters.submitted.withLock { $0 }, done, Double(done) / seconds, p50))
            }
        }
        // Batch i leaves at start + i·batch/rate (at once with --rate 0), round-robin over the nodes.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    while true {
                        let index = counters.next.withLock { n in defer { n += 1 }; return n }
                        guard index < batches.count else { return }
                        if rate > 0 {
                            let due = start + .seconds(Double(index * batch) / rate)
                            if due > .now { try await Task.sleep(until: due) }
                        }
                        let items = batches[index]
                        let sentAt = ContinuousClock.now
                        let outcome = await clients[index % clients.count].submit(items.map(\.base64))
                        tracker.submitted(items.map(\.id), at: sentAt, accepted: outcome)
                        counters.refused.withLock { $0 += outcome.filter { !$0 }.count }
                        counters.submitted.withLock { $0 += items.count }
                    }
                }
            }
            try await group.waitForAll()
        }
        let submitSeconds = (ContinuousClock.now - start).seconds
        let finished = await tracker.waitUntilDone(timeout: .seconds(timeout))
        follower.cancel()
        progress.cancel()
        let report = tracker.report(start: start)
        let cpuAfter = local.processTimes()
        let memory = local.residentMemory()
        let offered = Double(transfers) / submitSeconds
        let committedRate = Double(report.committed) / max(report.lastCommitSeconds, 0.001)

        print("network bench: \(local.rpcURLs.count) validators, \(transfers) transactions (\(mix.rawValue)) among \(accounts) accounts, batches of \(batch) over \(connections) connections")
        print(String(format: "offered   %.0f transfers/s (%@), submitted in %.2f s", offered, rate > 0 ? "target \(Int(rate))/s" : "flat out", submitSeconds))
        print(String(format: "committed %d of %d%@ at %.0f transfers/s; %d refused or rejected", report.committed, transfers, finished ? "" : " (TIMED OUT)",
                     committedRate, report.rejected + counters.refused.withLock { $0 }))
        print(String(format: "latency submit→commit event: p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms", report.p50, report.p90, report.p99, report.max))
        var nodes: [String] = []
        for (name, kib) in memory.sorted(by: { $0.key < $1.key }) {
            let cpu = cpuAfter[name].flatMap { after in cpuBefore[name].map { after - $0 } }
            let cpuText = cpu.map { String(format: "%.1f CPU-s (%.0f%% of one core)", $0, $0 / report.lastCommitSeconds * 100) } ?? "CPU unknown"
            print("  \(name): \(cpuText), RSS \(kib / 1024) MiB")
            nodes.append("\"\(name)\":{\"cpu_s\":\(cpu.map { String(format: "%.2f", $0) } ?? "null"),\"rss_mib\":\(kib / 1024)}")
        }
        let own = LocalNetworkFiles.cpuSeconds(pid: "self").flatMap { after in ownBefore.map { after - $0 } }
        print(String(format: "  this bench client: %.1f CPU-s (on the same machine; it competes with the nodes)", own ?? 0))
        print("{\"bench\":\"network\",\"mix\":\"\(mix.rawValue)\",\"validators\":\(local.rpcURLs.count),\"transfers\":\(transfers),\"accounts\":\(accounts),\"offered_per_s\":\(Int(offered)),"
            + "\"committed_per_s\":\(Int(committedRate)),\"p50_ms\":\(String(format: "%.1f", report.p50)),\"p90_ms\":\(String(format: "%.1f", report.p90)),"
            + "\"p99_ms\":\(String(format: "%.1f", report.p99)),\"max_ms\":\(String(format: "%.1f", report.max)),\"rejected\":\(report.rejected + counters.refused.withLock { $0 }),"
            + "\"committed\":\(report.committed),\"client_cpu_s\":\(String(format: "%.2f", own ?? 0)),\"nodes\":{\(nodes.joined(separator: ","))}}")
        if !finished { throw CLIError("not every transfer was committed within --timeout \(Int(timeout)) s") }
    }
}

func log(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] { stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) } }
}

/// The files of a network made by `tonle genesis local`: RPC addresses, keys, running pids.
struct LocalNetworkFiles {
    let root: URL
    let rpcURLs: [String]

    init(root: URL) throws {
        self.root = root
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("nodes").path).filter { $0.hasSuffix(".json") }.sorted()) ?? []
        guard !files.isEmpty else { throw CLIError("no node configurations in \(root.path)/nodes; run 'tonle genesis local' (or deploy/run.sh) first") }
        rpcURLs = try files.map { file in
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("nodes/\(file)"))) as? [String: Any]
            guard let listen = (object?["rpc"] as? [String: Any])?["listen"] as? String else { throw CLIError("\(file) has no rpc.listen") }
            return "http://\(listen)"
        }
    }

    func key(_ name: String) throws -> Ed25519.SigningKey { try KeyFileIO.read(root.appendingPathComponent("keys/\(name).key").path) }

    /// The demo institutions of genesis/local.json and their keys.
    func institutionKeys() throws -> [(institution: String, key: Ed25519.SigningKey)] { try ["aba", "acleda", "wing"].map { ($0, try key($0)) } }

    private var pids: [(pid: String, name: String)] {
        guard let text = try? String(contentsOf: root.appendingPathComponent("pids"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }
    }

    /// RSS (KiB) of each node listed in `pids` (written by deploy/local-network.sh).
    func residentMemory() -> [String: Int] {
        var out: [String: Int] = [:]
        for (pid, name) in pids {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let rss = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })?.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
            else { continue }
            out[name] = rss
        }
        return out
    }

    /// User + system CPU seconds of each node so far.
    func processTimes() -> [String: Double] {
        var out: [String: Double] = [:]
        for (pid, name) in pids { out[name] = Self.cpuSeconds(pid: pid) }
        return out
    }

    /// User + system CPU seconds of a process (/proc/PID/stat, clock ticks of 1/100 s).
    static func cpuSeconds(pid: String) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / 100
    }
}

/// The bench's accounts: `bench<i>@<institution>`, owned by the institution's key.
struct BenchAccounts {
    struct Signed: Sendable { let id: String; let base64: String }

    let names: [(account: AccountID, key: Ed25519.SigningKey)]
    let institutions: [(institution: String, key: Ed25519.SigningKey)]
    let admin: Ed25519.SigningKey
    let chain: ChainID
    let run: UInt64

    init(count: Int, keys: [(institution: String, key: Ed25519.SigningKey)], admin: Ed25519.SigningKey, chain: ChainID) throws {
        names = try (0..<count).map { i in
            let (institution, key) = keys[i % keys.count]
            return (try AccountID("bench\(i)@\(institution)"), key)
        }
        (institutions, self.admin, self.chain) = (keys, admin, chain)
        var random = SystemRandomNumberGenerator()
        run = random.next()
    }

    private var expiry: Timestamp { Timestamp(millisecondsSinceEpoch: UInt64(Date().timeIntervalSince1970 * 1000) + 1_800_000) }

    /// Opens every account (an existing one is refused by the ledger and kept) and funds each with
    /// 1,000,000 KHR from its institution's settlement account; waits until all of it is committed.
    func setUp(_ clients: [BenchClient]) async throws {
        var transactions: [Transaction] = []
        for (index, (account, key)) in names.enumerated() {
            let open = try TransactionBody(chainID: chain, creator: AccountID("admin@nbc"), clientID: ID128(high: run, low: UInt64(index) | 1 << 40), expiry: expiry,
                                           commands: [.createAccount(CreateAccount(id: account, keys: KeySet(single: key.publicKey)))])
            transactions.append(try Transaction.signing(open, with: [admin]))
        }
        try await submitAndWait(transactions, clients)
        transactions = []
        for (index, (account, key)) in names.enumerated() {
            let settlement = try AccountID("settlement@\(account.institution.text)")
            let fund = try TransactionBody(chainID: chain, creator: settlement, clientID: ID128(high: run, low: UInt64(index) | 2 << 40), expiry: expiry,
                                           commands: [.transfer(Transfer(source: settlement, target: account, amount: Amount(1_000_000, .khr)))])
            transactions.append(try Transaction.signing(fund, with: [key]))
        }
        try await submitAndWait(transactions, clients)
    }

    private func submitAndWait(_ transactions: [Transaction], _ clients: [BenchClient]) async throws {
        for (index, chunk) in transactions.chunked(1_000).enumerated() {
            _ = await clients[index % clients.count].submit(chunk.map { Data($0.encoded).base64EncodedString() })
        }
        guard let last = transactions.last else { return }
        for _ in 0..<10 where try await clients[0].status(of: last.id.description) != "committed" {}
        guard try await clients[0].status(of: last.id.description) == "committed" else { throw CLIError("the bench accounts' setup did not commit within 5 minutes") }
    }

    enum Mix: String, ExpressibleByArgument, Sendable {
        case transfers, inwardQR = "inward-qr", mixed
    }

    /// `count` transactions of `mix`, signed in parallel: transfers between the accounts; inward
    /// QR payments from `gateways` to the accounts as merchants, each paying its own dynamic KHQR
    /// with a CNY leg; outward QR payments from the accounts through `gateways`.
    func signed(_ count: Int, mix: Mix, gateways: [(id: InstitutionID, key: Ed25519.SigningKey)]) -> [Signed] {
        let out = Mutex([Signed?](repeating: nil, count: count))
        let total = names.count
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        DispatchQueue.concurrentPerform(iterations: ProcessInfo.processInfo.activeProcessorCount) { worker in
            var mine: [(Int, Signed)] = []
            for i in stride(from: worker, to: count, by: ProcessInfo.processInfo.activeProcessorCount) {
                let from = names[i % total], to = names[(i * 7 + 1) % total]
                let (creator, command, signers): (AccountID, Command, [Ed25519.SigningKey])
                switch (mix, i % 10) {
                case (.inwardQR, _), (.mixed, 5...8):
                    let gateway = gateways[i % gateways.count]
                    command = inwardQR(i, merchant: to.account, gateway: gateway.id, now: now)
                    (creator, signers) = (GatewayAccounts.prefund(gateway.id), [gateway.key])
                case (.mixed, 9):
                    let gateway = gateways[i % gateways.count]
                    command = outwardQR(i, payer: from.account, gateway: gateway.id, now: now)
                    (creator, signers) = (GatewayAccounts.prefund(gateway.id), [gateway.key, from.key])
                default:
                    command = .transfer(try! Transfer(source: from.account, target: to.account == from.account ? names[(i + 1) % total].account : to.account,
                                                      amount: Amount(Int64(1 + i % 100), .khr)))
                    (creator, signers) = (from.account, [from.key])
                }
                let body = try! TransactionBody(chainID: chain, creator: creator, clientID: ID128(high: run, low: UInt64(i)), expiry: expiry, commands: [command])
                let tx = try! Transaction.signing(body, with: signers)
                mine.append((i, Signed(id: tx.id.description, base64: Data(tx.encoded).base64EncodedString())))
            }
            out.withLock { for (i, signed) in mine { $0[i] = signed } }
        }
        return out.withLock { $0.map { $0! } }
    }

    /// A quote of CNY per riel, valid for the bench's half hour, and the CNY it gives for `riel`.
    private func cnyLeg(_ riel: Int64, _ reference: String, now: UInt64) -> (ForeignAmount, FXQuote) {
        let quote = try! FXQuote(quoteID: reference, unitCurrency: "KHR", quotedCurrency: "CNY", rate: "0.0017753", rounding: .halfEven,
                                 quotedAt: Timestamp(millisecondsSinceEpoch: now - 60_000), expiresAt: Timestamp(millisecondsSinceEpoch: now + 1_800_000))
        return (try! ForeignAmount(currency: "CNY", minorUnits: quote.convert(riel, fromExponent: 0, toExponent: 2)!), quote)
    }

    private func inwardQR(_ i: Int, merchant: AccountID, gateway: InstitutionID, now: UInt64) -> Command {
        let riel = Int64(1_000 + i % 100), reference = "B\(String(run % 2_000_000_000, radix: 36))-\(i)"   // a bill number: at most 25 characters
        let khqr = try! KHQR(isDynamic: true, bakongAccountID: merchant.text, currency: .khr, amountMinorUnits: riel, merchantName: "Bench Merchant",
                             billNumber: reference, createdAtMilliseconds: now, expiresAtMilliseconds: now + 1_800_000).encode()
        let (foreign, quote) = cnyLeg(riel, reference, now: now)
        return .settlement(try! SettlementEntry(kind: .inwardQRPayment, gateway: gateway, externalReference: reference, amount: Amount(riel, .khr),
                                                account: merchant, foreignAmount: foreign, fx: quote, counterpartyCountry: "CN", khqrPayload: khqr, purposeCode: "MP2B"))
    }

    private func outwardQR(_ i: Int, payer: AccountID, gateway: InstitutionID, now: UInt64) -> Command {
        let riel = Int64(500 + i % 100), reference = "O\(String(run % 2_000_000_000, radix: 36))-\(i)"
        let (foreign, quote) = cnyLeg(riel, reference, now: now)
        return .settlement(try! SettlementEntry(kind: .outwardQRPayment, gateway: gateway, externalReference: reference, amount: Amount(riel, .khr),
                                                account: payer, foreignAmount: foreign, fx: quote, counterpartyCountry: "CN", purposeCode: "MP2B"))
    }
}

/// One node's RPC, for the bench.
struct BenchClient: Sendable {
    let http: HTTPClient
    let base: String

    private func get(_ path: String, timeout: TimeAmount = .seconds(30)) async throws -> [String: Any] {
        let response = try await http.execute(HTTPClientRequest(url: base + path), timeout: timeout)
        let body = try await response.body.collect(upTo: 16 << 20)
        return (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }

    func chainID() async throws -> ChainID {
        guard let text = try await get("/v1/status")["chain_id"] as? String else { throw CLIError("\(base) did not answer /v1/status; is the network running?") }
        return try ChainID(text)
    }

    func height() async throws -> UInt64 { UInt64(try await get("/v1/status")["height"] as? Int ?? 0) }

    func status(of id: String) async throws -> String? { try await get("/v1/transactions/\(id)?wait=30", timeout: .seconds(60))["status"] as? String }

    /// Submits a batch; true for each transaction admitted (or already committed). Retries a
    /// busy node (503) after its Retry-After, so a full mempool slows the bench instead of failing it.
    func submit(_ transactions: [String]) async -> [Bool] {
        var request = HTTPClientRequest(url: base + "/v1/transactions/batch")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = (try? JSONSerialization.data(withJSONObject: ["transactions": transactions])) ?? Data()
        for _ in 0..<600 {
            request.body = .bytes(ByteBuffer(bytes: body))
            guard let response = try? await http.execute(request, timeout: .seconds(60)),
                  let bytes = try? await response.body.collect(upTo: 16 << 20)
            else { return transactions.map { _ in false } }
            if response.status == .serviceUnavailable || response.status == .tooManyRequests {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            let results = ((try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any])?["results"] as? [[String: Any]] ?? []
            guard results.count == transactions.count else { return transactions.map { _ in false } }
            return results.map { ["pending", "committed"].contains($0["status"] as? String ?? "") }
        }
        return transactions.map { _ in false }
    }

    /// Follows `/v1/events`, telling `tracker` of every committed transaction.
    func follow(from height: UInt64, _ tracker: LatencyTracker) async throws {
        var request = HTTPClientRequest(url: base + "/v1/events?from=\(height)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        let response = try await http.execute(request, timeout: .hours(24))
        _ = try await ServerSentEvents.read(response.body) { _, data in
            if let event = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any], let transactions = event["transactions"] as? [[String: Any]] {
                tracker.committed(transactions.compactMap { tx in (tx["id"] as? String).map { ($0, tx["result"] as? String == "applied") } }, at: .now)
            }
            return true
        }
    }
}

/// Counters shared by the submitting tasks.
final class BenchCounters: Sendable {
    let next = Mutex(0), submitted = Mutex(0), refused = Mutex(0)
}

/// Submission times by transaction id, and the latency histogram of those committed.
final class LatencyTracker: Sendable {
    struct Report { let committed: Int; let rejected: Int; let p50, p90, p99, max: Double; let lastCommitSeconds: Double }

    private struct State {
        var submitted: [String: ContinuousClock.Instant] = [:]
        /// Committed before their submission was recorded (the event can beat the HTTP answer).
        var early: [String: (ContinuousClock.Instant, Bool)] = [:]
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)   // µs
        var committed = 0, rejected = 0, refused = 0
        var lastCommit: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    let expected: Int

    init(expected: Int) { self.expected = expected }

    func submitted(_ ids: [String], at time: ContinuousClock.Instant, accepted: [Bool]) {
        state.withLock { state in
            for (id, ok) in zip(ids, accepted) {
                guard ok else { state.refused += 1; continue }
                if let (when, applied) = state.early.removeValue(forKey: id) { record(&state, from: time, to: when, applied: applied) } else { state.submitted[id] = time }
            }
        }
    }

    func committed(_ transactions: [(id: String, applied: Bool)], at time: ContinuousClock.Instant) {
        state.withLock { state in
            for (id, applied) in transactions {
                if let sent = state.submitted.removeValue(forKey: id) { record(&state, from: sent, to: time, applied: applied) } else { state.early[id] = (time, applied) }
            }
        }
    }

    private func record(_ state: inout State, from sent: ContinuousClock.Instant, to time: ContinuousClock.Instant, applied: Bool) {
        let micros = (time - sent).components
        _ = state.histogram.record(UInt64(max(0, micros.seconds * 1_000_000 + micros.attoseconds / 1_000_000_000_000)))
        state.committed += 1
        if !applied { state.rejected += 1 }
        state.lastCommit = time
    }

    /// Committed so far and the median (ms).
    func snapshot() -> (Int, Double) { state.withLock { ($0.committed, Double($0.histogram.valueAtPercentile(50)) / 1000) } }

    /// Waits until every admitted transfer is committed, or `timeout`.
    func waitUntilDone(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.committed + $0.refused >= expected }) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    func report(start: ContinuousClock.Instant) -> Report {
        let s = state.withLock { $0 }
        let ms = { (p: Double) in Double(s.histogram.valueAtPercentile(p)) / 1000 }
        return Report(committed: s.committed, rejected: s.rejected, p50: ms(50), p90: ms(90), p99: ms(99), max: Double(s.histogram.max) / 1000,
                      lastCommitSeconds: ((s.lastCommit ?? .now) - start).seconds)
    }
}
