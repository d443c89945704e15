import Testing
@testable import TonleNode

/// The node loop's mailbox: urgent events (votes, status, queries) before bulk work, each lane
/// bounded on its own.
@Suite struct MailboxTests {
    @Test func urgentEventsOvertakeQueuedBulkWork() {
        let mailbox = Mailbox<String>(capacity: 10)
        for i in 0..<3 { mailbox.post("submit \(i)", lane: .bulk) }
        mailbox.post("vote")
        mailbox.post("proposal")
        let order = (0..<5).compactMap { _ in mailbox.take(deadline: 0) }
        #expect(order == ["vote", "proposal", "submit 0", "submit 1", "submit 2"])
        #expect(mailbox.take(deadline: 0) == nil)
    }

    @Test func aFullBulkLaneRefusesBulkButNeverUrgent() {
        let mailbox = Mailbox<Int>(capacity: 2)
        #expect(mailbox.post(1, lane: .bulk) && mailbox.post(2, lane: .bulk))
        #expect(!mailbox.post(3, lane: .bulk))
        #expect(mailbox.post(4) && mailbox.post(5))
        #expect(!mailbox.post(6))
        #expect(mailbox.post(7, force: true))
        #expect((0..<5).compactMap { _ in mailbox.take(deadline: 0) } == [4, 5, 7, 1, 2])
    }
}
