import Foundation
import Hummingbird
import TonleTypes

/// What a request carries, parsed into its documented range at the edge (docs/architecture.md,
/// "Untrusted input"). Anything outside its range is refused with a 4xx and a stable code; no
/// value from a request reaches a trapping conversion or trapping arithmetic.
enum RequestInput {
    /// A whole number in `range`, written as ASCII decimal digits only, in its one spelling: no
    /// sign, space, leading zero, other numerals or exponent. Nil for anything else, including
    /// values that overflow 64 bits.
    static func decimal(_ text: some StringProtocol, in range: ClosedRange<UInt64>) -> UInt64? {
        guard let first = text.utf8.first, first != UInt8(ascii: "0") || text.utf8.count == 1 else { return nil }
        var value: UInt64 = 0
        for byte in text.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowAdd) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflowShift, !overflowAdd else { return nil }
            value = sum
        }
        return range.contains(value) ? value : nil
    }

    /// A query parameter that is a whole number in `range`, or `fallback` when absent.
    static func number(_ text: String?, default fallback: UInt64, _ range: ClosedRange<UInt64>, _ name: String) throws(APIError) -> UInt64 {
        guard let text else { return fallback }
        guard let value = decimal(text, in: range) else {
            throw .malformed("QUERY", "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A small count (a page size, seconds to wait), as an `Int`.
    static func count(_ text: String?, default fallback: Int, _ range: ClosedRange<Int>, _ name: String) throws(APIError) -> Int {
        precondition(range.lowerBound >= 0)
        let value = try number(text, default: UInt64(fallback), UInt64(range.lowerBound)...UInt64(range.upperBound), name)
        return Int(value)   // within `range`, which is made of Ints
    }

    /// A block height, 1 to `Limits.heightMax`.
    static func height(_ text: String?, _ name: String) throws(APIError) -> UInt64 {
        guard let text, let height = decimal(text, in: 1...Limits.heightMax) else {
            throw .malformed("HEIGHT", "\(name) must be a block height: a whole number from 1 to \(Limits.heightMax)")
        }
        return height
    }

    /// A yes/no query parameter: `true`/`1` or `false`/`0`; false when absent.
    static func flag(_ text: String?, _ name: String) throws(APIError) -> Bool {
        switch text {
        case nil, "false", "0": return false
        case "true", "1": return true
        case let other?: throw .malformed("QUERY", "\(name) must be true or false, not '\(other.prefix(32))'")
        }
    }

    /// The JSON object of a request body: exactly one JSON value, an object whose keys are all in
    /// `allowed`, and no object anywhere in it repeating a key. Parsers disagree on which copy of
    /// a repeated key wins (Foundation's decoder keeps the first, its serializer the last), so a
    /// body with one means two things: it is refused rather than read either way.
    static func jsonObject(_ body: ByteBuffer, allowed: Set<String>) throws(APIError) -> [String: Any] {
        let bytes = Array(body.readableBytesView)
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            throw .malformed("REQUEST", "the body is not JSON")
        }
        guard let object = parsed as? [String: Any] else { throw .malformed("REQUEST", "the body must be a JSON object") }
        guard keysWritten(bytes) == keysParsed(object) else {
            throw .malformed("REQUEST", "an object in the body repeats a key")
        }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .malformed("REQUEST", "unknown field '\(unknown.prefix(64))'; the body has \(allowed.sorted().joined(separator: ", "))")
        }
        return object
    }

    /// Object keys in valid JSON text: strings followed by a colon.
    static func keysWritten(_ bytes: [UInt8]) -> Int {
        var keys = 0, index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\"") else { index += 1; continue }
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") { index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1 }
            index += 1
            var next = index
            while next < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[next]) { next += 1 }
            if next < bytes.count, bytes[next] == UInt8(ascii: ":") { keys += 1 }
        }
        return keys
    }

    /// Distinct keys of every object in a parsed JSON value.
    static func keysParsed(_ value: Any) -> Int {
        if let object = value as? [String: Any] { return object.count + object.values.reduce(0) { $0 + keysParsed($1) } }
        if let array = value as? [Any] { return array.reduce(0) { $0 + keysParsed($1) } }
        return 0
    }

    /// A request body must say it is JSON (`Content-Type: application/json`, parameters allowed).
    static func requireJSON(_ request: Request) throws(APIError) {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw APIError("UNSUPPORTED_MEDIA_TYPE", "send the body as JSON with Content-Type: application/json", .unsupportedMediaType)
        }
    }
}

/// A submission's body, from its bytes to transactions: what `POST /v1/transactions` and
/// `/batch` run, and what the `rpc-body` fuzz target runs (Sources/TonleFuzzTargets).
public enum SubmissionBody {
    /// `{"transaction": BASE64}`: the transaction.
    public static func single(_ body: ByteBuffer) throws(APIError) -> Transaction {
        let object = try RequestInput.jsonObject(body, allowed: ["transaction"])
        guard let text = object["transaction"] as? String else { throw .malformed("REQUEST", "the body must be {\"transaction\": BASE64}") }
        return try RPCServer.parse(text)
    }

    /// `{"transactions": [BASE64, ...]}` of at most `transactionsMax` items: each one parsed, or refused.
    public static func batch(_ body: ByteBuffer, transactionsMax: Int) throws(APIError) -> [Result<Transaction, APIError>] {
        let object = try RequestInput.jsonObject(body, allowed: ["transactions"])
        guard let list = object["transactions"] as? [Any], let texts = list as? [String] else {
            throw .malformed("REQUEST", "the body must be {\"transactions\": [BASE64, ...]}")
        }
        guard texts.count <= transactionsMax else {
            throw APIError("BATCH_TOO_LARGE", "at most \(transactionsMax) transactions per batch", .contentTooLarge)
        }
        return texts.map { text in Result { () throws(APIError) in try RPCServer.parse(text) } }
    }
}
