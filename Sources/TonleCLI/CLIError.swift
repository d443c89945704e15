/// A failure the user can act on: the message says what went wrong and what to do.
/// The command prints it as `error: MESSAGE` and exits with `exitCode` (docs/cli.md).
public struct CLIError: Error, CustomStringConvertible {
    public let message: String
    public let exitCode: Int32
    public init(_ message: String, exitCode: Int32 = 1) { (self.message, self.exitCode) = (message, exitCode) }
    public var description: String { message }
}
