import Synchronization

/// The height of the latest stored block, and tasks waiting for a higher one (long polls, event
/// streams). The node publishes each height after it is stored; waiters wake at once. The number
/// of waiters is bounded: past `waitersMax`, a wait returns at once as if it had timed out.
public final class CommitNotifier: Sendable {
    private struct Waiter {
        let beyond: UInt64
        let continuation: CheckedContinuation<UInt64, Never>
    }

    private struct State {
        var height: UInt64
        var closed = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
    }

    private let state: Mutex<State>
    public let waitersMax: Int

    public init(height: UInt64 = 0, waitersMax: Int = 10_000) {
        state = Mutex(State(height: height))
        self.waitersMax = waitersMax
    }

    /// The latest published height.
    public var height: UInt64 { state.withLock { $0.height } }

    /// After `close`, waits return at once (the node is stopping).
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Block `height` is stored: wake everyone waiting for it.
    public func publish(_ height: UInt64) {
        let ready: [CheckedContinuation<UInt64, Never>] = state.withLock { state in
            guard height > state.height else { return [] }
            state.height = height
            let due = state.waiters.filter { $0.value.beyond < height }
            for id in due.keys { state.waiters[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: height) }
    }

    /// Wakes every waiter and makes later waits return at once.
    public func close() {
        let all: [CheckedContinuation<UInt64, Never>] = state.withLock { state in
            state.closed = true
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        let height = self.height
        for continuation in all { continuation.resume(returning: height) }
    }

    /// Waits until a height above `beyond` is published, `timeout` passes, the task is cancelled
    /// or the notifier closes; returns the height then (which is `<= beyond` if none came).
    public func wait(beyond: UInt64, timeout: Duration) async -> UInt64 {
        let id: UInt64? = state.withLock { state in
            guard state.height <= beyond, !state.closed, state.waiters.count < waitersMax else { return nil }
            defer { state.nextID += 1 }
            return state.nextID
        }
        guard let id else { return height }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<UInt64, Never>) in
                let registered: Bool = state.withLock { state in
                    guard state.height <= beyond, !state.closed else { return false }
                    state.waiters[id] = Waiter(beyond: beyond, continuation: continuation)
                    return true
                }
                guard registered else { return continuation.resume(returning: height) }
                Task {
                    try? await Task.sleep(for: timeout)
                    self.expire(id)
                }
            }
        } onCancel: {
            expire(id)
        }
    }

    private func expire(_ id: UInt64) {
        let (waiter, height) = state.withLock { state in (state.waiters.removeValue(forKey: id), state.height) }
        waiter?.continuation.resume(returning: height)
    }
}
