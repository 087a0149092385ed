import ArgumentParser
import Attestation
import Foundation

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Manage signing keys.", subcommands: [KeyGenerate.self])
}

struct KeyGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM).",
        discussion: "With PROVENANT_KEY_PASSWORD set, NAME.key is sealed with ChaCha20-Poly1305 under a key derived by scrypt (N=2^15, r=8, p=1) from the password. An existing NAME.key is never overwritten."
    )
    @Option(name: .long, help: "Key type: ecdsa-p256 or ed25519.")
    var type: String = "ecdsa-p256"
    @Option(name: .shortAndLong, help: "Base name of the two files to write.")
    var output: String

    func run() throws {
        guard let t = SigningKey.KeyType(rawValue: type) else { throw ValidationError("unknown --type '\(type)'; use ecdsa-p256 or ed25519") }
        // An empty name, or one ending in '/', would write hidden '.key' and '.pub' files (helper-121).
        guard !output.isEmpty, !output.hasSuffix("/"), output.split(separator: "/").last.map({ $0 != "." && $0 != ".." }) ?? false else {
            throw ValidationError("-o needs a file name for NAME.key and NAME.pub, not '\(output)'")
        }
        let key = SigningKey.generate(t)
        let password = ProcessInfo.processInfo.environment["PROVENANT_KEY_PASSWORD"]
        // Set but empty (a CI secret that expanded to nothing) reads as no password: said, so a key the
        // user meant sealed is not written in the clear without a word (helper-150).
        if password == "" { CLI.stderr("warning: PROVENANT_KEY_PASSWORD is set but empty: \(output).key is written unencrypted") }
        do { try key.write(to: output, password: password) } catch { CLI.fail("error: \(error)") }
        print("wrote \(output).key and \(output).pub (\(t.rawValue), key id \(key.publicKey.keyID.prefix(16)))")
    }
}
