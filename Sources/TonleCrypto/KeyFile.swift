/// The text format of a signing-key file (docs/keys.md). Encoding and decoding only: reading and
/// writing the file, with mode 0600, is the job of the program at the I/O edge (CLI, node).
///
/// ```
/// # Tonle signing key. Secret: keep this file mode 0600 and never share it.
/// tonle-signing-key: 1
/// algorithm: ed25519
/// public-key: <64 lower-case hex digits>
/// seed: <64 lower-case hex digits: the RFC 8032 private key>
/// ```
/// Blank lines and lines starting with `#` are ignored; every field appears exactly once; the
/// public key must be the one the seed derives (a check against corruption and mix-ups).
public enum KeyFile {
    /// A key file is a few hundred bytes; anything much larger is not one.
    public static let textBytesMax = 4_096
    public static let version = "1"
    public static let algorithm = "ed25519"

    /// The file's text for `key`.
    public static func encode(_ key: Ed25519.SigningKey) -> String {
        """
        # Tonle signing key. Secret: keep this file mode 0600 and never share it.
        tonle-signing-key: \(version)
        algorithm: \(algorithm)
        public-key: \(key.publicKey.hex)
        seed: \(key.seed.hex)

        """
    }

    /// The key in a file's text. Errors name the line or field but never echo its contents.
    public static func decode(_ text: String) throws(KeyFileError) -> Ed25519.SigningKey {
        guard text.utf8.count <= textBytesMax else { throw .tooLarge(bytes: text.utf8.count) }
        let fields = try parseFields(text)
        guard let version = fields["tonle-signing-key"] else { throw .missingField("tonle-signing-key") }
        guard version == KeyFile.version else { throw .unsupportedVersion }
        guard let algorithm = fields["algorithm"] else { throw .missingField("algorithm") }
        guard algorithm == KeyFile.algorithm else { throw .unsupportedAlgorithm }
        guard let seedHex = fields["seed"] else { throw .missingField("seed") }
        guard let publicHex = fields["public-key"] else { throw .missingField("public-key") }
        guard isLowerHex64(seedHex), let seed = Bytes32(hex: seedHex) else { throw .badHex(field: "seed") }
        guard isLowerHex64(publicHex), let publicKey = Ed25519.PublicKey(hex: publicHex) else {
            throw .badHex(field: "public-key")
        }
        let key = Ed25519.SigningKey(seed: seed)
        guard key.publicKey == publicKey else { throw .publicKeyMismatch }
        return key
    }

    private static let knownFields: Set<String> = ["tonle-signing-key", "algorithm", "public-key", "seed"]

    private static func parseFields(_ text: String) throws(KeyFileError) -> [String: String] {
        var fields: [String: String] = [:]
        // "\r\n" is a single Character in Swift, so both line endings are separators here.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, line) in lines.enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":"),
                  line[line.index(after: colon)...].hasPrefix(" ")
            else { throw .malformedLine(index + 1) }
            let name = String(line[..<colon])
            let value = String(line[line.index(colon, offsetBy: 2)...])
            guard knownFields.contains(name) else { throw .malformedLine(index + 1) }
            guard fields.updateValue(value, forKey: name) == nil else { throw .duplicateField(name) }
        }
        return fields
    }

    private static func isLowerHex64(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// Why a key file's text is not a usable key. Never carries the text itself.
public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLarge(bytes: Int)
    case malformedLine(Int)
    case duplicateField(String)
    case missingField(String)
    case unsupportedVersion
    case unsupportedAlgorithm
    case badHex(field: String)
    case publicKeyMismatch

    public var description: String {
        switch self {
        case .tooLarge(let bytes):
            "key file is \(bytes) bytes, more than \(KeyFile.textBytesMax): not a Tonle key file"
        case .malformedLine(let line):
            "line \(line) is not 'name: value' with a known name (tonle-signing-key, algorithm, public-key, seed)"
        case .duplicateField(let name): "field '\(name)' appears more than once"
        case .missingField(let name): "field '\(name)' is missing"
        case .unsupportedVersion: "unsupported key file version (this build reads version \(KeyFile.version))"
        case .unsupportedAlgorithm: "unsupported algorithm (this build reads \(KeyFile.algorithm))"
        case .badHex(let field): "field '\(field)' must be 64 lower-case hexadecimal digits"
        case .publicKeyMismatch: "the public key does not match the seed: the file is corrupt or was edited"
        }
    }
}
