import Foundation
import Testing
import TonleConsensus
import TonleCrypto
import TonleFuzzTargets
import TonleMerkle
import TonleNetwork
import TonleStorage
import TonleTypes
import TonleWorkload

/// The fuzz corpus (Corpus/TARGET/, used by deploy/fuzz.sh as its seeds): every file runs
/// through its target in every test run, so an input that once broke a decoder stays a regression
/// test; and the seeds made from today's encoders are committed, so the fuzzers start from
/// well-formed inputs. `TONLE_FUZZ_SEEDS=write swift test --filter FuzzCorpusTests` writes the
/// seeds that are missing (after an encoding changes, say).
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    @Test("every file of every target's corpus runs through its target without a trap", arguments: FuzzTargets.all.map(\.name))
    func corpusRuns(target: String) throws {
        let run = try #require(FuzzTargets.target(target))
        let directory = Self.corpus.appendingPathComponent(target)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.sorted() ?? []
        #expect(!files.isEmpty, "no corpus for \(target) in \(directory.path)")
        for file in files { run(Array(try Data(contentsOf: directory.appendingPathComponent(file)))) }
    }

    @Test("the seeds made from today's encoders are in the corpus")
    func seedsAreCommitted() throws {
        let write = ProcessInfo.processInfo.environment["TONLE_FUZZ_SEEDS"] == "write"
        var missing: [String] = []
        for seed in try Seeds.all() {
            let file = Self.corpus.appendingPathComponent(seed.target).appendingPathComponent("seed-\(seed.name)")
            if (try? Data(contentsOf: file)) == Data(seed.bytes) { continue }
            if write {
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(seed.bytes).write(to: file)
            } else {
                missing.append("\(seed.target)/seed-\(seed.name)")
            }
        }
        #expect(missing.isEmpty, "seeds missing or out of date (TONLE_FUZZ_SEEDS=write swift test --filter FuzzCorpusTests writes them): \(missing)")
    }
}

/// Well-formed inputs for each target, made deterministically (fixed keys, Ed25519's deterministic
/// signatures, the seeded workload).
enum Seeds {
    struct Seed { let target: String; let name: String; let bytes: [UInt8] }

