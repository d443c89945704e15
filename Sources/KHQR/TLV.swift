/// CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, no reflection, no final xor) over
/// the UTF-8 bytes of `text`. The check value of "123456789" is 0x29B1.
public func crc16CCITTFalse(_ text: String) -> UInt16 {
    var crc: UInt16 = 0xFFFF
    for byte in text.utf8 {
        crc ^= UInt16(byte) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
    }
    return crc
}

/// Four upper-case hex digits.
func hex4(_ value: UInt16) -> String {
    let digits = Array("0123456789ABCDEF".unicodeScalars)
    return String(String.UnicodeScalarView((0..<4).map { digits[Int(value >> UInt16(12 - 4 * $0)) & 0xF] }))
}

/// One tag-length-value field. Lengths count Unicode scalars (not bytes, not `Character`s).
struct TLVField {
    let tag: String
    let value: String
    /// Where the field starts, in scalars from the start of the enclosing value (for errors).
    let offset: Int
}

enum TLV {
    /// Splits `text` into fields. Tags and lengths are two ASCII digits; a value may not run past
    /// the end; a tag may appear once.
    static func split(_ text: String, base: Int = 0) throws(KHQRError) -> [TLVField] {
        let scalars = Array(text.unicodeScalars)
        var fields: [TLVField] = []
        var seen: Set<String> = []
        var index = 0
        while index < scalars.count {
            guard index + 4 <= scalars.count else { throw .malformed(offset: base + index, reason: "a field needs a 2-digit tag and a 2-digit length") }
            guard let tag = digits(scalars[index..<index + 2]) else { throw .malformed(offset: base + index, reason: "the tag is not two digits") }
            guard let lengthText = digits(scalars[index + 2..<index + 4]), let length = Int(lengthText) else {
                throw .malformed(offset: base + index, reason: "the length of tag \(tag) is not two digits")
            }
            let start = index + 4
            guard start + length <= scalars.count else {
                throw .malformed(offset: base + index, reason: "tag \(tag) declares \(length) characters but only \(scalars.count - start) remain")
            }
            guard seen.insert(tag).inserted else { throw .duplicateTag(tag) }
            let value = String(String.UnicodeScalarView(scalars[start..<start + length]))
            fields.append(TLVField(tag: tag, value: value, offset: base + index))
            index = start + length
        }
        return fields
    }

    private static func digits(_ scalars: ArraySlice<Unicode.Scalar>) -> String? {
        guard scalars.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return String(String.UnicodeScalarView(scalars))
    }

    /// `TT LL V`, the length in scalars (the caller has checked it is at most 99).
    static func field(_ tag: String, _ value: String) -> String {
        let length = value.unicodeScalars.count
        precondition(length <= 99, "a KHQR value has at most 99 characters")
        return tag + (length < 10 ? "0" : "") + String(length) + value
    }
}
