import ArgumentParser
import Catalog
import Foundation
import ProvenantCore
import Secrets

struct SecretsRedactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redact",
        abstract: "Copy standard input to standard output with every detected or known secret replaced by [REDACTED:<rule>].",
        discussion: "A streaming filter for an agent's logs before they leave the host: memory stays bounded, and a secret split between two reads is still caught. UTF-16 text is redacted and written back in UTF-16; a compressed or archived input is refused (exit 2), nothing written. It applies the known values (--known), the high-confidence rules (distinctive prefixes and formats) and the generic assignment detector; the context rules that need a provider name nearby are left to `secrets scan`. A stream whose keywords repeat too densely for every candidate to be checked within the budget is still written out, redacted as far as it was checked, but the run fails closed: exit 1 unless --allow-unchecked is given. Exit codes: 0 success, 1 some of the input was not checked, 2 usage or input error."
    )
    @OptionGroup var known: KnownSecretsOption
    @Flag(name: .long, help: "Exit 0 even when keywords repeat too densely for every candidate to be checked (a secret among them may have passed unredacted).")
    var allowUnchecked = false

    func run() throws {
        // Logs stream through at hundreds of MB/s: high-confidence rules, known values and the generic
        // detector; the context rules (medium and low confidence) are left to `secrets scan` at rest.
        // A bare assignment after any field boundary of a line is taken: logs write `… INFO password=…`.
        let engine = SecretsEngineLoader.engine(known: known.known, minimumConfidence: .high, assignmentsAnywhere: true)
        // Reading ahead and writing behind on their own threads overlap the kernel's copies with the scan.
        let input = ReadAhead(fd: STDIN_FILENO, name: "standard input")
        let output = WriteBehind(fd: STDOUT_FILENO, name: "standard output")
        var unchecked = false
        do throws(StreamIOError) {
            let (_, refused) = try StreamRedactor(engine: engine).runDetecting(read: { (buffer: inout [UInt8], max: Int) throws(StreamIOError) -> Int in
                // A pause of a quarter second settles what came up to its last whole line.
                try input.read(into: &buffer, max: max, idleAfter: 0.25)
            }, write: { (bytes: [UInt8]) throws(StreamIOError) in
                try output.write(bytes)
            }, incomplete: {
                unchecked = true
                CLI.stderr("warning: standard input: keywords repeat too densely to check every candidate; some were not checked, and a secret among them may have passed unredacted")
            })
            try output.finish()
            if let refused {
                input.stop()
                CLI.fail("error: standard input is \(refused), which redact cannot rewrite: nothing was written; decompress or unpack it first")
            }
        } catch {
            input.stop()
            CLI.fail("error: \(error)")
        }
        // Fail closed: what was not checked may have let a secret through, and a pipeline must hear it.
        if unchecked && !allowUnchecked {
            CLI.stderr("error: standard input was not fully checked; pass --allow-unchecked to accept that")
            throw ExitCode(1)
        }
    }
}
