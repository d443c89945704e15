/// A failure the user can act on: the message says what went wrong and what to do.
/// The command prints it as `error: MESSAGE` and exits 1.
public struct CLIError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
