import ArgumentParser
import Attestation
import Foundation
import ProvenantCore

struct AttestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Sign an in-toto Statement about FILEs into a DSSE envelope.",
        discussion: "Predicate types: \(Statement.shortTypes.keys.sorted().joined(separator: ", ")), or any URI. Subjects carry sha256 and sha512 digests."
    )
    @Option(name: .long, parsing: .singleValue, help: "Artifact the statement is about (repeatable).")
    var subject: [String] = []
    @Option(name: .long, help: "Predicate type: a short name or a URI.")
    var predicateType: String
    @Option(name: .long, help: "JSON file holding the predicate.")
    var predicate: String
    @Option(name: .long, help: "Private key (PKCS#8 PEM, or encrypted with PROVENANT_KEY_PASSWORD).")
    var key: String
    @Option(name: .shortAndLong, help: "Write the envelope here instead of stdout.")
    var output: String?

    func run() throws {
        guard !subject.isEmpty else { throw ValidationError("at least one --subject is required") }
        do {
            let type = try Statement.predicateType(predicateType)
            guard let pdata = FileManager.default.contents(atPath: predicate),
                  let pobj = try? JSONSerialization.jsonObject(with: pdata) else { CLI.fail("error: \(predicate): predicate is not readable JSON") }
            guard let pem = try? String(contentsOfFile: key, encoding: .utf8) else { CLI.fail("error: \(key): cannot read key") }
            let signer = try SigningKey.load(pem: pem, password: ProcessInfo.processInfo.environment["PROVENANT_KEY_PASSWORD"])
            let statement = Statement(subjects: try Statement.subjects(files: subject), predicateType: type, predicate: pobj)
            let env = try DSSEEnvelope.sign(payload: try statement.payload(), type: DSSEEnvelope.inTotoType, with: signer)
            try CLI.withOutput(output) { sink in sink(Array((env.json + "\n").utf8)) }
        } catch let e as InputError { CLI.fail("error: \(e)") }
    }
}
