import CoreMetrics
import Prometheus
import Synchronization
import TonleConsensus

/// The node's metrics (docs/operations.md#metrics), through swift-metrics into a Prometheus
/// registry of its own (so several nodes in one test process do not share counters).
final class NodeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let height: CoreMetrics.Gauge
    let round: CoreMetrics.Gauge
    let peers: CoreMetrics.Gauge
    let syncing: CoreMetrics.Gauge
    let mempoolSize: CoreMetrics.Gauge
    /// `mempool.transactions_max`, so an alert can compare the mempool with its bound.
    let mempoolCapacity: CoreMetrics.Gauge
    /// 1 while linked to validators that, with this node, hold a quorum of the voting power.
    let linkedQuorum: CoreMetrics.Gauge
    /// The highest height a linked peer has reported (the sync lag is this less `tonle_height`).
    let peerHeightMax: CoreMetrics.Gauge
    let transactionsCommitted: CoreMetrics.Counter
    let mempoolFull: CoreMetrics.Counter
    let droppedPeerMessages: CoreMetrics.Gauge
    /// Messages from peers (a gossiped transaction each) dropped before their signatures were
    /// checked: the verifier's or the loop's queue was full.
    let peerMessagesUnverifiedDropped: CoreMetrics.Counter
    let refusedPeerConnections: CoreMetrics.Gauge
    let rpcConnectionsOpen: CoreMetrics.Gauge
    let rpcConnectionsRefused: CoreMetrics.Gauge
    let rpcRequestsLate: CoreMetrics.Gauge
    /// From the start of a height to its block stored.
    let blockSeconds: CoreMetrics.Timer
    /// From admission into this node's mempool to commit.
    let transactionSeconds: CoreMetrics.Timer
    /// The height of the newest snapshot of the store, and how long each took to write (on its own thread).
    let snapshotHeight: CoreMetrics.Gauge
    let snapshotSeconds: CoreMetrics.Timer
    let snapshotFailures: CoreMetrics.Counter
    /// The oldest block kept (`storage.retain_blocks`, or the height a node state-synced to).
    let oldestBlock: CoreMetrics.Gauge
    private let factory: PrometheusMetricsFactory
    private let settlementCounters = Mutex([String: CoreMetrics.Counter]())
    private let prefundGauges = Mutex([String: CoreMetrics.Gauge]())
    private let prefundAlertGauges = Mutex([String: CoreMetrics.Gauge]())
    private let prefundLowGauges = Mutex([String: CoreMetrics.Gauge]())
    private let prefundLowCounters = Mutex([String: CoreMetrics.Counter]())

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                   .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10)]
        factory.defaultDurationHistogramBuckets = buckets
        height = CoreMetrics.Gauge(label: "tonle_height", factory: factory)
        round = CoreMetrics.Gauge(label: "tonle_round", factory: factory)
        peers = CoreMetrics.Gauge(label: "tonle_peers", factory: factory)
        syncing = CoreMetrics.Gauge(label: "tonle_syncing", factory: factory)
        mempoolSize = CoreMetrics.Gauge(label: "tonle_mempool_transactions", factory: factory)
        mempoolCapacity = CoreMetrics.Gauge(label: "tonle_mempool_transactions_max", factory: factory)
        linkedQuorum = CoreMetrics.Gauge(label: "tonle_linked_quorum", factory: factory)
        peerHeightMax = CoreMetrics.Gauge(label: "tonle_peer_height_max", factory: factory)
        transactionsCommitted = CoreMetrics.Counter(label: "tonle_transactions_committed_total", factory: factory)
        mempoolFull = CoreMetrics.Counter(label: "tonle_mempool_full_total", factory: factory)
        droppedPeerMessages = CoreMetrics.Gauge(label: "tonle_peer_messages_dropped", factory: factory)
        peerMessagesUnverifiedDropped = CoreMetrics.Counter(label: "tonle_peer_messages_unverified_dropped_total", factory: factory)
        refusedPeerConnections = CoreMetrics.Gauge(label: "tonle_peer_connections_refused", factory: factory)
        rpcConnectionsOpen = CoreMetrics.Gauge(label: "tonle_rpc_connections_open", factory: factory)
        rpcConnectionsRefused = CoreMetrics.Gauge(label: "tonle_rpc_connections_refused", factory: factory)
        rpcRequestsLate = CoreMetrics.Gauge(label: "tonle_rpc_requests_late", factory: factory)
        blockSeconds = CoreMetrics.Timer(label: "tonle_block_commit_seconds", preferredDisplayUnit: .seconds, factory: factory)
        transactionSeconds = CoreMetrics.Timer(label: "tonle_transaction_commit_seconds", preferredDisplayUnit: .seconds, factory: factory)
        snapshotHeight = CoreMetrics.Gauge(label: "tonle_snapshot_height", factory: factory)
        snapshotSeconds = CoreMetrics.Timer(label: "tonle_snapshot_seconds", preferredDisplayUnit: .seconds, factory: factory)
        snapshotFailures = CoreMetrics.Counter(label: "tonle_snapshot_failures_total", factory: factory)
        oldestBlock = CoreMetrics.Gauge(label: "tonle_oldest_block_height", factory: factory)
        self.factory = factory
    }

    /// Counts a committed settlement entry by kind and result (`applied` or the rejection code).
    func settlementEntry(kind: String, result: String) {
        Self.labelled(settlementCounters, [("kind", kind), ("result", result)]) {
            CoreMetrics.Counter(label: "tonle_settlement_entries_total", dimensions: $0, factory: factory)
        }.increment()
    }

    /// A gateway's prefund balance in one currency, in minor units (riel, US cents).
    func prefund(gateway: String, currency: String, minorUnits: Int64) {
        Self.labelled(prefundGauges, [("gateway", gateway), ("currency", currency)]) {
            CoreMetrics.Gauge(label: "tonle_gateway_prefund_minor_units", dimensions: $0, factory: factory)
        }.record(minorUnits)
    }

    /// A gateway's low-prefund state in one currency: its threshold (0: none set), whether the
    /// prefund is below it (1) or not (0), and, when it has just fallen below, one more alert counted.
    func prefundAlert(gateway: String, currency: String, thresholdMinorUnits: Int64, low: Bool, fell: Bool) {
        let dimensions = [("gateway", gateway), ("currency", currency)]
        Self.labelled(prefundAlertGauges, dimensions) {
            CoreMetrics.Gauge(label: "tonle_gateway_prefund_alert_minor_units", dimensions: $0, factory: factory)
        }.record(thresholdMinorUnits)
        Self.labelled(prefundLowGauges, dimensions) { CoreMetrics.Gauge(label: "tonle_gateway_prefund_low", dimensions: $0, factory: factory) }.record(low ? 1 : 0)
        let counter = Self.labelled(prefundLowCounters, dimensions) {
            CoreMetrics.Counter(label: "tonle_gateway_prefund_low_total", dimensions: $0, factory: factory)
        }
        if fell { counter.increment() }
    }

    /// The metric of one combination of label values, made at its first use.
    private static func labelled<Metric: Sendable>(
        _ made: borrowing Mutex<[String: Metric]>, _ dimensions: [(String, String)], _ make: ([(String, String)]) -> Metric
    ) -> Metric {
        made.withLock { metrics in
            let key = dimensions.map(\.1).joined(separator: "/")
            if let existing = metrics[key] { return existing }
            let metric = make(dimensions)
            metrics[key] = metric
            return metric
        }
    }

    func text() -> String { registry.emitToString() }
}
