/// Payloads ordered by time, then by the order they were pushed: deterministic, so the simulator's
/// event queue and the node loop's timers are the same structure (a binary heap).
public struct TimerQueue<Payload> {
    private var heap: [(time: UInt64, sequence: UInt64, payload: Payload)] = []
    private var sequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    /// The earliest time held.
    public var nextTime: UInt64? { heap.first?.time }

    public mutating func push(_ time: UInt64, _ payload: Payload) {
        sequence += 1
        heap.append((time, sequence, payload))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest entry, removed.
    public mutating func pop() -> (time: UInt64, payload: Payload)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, before(left, smallest) { smallest = left }
            if right < heap.count, before(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.payload)
    }

    /// The earliest entry if its time is at or before `now`, removed.
    public mutating func popDue(now: UInt64) -> Payload? {
        guard let time = nextTime, time <= now else { return nil }
        return pop()!.payload
    }

    private func before(_ a: Int, _ b: Int) -> Bool { (heap[a].time, heap[a].sequence) < (heap[b].time, heap[b].sequence) }
}
