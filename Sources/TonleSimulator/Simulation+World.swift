import TonleConsensus
import TonleCrypto
import TonleLedger
import TonleRuntime
import TonleStorage
import TonleTypes

enum EventKind {
    /// A message on the link from → to, sent while the link was in its `epoch`.
    case deliver(to: Int, from: Int, epoch: UInt64, PeerMessage)
    /// A link cut by a loss reconnects; the ends learn that links changed.
    case relink(Int, Int)
    case linksChanged
    case timer(Int, incarnation: Int, ReplicaTimer)
    case crash(Int, midWrite: Bool)
    case restart(Int)
    /// A gateway sends a new request; a gateway checks on its requests (Simulation+Clients.swift).
    case client
    case poll
    case split([Int])
    case heal
}

extension Simulation {
    static let eventsMax = 2_000_000

    func handle(_ kind: EventKind) {
        switch kind {
        case .deliver(let to, let from, let epoch, let message):
            // A link that broke while the message was in flight lost it (like TCP, a link loses
            // nothing otherwise).
            guard linked(nodes[from], nodes[to]), epochs[from][to] == epoch else { return }
            record("n\(to) <- n\(from) \(describe(message))")
            step(nodes[to], .message(message, from: nodes[from].key.publicKey))
        case .timer(let index, let incarnation, let timer):
            guard nodes[index].incarnation == incarnation else { return }
            record("n\(index) \(timer)")
            step(nodes[index], .timer(timer))
        case .crash(let index, let midWrite):
            let node = nodes[index]
            if midWrite, node.up {
                node.log.appendsBeforeCrash = Int(random.next() % 4)   // dies inside one of its next WAL writes
                record("n\(index) will crash inside a WAL write")
            } else {
                crash(node, tornTail: random.next() % 2 == 0)
            }
        case .restart(let index):
            if !nodes[index].up { start(nodes[index]) }
        case .client:
            newRequest()
            // Bursts and lulls: a lull lets proposers start idle waits that the next burst cuts short.
            let gap = random.next() % 4 == 0 ? 400 + random.next() % 1_600 : 10 + random.next() % 200
            if now < options.faultMilliseconds { queue.push(now + gap, .client) }
        case .poll:
            poll()
            queue.push(now + Self.pollMilliseconds, .poll)
        case .split(let sides):
            partition = sides
            record("partition \(sides)")
            updateLinks()
        case .relink(let a, let b):
            cut.remove(Pair(a, b))
            updateLinks()
        case .linksChanged:
            updateLinks()
        case .heal:
            heal()
        }
    }

    /// Two nodes hold a link: both running, different keys, on the same side of any partition,
    /// and the link not cut by a loss.
    func linked(_ a: SimNode, _ b: SimNode) -> Bool {
        a.up && b.up && a.key.publicKey != b.key.publicKey && (partition.map { $0[a.index] == $0[b.index] } ?? true) && !cut.contains(Pair(a.index, b.index))
    }

    /// Tells every running replica which links came up and which went down (a key is linked
    /// while any node holding it is), in key order. A link that went down starts a new epoch:
    /// what was in flight on it is lost.
    func updateLinks() {
        // A step below may crash a node, which changes links again: go round until none changed.
        guard !updatingLinks else { return linksDirty = true }
        updatingLinks = true
        defer { updatingLinks = false }
        repeat {
            linksDirty = false
            for a in nodes.indices {
                for b in nodes.indices where a != b {
                    let up = linked(nodes[a], nodes[b])
                    if linkUp[a][b], !up { epochs[a][b] += 1 }
                    linkUp[a][b] = up
                }
            }
            for node in nodes where node.up {
                let now = Set(nodes.filter { linked(node, $0) }.map(\.key.publicKey))
                for key in node.linked.subtracting(now).sorted() where node.up {
                    node.linked.remove(key)
                    step(node, .linkDown(key))
                }
                for key in now.subtracting(node.linked).sorted() where node.up {
                    node.linked.insert(key)
                    step(node, .linkUp(key))
                }
            }
        } while linksDirty
    }

