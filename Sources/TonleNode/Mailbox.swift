import Foundation

/// A bounded queue between threads: any thread posts, the node loop takes, waiting up to a deadline.
final class Mailbox<Event>: @unchecked Sendable {
    private let condition = NSCondition()
    private var incoming: [Event] = []
    private var outgoing: [Event] = []
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Adds `event` unless the mailbox is full (then false), or always when `force`.
    @discardableResult
    func post(_ event: Event, force: Bool = false) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard force || incoming.count + outgoing.count < capacity else { return false }
        incoming.append(event)
        condition.signal()
        return true
    }

    /// The oldest event, waiting until `deadline` (monotonic nanoseconds) at most; nil when none came.
    func take(deadline: UInt64?) -> Event? {
        condition.lock()
        defer { condition.unlock() }
        while outgoing.isEmpty && incoming.isEmpty {
            guard let deadline else {
                condition.wait()
                continue
            }
            let now = Monotonic.nanoseconds
            guard deadline > now else { return nil }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
        }
        if outgoing.isEmpty {
            outgoing = incoming.reversed()
            incoming = []
        }
        return outgoing.popLast()
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
