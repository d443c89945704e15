import Foundation

/// Bounded queues between threads, in two lanes: any thread posts, the node loop takes, waiting
/// up to a deadline. The loop always takes from the urgent lane first (consensus messages, peer
/// status, sync, queries, stop), so a flood of bulk work (client submissions, gossiped
/// transactions) never delays a vote behind it. Each lane has its own capacity, so a full bulk
/// lane refuses submissions but never a vote.
final class Mailbox<Event>: @unchecked Sendable {
    enum Lane { case urgent, bulk }

    /// A FIFO queue as two stacks.
    private struct Queue {
        var incoming: [Event] = [], outgoing: [Event] = []
        var count: Int { incoming.count + outgoing.count }
        var isEmpty: Bool { incoming.isEmpty && outgoing.isEmpty }
        mutating func push(_ event: Event) { incoming.append(event) }
        mutating func pop() -> Event? {
            if outgoing.isEmpty {
                outgoing = incoming.reversed()
                incoming = []
            }
            return outgoing.popLast()
        }
    }

    private let condition = NSCondition()
    private var urgent = Queue(), bulk = Queue()
    let capacity: Int

    /// `capacity` events per lane.
    init(capacity: Int) { self.capacity = capacity }

    /// Adds `event` to `lane` unless that lane is full (then false), or always when `force`.
    @discardableResult
    func post(_ event: Event, lane: Lane = .urgent, force: Bool = false) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        switch lane {
        case .urgent:
            guard force || urgent.count < capacity else { return false }
            urgent.push(event)
        case .bulk:
            guard force || bulk.count < capacity else { return false }
            bulk.push(event)
        }
        condition.signal()
        return true
    }

    /// The oldest urgent event, else the oldest bulk one, waiting until `deadline` (monotonic
    /// nanoseconds) at most; nil when none came.
    func take(deadline: UInt64?) -> Event? {
        condition.lock()
        defer { condition.unlock() }
        while urgent.isEmpty && bulk.isEmpty {
            guard let deadline else {
                condition.wait()
                continue
            }
            let now = Monotonic.nanoseconds
            guard deadline > now else { return nil }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
        }
        return urgent.pop() ?? bulk.pop()
    }
}

/// The monotonic clock, for timers and durations (never for block times).
enum Monotonic {
    static var nanoseconds: UInt64 { DispatchTime.now().uptimeNanoseconds }
}

/// The wall clock in ms since 1970, for block times and expiry.
enum WallClock {
    static var milliseconds: UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000) }
}