    /// The network: links, losses (each breaks its link, which reconnects a little later),
    /// duplication, per-link delay with jitter (so reordering).
    func send(_ message: PeerMessage, from: SimNode, to: SimNode) {
        guard linked(from, to) else { return }
        if random.next() % 100 < UInt64(lossPercent) {
            record("link n\(from.index)-n\(to.index) lost a message: reconnecting")
            cut.insert(Pair(from.index, to.index))
            queue.push(now, .linksChanged)
            queue.push(now + 20 + random.next() % 200, .relink(from.index, to.index))
            return
        }
        let base = 1 + UInt64((from.index * 31 + to.index * 17) % 40)
        let kind = EventKind.deliver(to: to.index, from: from.index, epoch: epochs[from.index][to.index], message)
        queue.push(now + base + random.next() % (base + 1), kind)
        if random.next() % 100 < UInt64(duplicatePercent) { queue.push(now + base + random.next() % 60, kind) }
    }

    func describe(_ message: PeerMessage) -> String {
        switch message {
        case .consensus(.proposal(let p, let b)): "proposal h\(p.body.height) r\(p.body.round) \(b.hash.hex.prefix(8)) txs \(b.transactions.count)"
        case .consensus(.vote(let v)): "\(v.body.type == .prevote ? "prevote" : "precommit") h\(v.body.height) r\(v.body.round) \(v.body.blockHash.map { String($0.hex.prefix(8)) } ?? "nil")"
        case .transactions(let transactions): "\(transactions.count) transactions"
        case .status(let height): "status h\(height)"
        case .blocksRequest(let from, let count): "blocks? h\(from)+\(count)"
        case .blocks(let blocks): "blocks h\(blocks.first?.block.header.height ?? 0)..\(blocks.last?.block.header.height ?? 0)"
        case .snapshotsRequest, .snapshots, .snapshotTopRequest, .snapshotTop, .chunkRequest, .chunk: "state sync"
        }
    }

    func scheduleFaults() {
        queue.push(50, .client)
        queue.push(Self.pollMilliseconds, .poll)
        switch options.faults {
        case .none:
            queue.push(options.faultMilliseconds, .heal)
        case .split:
            // Each twin's two instances on opposite sides; the correct validators split in half.
            var sides = [Int](repeating: 0, count: nodes.count)
            let correct = Array(options.twins..<options.validators)
            for (position, index) in correct.enumerated() where position >= correct.count / 2 { sides[index] = 1 }
            for twin in 0..<options.twins { sides[options.validators + twin] = 1 }
            queue.push(0, .split(sides))
        case .all:
            lossPercent = Int(random.next() % 16)
            duplicatePercent = Int(random.next() % 10)
            var t: UInt64 = 0
            while true {
                t += 500 + random.next() % 3_000
                guard t < options.faultMilliseconds else { break }
                switch random.next() % 3 {
                case 0: queue.push(t, .crash(Int(random.next() % UInt64(nodes.count)), midWrite: random.next() % 2 == 0))
                case 1: queue.push(t, .split(nodes.map { _ in Int(random.next() % 2) }))
                default: queue.push(t, .split(nodes.map { _ in 0 }))
                }
            }
            queue.push(options.faultMilliseconds, .heal)
        }
    }

    /// The end of the faults: the network is perfect again and every crashed node restarts.
    func heal() {
        (partition, lossPercent, duplicatePercent, cut) = (nil, 0, 0, [])
        record("heal")
        healedAt = now
        noteHeldRequests()
        for node in nodes { node.log.appendsBeforeCrash = nil }
        for node in nodes where !node.up { start(node) }
        updateLinks()
        livenessTarget = nodes.filter { checker.isCorrect($0) }.map { $0.store.appliedHeight ?? 0 }.max()! + 1
    }

    static func makeGenesis(chainID: ChainID, keys: [Ed25519.SigningKey]) -> Genesis {
        let client = KeySet(single: clientKey.publicKey)
        return try! Genesis(
            chainID: chainID, genesisTime: Timestamp(millisecondsSinceEpoch: genesisTime),
            validators: ValidatorSet(keys.enumerated().map { try Validator(publicKey: $1.publicKey, power: 1, name: "v\($0)") }),
            participants: [
                Participant(id: InstitutionID("nbc"), role: .centralBank, name: "Central bank"),
                Participant(id: InstitutionID("bank"), role: .bank, name: "Bank"),
            ],
            accounts: [GenesisAccount(id: AccountID("issuance@nbc"), keys: client, flags: .issuance, balances: [Amount(-8_000_000, .khr)])]
                + (0..<8).map { try GenesisAccount(id: AccountID("c\($0)@bank"), keys: client, balances: [Amount(1_000_000, .khr)]) })
    }
}

/// A link, whichever way round.
struct Pair: Hashable {
    let low: Int, high: Int
    init(_ a: Int, _ b: Int) { (low, high) = (min(a, b), max(a, b)) }
}
