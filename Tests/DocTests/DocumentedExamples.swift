import Foundation
import TonleCrypto

/// The repository's top folder.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The worked examples in `docs/NAME`: each is a fenced block after `<!-- example: KEY -->`, whose
/// lines are hex, optionally followed by `#` and an annotation. Returns KEY → bytes.
func documentedExamples(_ name: String) throws -> [String: [UInt8]] {
    let lines = try String(contentsOf: repository.appendingPathComponent("docs/\(name)"), encoding: .utf8).components(separatedBy: "\n")
    var found: [String: [UInt8]] = [:], current: String?, inBlock = false, hex = ""
    for line in lines {
        if let range = line.range(of: "<!-- example: ") {
            current = String(line[range.upperBound...].prefix { $0 != " " })
        } else if line.hasPrefix("```"), let key = current {
            if inBlock {
                found[key] = Hex.decode(hex)
                (current, hex) = (nil, "")
            }
            inBlock.toggle()
        } else if inBlock {
            hex += line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].filter { !$0.isWhitespace }
        }
    }
    return found
}
