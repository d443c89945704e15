import TonleCrypto
import TonleTypes

/// Administration: only the central bank, through an account of its own whose quorum signed.
extension Execution {
    mutating func requireCentralBank() throws(Rejection) {
        guard overlay.participant(creator!.id.institution)?.role == .centralBank else { throw reject(.notCentralBank) }
    }

    mutating func createParticipant(_ participant: Participant) throws(Rejection) {
        try requireCentralBank()
        guard participant.role != .centralBank else { throw reject(.centralBankExists) }
        guard overlay.participant(participant.id) == nil else { throw reject(.participantExists) }
        overlay.set(StateKey.participant(participant.id), .participant(participant))
    }

    mutating func createAccount(_ create: CreateAccount) throws(Rejection) {
        try requireCentralBank()
        guard let owner = overlay.participant(create.id.institution) else { throw reject(.participantNotFound) }
        guard overlay.account(create.id) == nil else { throw reject(.accountExists) }
        guard !create.flags.contains(.issuance) || owner.role == .centralBank else { throw reject(.issuanceOutsideCentralBank) }
        overlay.save(AccountRecord(id: create.id, keys: create.keys, flags: create.flags))
    }

    mutating func setKeys(_ set: SetKeys) throws(Rejection) {
        try requireCentralBank()
        guard var account = overlay.account(set.account) else { throw reject(.accountNotFound) }
        account.keys = set.keys
        overlay.save(account)
    }

    mutating func setFrozen(_ id: AccountID, _ frozen: Bool) throws(Rejection) {
        try requireCentralBank()
        guard var account = overlay.account(id) else { throw reject(.accountNotFound) }
        account.frozen = frozen
        overlay.save(account)
    }

    /// New money: the issuance account goes negative by what the target receives.
    mutating func issue(_ issue: Issue) throws(Rejection) {
        try requireCentralBank()
        try requirePositive(issue.amount)
        var issuer = try issuanceAccount(issue.issuer)
        var target = try creditableAccount(issue.target)
        try debit(&issuer, issue.amount, spending: false)
        try credit(&target, issue.amount)
        overlay.save(issuer)
        overlay.save(target)
    }

    /// Money returned to the central bank: the source's own keys must agree (it is debited).
    mutating func redeem(_ redeem: Redeem) throws(Rejection) {
        try requireCentralBank()
        try requirePositive(redeem.amount)
        // The central bank redeems from any institution's account, with that account's keys.
        var source = try ownedAccount(redeem.source, ownInstitution: false)
        var issuer = try issuanceAccount(redeem.issuer)
        try debit(&source, redeem.amount, spending: true)
        try credit(&issuer, redeem.amount)
        overlay.save(source)
        overlay.save(issuer)
    }

    private mutating func issuanceAccount(_ id: AccountID) throws(Rejection) -> AccountRecord {
        guard let account = overlay.account(id) else { throw reject(.accountNotFound) }
        guard account.isIssuance else { throw reject(.notIssuanceAccount) }
        guard meetsQuorum(account.keys) else { throw reject(.quorumNotMet) }
        return account
    }

    mutating func setLimits(_ limits: SetLimits) throws(Rejection) {
        try requireCentralBank()
        guard var account = overlay.account(limits.account) else { throw reject(.accountNotFound) }
        guard (limits.perTransactionMax ?? 0) >= 0, (limits.dailyDebitMax ?? 0) >= 0 else { throw reject(.limitInvalid) }
        if limits.perTransactionMax == nil, limits.dailyDebitMax == nil {
            account.setLimit(limits.currency, nil)
        } else {
            let existing = account.limit(limits.currency)
            account.setLimit(limits.currency, LimitRecord(
                currency: limits.currency, perTransactionMax: limits.perTransactionMax, dailyDebitMax: limits.dailyDebitMax,
                day: existing?.day ?? 0, debitedToday: existing?.debitedToday ?? 0))
        }
        overlay.save(account)
    }

    /// Adds a validator to the next set: it signs from two blocks on (`ValidatorSchedule`).
    mutating func addValidator(_ validator: Validator) throws(Rejection) {
        try requireCentralBank()
        var schedule = overlay.validators()
        guard schedule.next.validator(validator.publicKey) == nil else { throw reject(.validatorExists) }
        guard let next = try? ValidatorSet(schedule.next.validators + [validator]) else { throw reject(.validatorSetInvalid) }
        schedule.next = next
        overlay.set(StateKey.validators, .validators(schedule))
    }

    /// Removes a validator from the next set: it stops signing two blocks on.
    mutating func removeValidator(_ key: Ed25519.PublicKey) throws(Rejection) {
        try requireCentralBank()
        var schedule = overlay.validators()
        guard schedule.next.validator(key) != nil else { throw reject(.validatorNotFound) }
        guard let next = try? ValidatorSet(schedule.next.validators.filter { $0.publicKey != key }) else { throw reject(.validatorSetInvalid) }
        schedule.next = next
        overlay.set(StateKey.validators, .validators(schedule))
    }
}
