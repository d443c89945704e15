import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small synchronous client of the node's HTTP/JSON API (docs/api.md), for the CLI.
struct RPCClient {
    let base: URL

    /// `--node`, else `$TONLE_NODE`, else the first local validator.
    init(_ node: String?) throws(CLIError) {
        let text = node ?? ProcessInfo.processInfo.environment["TONLE_NODE"] ?? "http://127.0.0.1:26700"
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CLIError("--node: '\(text)' is not an http(s) URL such as http://127.0.0.1:26700")
        }
        base = url
    }

    /// Sends a request; returns the status and the JSON object of the body.
    func call(_ method: String, _ path: String, body: [String: Any]? = nil, timeout: TimeInterval = 10) throws(CLIError) -> (status: Int, json: [String: Any]) {
        var request = URLRequest(url: base.appendingPathComponent(path), timeoutInterval: timeout)
        request.httpMethod = method
        if let body {
            request.httpBody = try? JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let box = ResultBox()
        let semaphore = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(data, (response as? HTTPURLResponse)?.statusCode, error)
            semaphore.signal()
        }.resume()
        semaphore.wait()
        let (data, status, error) = box.get()
        if let error { throw CLIError("cannot reach the node at \(base.absoluteString): \(error.localizedDescription). Is it running? (--node or TONLE_NODE)") }
        let object = data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
        return (status ?? 0, object)
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (Data?, Int?, (any Error)?) = (nil, nil, nil)
    func set(_ data: Data?, _ status: Int?, _ error: (any Error)?) { lock.withLock { value = (data, status, error) } }
    func get() -> (Data?, Int?, (any Error)?) { lock.withLock { value } }
}
