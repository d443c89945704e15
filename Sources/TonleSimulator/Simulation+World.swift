import TonleConsensus
import TonleCrypto
import TonleLedger
import TonleRuntime
import TonleStorage
import TonleTypes

enum EventKind {
    case deliver(to: Int, from: Int, ConsensusMessage)
    case sync(to: Int, Block, CommitCertificate)
    case timer(Int, incarnation: Int, Timeout)
    case crash(Int, midWrite: Bool)
    case restart(Int)
    case client
    case split([Int])
    case heal
}

extension Simulation {
    static let eventsMax = 2_000_000

    func handle(_ kind: EventKind) {
        switch kind {
        case .deliver(let to, let from, let message):
            if options.recordEvents || true { record("n\(to) <- n\(from) \(describe(message))") }
            receive(message, at: nodes[to], from: nodes[from])
        case .sync(let to, let block, let certificate):
            record("n\(to) synced h\(block.header.height)")
            deliver(.syncedBlock(block, certificate), to: nodes[to])
        case .timer(let index, let incarnation, let timeout):
            guard nodes[index].incarnation == incarnation else { return }
            record("n\(index) \(timeout)")
            deliver(.timeout(timeout), to: nodes[index])
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
            submitClientTransaction()
            if now < options.faultMilliseconds + options.livenessMilliseconds { queue.push(now + 100 + random.next() % 300, .client) }
        case .split(let sides):
            partition = sides
            record("partition \(sides)")
        case .heal:
            heal()
        }
    }

    /// A message arrives. Lagging senders get the block they lack; a node that sees it lags asks.
    func receive(_ message: ConsensusMessage, at node: SimNode, from sender: SimNode) {
        guard node.up, let driver = node.driver else { return }
        let height: UInt64
        switch message {
        case .proposal(let p, _): height = p.body.height
        case .vote(let v): height = v.body.height
        }
        if height < driver.core.height, let block = node.store.block(at: height), let certificate = node.store.certificate(at: height) {
            send(.sync(to: sender.index, block, certificate), from: node, to: sender)
        }
        if height > driver.core.height + 1, let block = sender.store.block(at: driver.core.height),
           let certificate = sender.store.certificate(at: driver.core.height) {
            send(.sync(to: node.index, block, certificate), from: sender, to: node)
        }
        switch message {
        case .proposal(let p, let b): deliver(.proposal(p, b), to: node)
        case .vote(let v): deliver(.vote(v), to: node)
        }
    }

    /// The network: partitions, loss, duplication, per-link delay with jitter (so reordering).
    func send(_ message: ConsensusMessage, from: SimNode, to: SimNode) {
        send(.deliver(to: to.index, from: from.index, message), from: from, to: to)
    }

    func send(_ kind: EventKind, from: SimNode, to: SimNode) {
        if let partition, partition[from.index] != partition[to.index] { return }
        if random.next() % 100 < UInt64(lossPercent) { return }
        let base = 1 + UInt64((from.index * 31 + to.index * 17) % 40)
        queue.push(now + base + random.next() % (base + 1), kind)
        if random.next() % 100 < UInt64(duplicatePercent) { queue.push(now + base + random.next() % 60, kind) }
    }

    /// A transfer between two of the genesis accounts, into a random running node's mempool.
    func describe(_ message: ConsensusMessage) -> String {
        switch message {
        case .proposal(let p, let b): "proposal h\(p.body.height) r\(p.body.round) \(b.hash.hex.prefix(8))"
        case .vote(let v): "\(v.body.type == .prevote ? "prevote" : "precommit") h\(v.body.height) r\(v.body.round) \(v.body.blockHash.map { String($0.hex.prefix(8)) } ?? "nil")"
        }
    }

    func submitClientTransaction() {
        let running = nodes.filter(\.up)
        guard !running.isEmpty else { return }
        let node = running[Int(random.next() % UInt64(running.count))]
        let source = Int(random.next() % 8), target = (source + 1 + Int(random.next() % 7)) % 8
        clientCounter += 1
        let body = try! TransactionBody(
            chainID: chainID, creator: try! AccountID("c\(source)@bank"), clientID: ID128(high: options.seed, low: clientCounter),
            expiry: Timestamp(millisecondsSinceEpoch: Self.genesisTime + now + 60_000),
            commands: [.transfer(try! Transfer(source: try! AccountID("c\(source)@bank"), target: try! AccountID("c\(target)@bank"), amount: Amount(Int64(1 + random.next() % 500), .khr)))])
        // The ledger checks the signers against the quorum; signatures are checked before a
        // transaction reaches a mempool, so the simulator need not make real ones.
        let tx = try! Transaction(body: body, signatures: [KeySignature(publicKey: Self.clientKey.publicKey, signature: Ed25519.Signature(Array(repeating: 0, count: 64))!)])
        node.mempool.append(tx)
    }

    func scheduleFaults() {
        queue.push(50, .client)
        switch options.faults {
        case .none:
            livenessTarget = 3
        case .split:
            // Each twin's two instances on opposite sides; the correct validators split in half.
            var sides = [Int](repeating: 0, count: nodes.count)
            let correct = Array(options.twins..<options.validators)
            for (position, index) in correct.enumerated() where position >= correct.count / 2 { sides[index] = 1 }
            for twin in 0..<options.twins { sides[options.validators + twin] = 1 }
            queue.push(0, .split(sides))
        case .all:
            lossPercent = Int(random.next() % 31)
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
        (partition, lossPercent, duplicatePercent) = (nil, 0, 0)
        record("heal")
        for node in nodes where !node.up { start(node) }
        for node in nodes { node.log.appendsBeforeCrash = nil }
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
