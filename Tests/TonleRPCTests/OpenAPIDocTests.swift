import Foundation
import Testing
import TonleRPC

/// docs/openapi.json documents exactly the routes the router serves, each with exactly the
/// statuses it answers (RouterTests checks the router answers with those and no others).
@Suite struct OpenAPIDocTests {
    static var text: String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.json")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }

    static var document: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }

    @Test func isOpenAPI31() {
        #expect(Self.document["openapi"] as? String == "3.1.0")
    }

    @Test func documentsEveryRouteAndStatusOfTheRouter() {
        var documented: [String: Set<Int>] = [:]
        for (path, item) in Self.document["paths"] as? [String: [String: Any]] ?? [:] {
            for (method, operation) in item {
                let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                documented["\(method.uppercased()) \(path)"] = Set(responses.keys.compactMap(Int.init))
            }
        }
        let served = Dictionary(uniqueKeysWithValues: RPCServer.routes.map { ("\($0.method) \($0.path)", $0.statuses) })
        #expect(Set(documented.keys) == Set(served.keys), "documented but not served: \(Set(documented.keys).subtracting(served.keys)); served but not documented: \(Set(served.keys).subtracting(documented.keys))")
        for (route, statuses) in served.sorted(by: { $0.key < $1.key }) {
            #expect(documented[route] == statuses, "\(route): served \(statuses.sorted()), documented \((documented[route] ?? []).sorted())")
        }
    }

    @Test func everySchemaReferenceResolves() {
        let text = Self.text
        let schemas = Set(((Self.document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]).keys)
        let references = text.components(separatedBy: "#/components/schemas/").dropFirst().map { String($0.prefix { $0.isLetter || $0.isNumber }) }
        #expect(!references.isEmpty)
        for name in Set(references) { #expect(schemas.contains(name), "\(name) is referenced but not defined") }
    }

    /// The `before=HEIGHT:INDEX` pattern of the document admits exactly what the node parses:
    /// boundaries, then random values across every digit count.
    @Test func cursorPatternAgreesWithTheParser() throws {
        let paths = Self.document["paths"] as? [String: [String: Any]] ?? [:]
        let operation = paths["/v1/accounts/{id}/transactions"]?["get"] as? [String: Any] ?? [:]
        let before = (operation["parameters"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "before" }
        let pattern = try #require((before?["schema"] as? [String: Any])?["pattern"] as? String)
        let regex = try NSRegularExpression(pattern: pattern)
        func admitted(_ text: String) -> Bool { regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil }
        var cases = ["0:0", "1:0", "9223372036854775807:4294967295", "9223372036854775808:0", "1:4294967296", "01:0", "1:00", "-1:0", "1:", ":1", "1:2:3",
                     "18446744073709551615:0", "9223372036854775799:9", "9199999999999999999:1"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let height = UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63, using: &generator)
            let index = UInt64.random(in: 0...(UInt64(UInt32.max) * 2), using: &generator) >> UInt64.random(in: 0...32, using: &generator)
            cases.append("\(height):\(index)")
        }
        for text in cases {
            #expect(admitted(text) == (HistoryPosition(text) != nil), "\(text): the document says \(admitted(text)), the node \(HistoryPosition(text) != nil)")
        }
    }
}
