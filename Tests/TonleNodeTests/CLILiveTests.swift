import Foundation
import Testing

/// The `tonle` executable against a real 4-node network: submit and wait, look up, hold and
/// post, an admin freeze, an account proof and a block checked offline, watch, exit codes.
extension ProcessTests {
    struct CLIResult {
        let status: Int32
        let stdout: String
        let stderr: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]) ?? [:] }
    }

    /// Runs `tonle ARGUMENTS` as a process, killed after `seconds`.
    func tonle(_ arguments: [String], seconds: Double = 90) throws -> CLIResult {
        try run(LocalNetwork.binaries.appendingPathComponent("tonle"), arguments, seconds: seconds)
    }

    /// Runs `executable ARGUMENTS` (in `directory`, if given), its output in files, killed after `seconds`.
    func run(_ executable: URL, _ arguments: [String], in directory: URL? = nil, seconds: Double) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        let err = out.appendingPathExtension("err")
        for file in [out, err] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        defer { for file in [out, err] { try? FileManager.default.removeItem(at: file) } }
        (process.standardOutput, process.standardError) = (try FileHandle(forWritingTo: out), try FileHandle(forWritingTo: err))
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() > deadline { process.terminate() }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    @Test("tonle CLI against a real network: submit, wait, proofs verified offline, admin, watch")
    func cliDrivesARealNetwork() async throws {
        try await withNetwork { network in
            let dir = network.directory.path
            let node = ["--node", "http://127.0.0.1:\(network.rpcPorts[1])"]
            let key = { (name: String) in ["--key", "\(dir)/keys/\(name).key"] }

            // A transfer, submitted and waited for.
            let request = ["--client-id", "000000000000000000000000c11e0001"]
            let sent = try tonle(["tx", "transfer"] + key("aba") + request + ["--from", "sokha@aba", "--to", "chenda@acleda", "--amount", "25000", "--currency", "KHR",
                                                                              "--wait", "30", "--json"] + node)
            #expect(sent.status == 0, "\(sent.stderr)")
            #expect(sent.json["status"] as? String == "committed" && sent.json["result"] as? String == "applied")
            let id = try #require(sent.json["id"] as? String)
            // Rebuilt with the same client id and a new expiry (a new transaction id): answered with the original.
            let again = try tonle(["tx", "transfer"] + key("aba") + request + ["--from", "sokha@aba", "--to", "chenda@acleda", "--amount", "25000", "--currency", "KHR",
                                                                               "--expires-in", "900", "--wait", "30", "--json"] + node)
            #expect(again.status == 0 && again.json["id"] as? String == id && again.json["status"] as? String == "committed", "\(again.stdout)\(again.stderr)")
            // The same client id for another request: refused, naming the original.
            let reused = try tonle(["tx", "transfer"] + key("aba") + request + ["--from", "sokha@aba", "--to", "chenda@acleda", "--amount", "1", "--currency", "KHR",
                                                                                "--wait", "30"] + node)
            #expect(reused.status == 1 && reused.stderr.contains("CLIENT_ID_REUSED") && reused.stderr.contains(id), "\(reused.stdout)\(reused.stderr)")
            let shown = try tonle(["tx", "show", id, "--node", "http://127.0.0.1:\(network.rpcPorts[2])"])
            #expect(shown.status == 0 && shown.stdout.contains("committed") && shown.stdout.contains("transfer 25000 KHR sokha@aba → chenda@acleda"), "\(shown.stdout)\(shown.stderr)")

            // A hold, posted by the target's owner.
            let hold = try tonle(["tx", "hold"] + key("aba") + ["--id", "0000000000000000000000000000abcd", "--from", "sokha@aba", "--to", "dara@aba", "--amount", "5.00",
                                                               "--currency", "USD", "--wait", "30"] + node)
            #expect(hold.status == 0 && hold.stdout.contains("(applied)"), "\(hold.stdout)\(hold.stderr)")
            let post = try tonle(["tx", "post"] + key("aba") + ["--id", "0000000000000000000000000000abcd", "--creator", "dara@aba", "--wait", "30"] + node)
            #expect(post.status == 0 && post.stdout.contains("(applied)"), "\(post.stdout)\(post.stderr)")

            // The central bank freezes an account; its transfers are then rejected in their block.
            let freeze = try tonle(["admin", "freeze", "market@wing", "--creator", "admin@nbc"] + key("nbc") + ["--wait", "30"] + node)
            #expect(freeze.status == 0, "\(freeze.stderr)")
            let frozen = try tonle(["tx", "transfer"] + key("wing") + ["--from", "market@wing", "--to", "srey@wing", "--amount", "1", "--currency", "USD", "--wait", "30"] + node)
            #expect(frozen.status == 1 && frozen.stderr.contains("ACCOUNT_FROZEN"), "\(frozen.stdout)\(frozen.stderr)")

            // An account proof and a block, saved and checked offline against the validator set and the genesis file.
            let account = try tonle(["account", "sokha@aba", "--proof", "--json"] + node)
            #expect(account.status == 0, "\(account.stderr)")
            let validators = try tonle(["validators", "--json"] + node)
            let proofFile = "\(dir)/proof.json", validatorsFile = "\(dir)/validators.json"
            try account.stdout.write(toFile: proofFile, atomically: true, encoding: .utf8)
            try validators.stdout.write(toFile: validatorsFile, atomically: true, encoding: .utf8)
            for set in [validatorsFile, "\(dir)/genesis.json"] {
                let verified = try tonle(["verify", "account", proofFile, "--validators", set])
                #expect(verified.status == 0 && verified.stdout.hasPrefix("VALID"), "\(verified.stdout)\(verified.stderr)")
            }
            // A balance edited in the file no longer matches the proven record.
            let balances = (account.json["balances"] as? [[String: Any]]) ?? []
            let khr = try #require(balances.first { $0["currency"] as? String == "KHR" }?["balance"] as? String)
            try account.stdout.replacingOccurrences(of: "\"balance\":\"\(khr)\"", with: "\"balance\":\"99999999\"").write(toFile: proofFile, atomically: true, encoding: .utf8)
            let forged = try tonle(["verify", "account", proofFile, "--validators", validatorsFile])
            #expect(forged.status == 1 && forged.stderr.contains("INVALID"), "\(forged.stdout)\(forged.stderr)")

            let height = try #require((account.json["proof"] as? [String: Any])?["height"] as? Int)
            let block = try tonle(["block", "\(height)", "--json"] + node)
            try block.stdout.write(toFile: "\(dir)/block.json", atomically: true, encoding: .utf8)
            let blockValid = try tonle(["verify", "block", "\(dir)/block.json", "--validators", validatorsFile])
            #expect(blockValid.status == 0 && blockValid.stdout.hasPrefix("VALID"), "\(blockValid.stdout)\(blockValid.stderr)")
            let blockJSON = try tonle(["verify", "block", "\(dir)/block.json", "--validators", "\(dir)/genesis.json", "--json"])
            #expect(blockJSON.json["valid"] as? Bool == true && blockJSON.json["height"] as? Int == height, "\(blockJSON.stdout)\(blockJSON.stderr)")

            // Lists, status, live following, and the documented exit codes.
            let blocks = try tonle(["blocks", "--from", "1", "--limit", "3"] + node)
            #expect(blocks.status == 0 && blocks.stdout.split(separator: "\n").count == 4, "\(blocks.stdout)")
            let history = try tonle(["account", "sokha@aba", "--history", "--json"] + node)
            #expect(((history.json["transactions"] as? [[String: Any]]) ?? []).contains { $0["id"] as? String == id })
            let watched = try tonle(["watch", "--from", "1", "--count", "2"] + node, seconds: 30)
            #expect(watched.status == 0 && watched.stdout.hasPrefix("block 1 ") && watched.stdout.contains("\nblock 2 "), "\(watched.stdout)\(watched.stderr)")
            #expect(try tonle(["status"] + node).stdout.contains("caught_up"))
            #expect(try tonle(["account", "nobody@aba"] + node).status == 2)
            #expect(try tonle(["status", "--node", "http://127.0.0.1:1"]).status == 3)
        }
    }
}
