import Foundation
import Testing
import TonleConsensus
import TonleCrypto
import TonleTypes

/// Drives one node's core from a text script and prints what it does, in names people read:
/// validators v0…vN, blocks A, B, C. The harness plays the shell: it persists inputs (its WAL),
/// signs through a sign-state that never signs two messages for one height/round/step, feeds the
/// node's own signed messages back, answers validation (valid unless `invalid X`) and proposal
/// requests (with the block set by `propose X`, default A).
final class TranscriptHarness {
    let chain = try! ChainID("tonle-transcript")
    let keys: [Ed25519.SigningKey]
    let validators: ValidatorSet
    let node: Int
    var core: Consensus
    var wal: [Input] = []
    var signed: [String: ConsensusMessage] = [:]
    var invalid: Set<String> = []
    var proposeWith = "A"
    var output: [String] = []

    init(validators count: Int, node: Int) {
        keys = (0..<count).map { Ed25519.SigningKey(seed: Bytes32(Array(repeating: UInt8(100 + $0), count: 32))!) }
        validators = try! ValidatorSet(keys.map { try Validator(publicKey: $0.publicKey, power: 1, name: "v") })
        self.node = node
        core = Consensus(chainID: chain, me: keys[node].publicKey, validators: validators, height: 1)
    }

    func name(_ key: Ed25519.PublicKey) -> String { "v\(keys.firstIndex { $0.publicKey == key }!)" }
    func block(_ name: String, height: UInt64? = nil) -> Block {
        let letter = UInt64(name.unicodeScalars.first!.value)
        let header = try! BlockHeader(chainID: chain, height: height ?? core.height, time: Timestamp(millisecondsSinceEpoch: letter),
                                      previousBlockHash: .zero, transactionsRoot: MerkleList.root([]), lastResultsRoot: .zero, stateRoot: .zero,
                                      validatorsHash: .zero, nextValidatorsHash: .zero, proposer: keys[0].publicKey, lastCommitHash: .zero)
        return try! Block(header: header, transactions: [], lastCommit: nil)
    }
    func name(_ hash: Digest?) -> String {
        guard let hash else { return "nil" }
        return (65...90).map { String(UnicodeScalar(UInt8($0))) }.first { block($0).hash == hash } ?? String(hash.hex.prefix(8))
    }

    /// Runs one command; returns its output lines.
    func run(_ command: String) throws -> [String] {
        output = []
        let words = command.split(separator: " ").map(String.init)
        switch words.first {
        case "start": handle(core.start())
        case "deliver": try deliver(Array(words.dropFirst()))
        case "timeout":
            let kind = TimeoutKind.allCases.first { $0.description == words[1] }!
            let round = words.count > 2 ? UInt32(words[2].dropFirst())! : core.round
            feed(.timeout(Timeout(height: core.height, round: round, kind: kind)))
        case "invalid": invalid.insert(words[1])
        case "propose": proposeWith = words[1]
        case "executed": feed(.blockExecuted(height: core.height, validators: validators))
        case "crash": restart()
        case "state": output.append(state)
        default: throw TranscriptError.unknownCommand(command)
        }
        return output
    }

    var state: String {
        "height \(core.height) round \(core.round) step \(core.step) proposer \(name(core.proposer(round: core.round))) decided \(name(core.decision?.hash))"
    }

    private func deliver(_ words: [String]) throws {
        let round = UInt32(words[2].dropFirst())!
        let sender = words[1] == "*" ? core.proposer(round: round) : keys[Int(words[1].dropFirst())!].publicKey
        let key = keys.first { $0.publicKey == sender }!
        switch words[0] {
        case "proposal":
            let pol = words.count > 5 && words[4] == "pol" ? UInt32(words[5]) : nil
            let b = block(words[3])
            let body = try ProposalBody(chainID: chain, height: core.height, round: round, proofOfLockRound: pol, blockHash: b.hash, time: b.header.time, proposer: sender)
            feed(.proposal(Proposal(signing: body, with: key), b))
        case "prevote", "precommit":
            let hash = words[3] == "nil" ? nil : block(words[3]).hash
            let body = VoteBody(chainID: chain, type: words[0] == "prevote" ? .prevote : .precommit, height: core.height, round: round, blockHash: hash, validator: sender)
            feed(.vote(Vote(signing: body, with: key)))
        default: throw TranscriptError.unknownCommand(words.joined(separator: " "))
        }
    }

