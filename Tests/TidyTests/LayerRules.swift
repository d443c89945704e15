import Foundation

/// The layers of DESIGN §1 / docs/architecture.md, and what each may import.
enum LayerRules {
    /// Every target under Sources/ and its layer. A new target must be added here (the test fails
    /// on an unknown one), which is the moment to decide where it belongs.
    static let layers: [String: Int] = [
        "CSodium": 0, "COpenSSL": 0, "CSQLite": 0, "CRocksDB": 0,
        "TonleCrypto": 1, "KHQR": 1,
        "TonleTypes": 2, "TonleMerkle": 2,
        "TonleLedger": 3, "TonleConsensus": 3,
        "TonleStorage": 4,
        "TonleRuntime": 5,
        "TonleStore": 6, "TonleNetwork": 6, "TonleRPC": 6, "TonleSimulator": 6, "TonleWorkload": 6,
        "TonleNode": 7, "TonleFuzzTargets": 7, "TonleIndexer": 7,
        "TonleCLI": 8,
        // Executables: a main.swift each, calling into their command library (docs/architecture.md);
        // tonle-fuzz is a C main that hands libFuzzer the targets of TonleFuzzTargets.
        "tonle": 9, "tonle-node": 9, "tonle-sim": 9, "tonle-crash-child": 9, "tonle-fuzz": 9,
    ]

    /// Each C library and the only target that may import it.
    static let cLibraryOwners: [String: String] = ["CSodium": "TonleCrypto", "COpenSSL": "TonleCrypto", "CSQLite": "TonleStore", "CRocksDB": "TonleStore"]

    /// Layers 1–5 are pure: besides the standard library and lower targets they may import only these.
    static let pureLayers = 1...5
    static let pureExternalModules: Set<String> = [
        "Collections", "OrderedCollections", "DequeModule", "HeapModule", "BitCollections", "HashTreeCollections",
    ]

    /// Words that mean I/O, concurrency, a wall clock or unseeded randomness: none may appear in
    /// the code (comments and strings aside) of a pure target.
    static let impureWords: [(pattern: String, why: String)] = [
        (#"\basync\b"#, "async code"), (#"\bawait\b"#, "async code"), (#"\bactor\b"#, "an actor"),
        (#"\bTask\s*[\{\.\(]"#, "a concurrent task"), (#"@MainActor"#, "an actor"),
        (#"\bDispatch\w*"#, "threads"), (#"\bThread\b"#, "threads"),
        (#"\bDate\s*\("#, "the wall clock"), (#"\b(Continuous|Suspending)Clock\b"#, "the wall clock"),
        (#"\bSystemRandomNumberGenerator\b"#, "unseeded randomness"),
        (#"\.random\((?![^)]*using:)"#, "unseeded randomness (pass a generator with using:)"),
    ]

    struct Violation: CustomStringConvertible, Equatable {
        let file: String
        let line: Int
        let message: String
        var description: String { "\(file):\(line): \(message)" }
    }

    /// The imported module names in `source`, with their line numbers.
    static func imports(in source: String) -> [(module: String, line: Int)] {
        let regex = try! NSRegularExpression(
            pattern: #"^\s*(?:@[\w()]+\s+)*(?:(?:public|internal|package|private|fileprivate)\s+)?import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?([A-Za-z_][A-Za-z0-9_]*)"#)
        return source.components(separatedBy: "\n").enumerated().compactMap { index, line in
            let range = NSRange(line.startIndex..., in: line)
            guard let match = regex.firstMatch(in: line, range: range), let module = Range(match.range(at: 1), in: line) else { return nil }
            return (String(line[module]), index + 1)
        }
    }

    /// The violations in one source file of `target`.
    static func violations(target: String, file: String, source: String) -> [Violation] {
        guard let layer = layers[target] else {
            return [Violation(file: file, line: 0, message: "target \(target) is not in the layer table (Tests/TidyTests/LayerRules.swift, docs/architecture.md)")]
        }
        var found: [Violation] = []
        for (module, line) in imports(in: source) {
            if let message = importProblem(target: target, layer: layer, module: module) {
                found.append(Violation(file: file, line: line, message: message))
            }
        }
        if pureLayers.contains(layer) {
            for (index, line) in codeLines(source).enumerated() {
                for (pattern, why) in impureWords where line.range(of: pattern, options: .regularExpression) != nil {
                    found.append(Violation(file: file, line: index + 1, message: "\(target) is pure (layer \(layer)) and may not use \(why): \(line.trimmingCharacters(in: .whitespaces))"))
                }
            }
        }
        return found
    }

    private static func importProblem(target: String, layer: Int, module: String) -> String? {
        if let owner = cLibraryOwners[module] {
            return target == owner ? nil : "only \(owner) may import \(module)"
        }
        if let imported = layers[module] {
            return imported < layer ? nil : "\(target) (layer \(layer)) may not import \(module) (layer \(imported)): imports point down only"
        }
        if pureLayers.contains(layer), !pureExternalModules.contains(module), module != "Swift" {
            return "\(target) is pure (layer \(layer)) and may not import \(module)"
        }
        return nil
    }

    /// The source's lines with comments and string literals blanked out (line numbers kept).
    static func codeLines(_ source: String) -> [String] {
        var inBlockComment = false
        return source.components(separatedBy: "\n").map { line in
            var out = "", chars = Array(line), i = 0, inString = false
            while i < chars.count {
                if inBlockComment {
                    if chars[i] == "*", i + 1 < chars.count, chars[i + 1] == "/" { inBlockComment = false; i += 1 }
                } else if inString {
                    if chars[i] == "\\" { i += 1 } else if chars[i] == "\"" { inString = false }
                } else if chars[i] == "/", i + 1 < chars.count, chars[i + 1] == "/" {
                    break
                } else if chars[i] == "/", i + 1 < chars.count, chars[i + 1] == "*" {
                    inBlockComment = true; i += 1
                } else if chars[i] == "\"" {
                    inString = true; out.append("\"\"")
                } else {
                    out.append(chars[i])
                }
                i += 1
            }
            return out
        }
    }
}
