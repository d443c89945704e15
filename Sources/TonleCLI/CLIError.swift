/// A failure the user can act on: the message says what went wrong and what to do.
/// The command prints it as `error: MESSAGE` and exits with `exitCode` (docs/cli.md).
public struct CLIError: Error, CustomStringConvertible {
    public let message: String
    public let exitCode: Int32
    public init(_ message: String, exitCode: Int32 = 1) { (self.message, self.exitCode) = (message, exitCode) }
    public var description: String { message }
}

/// The ranges of the CLI's own numeric options; each command's `validate()` refuses anything
/// outside them before it builds or sends anything (a number from a user is parsed into its range).
enum CLILimits {
    /// `--wait`: long enough for any block, short enough to add seconds to without a care.
    static let waitSecondsMax: UInt64 = 3_600
    /// `--quote-valid-for`: a day.
    static let quoteValiditySecondsMax: UInt64 = 86_400
    /// `khqr encode --expires-in-minutes`: a year.
    static let khqrLifetimeMinutesMax: UInt64 = 366 * 24 * 60
    /// Times given in Unix milliseconds (`--now`, `--quoted-at-ms`): the year 9999, so a lifetime can be added.
    static let timeMillisecondsMax: UInt64 = 253_402_300_799_999
}
