import ArgumentParser
import Attestation
import Foundation
import ProvenantCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a DSSE envelope or .intoto.jsonl attestation against a public key, offline.",
        discussion: "Exit 0 when verified, 1 when verification failed, 2 for input errors. Keyless verification of Sigstore bundles is not part of this build: a bundle is refused with exit 2, never reported as verified."
    )
    @Argument(help: "A DSSE envelope (JSON) or a .intoto.jsonl file of envelopes.")
    var file: String
    @Option(name: .long, help: "The artifact whose digest a subject must carry.")
    var artifact: String?
    @Option(name: .long, help: "The digest a subject must carry, as ALG:HEX (sha256 or sha512).")
    var digest: String?
    @Option(name: .long, help: "Required predicate type: a short name or a URI.")
    var type: String?
    @Option(name: .long, help: "Public key (SPKI PEM) that must have signed the envelope.")
    var key: String?
    @Option(name: .long, help: "Required SLSA builder id.")
    var builderId: String?
    @Option(name: .long, help: "Required SLSA source URI (a ref after '@' or '#' is allowed).")
    var sourceUri: String?
    @Option(name: .long, help: "Output format: text or json.")
    var format: String = "text"

    func run() throws {
        guard format == "text" || format == "json" else { throw ValidationError("unknown --format '\(format)'; use text or json") }
        guard (artifact == nil) != (digest == nil) else { throw ValidationError("give exactly one of --artifact or --digest") }
        do {
            guard let keyPath = key else {
                throw InputError("no --key given: keyless (Sigstore certificate) verification is not available in this build")
            }
            guard let pem = try? String(contentsOfFile: keyPath, encoding: .utf8) else { throw InputError("cannot read key", at: Location(keyPath)) }
            let pub = try VerifyingKey.load(pem: pem)
            var digests: [String: String]
            if let a = artifact { digests = try SubjectMatches.digests(ofFile: a) } else {
                let parts = (digest ?? "").split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, ["sha256", "sha512"].contains(parts[0].lowercased()),
                      parts[1].count == (parts[0].lowercased() == "sha256" ? 64 : 128), parts[1].allSatisfy(\.isHexDigit) else {
                    throw InputError("--digest must be sha256:<64 hex> or sha512:<128 hex>")
                }
                digests = [parts[0].lowercased(): parts[1].lowercased()]
            }
            var policies: [any VerificationPolicy] = [SignedByKey(key: pub), IsInTotoStatement(), SubjectMatches(digests: digests)]
            var notRequested: [String] = []
            if let t = type { policies.append(PredicateTypeIs(try Statement.predicateType(t))) } else { notRequested.append("predicate type") }
            if let b = builderId { policies.append(BuilderIs(b)) } else { notRequested.append("builder id") }
            if let s = sourceUri { policies.append(SourceIs(s)) } else { notRequested.append("source uri") }
            notRequested += ["certificate identity and issuer (no certificate: key-based verification)", "transparency log"]
            let envelopes = try Self.envelopes(file)
            let verifier = Verifier(policies: policies, notRequested: notRequested)
            // An .intoto.jsonl passes when one of its envelopes passes every check.
            let reports = envelopes.map { verifier.verify($0) }
            guard let report = reports.first(where: \.verified) ?? reports.last else { throw InputError("no envelope found", at: Location(file)) }
            emit(report)
            if !report.verified { throw ExitCode(1) }
        } catch let e as InputError {
            CLI.fail("error: \(e)")
        }
    }

    static func envelopes(_ path: String) throws(InputError) -> [DSSEEnvelope] {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else { throw InputError("cannot read file", at: Location(path)) }
        if let size = attrs[.size] as? Int, size > DSSEEnvelope.maxPayload * 2 { throw InputError("file is larger than 128 MiB; refused", at: Location(path)) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw InputError("cannot read file as UTF-8 text", at: Location(path))
        }
        var out: [DSSEEnvelope] = []
        let lines = text.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
        // A whole-file JSON object first; otherwise one envelope per line (.intoto.jsonl).
        let docs: [(Int?, Substring)] = (try? JSONSerialization.jsonObject(with: data)) != nil ? [(nil, Substring(text))] : lines.enumerated().map { ($0.offset + 1, $0.element) }
        for (line, doc) in docs {
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(doc.utf8))) as? [String: Any] else {
                throw InputError("malformed JSON", at: Location(path, line: line))
            }
            if obj["mediaType"] as? String != nil, (obj["mediaType"] as? String)?.contains("sigstore.bundle") == true {
                throw InputError("a Sigstore bundle: keyless bundle verification is not available in this build", at: Location(path, line: line))
            }
            // cosign's .intoto.jsonl wraps the envelope fields directly; some tools nest them.
            let env = (obj["dsseEnvelope"] as? [String: Any]) ?? obj
            do { out.append(try DSSEEnvelope.parse(env)) } catch { throw InputError(error.message, at: Location(path, line: line)) }
        }
        guard !out.isEmpty else { throw InputError("no envelope found", at: Location(path)) }
        return out
    }

    func emit(_ r: VerificationReport) {
        if format == "json" {
            var obj: [String: Any] = [
                "verified": r.verified,
                "checks": r.passed.map { ["check": $0.check, "result": "passed", "detail": $0.detail] },
                "notRequested": r.notRequested,
            ]
            if let f = r.failure { obj["failure"] = ["check": f.check, "reason": f.reason] }
            let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if let f = r.failure {
            print("verification FAILED: \(f)")
            return
        }
        print("verified: \(file)")
        for p in r.passed { print("  ✓ \(p.check): \(p.detail)") }
        for n in r.notRequested { print("  - not checked: \(n)") }
    }
}
