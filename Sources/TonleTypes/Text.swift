/// Free text carried in transactions (references, names, purposes): valid UTF-8 of at most a
/// field's named number of bytes, with no control characters (C0, DEL, C1), so that what a
/// statement prints is what was signed.
public enum TextRules {
    public static func check(_ text: String, field: String, max: Int) throws(DecodeError) {
        guard text.utf8.count <= max else { throw .tooLarge(field: field, count: text.utf8.count, max: max) }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }) {
            throw .invalidValue(field: field, reason: "control characters are not allowed")
        }
    }
}
