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

            // The transfer's block, verified whole against the sets of its height and the next; a
            // changed transaction id, result or state root is INVALID.
            let sentHeight = try #require(sent.json["height"] as? Int)
            func setFile(_ height: Int) throws -> String {
                let set = try tonle(["validators", "--height", "\(height)", "--json"] + node)
                #expect(set.status == 0 && set.json["block_height"] as? Int == height, "\(set.stdout)\(set.stderr)")
                let file = "\(dir)/validators-\(height).json"
                try set.stdout.write(toFile: file, atomically: true, encoding: .utf8)
                return file
            }
            let txBlock = try tonle(["block", "\(sentHeight)", "--json"] + node)
            let txBlockFile = "\(dir)/tx-block.json"
            try txBlock.stdout.write(toFile: txBlockFile, atomically: true, encoding: .utf8)
            let whole = try tonle(["verify", "block", txBlockFile, "--validators", try setFile(sentHeight), "--next-validators", try setFile(sentHeight + 1)])
            #expect(whole.status == 0 && whole.stdout.contains("their results and the state root"), "\(whole.stdout)\(whole.stderr)")
            let stateRoot = try #require(txBlock.json["state_root"] as? String)
            for (from, to) in [(id, String(repeating: "0", count: 64)), ("\"applied\"", "\"ACCOUNT_FROZEN\""), (stateRoot, String(repeating: "1", count: 64))] {
                try txBlock.stdout.replacingOccurrences(of: from, with: to).write(toFile: txBlockFile, atomically: true, encoding: .utf8)
                let edited = try tonle(["verify", "block", txBlockFile, "--validators", validatorsFile])
                #expect(edited.status == 1 && edited.stderr.contains("INVALID: "), "\(from) → \(to): \(edited.stdout)\(edited.stderr)")
            }

            // The transfer's receipt, checked offline with the set of the block that certifies its result.
            let receipt = try tonle(["tx", "receipt", id, "--json"] + node)
            #expect(receipt.status == 0 && receipt.json["result"] as? String == "applied", "\(receipt.stderr)")
            let receiptFile = "\(dir)/receipt.json"
            try receipt.stdout.write(toFile: receiptFile, atomically: true, encoding: .utf8)
            let receiptValid = try tonle(["verify", "receipt", receiptFile, "--validators", try setFile(sentHeight + 1)])
            #expect(receiptValid.status == 0 && receiptValid.stdout.hasPrefix("VALID: transaction \(id) by sokha@aba"), "\(receiptValid.stdout)\(receiptValid.stderr)")
            let receiptHuman = try tonle(["tx", "receipt", id] + node)
            #expect(receiptHuman.status == 0 && receiptHuman.stdout.contains("block \(sentHeight), result applied"), "\(receiptHuman.stdout)")
            // Claimed rejected, with result bytes to match: only the results proof can tell.
            try receipt.stdout.replacingOccurrences(of: "\"result_bytes\":\"00\"", with: "\"result_bytes\":\"0118000000\"")
                .replacingOccurrences(of: "\"result\":\"applied\"", with: "\"result\":\"INSUFFICIENT_FUNDS\"")
                .write(toFile: receiptFile, atomically: true, encoding: .utf8)
            let receiptForged = try tonle(["verify", "receipt", receiptFile, "--validators", validatorsFile])
            #expect(receiptForged.status == 1 && receiptForged.stderr.contains("INVALID: "), "\(receiptForged.stdout)\(receiptForged.stderr)")
            let forgedPython = try python(["docs/examples/receipt_verify.py", receiptFile, try setFile(sentHeight + 1)], seconds: 60)
            #expect(forgedPython.status == 1 && forgedPython.stdout.hasPrefix("INVALID"), "the Python verifier refuses the forged receipt: \(forgedPython.stdout)\(forgedPython.stderr)")
            try receipt.stdout.write(toFile: receiptFile, atomically: true, encoding: .utf8)
            let pythonValid = try python(["docs/examples/receipt_verify.py", receiptFile, try setFile(sentHeight + 1)], seconds: 60)
            #expect(pythonValid.status == 0 && pythonValid.stdout.hasPrefix("VALID"), "\(pythonValid.stdout)\(pythonValid.stderr)")

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

            // A validator set change: a fifth validator (never started) joins in block c. Block c+1
            // is still signed by the old set and announces the new one; c+2 is signed by the new
            // set. Old blocks verify with the set of their height, and with no other.
            let newcomer = "\(dir)/keys/validator-newcomer.key"
            #expect(try tonle(["keygen", "--out", newcomer]).status == 0)
            let added = try tonle(["admin", "add-validator", "--public-key", newcomer, "--power", "1", "--name", "newcomer", "--creator", "admin@nbc"]
                                  + key("nbc") + ["--wait", "30", "--json"] + node)
            let changed = try #require(added.json["height"] as? Int, "\(added.stdout)\(added.stderr)")
            #expect(await LocalNetwork.eventually(90) { (try? tonle(["block", "\(changed + 3)"] + node))?.status == 0 }, "the network goes on with the newcomer offline")
            let oldSet = try setFile(changed + 1), newSet = try setFile(changed + 2)
            let oldJSON = try tonle(["validators", "--height", "\(changed + 1)", "--json"] + node).json
            let newJSON = try tonle(["validators", "--height", "\(changed + 2)", "--json"] + node).json
            #expect((oldJSON["validators"] as? [Any])?.count == 4 && (newJSON["validators"] as? [Any])?.count == 5)
            #expect(oldJSON["encoded"] as? String == (try tonle(["validators", "--height", "1", "--json"] + node)).json["encoded"] as? String)
            for height in [changed + 1, changed + 2] {
                let file = "\(dir)/block-\(height).json"
                try tonle(["block", "\(height)", "--json"] + node).stdout.write(toFile: file, atomically: true, encoding: .utf8)
                let own = height == changed + 1 ? oldSet : newSet, other = height == changed + 1 ? newSet : oldSet
                let valid = try tonle(["verify", "block", file, "--validators", own, "--next-validators", newSet])
                #expect(valid.status == 0 && valid.stdout.hasPrefix("VALID"), "block \(height): \(valid.stdout)\(valid.stderr)")
                let wrong = try tonle(["verify", "block", file, "--validators", other, "--next-validators", newSet])
                #expect(wrong.status == 1 && wrong.stderr.contains("pass the set of that height"), "block \(height): \(wrong.stdout)\(wrong.stderr)")
            }

            // The SQL sink follows the chain across the change: trusting only genesis, it takes the
            // set block c+1 announces, and checks block c+2 under it.
            let postgres = try TestPostgres.start()
            defer { postgres.stop() }
            try postgres.createDatabase("reports")
            let indexed = try tonle(["index", "--postgres", postgres.url("reports"), "--genesis", "\(dir)/genesis.json", "--until-height", "\(changed + 2)", "--json"]
                                    + node, seconds: 120)
            #expect(indexed.status == 0 && indexed.json["last_height"] as? Int == changed + 2, "\(indexed.stdout)\(indexed.stderr)")
            try #expect(postgres.query("reports", "SELECT encode(next_validators, 'hex') FROM tonle.indexer") == [newJSON["encoded"] as? String ?? "?"])
        }
    }
}
