import ArgumentParser
import Foundation
import KHQR
import TonleTypes

/// `tonle khqr encode|decode`: make and check KHQR payloads offline (docs/khqr.md).
struct KHQRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "khqr", abstract: "Encode or strictly decode a KHQR payment code (offline).",
        subcommands: [Decode.self, Encode.self])

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode a KHQR payload and print every field; exit 1 with the specific error if it is invalid.")

        @Argument(help: "The payload, as scanned.") var payload: String
        @Flag(help: "Print the fields as JSON.") var json = false
        @Option(help: "The time to check expiry against, in Unix milliseconds (default: now).") var now: UInt64?

        func run() throws {
            let now = self.now ?? UInt64(Date().timeIntervalSince1970 * 1000)
            let code: KHQR
            do { code = try KHQR.decode(payload, nowMilliseconds: now) } catch { throw CLIError("\(error.code): \(error)") }
            let fields = describe(code)
            if json {
                var object: [String: Any] = ["valid": true]
                for (key, value) in fields { object[key] = value }
                printJSON(object)
            } else {
                printFields(fields.map { ($0.0.replacingOccurrences(of: "_", with: " "), "\($0.1)") })
            }
        }

        /// Every field present, in a stable order, with JSON-ready values.
        func describe(_ code: KHQR) -> [(String, Any)] {
            var out: [(String, Any)] = [
                ("type", code.isDynamic ? "dynamic" : "static"), ("account_kind", code.accountKind.rawValue),
                ("bakong_account_id", code.bakongAccountID),
            ]
            func add(_ key: String, _ value: Any?) { if let value { out.append((key, value)) } }
            add(code.accountKind == .individual ? "account_information" : "merchant_id", code.accountInformation)
            add("acquiring_bank", code.acquiringBank)
            add("unionpay_merchant_account", code.unionPayMerchantAccount)
            out += [("merchant_category_code", code.merchantCategoryCode), ("currency", code.currency.code)]
            add("amount", code.amountMinorUnits.map { KHQR.formatAmount($0, code.currency) })
            add("amount_minor_units", code.amountMinorUnits)
            out += [("country_code", code.countryCode), ("merchant_name", code.merchantName), ("merchant_city", code.merchantCity)]
            add("bill_number", code.billNumber)
            add("mobile_number", code.mobileNumber)
            add("store_label", code.storeLabel)
            add("terminal_label", code.terminalLabel)
            add("purpose", code.purpose)
            add("language_preference", code.languagePreference)
            add("alternate_merchant_name", code.alternateMerchantName)
            add("alternate_merchant_city", code.alternateMerchantCity)
            add("created_at_ms", code.createdAtMilliseconds)
            add("expires_at_ms", code.expiresAtMilliseconds)
            for field in code.otherAdditionalData { out.append(("additional_data_\(field.tag)", field.value)) }
            for field in code.otherFields { out.append(("tag_\(field.tag)", field.value)) }
            return out
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a KHQR payload: static without --amount, dynamic (one payment, with an expiry) with it.")

        @Option(help: "The Bakong account paid, name@bank.") var account: String
        @Option(help: "Merchant name (at most 25 characters).") var name: String
        @Option(help: "Merchant city (at most 15 characters).") var city = "Phnom Penh"
        @Option(help: "KHR or USD.") var currency: String
        @Option(help: "Amount in major units (15000 riel, 12.50 dollars): makes a dynamic code.") var amount: String?
        @Option(help: "Merchant id: makes a merchant code (tag 30); needs --acquiring-bank.") var merchantID: String?
        @Option(help: "Acquiring bank.") var acquiringBank: String?
        @Option(help: "Merchant category code.") var category = "5999"
        @Option(help: "Bill number.") var bill: String?
        @Option(help: "Mobile number.") var mobile: String?
        @Option(help: "Store label.") var store: String?
        @Option(help: "Terminal label.") var terminal: String?
        @Option(help: "Purpose of transaction.") var purpose: String?
        @Option(help: "Creation time in Unix milliseconds (default: now).") var now: UInt64?
        @Option(help: "A dynamic code expires this many minutes after creation.") var expiresInMinutes: UInt64 = 24 * 60

        func validate() throws {
            guard (1...CLILimits.khqrLifetimeMinutesMax).contains(expiresInMinutes) else {
                throw ValidationError("--expires-in-minutes is 1 to \(CLILimits.khqrLifetimeMinutesMax) (a year)")
            }
            if let now, now > CLILimits.timeMillisecondsMax { throw ValidationError("--now is at most \(CLILimits.timeMillisecondsMax)") }
        }

        func run() throws {
            guard let ledgerCurrency = TonleTypes.Currency(code: currency), let khqrCurrency = KHQR.Currency.allCases.first(where: { $0.code == currency }) else {
                throw CLIError("--currency must be KHR or USD")
            }
            var minor: Int64?
            if let amount {
                do { minor = try Amount(parsing: amount, currency: ledgerCurrency).minorUnits } catch { throw CLIError("--amount: \(error)") }
            }
            let now = self.now ?? UInt64(Date().timeIntervalSince1970 * 1000)
            let code = KHQR(
                isDynamic: minor != nil, accountKind: merchantID == nil ? .individual : .merchant, bakongAccountID: account,
                accountInformation: merchantID, acquiringBank: acquiringBank, merchantCategoryCode: category, currency: khqrCurrency,
                amountMinorUnits: minor, merchantName: name, merchantCity: city, billNumber: bill, mobileNumber: mobile, storeLabel: store,
                terminalLabel: terminal, purpose: purpose, createdAtMilliseconds: now,
                expiresAtMilliseconds: minor == nil ? nil : now + expiresInMinutes * 60_000)
            do { print(try code.encode()) } catch { throw CLIError("\(error.code): \(error)") }
        }
    }
}
