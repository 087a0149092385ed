import Advisories
import ArgumentParser
import Attestation
import Catalog
import Drift
import Foundation
import ProvenantCore

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare a target with its approved baseline: tampered, added, removed, moved and look-alike packages, and changed configuration.",
        discussion: """
        Each side is an SBOM (CycloneDX or SPDX JSON, or Provenant's json inventory), a directory, a lockfile or an image. \
        Packages are paired by purl without qualifiers; a component without a purl is paired by name, and the report says so. \
        Rules: drift:tampered (critical: same version, different content), drift:downgraded, drift:source-changed, \
        drift:lookalike and drift:config-changed (high), drift:new-transitive and drift:install-script (medium), \
        drift:added, drift:removed, drift:upgraded and drift:license-changed (low). --policy approves expected change; \
        approved findings are listed apart and never fail the run. With --baseline-attestation, the baseline is trusted only \
        when the attestation verifies and its subject is the baseline file; a failed verification exits 1 with the reason. \
        Exit codes: 0 success, 1 an unapproved finding reached --fail-on (or the baseline did not verify), 2 usage or input error.
        """
    )

    @Argument(help: "The approved baseline: an SBOM, inventory, directory, lockfile or image.")
    var baseline: String
    @Argument(help: "What is there now, in any of the same forms.")
    var current: String
    @Option(name: .long, help: "YAML that approves expected change (patch-upgrades, minor-upgrades of named packages, additions matching a glob), each rule with an optional expires date.")
    var policy: String?
    @Option(name: .long, help: "A file of package names (one per line, # comments) a new package must not look like.")
    var names: String?
    @Option(name: .long, help: "Output format: table, json or sarif (2.1.0).")
    var format: String = "table"
    @Option(name: .shortAndLong, help: "Write the report here instead of stdout.")
    var output: String?
    @OptionGroup var failOn: FailOnOption
    @Flag(name: .long, help: "With --fail-on: do not fail for input that could not be read or compared (NOT CHECKED).")
    var allowUnchecked = false
    @OptionGroup var catalog: CatalogOptions

    @Option(name: .long, help: "A signed attestation (DSSE envelope or Sigstore bundle) whose subject is the BASELINE file; the baseline is used only after it verifies.")
    var baselineAttestation: String?
    @Option(name: .long, help: "With --baseline-attestation: the public key (SPKI PEM) that signed it.")
    var key: String?
    @Option(name: .long, help: "With --baseline-attestation: the Sigstore trusted root for a keyless bundle (default: the embedded production root).")
    var trustedRoot: String?
    @Option(name: .long, help: "With --baseline-attestation: the signer identity a keyless bundle's certificate must carry.")
    var certificateIdentity: String?
    @Option(name: .long, help: "With --baseline-attestation: a regular expression the identity must match.")
    var certificateIdentityRegexp: String?
    @Option(name: .long, help: "With --baseline-attestation: the OIDC issuer the certificate must name.")
    var certificateOidcIssuer: String?
    @Option(name: .long, help: "With --baseline-attestation: the required predicate type.")
    var type: String?

    func validate() throws {
        guard ["table", "json", "sarif"].contains(format) else { throw ValidationError("unknown --format '\(format)'; use table, json or sarif") }
        let verifyFlags = [key, trustedRoot, certificateIdentity, certificateIdentityRegexp, certificateOidcIssuer, type]
        if baselineAttestation == nil, verifyFlags.contains(where: { $0 != nil }) {
            throw ValidationError("--key, --trusted-root, --type and the certificate flags apply to --baseline-attestation")
        }
        if baselineAttestation != nil, key == nil, certificateIdentity == nil && certificateIdentityRegexp == nil || certificateOidcIssuer == nil {
            throw ValidationError("--baseline-attestation is verified with --key, or keylessly with --certificate-identity[-regexp] and --certificate-oidc-issuer")
        }
    }

    func run() async throws {
        // Refused before any work: a policy or names file that cannot be read is exit 2.
        let policyFile: DriftPolicy?
        do { policyFile = try policy.map(DriftPolicy.load) } catch { CLI.fail("error: --policy \(error)") }
        var known: [String] = []
        if let n = names {
            do {
                let text = String(decoding: try NamedInputFile.read(n, limit: 64 << 20, what: "the package names", regularOnly: true), as: UTF8.self)
                // Package names are short (npm's limit is 214); the index holds a key per character.
                // The line and the limit are named (found by helper-170: one message for both).
                for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let name = line.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard !name.isEmpty, !name.hasPrefix("#") else { continue }
                    guard name.utf8.count <= 214 else {
                        CLI.fail("error: --names \(n):\(i + 1): a name of \(name.utf8.count) bytes; names are at most 214 bytes")
                    }
                    known.append(name)
                    guard known.count <= 100_000 else { CLI.fail("error: --names \(n):\(i + 1): more than 100000 names") }
                }
            } catch { CLI.fail("error: --names \(error)") }
        }
        // An attested baseline is read once: the bytes verified are the bytes compared.
        let before: Inventory
        if let att = baselineAttestation { before = await inventory(verified: try verifyBaseline(att)) } else { before = await inventory(baseline) }
        let after = await inventory(current)
        var options = SBOMDiff.Options(today: CalendarDate.utcDay())
        options.policy = policyFile
        options.knownNames = known
        let diff = SBOMDiff.compare(baseline: before, current: after, options: options)
        var report = DriftReport(diff)
        // What was not read or not compared is not clean: it fails --fail-on unless allowed.
        let unread = (before.diagnostics + after.diagnostics).filter { $0.unscanned != nil }.count
        if unread > 0 { report.notes.append("NOT CHECKED: \(unread) input\(unread == 1 ? "" : "s") of the two sides could not be read (see the warnings)") }
        let unchecked = unread + diff.contentNotCompared.count + diff.additionsNotCompared.count + diff.imageTextNotCompared.count + (diff.sourcesNotCompared ? 1 : 0) + (diff.currentEmpty ? 1 : 0)
        try CLI.withOutput(output) { write in
            switch format {
            case "json": report.json.write(to: write)
            case "sarif": report.sarif(toolVersion: Provenant.version, to: write)
            default: write(Array(report.table.utf8))
            }
        }
        if report.fails(at: failOn.threshold) { throw ExitCode(1) }
        if failOn.threshold != nil, unchecked > 0, !allowUnchecked {
            CLI.stderr("error: \(unchecked) input\(unchecked == 1 ? "" : "s") NOT CHECKED; failing --fail-on (pass --allow-unchecked to accept)")
            throw ExitCode(1)
        }
    }

    /// A document is read as it is; anything else is catalogued as `sbom` would.
    func inventory(_ target: String) async -> Inventory {
        var isDir: ObjCBool = false
        let isFile = FileManager.default.fileExists(atPath: target, isDirectory: &isDir) && !isDir.boolValue
        if isFile, (try? ImageReference.detect(path: target)) == nil {
            do {
                if let inv = try DriftInput.read(target) {
                    if !catalog.quiet { for d in inv.diagnostics { CLI.stderr("warning: \(d)") } }
                    return inv
                }
            } catch { CLI.fail("error: \(error)") }
        }
        let inv = await catalog.catalog(target)
        catalog.warn(inv)
        return inv
    }

    /// The inventory of the baseline's verified bytes: a document is parsed from them; anything else
    /// (a lockfile, an image archive) is catalogued from a private copy of them, never from the path again.
    func inventory(verified bytes: [UInt8]) async -> Inventory {
        do {
            if let inv = try DriftInput.read(bytes, path: baseline) {
                if !catalog.quiet { for d in inv.diagnostics { CLI.stderr("warning: \(d)") } }
                return inv
            }
        } catch { CLI.fail("error: \(error)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-baseline-\(UUID().uuidString)")
        let copy = dir.appendingPathComponent((baseline as NSString).lastPathComponent)
        // Every exit removes the copy (CLI.fail would skip a defer), and messages name BASELINE, not the copy.
        func fail(_ message: String) -> Never {
            try? FileManager.default.removeItem(at: dir)
            CLI.fail(message.replacingOccurrences(of: copy.path, with: baseline))
        }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: copy.path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
        } catch { fail("error: cannot keep a copy of the verified baseline: \(error.localizedDescription)") }
        let inv: Inventory
        do { inv = try await catalog.catalogOrThrow(copy.path) } catch { fail("error: \(error)") }
        try? FileManager.default.removeItem(at: dir)
        catalog.warn(inv)
        return inv
    }

    /// The baseline is trusted only when the attestation verifies with its subject the BASELINE file;
    /// returns the bytes that verified.
    func verifyBaseline(_ attestation: String) throws -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try DriftInput.bytes(baseline) } catch { CLI.fail("error: --baseline-attestation: the baseline \(error)") }
        // `=` keeps a path that starts with '-' a value, not a flag. The digest satisfies the parser;
        // the bytes themselves are what is verified.
        var args = ["--digest=sha256:" + FileDigest.sha256(bytes).value]
        for (flag, value) in [("--key", key), ("--trusted-root", trustedRoot), ("--certificate-identity", certificateIdentity),
                              ("--certificate-identity-regexp", certificateIdentityRegexp), ("--certificate-oidc-issuer", certificateOidcIssuer),
                              ("--type", type)] {
            if let v = value { args.append(flag + "=" + v) }
        }
        args += ["--", attestation]
        let verify = try VerifyCommand.parse(args)
        let report: VerificationReport
        // The error names its own file (the attestation, or --key's): said as the verification's, not
        // as the attestation's (found by helper-170).
        do { report = try verify.verifyFile(ArtifactInput.bytes(Data(bytes))) } catch { CLI.fail("error: verifying --baseline-attestation: \(error)") }
        guard report.verified else {
            CLI.stderr("baseline attestation FAILED: \(report.failure.map { "\($0)" } ?? "not verified"); the baseline is not trusted")
            throw ExitCode(1)
        }
        CLI.stderr("baseline attestation verified: " + report.passed.map { "\($0.check): \($0.detail)" }.joined(separator: "; "))
        return bytes
    }
}
