import ArgumentParser
import TonleCrypto
import TonleNode

/// `tonle keygen --out FILE`: a new Ed25519 signing key in a 0600 key file.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate an Ed25519 signing key into a new key file (mode 0600).",
        discussion: "Prints the public key. The key file is the only copy of the secret: back it up securely.")

    @Option(name: .shortAndLong, help: "Path of the key file to create.")
    var out: String

    @Flag(help: "Replace the file if it exists.")
    var force = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let key = Ed25519.SigningKey.generate()
        try KeyFileIO.write(key, to: out, overwrite: force)
        if json {
            printJSON(["public_key": key.publicKey.hex, "key_file": out])
        } else {
            print("public key  \(key.publicKey.hex)")
            print("key file    \(out) (mode 0600; keep it secret)")
        }
    }
}

/// `tonle key public FILE`: the public key of a key file.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Inspect key files.", subcommands: [Public.self])

    struct Public: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public key of a key file.")

        @Argument(help: "The key file.")
        var file: String

        func run() throws {
            print(try KeyFileIO.read(file).publicKey.hex)
        }
    }
}
