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
}