    private func feed(_ input: Input) { handle(core.step(input)) }

    /// Carries out effects like a shell, printing each.
    private func handle(_ effects: [Effect]) {
        for effect in effects {
            switch effect {
            case .persist(let input):
                wal.append(input)
            case .requestProposal(let h, let r):
                output.append("request proposal h\(h) r\(r) -> \(proposeWith)")
                feed(.proposalValue(height: h, round: r, block(proposeWith)))
            case .validate(let b):
                let valid = !invalid.contains(name(b.hash))
                output.append("validate \(name(b.hash)) -> \(valid ? "valid" : "invalid")")
                feed(.proposalValidated(height: b.header.height, blockHash: b.hash, valid: valid))
            case .sign(let request):
                sign(request)
            case .broadcast(.proposal(let p, let b)):
                output.append("rebroadcast proposal r\(p.body.round) \(name(b.hash))")
            case .broadcast(.vote(let v)):
                output.append("rebroadcast \(v.body.type == .prevote ? "prevote" : "precommit") r\(v.body.round) \(name(v.body.blockHash))")
            case .scheduleTimeout(let t, let ms):
                output.append("schedule timeout \(t.kind) r\(t.round) in \(ms) ms")
            case .decide(let b, let c):
                output.append("DECIDE h\(b.header.height) \(name(b.hash)) in r\(c.round) with \(c.signatures.map { name($0.publicKey) }.joined(separator: " "))")
            case .evidence(let a, _):
                output.append("evidence: \(name(a.body.validator)) equivocated in r\(a.body.round)")
            }
        }
    }

    /// The sign-state: one message per height/round/step, ever; a repeated request gets the same message.
    private func sign(_ request: SignRequest) {
        let slot = "h\(request.height) r\(request.round) \(request.step)"
        let message: ConsensusMessage
        if let earlier = signed[slot] {
            message = earlier
            output.append("sign \(slot): already signed, reusing \(describe(earlier))")
        } else {
            switch request {
            case .proposal(let body, let b): message = .proposal(Proposal(signing: body, with: keys[node]), b)
            case .vote(let body): message = .vote(Vote(signing: body, with: keys[node]))
            }
            signed[slot] = message
            output.append("sign and broadcast \(describe(message))")
        }
        switch message {
        case .proposal(let p, let b): feed(.proposal(p, b))
        case .vote(let v): feed(.vote(v))
        }
    }

    private func describe(_ message: ConsensusMessage) -> String {
        switch message {
        case .proposal(let p, let b): "proposal r\(p.body.round) \(name(b.hash))" + (p.body.proofOfLockRound.map { " pol \($0)" } ?? "")
        case .vote(let v): "\(v.body.type == .prevote ? "prevote" : "precommit") r\(v.body.round) \(name(v.body.blockHash))"
        }
    }

    /// A crash: the core is lost; a new one starts and replays the WAL. The sign-state survives.
    private func restart() {
        let records = wal
        wal = []
        core = Consensus(chainID: chain, me: keys[node].publicKey, validators: validators, height: core.height)
        let before = output.count
        handle(core.start())
        for record in records { feed(record) }
        let reused = output[before...].filter { $0.contains("already signed") }.count
        let fresh = output[before...].filter { $0.hasPrefix("sign and broadcast") }.count
        output.removeSubrange(before...)
        output.append("restarted: replayed \(records.count) WAL records; \(reused) signature(s) reused from the sign-state, \(fresh) new; \(state)")
    }
}

enum TranscriptError: Error { case unknownCommand(String), malformed(String) }
