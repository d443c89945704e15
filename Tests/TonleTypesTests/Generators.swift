import TonleCrypto
import TonleTypes

/// The seeded generator, so every property-test failure replays from its seed.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func chance(_ percent: Int) -> Bool { int(1...100) <= percent }
    mutating func pick<T>(_ values: [T]) -> T { values[int(0...values.count - 1)] }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

/// Random valid values of every type in the data model.
enum Gen {
    /// A fixed pool of keys: signing is real, and making keys is cheap enough to share.
    static let keys: [Ed25519.SigningKey] = (0..<16).map { Ed25519.SigningKey(seed: Bytes32(Array(repeating: UInt8($0), count: 32))!) }

    static func identifier(_ r: inout SeededRandom, length: ClosedRange<Int>, punctuation: [Character], letterFirst: Bool) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz"), alnum = letters + Array("0123456789")
        let count = r.int(length)
        var chars: [Character] = [letterFirst ? r.pick(letters) : r.pick(alnum)]
        while chars.count < count {
            let last = chars.count == count - 1
            if !last, !punctuation.isEmpty, !punctuation.contains(chars.last!), r.chance(20) {
                chars.append(r.pick(punctuation))
            } else {
                chars.append(r.pick(alnum))
            }
        }
        return String(chars)
    }

    static func institution(_ r: inout SeededRandom) -> InstitutionID {
        try! InstitutionID(identifier(&r, length: 2...16, punctuation: ["-"], letterFirst: true))
    }

    static func account(_ r: inout SeededRandom) -> AccountID {
        let name = identifier(&r, length: 1...32, punctuation: [".", "_", "-"], letterFirst: false)
        return try! AccountID("\(name)@\(institution(&r))")
    }

    static func chainID(_ r: inout SeededRandom) -> ChainID {
        try! ChainID(identifier(&r, length: 1...32, punctuation: ["-"], letterFirst: true))
    }

    /// Text with ASCII, Khmer and Chinese characters, within `max` bytes.
    static func text(_ r: inout SeededRandom, max: Int) -> String {
        let alphabet = Array("abc XYZ 0123-/.:#") + ["ក", "ខ", "រ", "៛", "中", "国", "é"]
        var text = ""
        for _ in 0..<r.int(0...20) {
            let next = text + String(r.pick(alphabet))
            if next.utf8.count > max { break }
            text = next
        }
        return text
    }

    static func amount(_ r: inout SeededRandom) -> Amount {
        let units: Int64 = r.chance(10) ? r.pick([0, 1, -1, .max, .min]) : Int64.random(in: 1...10_000_000_000, using: &r)
        return Amount(units, r.pick(Currency.allCases))
    }

    static func id128(_ r: inout SeededRandom) -> ID128 { ID128(high: r.next(), low: r.next()) }
    static func digest(_ r: inout SeededRandom) -> Digest { Digest(r.bytes(32))! }
    static func publicKey(_ r: inout SeededRandom) -> Ed25519.PublicKey { r.pick(keys).publicKey }
    static func optional<T>(_ r: inout SeededRandom, _ make: (inout SeededRandom) -> T) -> T? { r.chance(50) ? make(&r) : nil }

    static func keySet(_ r: inout SeededRandom) -> KeySet {
        let chosen = Array(keys.map(\.publicKey).shuffled(using: &r).prefix(r.int(1...Limits.accountKeysMax)))
        return try! KeySet(keys: chosen, quorum: UInt8(r.int(1...chosen.count)))
    }

    static func settlement(_ r: inout SeededRandom) -> SettlementEntry {
        let foreign = try! ForeignAmount(currency: r.pick(["CNY", "THB", "VND", "ZZZ"]), minorUnits: Int64(bitPattern: r.next()))
        let quote = try! FXQuote(
            quoteID: "q-" + String(r.next(), radix: 36), unitCurrency: "CNY", quotedCurrency: r.pick(["KHR", "USD"]),
            rate: r.pick(["563.25", "0.0017752", "1", "999999999999.9999999999"]), rounding: r.pick(FXRounding.allCases),
            quotedAt: Timestamp(millisecondsSinceEpoch: r.next()), expiresAt: Timestamp(millisecondsSinceEpoch: r.next()))
        let cycle = CycleStatement(
            businessDate: BusinessDate(day: UInt32(truncatingIfNeeded: r.next())), count: r.next(), grossInward: Int64(bitPattern: r.next()),
            grossOutward: Int64(bitPattern: r.next()), refunds: 0, reversals: 1, topUps: 2, netSettled: 3, entriesDigest: digest(&r))
        return try! SettlementEntry(
            kind: r.pick(SettlementKind.allCases), gateway: institution(&r),
            externalReference: "ref-" + String(r.next(), radix: 36), amount: amount(&r), account: account(&r),
            original: optional(&r) { "orig:" + String($0.next(), radix: 36) }, foreignAmount: r.chance(50) ? foreign : nil,
            fx: r.chance(50) ? quote : nil, counterparty: optional(&r) { text(&$0, max: SettlementEntry.counterpartyBytesMax) },
            counterpartyCountry: optional(&r) { r in r.pick(["CN", "TH", "KR"]) },
            khqrPayload: optional(&r) { text(&$0, max: Limits.khqrPayloadBytesMax) },
            purposeCode: optional(&r) { text(&$0, max: Limits.purposeCodeBytesMax) }, cycle: r.chance(30) ? cycle : nil,
            uetr: optional(&r) { r in
                // A version 4 UUID: version nibble 4, variant bits 10.
                try! UETR(ID128(high: r.next() & ~0xF000 | 0x4000, low: r.next() & ~(0xC << 60) | (0x8 << 60)))
            })
    }

    static func gatewayConfig(_ r: inout SeededRandom) -> GatewayConfig {
        let limits = Currency.allCases.filter { _ in r.chance(50) }.map { currency in
            GatewayLimit(currency: currency, perTransactionMax: optional(&r) { Int64(bitPattern: $0.next()) },
                         dailyInwardMax: optional(&r) { Int64(bitPattern: $0.next()) }, dailyOutwardMax: optional(&r) { Int64(bitPattern: $0.next()) })
        }
        let window = { (r: inout SeededRandom) in UInt16(r.int(0...Int(GatewayConfig.windowDaysMax))) }
        return try! GatewayConfig(gateway: institution(&r), cutoffMilliseconds: UInt32(r.int(0...86_399_999)), limits: limits,
                                  refundWindowDays: optional(&r, window), reversalWindowDays: optional(&r, window),
                                  prefundAlerts: Currency.allCases.filter { _ in r.chance(50) }.map { Amount(Int64(r.int(1...Int(Int32.max))), $0) })
    }

    static func validator(_ r: inout SeededRandom, key: Ed25519.PublicKey) -> Validator {
        try! Validator(publicKey: key, power: UInt64(r.int(1...1_000)), name: text(&r, max: Limits.displayNameBytesMax))
    }

    static func command(_ r: inout SeededRandom) -> Command {
        switch r.int(1...17) {
        case 1: .transfer(try! Transfer(source: account(&r), target: account(&r), amount: amount(&r), reference: text(&r, max: Limits.referenceBytesMax)))
        case 2: .hold(try! Hold(id: id128(&r), source: account(&r), target: account(&r), amount: amount(&r), timeoutMilliseconds: r.next(), reference: text(&r, max: 140)))
        case 3: .postHold(PostHold(id: id128(&r), amount: optional(&r, amount)))
        case 4: .voidHold(VoidHold(id: id128(&r)))
        case 5: .settlement(settlement(&r))
        case 6: .createParticipant(try! Participant(id: institution(&r), role: r.pick(ParticipantRole.allCases), name: text(&r, max: 100)))
        case 7: .createAccount(CreateAccount(id: account(&r), keys: keySet(&r), flags: r.chance(20) ? .issuance : []))
        case 8: .setKeys(SetKeys(account: account(&r), keys: keySet(&r)))
        case 9: .freeze(account(&r))
        case 10: .unfreeze(account(&r))
        case 11: .issue(Issue(issuer: account(&r), target: account(&r), amount: amount(&r)))
        case 12: .redeem(Redeem(source: account(&r), issuer: account(&r), amount: amount(&r)))
        case 13: .setLimits(SetLimits(account: account(&r), currency: r.pick(Currency.allCases), perTransactionMax: optional(&r) { Int64(bitPattern: $0.next()) }, dailyDebitMax: optional(&r) { Int64(bitPattern: $0.next()) }))
        case 14: .addValidator(validator(&r, key: publicKey(&r)))
        case 16: .configureGateway(gatewayConfig(&r))
        case 17:
            .setReferenceRate(try! ReferenceRate(
                unitCurrency: r.pick(["CNY", "THB", "KRW", "USD"]), quotedCurrency: "KHR", businessDate: BusinessDate(day: UInt32(r.int(0...100_000))),
                rate: "\(r.int(1...999_999)).\(r.int(0...9_999))", toleranceBasisPoints: UInt16(r.int(1...10_000))))
        default: .removeValidator(publicKey(&r))
        }
    }

    static func transactionBody(_ r: inout SeededRandom, chainID: ChainID? = nil) -> TransactionBody {
        try! TransactionBody(
            chainID: chainID ?? self.chainID(&r), creator: account(&r), clientID: id128(&r),
            expiry: Timestamp(millisecondsSinceEpoch: r.next()), commands: (0..<r.int(1...4)).map { _ in command(&r) })
    }

    static func transaction(_ r: inout SeededRandom, chainID: ChainID? = nil) -> Transaction {
        let signers = Array(keys.shuffled(using: &r).prefix(r.int(1...3)))
        return try! Transaction.signing(transactionBody(&r, chainID: chainID), with: signers)
    }

    static func validatorSet(_ r: inout SeededRandom) -> ValidatorSet {
        try! ValidatorSet(keys.shuffled(using: &r).prefix(r.int(1...keys.count)).map { validator(&r, key: $0.publicKey) })
    }

    static func voteBody(_ r: inout SeededRandom) -> VoteBody {
        VoteBody(chainID: chainID(&r), type: r.pick(VoteType.allCases), height: r.next(), round: UInt32(r.int(0...1_000)), blockHash: optional(&r, digest), validator: publicKey(&r))
    }

    static func vote(_ r: inout SeededRandom) -> Vote {
        let key = r.pick(keys)
        var body = voteBody(&r)
        body.validator = key.publicKey
        return Vote(signing: body, with: key)
    }

    static func proposal(_ r: inout SeededRandom) -> Proposal {
        let key = r.pick(keys), round = UInt32(r.int(0...100))
        let body = try! ProposalBody(
            chainID: chainID(&r), height: r.next(), round: round,
            proofOfLockRound: round > 0 && r.chance(50) ? UInt32(r.int(0...Int(round) - 1)) : nil,
            blockHash: digest(&r), time: Timestamp(millisecondsSinceEpoch: r.next()), proposer: key.publicKey)
        return Proposal(signing: body, with: key)
    }

    static func commitCertificate(_ r: inout SeededRandom) -> CommitCertificate {
        let chain = chainID(&r), height = UInt64(r.int(1...1_000_000)), round = UInt32(r.int(0...5)), hash = digest(&r)
        let signers = keys.shuffled(using: &r).prefix(r.int(1...keys.count))
        let probe = try! CommitCertificate(height: height, round: round, blockHash: hash, signatures: [KeySignature(publicKey: keys[0].publicKey, signature: keys[0].sign([]))])
        return try! CommitCertificate(height: height, round: round, blockHash: hash, signatures: signers.map {
            KeySignature(publicKey: $0.publicKey, signature: $0.sign(probe.precommit(chainID: chain, validator: $0.publicKey).encoded))
        })
    }

    static func blockHeader(_ r: inout SeededRandom) -> BlockHeader {
        try! BlockHeader(
            chainID: chainID(&r), height: UInt64(r.int(1...Int.max)), time: Timestamp(millisecondsSinceEpoch: r.next()),
            previousBlockHash: digest(&r), transactionsRoot: digest(&r), lastResultsRoot: digest(&r), stateRoot: digest(&r),
            validatorsHash: digest(&r), nextValidatorsHash: digest(&r), proposer: publicKey(&r), lastCommitHash: digest(&r))
    }

    static func block(_ r: inout SeededRandom) -> Block {
        try! Block(header: blockHeader(&r), transactions: (0..<r.int(0...3)).map { _ in transaction(&r) }, lastCommit: optional(&r, commitCertificate))
    }

    static func genesis(_ r: inout SeededRandom) -> Genesis {
        var participants: [InstitutionID: Participant] = [:]
        for _ in 0..<r.int(0...5) {
            let id = institution(&r)
            participants[id] = try! Participant(id: id, role: r.pick(ParticipantRole.allCases), name: text(&r, max: 100))
        }
        var accounts: [AccountID: GenesisAccount] = [:]
        for _ in 0..<r.int(0...5) {
            let id = account(&r)
            let balances = Currency.allCases.filter { _ in r.chance(50) }.map { Amount(Int64(r.int(0...1_000_000)), $0) }
            accounts[id] = try! GenesisAccount(id: id, keys: keySet(&r), flags: r.chance(20) ? .issuance : [], balances: balances)
        }
        // Dictionary order is per process; the initialiser sorts, so the encoding does not depend on it.
        return try! Genesis(
            chainID: chainID(&r), genesisTime: Timestamp(millisecondsSinceEpoch: r.next()), validators: validatorSet(&r),
            participants: Array(participants.values), accounts: Array(accounts.values))
    }
}
