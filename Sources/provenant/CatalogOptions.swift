import ArgumentParser
import Catalog
import Foundation
import ProvenantCore
import Secrets

/// The cataloguing flags `sbom` and `scan` share, and the one way both turn them into an inventory.
struct CatalogOptions: ParsableArguments {
    @Option(name: .long, help: "source: lockfiles and manifests; installed: OS and language package databases; auto: installed when an OS package database is present.")
    var mode: String = "auto"

    @Flag(name: .long, help: "Include development and test dependencies, marked with their scope.")
    var includeDev = false

    @Option(name: .long, parsing: .singleValue, help: "Skip paths matching this glob (repeatable); '**' crosses directories.")
    var exclude: [String] = []

    @Option(name: .long, help: "MiB the scan may read whole across all files (one file may be up to 1024); a file beyond it is not read, and reported.")
    var readBudget: Int = FileIndex.defaultReadBudget >> 20

    @Flag(name: .long, help: "Do not print per-file warnings on stderr.")
    var quiet = false

    @Option(name: .long, help: "For an image: the platform to pick from a multi-platform index, os/arch[/variant].")
    var platform: String = "linux/amd64"

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp(
        "Allow plain HTTP to this registry host (HOST or HOST:PORT; repeatable). Every other registry is reached over HTTPS only.",
        discussion: """
        Registry credentials come from \(RegistryCredentials.environmentVariable)=HOST=USER:PASSWORD[,HOST2=USER:PASSWORD] \
        (a password holding a comma goes in Docker's config instead), else from ~/.docker/config.json ($DOCKER_CONFIG): \
        'auths' entries (auth, username/password, identitytoken). Credential helpers are not run.
        """, valueName: "host"))
    var insecureRegistry: [String] = []

    func validate() throws {
        guard ScanMode(rawValue: mode) != nil else { throw ValidationError("unknown --mode '\(mode)'; use source, installed or auto") }
        guard readBudget > 0, readBudget <= 1 << 30 else { throw ValidationError("--read-budget must be between 1 and \(1 << 30) MiB") }
        guard ImagePlatform(platform) != nil else { throw ValidationError("--platform must be os/arch or os/arch/variant, such as linux/amd64") }
        for h in insecureRegistry where !RegistryOptions.validInsecureHost(h) {
            throw ValidationError("--insecure-registry takes HOST or HOST:PORT, not '\(Redactor.quote(h, max: 80))'")
        }
    }

    /// Catalogs `target`; an unusable target ends the run with exit 2.
    func catalog(_ target: String) async -> Inventory {
        var cataloger = Cataloger(mode: ScanMode(rawValue: mode) ?? .auto, includeDev: includeDev, excludes: exclude, readBudget: readBudget << 20)
        // An image's environment values and build history go through the secrets engine; only masked hits are kept.
        cataloger.configSecrets = { config, display in
            let scanner = SecretsScanner(engine: SecretsEngineLoader.engine(known: []))
            var result = SecretsScanResult()
            scanner.scanConfig(config, display: display, into: &result)
            return result.findings.map { "\($0.path): \($0.ruleID) \($0.secret)" }
        }
        let insecure = insecureRegistry, quiet = self.quiet
        // Credentials are read only when a registry image is opened, and their notes said once.
        let openRegistry: @Sendable (RegistryReference) throws -> any ImageSource = { reference in
            let credentials = try RegistryCredentials.load(environment: ProcessInfo.processInfo.environment)
            if !quiet { for n in credentials.notes { CLI.stderr("note: \(n)") } }
            return try RegistryImageSource(reference, options: RegistryOptions(insecureHosts: insecure, credentials: credentials))
        }
        do {
            return try await cataloger.catalog(target, platform: ImagePlatform(platform) ?? .linuxAMD64, openRegistry: openRegistry)
        } catch {
            CLI.fail("error: \(error)")
        }
    }

    /// Per-file problems as warnings, unless --quiet; secrets in an image's config always.
    func warn(_ inventory: Inventory) {
        for s in inventory.image?.secretsInConfig ?? [] { CLI.stderr("warning: secret in the image config: \(s)") }
        if !quiet { for d in inventory.diagnostics { CLI.stderr("warning: \(d)") } }
    }
}
