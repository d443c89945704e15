import Foundation
import Testing
import TonleLedger

/// docs/errors.md lists every rejection code with its number, and nothing else.
@Suite struct ErrorsDocTests {
    @Test func everyCodeIsDocumentedWithItsNumber() throws {
        let text = try String(contentsOf: repository.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        var documented: [String: UInt16] = [:]
        for line in text.components(separatedBy: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 3, let number = UInt16(cells[0]), cells[1].hasPrefix("`") {
                documented[cells[1].trimmingCharacters(in: ["`"])] = number
            }
        }
        for code in RejectionCode.allCases {
            #expect(documented[code.name] == code.rawValue, "\(code.name) = \(code.rawValue)")
        }
        #expect(documented.count == RejectionCode.allCases.count, "no stale codes in the document")
    }

    @Test func everyDetailIsDocumentedWithItsNumber() throws {
        let text = try String(contentsOf: repository.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        var documented: [String: UInt16] = [:]
        for line in text.components(separatedBy: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 4, cells[0].hasPrefix("`"), let number = UInt16(cells[1]) { documented[cells[0].trimmingCharacters(in: ["`"])] = number }
        }
        for detail in RejectionDetail.allCases { #expect(documented[detail.name] == detail.rawValue, "\(detail.name) = \(detail.rawValue)") }
        #expect(documented.count == RejectionDetail.allCases.count, "no stale details in the document")
    }
}
