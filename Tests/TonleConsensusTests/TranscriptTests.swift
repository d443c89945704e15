import Foundation
import Testing

/// Runs every transcript in `Transcripts/`: each is a header (`validators N node K`), then commands,
/// each followed by `----` and the output it must produce, then a blank line.
/// `TONLE_TRANSCRIPTS_REWRITE=1 swift test --filter TranscriptTests` rewrites the expected outputs.
@Suite struct TranscriptTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Transcripts")
    static var files: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".txt") }.sorted() ?? []
    }

    @Test func thereAreTranscripts() { #expect(Self.files.count >= 7) }

    @Test(arguments: files)
    func transcript(_ file: String) throws {
        let url = Self.directory.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.components(separatedBy: "\n")[...]
        var rewritten: [String] = []
        // Leading comments, then the header.
        while let line = lines.first, line.hasPrefix("#") || line.isEmpty { rewritten.append(line); lines = lines.dropFirst() }
        let header = lines.removeFirst().split(separator: " ")
        guard header.count == 4, header[0] == "validators", header[2] == "node", let n = Int(header[1]), let node = Int(header[3]) else {
            throw TranscriptError.malformed("\(file): header must be 'validators N node K'")
        }
        rewritten.append(header.joined(separator: " "))
        let harness = TranscriptHarness(validators: n, node: node)
        while let line = lines.first {
            lines = lines.dropFirst()
            if line.isEmpty || line.hasPrefix("#") { rewritten.append(line); continue }
            var expected: [String] = []
            if lines.first == "----" {
                lines = lines.dropFirst()
                while let next = lines.first, !next.isEmpty { expected.append(next); lines = lines.dropFirst() }
            }
            let actual = try harness.run(line)
            #expect(actual == expected, "\(file): \(line)")
            rewritten += [line, "----"] + actual + [""]
            if lines.first == "" { lines = lines.dropFirst() }
        }
        if ProcessInfo.processInfo.environment["TONLE_TRANSCRIPTS_REWRITE"] == "1" {
            try (rewritten.joined(separator: "\n").trimmingCharacters(in: .newlines) + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
    }
}
