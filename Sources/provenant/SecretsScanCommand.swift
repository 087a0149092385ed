import ArgumentParser
import Catalog
import Foundation
import ProvenantCore
import Secrets

struct SecretsScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan files, directories, archives, container images and git history for credentials.",
        discussion: "Reads every regular file below each PATH (symbolic links are not followed; of a `.git` directory, its config and hooks), and inside zip, jar, tar and tar.gz archives up to 4 levels deep with a budget on inflated bytes; binary files are skipped. `-` reads standard input. Findings show the rule, file:line:column, the value's first 4 characters, its length and its SHA-256 fingerprint; the full value is never printed. Inputs that could not be read, or were only partly scanned (past the pattern budget or the findings cap), are NOT CHECKED: they fail --fail-on unless --allow-unchecked is given. Exit codes: 0 success, 1 a finding reached --fail-on (or inputs went unchecked), 2 usage or input error."
    )
    @Argument(help: "Files, directories or images (oci-dir:, oci-archive:, docker-archive:, or a path that is one) to scan, or - for standard input. An image's every layer is scanned, files later layers delete included, and its config's environment and history.")
    var paths: [String]
    @OptionGroup var imageAccess: ImageAccessOptions
    @Option(name: .long, help: "Output format: table, json or sarif (2.1.0).")
    var format: String = "table"
    @Option(name: .shortAndLong, help: "Write the report here instead of stdout.")
    var output: String?
    @OptionGroup var failOn: FailOnOption
    @Flag(name: .long, help: "With --fail-on: do not fail only because inputs were unreadable or only partly scanned.")
    var allowUnchecked = false
    @OptionGroup var known: KnownSecretsOption
    @Option(name: .long, help: "Suppress the findings recorded in this baseline (from --write-baseline).")
    var baseline: String?
    @Option(name: .long, help: "Record this run's findings (rule, path, fingerprint; never a value) as a baseline.")
    var writeBaseline: String?
    @Flag(name: .long, help: "Also scan the lines added by every commit of each PATH's git history.")
    var git = false
    @Option(name: .long, help: "Skip paths matching this glob, and everything under a matching directory (repeatable); a leading '/' anchors it at the root.")
    var exclude: [String] = []
    @Option(name: .long, help: "For an image: the platform to pick from a multi-platform index, os/arch[/variant] (default: linux/amd64). Given, an image of another platform is refused.")
    var platform: String?

    func validate() throws {
        guard ["table", "json", "sarif"].contains(format) else { throw ValidationError("unknown --format '\(format)'; use table, json or sarif") }
        guard ImagePlatform.option(platform) != nil else { throw ValidationError("--platform must be os/arch or os/arch/variant, such as linux/amd64") }
    }

    func run() async throws {
        let engine = SecretsEngineLoader.engine(known: known.known)
        let previous: SecretsBaseline?
        do { previous = try baseline.map(SecretsBaseline.read(path:)) } catch { CLI.fail("error: \(error)") }
        var options = SecretsScanOptions()
        options.excludes = exclude.map(Glob.init(excluding:))
        // Weak values are fingerprinted with the baseline's salt, or a new one for a new baseline.
        options.baselineSalt = previous?.salt ?? (writeBaseline != nil ? SecretsBaseline.newSalt() : nil)
        let scanner = SecretsScanner(engine: engine, options: options)
        var result = SecretsScanResult()
        // Images (oci-dir:, oci-archive:, docker-archive:, or a path that is one) are scanned layer by layer.
        var images: [(String, ImageReference)] = []
        var files: [String] = []
        for p in paths where p != "-" {
            do {
                if let ref = try ImageReference.parse(p) ?? ImageReference.detect(path: p) { images.append((p, ref)) } else { files.append(p) }
            } catch { CLI.fail("error: \(error)") }
        }
        // A path named on the command line that is not there is a usage error, as for `sbom`: an empty
        // scan of it is not a clean one.
        for p in files {
            var st = stat()
            guard stat(p, &st) == 0 else {
                CLI.fail("error: '\(Redactor.escapeControls(Redactor.quote(p, max: 200)))' cannot be scanned: \(String(cString: strerror(errno)))")
            }
        }
        if !files.isEmpty { result = scanner.scan(targets: files) }
        for (shown, ref) in images {
            let part: SecretsScanResult
            do {
                let source = try imageAccess.open(ref)
                part = try await scanner.scanImage(source, display: Redactor.quote(shown, max: 200), platform: ImagePlatform.option(platform) ?? .linuxAMD64)
            } catch { CLI.fail("error: \(error)") }
            result.merge(part)
        }
        if paths.contains("-") {
            var stdinResult = SecretsScanResult()
            do {
                try scanner.scanStandardInput(display: "-", into: &stdinResult)
            } catch {
                CLI.fail("error: standard input: read stopped: \(error)")
            }
            // All of it: a partly scanned standard input must say so, as a file does.
            result.merge(stdinResult)
        }
        if git {
            for p in files {
                do { try scanner.scanHistory(repository: p, into: &result) } catch { CLI.fail("error: \(error)") }
            }
        }
        result.findings.sort(by: SecretFinding.order)
        for w in result.warnings { CLI.stderr("warning: \(w)") }
        if let path = writeBaseline {
            let doc = SecretsBaseline(findings: result.findings, salt: options.baselineSalt).json
            try CLI.withOutput(path) { write in doc.write(to: write) }
        }
        let (new, suppressed, gone) = previous?.apply(result.findings) ?? (result.findings, [], [])
        let report = SecretsReport(findings: new, suppressed: suppressed, goneFromBaseline: gone, result: result, rules: engine.rules)
        try CLI.withOutput(output) { write in
            switch format {
            case "json": report.json.write(to: write)
            case "sarif": report.sarif(toolVersion: Provenant.version, to: write)
            default: write(Array(report.table.utf8))
            }
        }
        guard let t = failOn.threshold else { return }
        if new.contains(where: { $0.severity >= t }) { throw ExitCode(1) }
        // Fail closed: a file nobody read to its end may hold a secret at any level.
        let unchecked = result.unreadable + result.partial
        if unchecked > 0 && !allowUnchecked {
            CLI.stderr("--fail-on: \(unchecked) input\(unchecked == 1 ? " was" : "s were") not checked (\(result.unreadable) unreadable, \(result.partial) partly scanned); pass --allow-unchecked to accept that")
            throw ExitCode(1)
        }
    }
}

/// Builds the engine with Provenant's rules and the `--known` files, or exits 2 saying which file or
/// rule is wrong.
enum SecretsEngineLoader {
    static func engine(known files: [String], minimumConfidence: Confidence = .low, assignmentsAnywhere: Bool = false) -> SecretEngine {
        var values: [KnownSecrets.Value] = []
        for f in files {
            do { values += try KnownSecretsFile.read(path: f) } catch { CLI.fail("error: --known \(error)") }
        }
        // Without known values, the engine the redactor already uses: the rules are parsed once a run.
        if values.isEmpty, minimumConfidence == .low, !assignmentsAnywhere, let shared = EngineSpotter.shared { return shared }
        do {
            let known = values.isEmpty ? nil : try KnownSecrets(values)
            return try SecretEngine.standard(known: known, minimumConfidence: minimumConfidence, assignmentsAnywhere: assignmentsAnywhere)
        } catch {
            CLI.fail("error: \(error)")
        }
    }
}
