import Foundation
import Hummingbird
import ServiceLifecycle
import TonleTypes

/// `GET /v1/events`: server-sent events, one per committed block, with every transaction's
/// result (docs/api.md#events). The event id is the block height, so a client that reconnects
/// with `Last-Event-ID` resumes after the last block it saw. Blocks are read from the store as the
/// client takes them (a slow client never makes the node buffer); a comment line every
/// `keepAlive` keeps proxies from closing an idle stream.
enum EventStream {
    struct BlockEvent: Encodable {
        struct Result: Encodable { let id: String; let result: String }
        let height: UInt64
        let hash: String
        let timeMilliseconds: UInt64
        let stateRoot: String
        let transactions: [Result]

        enum CodingKeys: String, CodingKey { case height, hash, timeMilliseconds = "time_ms", stateRoot = "state_root", transactions }
    }

    static let keepAlive = Duration.seconds(15)

    /// Streams every block above `after` (at most `Limits.heightMax`, so the next height cannot overflow).
    static func run(api: some NodeAPI, after: UInt64, writer: inout any ResponseBodyWriter) async throws {
        precondition(after <= Limits.heightMax)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var next = after + 1
        var quietSince = ContinuousClock.now
        try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
        while !Task.isCancelled, !Task.isShuttingDownGracefully, !api.commits.isClosed {
            while next <= api.commits.height, let block = await api.block(next) {
                let event = BlockEvent(
                    height: block.height, hash: block.hash, timeMilliseconds: block.timeMilliseconds, stateRoot: block.stateRoot,
                    transactions: zip(block.transactions, block.results).map { BlockEvent.Result(id: $0, result: $1) })
                var text = "id: \(block.height)\nevent: block\ndata: "
                text += String(decoding: try encoder.encode(event), as: UTF8.self)
                text += "\n\n"
                try await writer.write(ByteBuffer(string: text))
                next += 1
                quietSince = .now
            }
            if ContinuousClock.now - quietSince >= keepAlive {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                quietSince = .now
            }
            // Short waits, so a stopping server is not held up by open streams.
            _ = await api.commits.wait(beyond: next - 1, timeout: .seconds(1))
        }
        try await writer.finish(nil)
    }
}
