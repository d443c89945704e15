import Foundation

/// Reads a file from `Tests/TonleCryptoTests/Vectors/`.
func vectorFile(_ name: String) throws -> String {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")
    return try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
}

/// The `Name = value` records of a NIST CAVS `.rsp` file, one dictionary per blank-line-separated block.
func cavsRecords(_ text: String) -> [[String: String]] {
    text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n").compactMap { block in
        var record: [String: String] = [:]
        for line in block.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("[") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if parts.count == 2 { record[parts[0]] = parts[1] }
        }
        return record.isEmpty ? nil : record
    }
}
