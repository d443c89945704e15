import TonleCrypto
import TonleTypes

/// An `AccountStatement` as an ISO 20022 BankToCustomerStatementV08 (camt.053.001.08): one `Stmt`
/// per currency, with the opening (OPBD) and closing (CLBD) booked balances and one booked `Ntry`
/// per movement (docs/api.md#statements maps each field). Deterministic: the creation time is the
/// latest block's, so every node writes the same bytes.
public enum Camt053 {
    public static let namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

    public static func document(_ statement: AccountStatement) -> String {
        var xml = XMLText()
        xml.line("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        xml.open("Document xmlns=\"\(namespace)\"")
        xml.open("BkToCstmrStmt")
        xml.open("GrpHdr")
        xml.element("MsgId", "S\(statement.date.description.replacingOccurrences(of: "-", with: ""))H\(statement.height)")
        xml.element("CreDtTm", isoTime(statement.created))
        xml.element("AddtlInf", "Tonle ledger statement of \(statement.account) on \(statement.date) (ICT), as of block \(statement.height)")
        xml.close("GrpHdr")
        for part in statement.currencies { stmt(&xml, statement, part) }
        xml.close("BkToCstmrStmt")
        xml.close("Document")
        return xml.text
    }

    private static func stmt(_ xml: inout XMLText, _ statement: AccountStatement, _ part: AccountStatement.InCurrency) {
        let currency = part.currency.code
        xml.open("Stmt")
        xml.element("Id", "\(statement.date)-\(currency)")
        xml.element("ElctrncSeqNb", "\(statement.date.day)")
        xml.element("CreDtTm", isoTime(statement.created))
        xml.open("FrToDt")
        xml.element("FrDtTm", isoTime(statement.from))
        xml.element("ToDtTm", isoTime(statement.to))
        xml.close("FrToDt")
        xml.open("Acct")
        account(&xml, statement.account)
        xml.element("Ccy", currency)
        xml.element("Nm", statement.account.text)
        xml.close("Acct")
        for (code, minor) in [("OPBD", part.opening), ("CLBD", part.closing)] {
            xml.open("Bal")
            xml.open("Tp")
            xml.open("CdOrPrtry")
            xml.element("Cd", code)
            xml.close("CdOrPrtry")
            xml.close("Tp")
            amount(&xml, "Amt", minor, part.currency)
            xml.element("CdtDbtInd", minor < 0 ? "DBIT" : "CRDT")
            xml.open("Dt")
            xml.element("Dt", statement.date.description)
            xml.close("Dt")
            xml.close("Bal")
        }
        for movement in part.movements { entry(&xml, statement, movement, part.currency) }
        xml.close("Stmt")
    }

    private static func entry(_ xml: inout XMLText, _ statement: AccountStatement, _ movement: AccountStatement.Movement, _ currency: Currency) {
        let indicator = movement.amount < 0 ? "DBIT" : "CRDT"
        xml.open("Ntry")
        xml.element("NtryRef", "\(movement.height):\(movement.index)")
        amount(&xml, "Amt", movement.amount, currency)
        xml.element("CdtDbtInd", indicator)
        xml.open("Sts")
        xml.element("Cd", "BOOK")
        xml.close("Sts")
        xml.open("BookgDt")
        xml.element("DtTm", isoTime(movement.time))
        xml.close("BookgDt")
        xml.open("ValDt")
        xml.element("Dt", statement.date.description)
        xml.close("ValDt")
        xml.open("BkTxCd")
        xml.open("Prtry")
        xml.element("Cd", movement.kind)
        xml.element("Issr", "TONLE")
        xml.close("Prtry")
        xml.close("BkTxCd")
        xml.open("NtryDtls")
        xml.open("TxDtls")
        xml.open("Refs")
        if (1...35).contains(movement.reference.count) { xml.element("EndToEndId", movement.reference) }
        if let uetr = movement.uetr { xml.element("UETR", uetr.description) }
        xml.element("TxId", "\(movement.height):\(movement.index)")
        xml.close("Refs")
        amount(&xml, "Amt", movement.amount, currency)
        xml.element("CdtDbtInd", indicator)
        if let foreign = movement.foreignAmount {
            xml.open("AmtDtls")
            xml.open("InstdAmt")
            xml.element("Amt", foreign.decimalString, attribute: ("Ccy", foreign.currency))
            if let fx = movement.fx, isBaseOneRate(fx.rate) {
                xml.open("CcyXchg")
                xml.element("SrcCcy", foreign.currency)
                xml.element("TrgtCcy", currency.code)
                xml.element("UnitCcy", fx.unitCurrency)
                xml.element("XchgRate", fx.rate)
                if (1...35).contains(fx.quoteID.count) { xml.element("CtrctId", fx.quoteID) }
                xml.element("QtnDt", isoTime(fx.quotedAt))
                xml.close("CcyXchg")
            }
            xml.close("InstdAmt")
            xml.close("AmtDtls")
        }
        if movement.counterparty != nil || movement.counterpartyName != nil {
            // The counterparty pays a credit and is paid by a debit.
            let (party, account) = movement.amount < 0 ? ("Cdtr", "CdtrAcct") : ("Dbtr", "DbtrAcct")
            xml.open("RltdPties")
            if let name = movement.counterpartyName {
                xml.open(party)
                xml.open("Pty")
                xml.element("Nm", name)
                xml.close("Pty")
                xml.close(party)
            }
            if let counterparty = movement.counterparty {
                xml.open(account)
                self.account(&xml, counterparty)
                xml.element("Nm", counterparty.text)
                xml.close(account)
            }
            xml.close("RltdPties")
        }
        if let purpose = movement.purpose, (1...35).contains(purpose.count) {
            xml.open("Purp")
            xml.element("Prtry", purpose)
            xml.close("Purp")
        }
        if !movement.reference.isEmpty {
            xml.open("RmtInf")
            xml.element("Ustrd", String(movement.reference.prefix(140)))
            xml.close("RmtInf")
        }
        xml.element("AddtlTxInf", "transaction \(movement.transaction.digest.hex)")
        xml.close("TxDtls")
        xml.close("NtryDtls")
        xml.close("Ntry")
    }

