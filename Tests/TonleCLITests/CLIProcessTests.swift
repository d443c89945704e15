import Foundation
import Testing

/// Runs the built `tonle` executable as a real process, with a time limit.
struct TonleProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `tonle` binary next to the test bundle (`swift build --build-tests` builds both).
    static let executable: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tonle")
        let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/tonle")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : fallback
    }()

    static func run(_ arguments: [String], in directory: URL, timeoutSeconds: Double = 60) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        // Output goes to files, so a chatty child can never block on a full pipe.
        let outURL = directory.appendingPathComponent(".stdout-\(UUID().uuidString)")
        let errURL = directory.appendingPathComponent(".stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning {
            if Date() > deadline { process.terminate() }
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.waitUntilExit()
        let stdout = try Data(contentsOf: outURL), stderr = try Data(contentsOf: errURL)
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func mode(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
}

@Suite struct CLIProcessTests {
    @Test func keygenWritesAPrivateFileAndNeverOverwrites() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try TonleProcess.run(["keygen", "--out", "bank.key"], in: dir)
        #expect(made.status == 0, "\(made.stderr)")
        let publicKey = try #require(made.stdout.split(separator: "\n").first?.split(separator: " ").last.map(String.init))
        #expect(publicKey.count == 64)
        #expect(try mode(dir.appendingPathComponent("bank.key").path) == 0o600)
        let file = try String(contentsOf: dir.appendingPathComponent("bank.key"), encoding: .utf8)
        #expect(file.contains("public-key: \(publicKey)"))

        let again = try TonleProcess.run(["keygen", "--out", "bank.key"], in: dir)
        #expect(again.status == 1 && again.stderr.contains("already exists"))
        #expect(try String(contentsOf: dir.appendingPathComponent("bank.key"), encoding: .utf8) == file, "the key was not replaced")

        let shown = try TonleProcess.run(["key", "public", "bank.key"], in: dir)
        #expect(shown.status == 0 && shown.stdout == publicKey + "\n")
        #expect(!shown.stdout.contains(file.split(separator: "\n").first { $0.hasPrefix("seed: ") }!.dropFirst(6)))
    }

    @Test func looseOrMalformedKeyFilesAreRefused() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TonleProcess.run(["keygen", "--out", "k.key"], in: dir)
        let path = dir.appendingPathComponent("k.key").path
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        let loose = try TonleProcess.run(["key", "public", "k.key"], in: dir)
        #expect(loose.status == 1 && loose.stderr.contains("chmod 600 k.key"), "\(loose.stderr)")

        try "not a key\n".write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let malformed = try TonleProcess.run(["key", "public", "k.key"], in: dir)
        #expect(malformed.status == 1 && malformed.stderr.contains("line 1"), "\(malformed.stderr)")

        let missing = try TonleProcess.run(["key", "public", "nope.key"], in: dir)
        #expect(missing.status == 1 && missing.stderr.contains("cannot open key file nope.key"))
    }

    @Test func transferIsSignedAndInspectVerifiesIt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TonleProcess.run(["keygen", "--out", "sokha.key"], in: dir)
        let made = try TonleProcess.run(
            ["tx", "transfer", "--key", "sokha.key", "--from", "sokha@aclb", "--to", "dara@wing", "--amount", "12.50",
             "--currency", "USD", "--reference", "ថ្លៃអាហារ 午饭", "--json"], in: dir)
        #expect(made.status == 0, "\(made.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: Any])
        let hex = try #require(json["hex"] as? String), id = try #require(json["id"] as? String)

        let inspected = try TonleProcess.run(["tx", "inspect", hex], in: dir)
        #expect(inspected.status == 0 && inspected.stdout.hasSuffix("VALID\n"), "\(inspected.stderr)")
        #expect(inspected.stdout.contains(id) && inspected.stdout.contains("transfer 12.50 USD sokha@aclb → dara@wing"))
        let viaBase64 = try TonleProcess.run(["tx", "inspect", try #require(json["base64"] as? String)], in: dir)
        #expect(viaBase64.status == 0)

        // The last byte belongs to the signature: flipping it must be caught.
        let tampered = String(hex.dropLast(2)) + (hex.hasSuffix("00") ? "01" : "00")
        let bad = try TonleProcess.run(["tx", "inspect", tampered], in: dir)
        #expect(bad.status == 1 && bad.stderr.contains("INVALID: bad signature"))
        let truncated = try TonleProcess.run(["tx", "inspect", String(hex.dropLast(10))], in: dir)
        #expect(truncated.status == 1 && truncated.stderr.contains("INVALID: not a canonical transaction"))
    }

    @Test func badInputGetsASpecificError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TonleProcess.run(["keygen", "--out", "k.key"], in: dir)
        let base = ["tx", "transfer", "--key", "k.key", "--to", "dara@wing"]
        let cases: [([String], String)] = [
            (["--from", "Sokha@aclb", "--amount", "1", "--currency", "KHR"], "use 'sokha@aclb'"),
            (["--from", "sokha@aclb", "--amount", "1.5", "--currency", "KHR"], "KHR amounts are whole numbers"),
            (["--from", "sokha@aclb", "--amount=-1", "--currency", "USD"], "no signs"),
            (["--from", "sokha@aclb", "--amount", "1", "--currency", "CNY"], "use KHR or USD"),
            (["--from", "sokha@aclb", "--amount", "0", "--currency", "USD"], "more than zero"),
        ]
        for (arguments, expected) in cases {
            let result = try TonleProcess.run(base + arguments, in: dir)
            #expect(result.status == 1 && result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
        let usage = try TonleProcess.run(["tx", "transfer"], in: dir)
        #expect(usage.status == 64, "usage errors exit 64")
        // Numbers out of their range are usage errors, never a trap (they multiplied into an overflow).
        let ranges: [([String], String)] = [
            (base + ["--from", "sokha@aclb", "--amount", "1", "--currency", "KHR", "--expires-in", "18446744073709551615"], "--expires-in is 1 to 3600"),
            (base + ["--from", "sokha@aclb", "--amount", "1", "--currency", "KHR", "--wait", "18446744073709551615"], "--wait is at most 3600"),
            (["tx", "hold", "--key", "k.key", "--from", "sokha@aclb", "--to", "dara@wing", "--amount", "1", "--currency", "KHR", "--timeout", "18446744073709551615"], "--timeout is 1 to 2592000"),
            (["tx", "show", String(repeating: "0", count: 64), "--wait", "9223372036854775807"], "--wait is 0 to 3600"),
            (["khqr", "encode", "--account", "sokha@aba", "--name", "x", "--city", "y", "--currency", "KHR", "--amount", "100", "--expires-in-minutes", "18446744073709551615"], "--expires-in-minutes is 1 to"),
        ]
        for (arguments, expected) in ranges {
            let result = try TonleProcess.run(arguments, in: dir)
            #expect(result.status == 64 && result.stderr.contains(expected), "\(arguments.suffix(2)): \(result.status) \(result.stderr.prefix(200))")
        }
    }

    @Test func cryptoBenchPrintsAJSONLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try TonleProcess.run(["bench", "crypto", "--seconds", "0.01", "--rounds", "1"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let last = try #require(result.stdout.split(separator: "\n").last)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(json["bench"] as? String == "crypto")
        #expect((json["ed25519_verify_1core_per_s"] as? Int ?? 0) > 0)
        #expect((json["sha256_64b_reused_c_per_s"] as? Int ?? 0) > 0)
    }

    /// Both ways of making the accounts: imported into the genesis state (the default), and through
    /// blocks; the first also state-syncs a copy over a link on 127.0.0.1, the second prunes old
    /// blocks with two hours of BFT time between blocks.
    @Test(arguments: ["import", "blocks"])
    func execBenchRunsAShortWorkload(setup: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try TonleProcess.run(
            ["bench", "exec", "--accounts", "300", "--blocks", setup == "import" ? "4" : "10", "--transfers", "100", "--merge-entries-max", "1000", "--setup", setup,
             "--snapshot-interval", "2"] + (setup == "import" ? ["--state-sync"] : ["--retain-blocks", "3", "--block-seconds", "7200"]),
            in: dir, timeoutSeconds: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let last = try #require(result.stdout.split(separator: "\n").last)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(json["bench"] as? String == "exec" && json["accounts"] as? Int == 300)
        #expect((json["transfers_per_s"] as? Int ?? 0) > 0 && json["rejected"] as? Int == 0)
        #expect((json["merges"] as? Int ?? 0) >= 1, "the store merged during the run")
        #expect(json["setup"] as? String == setup && (json["disk_bytes_per_account"] as? Int ?? 0) > 0 && json["startup_s"] != nil)
        #expect(json["snapshots"] as? Int == (setup == "import" ? 2 : 5))
        #expect(result.stdout.contains("disk by table       bytes per transfer: "))
        let (maxMs, afterFirstMs) = (try #require(json["block_max_ms"] as? Double), try #require(json["block_max_after_first_ms"] as? Double))
        #expect(afterFirstMs > 0 && afterFirstMs <= maxMs)
        #expect(result.stdout.contains("slowest block       #"))
        #expect(json["engine_reads_per_block"] as? Int == 0, "300 accounts fit the caches: no read reaches RocksDB, merges or not")
        #expect(result.stderr.contains(setup == "import" ? "import: sorting 300 account keys" : "setup: 300 of 300 accounts"))
        if setup == "import" {
            #expect(result.stdout.contains("at height 4 over an encrypted link on 127.0.0.1"), "state sync fetched the snapshot after the 4 blocks: \(result.stdout)")
        } else {
            #expect(json["retain_blocks"] as? Int == 3 && json["block_seconds"] as? Int == 7200)
            #expect(result.stdout.contains("(the last 3 blocks kept)"))
        }
    }
}

@Suite struct KHQRCommandTests {
    @Test func encodeThenDecodeThroughTheBinary() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try TonleProcess.run(
            ["khqr", "encode", "--account", "merchant.kampot@wing", "--name", "ហាងកាហ្វេស្រីមុំ", "--currency", "KHR", "--amount", "56325",
             "--bill", "INV-7", "--now", "1795258600000", "--expires-in-minutes", "10"], in: dir)
        #expect(made.status == 0, "\(made.stderr)")
        let payload = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let decoded = try TonleProcess.run(["khqr", "decode", "--json", "--now", "1795258600000", payload], in: dir)
        #expect(decoded.status == 0, "\(decoded.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(decoded.stdout.utf8)) as! [String: Any]
        #expect(object["bakong_account_id"] as? String == "merchant.kampot@wing")
        #expect(object["merchant_name"] as? String == "ហាងកាហ្វេស្រីមុំ")
        #expect(object["amount_minor_units"] as? Int == 56325)
        #expect(object["currency"] as? String == "KHR")
        #expect(object["type"] as? String == "dynamic")
        #expect(object["expires_at_ms"] as? Int == 1_795_258_600_000 + 600_000)
        // Ten minutes and one millisecond later the code has expired: exit 1 and the specific error.
        let late = try TonleProcess.run(["khqr", "decode", "--now", "\(1_795_258_600_000 + 600_001)", payload], in: dir)
        #expect(late.status == 1)
        #expect(late.stderr.contains("KHQR_EXPIRED"), "\(late.stderr)")
        let tampered = try TonleProcess.run(["khqr", "decode", payload.replacingOccurrences(of: "56325", with: "56326")], in: dir)
        #expect(tampered.status == 1)
        #expect(tampered.stderr.contains("KHQR_CRC_MISMATCH"), "\(tampered.stderr)")
        let tooLong = try TonleProcess.run(["khqr", "encode", "--account", "a@b", "--name", String(repeating: "n", count: 26), "--currency", "USD"], in: dir)
        #expect(tooLong.status == 1)
        #expect(tooLong.stderr.contains("KHQR_BAD_LENGTH"), "\(tooLong.stderr)")
    }
}
