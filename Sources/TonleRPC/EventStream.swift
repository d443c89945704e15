import Foundation
import Hummingbird
import ServiceLifecycle
import TonleTypes

/// `GET /v1/events`: server-sent events, one per committed block, with every transaction's
/// result, or only those naming an account or concerning a gateway (docs/api.md#events). The event id is the block height, so a client that reconnects
/// with `Last-Event-ID` resumes after the last block it saw. Blocks are read from the store as the
/// client takes them (a slow client never makes the node buffer); a comment line every
/// `keepAlive` keeps proxies from closing an idle stream.
enum EventStream {
    struct BlockEvent: Encodable {
        /// A transaction's result; a rejection with the command that caused it and the specific rule.
        struct Result: Encodable { let id: String; let result: String; let command: UInt16?; let detail: String? }
        let height: UInt64
        let hash: String
        let timeMilliseconds: UInt64
        let stateRoot: String
        let transactions: [Result]

        enum CodingKeys: String, CodingKey { case height, hash, timeMilliseconds = "time_ms", stateRoot = "state_root", transactions }
    }

    /// Which transactions a client follows: all (neither given), or those naming `account` or
    /// concerning `gateway` (either, when both are given).
    struct Filter: Sendable {
        var account: AccountID?
        var gateway: InstitutionID?

        static let all = Filter()
        var isAll: Bool { account == nil && gateway == nil }

        /// An alert concerns its gateway, and the account that is the gateway's prefund.
        func matches(_ alert: PrefundAlertView) -> Bool {
            if isAll { return true }
            if let gateway, gateway.text == alert.gateway { return true }
            if let account, account.text == "prefund@\(alert.gateway)" { return true }
            return false
        }

        func matches(_ transaction: Transaction) -> Bool {
            if isAll { return true }
            if let account, transaction.accountsNamed.contains(account) { return true }
            if let gateway, transaction.concerns(gateway: gateway) { return true }
            return false
        }
    }

    static let keepAlive = Duration.seconds(15)

    /// The event for `block`, with the results of the transactions `filter` selects; nil when a
    /// filter selects none of them (such blocks send no event).
    static func event(_ block: BlockView, filter: Filter, api: some NodeAPI) async -> BlockEvent? {
        let rejected = Dictionary(block.rejections.map { (Int($0.index), $0) }, uniquingKeysWith: { first, _ in first })
        var selected = Set(block.transactions.indices)
        if !filter.isAll {
            guard let transactions = await api.blockTransactions(block.height), transactions.count == block.transactions.count else { return nil }
            selected = Set(transactions.indices.filter { filter.matches(transactions[$0]) })
            if selected.isEmpty { return nil }
        }
        return BlockEvent(
            height: block.height, hash: block.hash, timeMilliseconds: block.timeMilliseconds, stateRoot: block.stateRoot,
            transactions: zip(block.transactions, block.results).enumerated().compactMap { index, pair in
                guard selected.contains(index) else { return nil }
                return BlockEvent.Result(id: pair.0, result: pair.1, command: rejected[index]?.command, detail: rejected[index]?.detail)
            })
    }

    /// Streams every block above `after` (at most `Limits.heightMax`, so the next height cannot overflow).
    static func run(api: some NodeAPI, after: UInt64, filter: Filter = .all, writer: inout any ResponseBodyWriter) async throws {
        precondition(after <= Limits.heightMax)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var next = after + 1
        var quietSince = ContinuousClock.now
        try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
        while !Task.isCancelled, !Task.isShuttingDownGracefully, !api.commits.isClosed {
            while next <= api.commits.height, let block = await api.block(next) {
                next += 1
                var text = ""
                if let event = await event(block, filter: filter, api: api) {
                    text += "id: \(block.height)\nevent: block\ndata: " + String(decoding: try encoder.encode(event), as: UTF8.self) + "\n\n"
                }
                // After the block's own event, with the same id: the gateways whose prefund it took below their threshold.
                for alert in await api.prefundAlerts(at: block.height) where filter.matches(alert) {
                    text += "id: \(block.height)\nevent: prefund_low\ndata: " + String(decoding: try encoder.encode(alert), as: UTF8.self) + "\n\n"
                }
                guard !text.isEmpty else { continue }
                try await writer.write(ByteBuffer(string: text))
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
