import ArgumentParser
import Attestation
import Catalog
import Foundation
import ProvenantCore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a Sigstore bundle, DSSE envelope or .intoto.jsonl attestation, offline.",
        discussion: """
        Sigstore bundles (v0.1 to v0.3) are verified keylessly against the trusted root: the Fulcio chain, the SCT, \
        the transparency-log entry with its inclusion proof, checkpoint and SET, RFC 3161 timestamps, the signature, \
        and the certificate's identity and issuer. The Sigstore production trusted root is embedded and used by default. \
        Bare envelopes are verified with --key. Exit 0 when verified, 1 when verification failed, 2 for input errors.

        FILE may be a registry image, registry:HOST/REPO[:TAG][@DIGEST]: its attestations are found and verified \
        against the digest of the manifest the reference names (an index's own digest for a multi-platform image). \
        Looked at: OCI 1.1 referrers of artifact type \(MediaType.sigstoreBundle) (the referrers API, else the \
        sha256-<hex> referrers tag), each bundle verified as a bundle file is (one signed offline with a managed key, \
        with no log entry, as `attest --image` makes, is verified with --key as a bare envelope is); and cosign's \
        sha256-<hex>.att tag, whose DSSE envelopes signed with a key are verified with --key, and keyless ones (with a \
        dev.sigstore.cosign/certificate annotation) as the v0.1 bundle their annotations make: the Rekor SET of \
        dev.sigstore.cosign/bundle by a log key of the trusted root, the logged entry against the envelope, the Fulcio \
        chain at the integrated time, the SCT, identity, issuer and statement; a keyless layer without a Rekor bundle, or \
        with any annotation malformed, fails. As cosign does, the exit is 0 when at least one attestation \
        verifies (failed ones are still reported), 1 when none does or there are none, 2 for input errors.
        """
    )
    @Argument(help: "A Sigstore bundle, a DSSE envelope (JSON) or a .intoto.jsonl file of envelopes.")
    var file: String
    @Option(name: .long, help: "The artifact whose digest a subject must carry.")
    var artifact: String?
    @Option(name: .long, help: "The digest a subject must carry, as ALG:HEX (sha256 or sha512).")
    var digest: String?
    @Option(name: .long, help: "Required predicate type: a short name or a URI.")
    var type: String?
    @Option(name: .long, help: "Public key (SPKI PEM) that must have signed the envelope, or a bundle's managed key.")
    var key: String?
    @Option(name: .long, help: "Sigstore trusted root JSON to verify bundles against (default: the embedded production root).")
    var trustedRoot: String?
    @Option(name: .long, help: "Signer identity the certificate's SAN must equal (keyless bundles).")
    var certificateIdentity: String?
    @Option(name: .long, help: "Regular expression a SAN must match, anywhere unless anchored (keyless bundles).")
    var certificateIdentityRegexp: String?
    @Option(name: .long, help: "OIDC issuer the certificate must name (keyless bundles).")
    var certificateOidcIssuer: String?
    @Option(name: .long, help: "Required SLSA builder id.")
    var builderId: String?
    @Option(name: .long, help: "Required SLSA source URI (a ref after '@' or '#' is allowed).")
    var sourceUri: String?
    @Option(name: .long, help: "Output format: text or json.")
    var format: String = "text"
    @OptionGroup var access: ImageAccessOptions

    func run() async throws {
        guard format == "text" || format == "json" else { throw ValidationError("unknown --format '\(format)'; use text or json") }
        guard certificateIdentity == nil || certificateIdentityRegexp == nil else {
            throw ValidationError("give at most one of --certificate-identity and --certificate-identity-regexp")
        }
        if let re = certificateIdentityRegexp {
            // A pattern that does not compile failed every attestation as a check (exit 1): it is a usage error.
            guard (try? NSRegularExpression(pattern: re)) != nil else {
                throw ValidationError("--certificate-identity-regexp '\(re)' is not a valid regular expression")
            }
            if !Self.isAnchored(re) {
                // Unanchored, `github\.com/acme/` also matches https://evil.example/github.com/acme/….
                CLI.stderr("warning: --certificate-identity-regexp '\(re)' is not anchored with ^…$, so it accepts any identity that merely contains a match; write '^(?:\(re))$' unless that is meant")
            }
        }
        if file.hasPrefix("registry:") {
            guard artifact == nil, digest == nil else { throw ValidationError("--artifact and --digest do not apply to an image: its attestations must name the image's own digest") }
            guard key != nil || ((certificateIdentity ?? certificateIdentityRegexp) != nil && certificateOidcIssuer != nil) else {
                throw ValidationError("an image's attestations are verified with --key, or keylessly with --certificate-identity[-regexp] and --certificate-oidc-issuer")
            }
            let reference: RegistryReference
            do {
                guard case .registry(let r)? = try ImageReference.parse(file) else { throw InputError("not a registry reference") }
                reference = r
            } catch { CLI.fail("error: \(error)") }
            try await ImageVerification(command: self, reference: reference).run()
            return
        }
        guard (artifact == nil) != (digest == nil) else { throw ValidationError("give exactly one of --artifact or --digest") }
        do {
            let report = try verifyFile(try artifactInput())
            emit(report)
            if !report.verified { throw ExitCode(1) }
        } catch let e as InputError {
            CLI.fail("error: \(e)")
        }
    }

    /// Whether every match of `pattern` spans the whole identity: it opens with `^`, closes with an
    /// unescaped `$`, and has no `|` outside groups and classes (`^a.*|b.*$` matches `xb…`: found by
    /// helper-100).
    static func isAnchored(_ pattern: String) -> Bool {
        let b = Array(pattern.utf8)
        guard b.first == UInt8(ascii: "^"), b.count >= 2, b.last == UInt8(ascii: "$") else { return false }
        // A quantifier on the `^` makes it optional: `^?`, `^*` and `^{0}` match mid-text (found by helper-130).
        if b.count > 2, "?*+{".utf8.contains(b[1]) { return false }
        // Comments, quoting and flags (`(?#(`, `\Q(\E`, `(?x)` making `$` a comment) change what the
        // counting below sees: such a pattern is not called anchored (found by review).
        if pattern.contains("(?#") || pattern.contains("\\Q") { return false }
        // Groups without capture and lookarounds are plain; any flag group is not.
        var rest = pattern[...]
        while let r = rest.range(of: "(?") {
            guard let next = rest[r.upperBound...].first, ":=!<".contains(next) else { return false }
            rest = rest[r.upperBound...]
        }
        // Classes nest in ICU's syntax (`[a[bc]]`, `[[a](]`), and a `]` first in a set, after `[` or
        // `[^`, is a literal: `^[[a](]|.*$` ended its class at the first `]`, so the `|` after it was
        // taken to be inside a group and the pattern was called anchored (found by helper-121).
        var i = 0, parens = 0, classDepth = 0
        func openSet() {
            classDepth += 1
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "^") { i += 1 }
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1 }
        }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\") {
                if i + 1 == b.count - 1 { return false }  // the closing `$` is escaped
                i += 2; continue
            }
            if classDepth > 0 {
                if c == UInt8(ascii: "[") { openSet(); continue }
                if c == UInt8(ascii: "]") { classDepth -= 1 }
            }
            else if c == UInt8(ascii: "[") { openSet(); continue }
            else if c == UInt8(ascii: "(") { parens += 1 }
            else if c == UInt8(ascii: ")") { parens = max(0, parens - 1) }
            else if c == UInt8(ascii: "|"), parens == 0 { return false }
            i += 1
        }
        return classDepth == 0
    }

    /// What was asked of the attestation, from the flags.
    func requirements() throws(InputError) -> AttestationRequirements {
        // The key is read, and checked to be a public key, here: its errors name the key's file, not
        // the attestation's (a private key given to --key was blamed on the envelope; helper-121).
        let keyPEM = try key.map(Self.readText)
        if let key, let keyPEM {
            do { _ = try VerifyingKey.load(pem: keyPEM) } catch { throw InputError(error.message, at: Location(key)) }
        }
        return AttestationRequirements(keyPEM: keyPEM, trustedRootPath: trustedRoot,
                                identity: certificateIdentity.map { .exact($0) } ?? certificateIdentityRegexp.map { .regex($0) },
                                issuer: certificateOidcIssuer, predicateType: type, builderID: builderId, sourceURI: sourceUri)
    }

    /// Verifies `file` (a bundle, an envelope, or a `.intoto.jsonl` of envelopes) against `input`.
    /// An input problem throws; a failed check is a report that is not verified.
    func verifyFile(_ input: ArtifactInput) throws(InputError) -> VerificationReport {
        let data = Data(try NamedInputFile.read(file, limit: AttestationDocument.maxBytes))
        let document = try AttestationDocument.parse(data, path: file)
        if case .envelopes = document, key == nil {
            throw InputError("a bare envelope has no certificate: pass the signer's public key with --key", at: Location(file))
        }
        if case .envelopes = document, trustedRoot != nil || certificateIdentity != nil || certificateIdentityRegexp != nil || certificateOidcIssuer != nil {
            throw InputError("--trusted-root and the certificate flags apply to Sigstore bundles; this is a bare envelope", at: Location(file))
        }
        do { return try requirements().verify(document, artifact: input) } catch { throw InputError(error.message, at: error.location ?? Location(file)) }
    }

    /// The checks of an envelope signed with a managed key, as `verify` asks them.
    func keyVerifier(_ pub: VerifyingKey, digests: [String: String], logNote: String) throws(InputError) -> Verifier {
        try AttestationRequirements(predicateType: type, builderID: builderId, sourceURI: sourceUri).keyVerifier(pub, digests: digests, logNote: logNote)
    }

    func artifactInput() throws(InputError) -> ArtifactInput {
        if let a = artifact {
            do { return .file(try ArtifactFile(path: a)) } catch { throw InputError("cannot read artifact", at: Location(a)) }
        }
        let parts = (digest ?? "").split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["sha256", "sha512"].contains(parts[0].lowercased()),
              parts[1].count == (parts[0].lowercased() == "sha256" ? 64 : 128), parts[1].allSatisfy(\.isHexDigit) else {
            throw InputError("--digest must be sha256:<64 hex> or sha512:<128 hex>")
        }
        return .digests([parts[0].lowercased(): parts[1].lowercased()])
    }

    static func readText(_ path: String) throws(InputError) -> String {
        guard let s = String(validating: try NamedInputFile.read(path, limit: SigningKey.maxPEMBytes, what: "key"), as: UTF8.self) else {
            throw InputError("cannot read key: not UTF-8 text", at: Location(path))
        }
        return s
    }

    func emit(_ r: VerificationReport) {
        if format == "json" {
            var obj: [String: Any] = [
                "verified": r.verified,
                "checks": r.passed.map { ["check": $0.check, "result": "passed", "detail": $0.detail] },
                "notRequested": r.notRequested,
            ]
            if let f = r.failure { obj["failure"] = ["check": f.check, "reason": f.reason] }
            if !r.envelopes.isEmpty {
                obj["envelopes"] = r.envelopes.map { e -> [String: Any] in
                    var o: [String: Any] = ["index": e.index, "verified": e.verified]
                    if let l = e.line { o["line"] = l }
                    if let f = e.failure { o["failure"] = f }
                    if let t = e.predicateType, e.verified { o["predicateType"] = t }
                    return o
                }
            }
            let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if let f = r.failure {
            Self.line("verification FAILED: \(f)")
            Self.envelopeLines(r)
            return
        }
        if let v = r.verifiedEnvelope, !r.envelopes.isEmpty {
            Self.line("verified: \(file): \(r.envelopes.filter(\.verified).count) of \(r.envelopes.count) envelopes, the checks below for the one at \(v.place)")
        } else {
            Self.line("verified: \(file)")
        }
        Self.details(r)
        Self.envelopeLines(r)
    }

    /// Each envelope of a file of several, and how it fared.
    static func envelopeLines(_ r: VerificationReport) {
        for e in r.envelopes {
            line(e.verified ? "  envelope at \(e.place): verified" : "  envelope at \(e.place): FAILED \(e.failure ?? "")")
        }
    }

    /// One line of the text report. Reasons and details can quote the attestation or the registry (a
    /// certificate's names, a logged entry's kind): control characters are escaped, so no line of the
    /// report can be written by the input.
    static func line(_ text: String) { print(Redactor.escapeForTerminal(text)) }

    /// The checks that passed and what was not checked, under a `verified:` line.
    static func details(_ r: VerificationReport) {
        for p in r.passed { line("  ✓ \(p.check): \(p.detail)") }
        for n in r.notRequested { line("  - not checked: \(n)") }
    }
}