    /// `Id/Othr/Id` (at most 34 characters): the account id, or for a longer one "TONLE-" and the
    /// first 28 hex digits of its SHA-256 (the full id is in `Nm`).
    private static func account(_ xml: inout XMLText, _ id: AccountID) {
        xml.open("Id")
        xml.open("Othr")
        xml.element("Id", id.text.count <= 34 ? id.text : "TONLE-" + SHA256.hash(Array(id.text.utf8)).hex.prefix(28))
        xml.close("Othr")
        xml.close("Id")
    }

    /// A non-negative amount with its currency (the sign goes in `CdtDbtInd`).
    private static func amount(_ xml: inout XMLText, _ name: String, _ minor: Int64, _ currency: Currency) {
        xml.element(name, decimal(minor.magnitude, exponent: currency.exponent), attribute: ("Ccy", currency.code))
    }

    /// `magnitude` minor units as major units: "1234.50" (exponent 2), "56325" (exponent 0).
    static func decimal(_ magnitude: UInt64, exponent: Int) -> String {
        let digits = String(magnitude), padded = String(repeating: "0", count: max(0, exponent + 1 - digits.count)) + digits
        guard exponent > 0 else { return padded }
        return "\(padded.dropLast(exponent)).\(padded.suffix(exponent))"
    }

    /// ISO 20022 `BaseOneRate`: at most 11 digits, 10 of them after the point.
    static func isBaseOneRate(_ rate: String) -> Bool {
        let parts = rate.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts[0].drop { $0 == "0" }, fraction = parts.count > 1 ? parts[1].reversed().drop { $0 == "0" } : []
        return fraction.count <= 10 && whole.count + fraction.count <= 11
    }

    /// `YYYY-MM-DDThh:mm:ss.sss+07:00`: the instant in Cambodia's time.
    static func isoTime(_ time: Timestamp) -> String {
        let local = time.millisecondsSinceEpoch + BusinessCalendar.offsetMilliseconds
        let day = BusinessDate(day: UInt32(clamping: local / BusinessCalendar.dayMilliseconds))
        let ms = local % BusinessCalendar.dayMilliseconds
        func two(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = ms % 1000
        return "\(day)T\(two(ms / 3_600_000)):\(two(ms / 60_000 % 60)):\(two(ms / 1000 % 60)).\(millis < 100 ? "0" : "")\(millis < 10 ? "0" : "")\(millis)+07:00"
    }
}

/// Indented XML, escaped.
struct XMLText {
    private(set) var text = ""
    private var depth = 0

    mutating func line(_ content: String) { text += String(repeating: "  ", count: depth) + content + "\n" }
    mutating func open(_ tag: String) { line("<\(tag)>"); depth += 1 }
    mutating func close(_ tag: String) { depth -= 1; line("</\(tag)>") }

    mutating func element(_ tag: String, _ value: String, attribute: (String, String)? = nil) {
        let attributes = attribute.map { " \($0.0)=\"\(Self.escape($0.1))\"" } ?? ""
        line("<\(tag)\(attributes)>\(Self.escape(value))</\(tag)>")
    }

    static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