    static func all() throws -> [Seed] {
        let workload = Workload(seed: 11, accounts: 8, signed: true)
        let store = MemoryStore()
        try workload.initialise(store)
        try workload.applyNext(to: store, transfers: 0)                 // creates the accounts
        let block = try workload.nextBlock(on: store, transfers: 3)     // three signed transfers
        let certificate = workload.certificate(for: block)
        let key = workload.validatorKeys[0]
        let vote = VoteBody(chainID: workload.chainID, type: .prevote, height: 2, round: 0, blockHash: block.hash, validator: key.publicKey)
        let nilVote = VoteBody(chainID: workload.chainID, type: .precommit, height: 2, round: 1, blockHash: nil, validator: key.publicKey)
        let proposalBody = try ProposalBody(chainID: workload.chainID, height: 2, round: 1, proofOfLockRound: 0, blockHash: block.hash,
                                            time: block.header.time, proposer: key.publicKey)
        let proposal = Proposal(body: proposalBody, signature: key.sign(proposalBody.encoded))
        let transaction = block.transactions[0]
        let base64 = Data(transaction.encoded).base64EncodedString()

        var seeds = [
            Seed(target: "transaction", name: "transfer", bytes: transaction.encoded),
            Seed(target: "transaction", name: "create-and-issue", bytes: workload.transactions(height: 1, transfers: 0)[0].encoded),
            Seed(target: "block", name: "three-transfers", bytes: block.encoded),
            Seed(target: "vote", name: "prevote", bytes: Vote(body: vote, signature: key.sign(vote.encoded)).encoded),
            Seed(target: "vote", name: "nil-precommit", bytes: Vote(body: nilVote, signature: key.sign(nilVote.encoded)).encoded),
            Seed(target: "vote", name: "proposal", bytes: proposal.encoded),
            Seed(target: "vote", name: "certificate", bytes: certificate.encoded),
            Seed(target: "vote", name: "validator-set", bytes: workload.validators.encoded),
            Seed(target: "peer-message", name: "status", bytes: PeerMessage.status(height: 7).encoded),
            Seed(target: "peer-message", name: "blocks-request", bytes: PeerMessage.blocksRequest(from: 3, count: 64).encoded),
            Seed(target: "peer-message", name: "transactions", bytes: PeerMessage.transactions(block.transactions).encoded),
            Seed(target: "peer-message", name: "vote", bytes: PeerMessage.consensus(.vote(Vote(body: vote, signature: key.sign(vote.encoded)))).encoded),
            Seed(target: "peer-message", name: "proposal", bytes: PeerMessage.consensus(.proposal(proposal, block)).encoded),
            Seed(target: "peer-message", name: "blocks", bytes: PeerMessage.blocks([CertifiedBlock(block: block, certificate: certificate)]).encoded),
            Seed(target: "peer-message", name: "snapshots-request", bytes: PeerMessage.snapshotsRequest.encoded),
            Seed(target: "peer-message", name: "snapshots", bytes: PeerMessage.snapshots([SnapshotOffer(height: 1_000, stateRoot: block.header.stateRoot, depth: 8)]).encoded),
            Seed(target: "peer-message", name: "snapshot-top-request", bytes: PeerMessage.snapshotTopRequest(height: 1_000).encoded),
            Seed(target: "peer-message", name: "snapshot-top", bytes: PeerMessage.snapshotTop(height: 1_000, summaries: [.empty, .leaf(block.hash), .branch(block.header.stateRoot), .empty]).encoded),
            Seed(target: "peer-message", name: "chunk-request", bytes: PeerMessage.chunkRequest(height: 1_000, index: 3).encoded),
            Seed(target: "peer-message", name: "chunk", bytes: PeerMessage.chunk(height: 1_000, index: 3, entries: [StateEntry(key: block.hash, value: transaction.encoded)]).encoded),
            Seed(target: "peer-message", name: "chunk-gone", bytes: PeerMessage.chunk(height: 1_000, index: 3, entries: nil).encoded),
            Seed(target: "rpc-body", name: "single", bytes: Array("{\"transaction\":\"\(base64)\"}".utf8)),
            Seed(target: "rpc-body", name: "batch", bytes: Array("{\"transactions\":[\"\(base64)\",\"AA==\"]}".utf8)),
            Seed(target: "rpc-body", name: "repeated-key", bytes: Array("{\"transaction\":\"\(base64)\",\"transa\\u0063tion\":\"AA==\"}".utf8)),
            Seed(target: "key-file", name: "validator", bytes: Array(KeyFile.encode(key).utf8)),
        ]
        // The peer port: hellos of the fuzzing identity's network, one byte of control first (the
        // role and how the bytes are cut into reads), then a frame that no key has sealed.
        let network = FuzzTargets.fuzzIdentity.networkID
        for (name, control) in [("hello-responder", UInt8(0x10)), ("hello-initiator", UInt8(0x01)), ("hello-trickled", UInt8(0x00))] {
            let hello = [UInt8(1)] + network.bytes + key.publicKey.bytes + [UInt8](repeating: 9, count: 32)
            let auth = [UInt8](repeating: 0x5a, count: 80)
            seeds.append(Seed(target: "frame-handshake", name: name, bytes: [control] + frame(hello) + frame(auth)))
        }
        // KHQR: the payloads the bakong-khqr SDK made (Tests/KHQRTests/Vectors).
        let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("KHQRTests/Vectors/sdk-vectors.json")
        let cases = (try JSONSerialization.jsonObject(with: Data(contentsOf: vectors)) as? [String: Any])?["cases"] as? [[String: Any]] ?? []
        for vector in cases {
            guard let name = vector["name"] as? String, let payload = vector["payload"] as? String else { continue }
            seeds.append(Seed(target: "khqr", name: name, bytes: Array(payload.utf8)))
        }
        return seeds
    }

    /// A frame: a 4-byte big-endian length, then the bytes.
    static func frame(_ bytes: [UInt8]) -> [UInt8] {
        let length = UInt32(bytes.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + bytes
    }
}
