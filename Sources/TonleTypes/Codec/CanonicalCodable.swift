/// A value with one canonical byte encoding.
public protocol CanonicalCodable: Sendable {
    func encode(to writer: inout CanonicalWriter)
    init(from reader: inout CanonicalReader) throws(DecodeError)
}

/// The first byte of every top-level encoding: separates the domains of everything hashed or
/// signed, so the bytes of one kind can never be taken for another.
public enum MessageKind: UInt8, Sendable, CaseIterable {
    case transactionBody = 0x01
    case transaction = 0x02
    case blockHeader = 0x03
    case block = 0x04
    case voteBody = 0x05
    case vote = 0x06
    case proposalBody = 0x07
    case proposal = 0x08
    case commitCertificate = 0x09
    case validatorSet = 0x0a
    case genesis = 0x0b
    /// The results of a block's transactions (TonleLedger); its hash is the next header's `lastResultsHash`.
    case blockResults = 0x0c
}

/// A top-level value: encoded with a header (kind, version) and decodable on its own from bytes
/// that must contain it exactly.
public protocol CanonicalMessage: CanonicalCodable, Equatable {
    static var kind: MessageKind { get }
    static var version: UInt8 { get }
    /// Inputs longer than this are refused before decoding starts.
    static var encodedBytesMax: Int { get }
}

extension CanonicalMessage {
    public static var version: UInt8 { 1 }

    /// The canonical bytes.
    public var encoded: [UInt8] {
        var writer = CanonicalWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes `bytes`, which must be exactly one canonical encoding of this kind.
    public init(canonical bytes: [UInt8]) throws(DecodeError) {
        guard bytes.count <= Self.encodedBytesMax else {
            throw .messageTooLarge(bytes: bytes.count, max: Self.encodedBytesMax)
        }
        var reader = CanonicalReader(bytes)
        self = try Self(from: &reader)
        try reader.finish()
    }
}
