import ArgumentParser
import Foundation
import TonleCrypto
import TonleNode
import TonleTypes

/// `tonle admin ...`: the central bank's commands. Each is a transaction signed with the keys of a
/// central-bank account (`--creator`, e.g. admin@nbc); the ledger refuses them from anyone else.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Central bank commands: participants, accounts, keys, freezes, issuance, limits, validators.",
        discussion: "Every admin command is signed with --key files of the central-bank account given as --creator, and is printed, or submitted with --submit/--node/--wait.",
        subcommands: [
            CreateParticipant.self, CreateAccount.self, SetKeysCommand.self, Freeze.self, Unfreeze.self, IssueCommand.self, RedeemCommand.self,
            SetLimitsCommand.self, AddValidator.self, RemoveValidator.self, ConfigureGateway.self, SetReferenceRate.self,
        ])

    /// The central-bank account that signs, and the signing options.
    struct Signer: ParsableArguments {
        @Option(help: "The central-bank account that signs (e.g. admin@nbc).") var creator: String
        @OptionGroup var options: SignOptions

        func run(_ command: Command) async throws { try await options.run([command], creator: try Parse.account(creator, "--creator")) }
    }

    struct CreateParticipant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-participant", abstract: "Admit an institution.")
        @Option(help: "Institution id (e.g. aba).") var id: String
        @Option(help: "central_bank, bank, payment_provider or gateway.") var role: String
        @Option(help: "Display name.") var name: String
        @OptionGroup var signer: Signer

        func run() async throws {
            guard let parsedRole = GenesisFile.roles[role] else { throw CLIError("--role: one of \(GenesisFile.roles.keys.sorted().joined(separator: ", "))") }
            let institution = try Parse.institution(id, "--id")
            let participant = try cli("participant") { () throws(DecodeError) in try Participant(id: institution, role: parsedRole, name: name) }
            try await signer.run(.createParticipant(participant))
        }
    }

    struct CreateAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-account", abstract: "Open an account at an admitted institution.")
        @Option(help: "Account id, name@institution.") var id: String
        @Option(name: .customLong("owner-key"), help: "Owner public key (64 hex digits) or key file; repeat for several.") var ownerKeys: [String]
        @Option(help: "How many owner keys must sign (default 1).") var quorum: UInt8 = 1
        @Flag(help: "An issuance account (may go negative; the central bank's).") var issuance = false
        @OptionGroup var signer: Signer

        func run() async throws {
            let keys = try KeySets.parse(ownerKeys, quorum: quorum)
            try await signer.run(.createAccount(TonleTypes.CreateAccount(id: try Parse.account(id, "--id"), keys: keys, flags: issuance ? [.issuance] : [])))
        }
    }

    struct SetKeysCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-keys", abstract: "Replace an account's owner keys and quorum (key rotation, recovery).")
        @Option(help: "The account.") var account: String
        @Option(name: .customLong("owner-key"), help: "New owner public key (hex) or key file; repeat for several.") var ownerKeys: [String]
        @Option(help: "How many must sign.") var quorum: UInt8 = 1
        @OptionGroup var signer: Signer

        func run() async throws {
            try await signer.run(.setKeys(SetKeys(account: try Parse.account(account, "--account"), keys: try KeySets.parse(ownerKeys, quorum: quorum))))
        }
    }

    struct Freeze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Freeze an account: nothing moves in or out until unfrozen.")
        @Argument(help: "The account.") var account: String
        @OptionGroup var signer: Signer
        func run() async throws { try await signer.run(.freeze(try Parse.account(account, "ACCOUNT"))) }
    }

    struct Unfreeze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unfreeze an account.")
        @Argument(help: "The account.") var account: String
        @OptionGroup var signer: Signer
        func run() async throws { try await signer.run(.unfreeze(try Parse.account(account, "ACCOUNT"))) }
    }

    struct IssueCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "issue", abstract: "Issue money from an issuance account to an account.")
        @Option(help: "The issuance account (e.g. issuance@nbc).") var issuer: String
        @Option(help: "The account credited.") var to: String
        @Option(help: "Amount in major units.") var amount: String
        @Option(help: "KHR or USD.") var currency: String
        @OptionGroup var signer: Signer

        func run() async throws {
            try await signer.run(.issue(Issue(issuer: try Parse.account(issuer, "--issuer"), target: try Parse.account(to, "--to"), amount: try Parse.amount(amount, currency))))
        }
    }

    struct RedeemCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "redeem", abstract: "Redeem money from an account back to an issuance account.")
        @Option(help: "The account debited.") var from: String
        @Option(help: "The issuance account.") var issuer: String
        @Option(help: "Amount in major units.") var amount: String
        @Option(help: "KHR or USD.") var currency: String
        @OptionGroup var signer: Signer

        func run() async throws {
            try await signer.run(.redeem(Redeem(source: try Parse.account(from, "--from"), issuer: try Parse.account(issuer, "--issuer"), amount: try Parse.amount(amount, currency))))
        }
    }

    struct SetLimitsCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-limits", abstract: "Set (or with neither option, clear) an account's debit limits in a currency.")
        @Option(help: "The account.") var account: String
        @Option(help: "KHR or USD.") var currency: String
        @Option(help: "Largest single debit, major units.") var perTransaction: String?
        @Option(help: "Largest total debit per UTC day, major units.") var daily: String?
        @OptionGroup var signer: Signer

        func run() async throws {
            let perTransactionMax = try perTransaction.map { text throws(CLIError) in try Parse.amount(text, currency, "--per-transaction").minorUnits }
            let dailyMax = try daily.map { text throws(CLIError) in try Parse.amount(text, currency, "--daily").minorUnits }
            try await signer.run(.setLimits(SetLimits(account: try Parse.account(account, "--account"), currency: try Parse.currency(currency),
                                                      perTransactionMax: perTransactionMax, dailyDebitMax: dailyMax)))
        }
    }

    struct ConfigureGateway: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "configure-gateway", abstract: "Set a gateway's business-date cut-off, limits and correction windows (replacing earlier ones).",
            discussion: "--limit CURRENCY:PER_TRANSACTION:DAILY_INWARD:DAILY_OUTWARD in major units, '-' for none; repeat per currency. Example: --limit KHR:4000000:400000000:200000000")
        @Option(help: "The gateway (institution id).") var gateway: String
        @Option(help: "When the business date rolls over, HH:MM or HH:MM:SS in ICT (00:00: midnight).") var cutoff = "00:00"
        @Option(help: "CURRENCY:PER_TRANSACTION:DAILY_INWARD:DAILY_OUTWARD; repeat per currency.") var limit: [String] = []
        @Option(help: "Business days after an inward payment's own that a refund may come (0: the same date; default: no window).")
        var refundWindowDays: UInt16?
        @Option(help: "Business days after an outward payment's own that a reversal may come (0: the same date; default: no window).")
        var reversalWindowDays: UInt16?
        @Option(help: "CURRENCY:AMOUNT (major units): nodes alert when the gateway's prefund falls below it; repeat per currency.")
        var prefundAlert: [String] = []
        @OptionGroup var signer: Signer

        func run() async throws {
            let parts = cutoff.split(separator: ":").map { UInt32($0) }
            guard (2...3).contains(parts.count), let hours = parts[0], let minutes = parts[1], let seconds = parts.count == 3 ? parts[2] : 0,
                  hours < 24, minutes < 60, seconds < 60 else {
                throw CLIError("--cutoff: HH:MM or HH:MM:SS, e.g. 22:00")
            }
            var limits: [GatewayLimit] = []
            for text in limit {
                let fields = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard fields.count == 4 else { throw CLIError("--limit: CURRENCY:PER_TRANSACTION:DAILY_INWARD:DAILY_OUTWARD ('-' for none)") }
                let value = { (text: String, option: String) throws(CLIError) -> Int64? in
                    text == "-" ? nil : try Parse.amount(text, fields[0], option).minorUnits
                }
                limits.append(GatewayLimit(currency: try Parse.currency(fields[0]), perTransactionMax: try value(fields[1], "--limit per transaction"),
                                           dailyInwardMax: try value(fields[2], "--limit daily inward"), dailyOutwardMax: try value(fields[3], "--limit daily outward")))
            }
            limits.sort { $0.currency < $1.currency }
            var alerts: [Amount] = []
            for text in prefundAlert {
                let fields = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard fields.count == 2 else { throw CLIError("--prefund-alert: CURRENCY:AMOUNT, e.g. USD:10000.00") }
                let threshold = try Parse.amount(fields[1], fields[0], "--prefund-alert")
                guard threshold.minorUnits > 0 else { throw CLIError("--prefund-alert: the threshold must be positive") }
                alerts.append(threshold)
            }
            alerts.sort { $0.currency < $1.currency }
            let id = try Parse.institution(gateway, "--gateway")
            let config = try cli("gateway configuration") { () throws(DecodeError) in
                try GatewayConfig(gateway: id, cutoffMilliseconds: ((hours * 60 + minutes) * 60 + seconds) * 1_000, limits: limits,
                                  refundWindowDays: refundWindowDays, reversalWindowDays: reversalWindowDays, prefundAlerts: alerts)
            }
            try await signer.run(.configureGateway(config))
        }
    }

    struct SetReferenceRate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-reference-rate", abstract: "Publish (or correct) the reference rate of a currency pair for a business date, with its tolerance band.",
            discussion: "Entries whose FX quote for that pair (in that orientation) lies further from it than the band on that business date are refused with REFERENCE_RATE_DEVIATION. Example: --unit CNY --quoted KHR --rate 563.25 --tolerance-bps 150")
        @Option(help: "The unit currency (ISO 4217), e.g. CNY.") var unit: String
        @Option(help: "The quoted currency, e.g. KHR: RATE units of it per unit of --unit.") var quoted: String
        @Option(help: "The rate: 1-12 digits, optionally '.' and 1-10 digits.") var rate: String
        @Option(help: "The band around it, in basis points (1-10000; 100 is 1 %).") var toleranceBps: UInt16
        @Option(help: "Business date YYYY-MM-DD in ICT (default: today).") var date: String?
        @OptionGroup var signer: Signer

        func run() async throws {
            let day: BusinessDate
            if let date {
                guard let parsed = BusinessDate(date) else { throw CLIError("--date: YYYY-MM-DD") }
                day = parsed
            } else {
                // Today by this machine's clock (one set before 1970 counts as 1970, never a trap).
                let now = UInt64(exactly: (Date().timeIntervalSince1970 * 1000).rounded(.down)) ?? 0
                day = BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: now), cutoffMilliseconds: 0)
            }
            let reference = try cli("reference rate") { () throws(DecodeError) in
                try ReferenceRate(unitCurrency: unit, quotedCurrency: quoted, businessDate: day, rate: rate, toleranceBasisPoints: toleranceBps)
            }
            try await signer.run(.setReferenceRate(reference))
        }
    }

    struct AddValidator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-validator", abstract: "Add a validator (or change its power); effective from the next block.")
        @Option(help: "The validator's public key (hex) or key file.") var publicKey: String
        @Option(help: "Voting power.") var power: UInt64 = 1
        @Option(help: "Display name.") var name: String
        @OptionGroup var signer: Signer

        func run() async throws {
            let key = try Parse.publicKey(publicKey, "--public-key")
            try await signer.run(.addValidator(try cli("validator") { () throws(DecodeError) in try Validator(publicKey: key, power: power, name: name) }))
        }
    }

    struct RemoveValidator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-validator", abstract: "Remove a validator; effective from the next block.")
        @Option(help: "The validator's public key (hex) or key file.") var publicKey: String
        @OptionGroup var signer: Signer

        func run() async throws { try await signer.run(.removeValidator(try Parse.publicKey(publicKey, "--public-key"))) }
    }
}

enum KeySets {
    static func parse(_ texts: [String], quorum: UInt8) throws -> KeySet {
        guard !texts.isEmpty else { throw CLIError("--owner-key: at least one") }
        let keys = try texts.map { try Parse.publicKey($0, "--owner-key") }
        return try cli("--quorum") { () throws(DecodeError) in try KeySet(keys: keys, quorum: quorum) }
    }
}
