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

    @Option(name: .long, parsing: .singleValue, help: "Skip paths matching this glob, and everything under a matching directory, in a tree or an image (repeatable); '**' crosses directories, a leading '/' anchors it at the root.")
    var exclude: [String] = []

    @Option(name: .long, help: "MiB the scan may read whole across all files (one file may be up to 1024); a file beyond it is not read, and reported.")
    var readBudget: Int = FileIndex.defaultReadBudget >> 20

    @Flag(name: .long, help: "Do not print per-file warnings on stderr.")
    var quiet = false

    @Option(name: .long, help: "For an image: the platform to pick from a multi-platform index, os/arch[/variant] (default: linux/amd64). Given, an image of another platform is refused.")
    var platform: String?

    @Option(name: .customLong("config"), parsing: .singleValue, help: "Record files matching this glob (repeatable) as configuration: their path and SHA-256 go into the SBOM, so `diff` sees them change. The agent manifest (provenant.agent.yaml) is always recorded.")
    var configGlobs: [String] = []

    @OptionGroup var imageAccess: ImageAccessOptions

    func validate() throws {
        guard ScanMode(rawValue: mode) != nil else { throw ValidationError("unknown --mode '\(mode)'; use source, installed or auto") }
        guard readBudget > 0, readBudget <= 1 << 30 else { throw ValidationError("--read-budget must be between 1 and \(1 << 30) MiB") }
        guard ImagePlatform.option(platform) != nil else { throw ValidationError("--platform must be os/arch or os/arch/variant, such as linux/amd64") }
    }

    /// Catalogs `target`; an unusable target ends the run with exit 2.
    func catalog(_ target: String) async -> Inventory {
        do { return try await catalogOrThrow(target) } catch { CLI.fail("error: \(error)") }
    }

    /// Catalogs `target`, or says why it cannot be, for a caller that must clean up first.
    func catalogOrThrow(_ target: String) async throws -> Inventory {
        var cataloger = Cataloger(mode: ScanMode(rawValue: mode) ?? .auto, includeDev: includeDev, excludes: exclude, readBudget: readBudget << 20)
        cataloger.config = ConfigSelection(globs: configGlobs)
        // An image's environment values and build history go through the secrets engine; only masked hits are kept.
        cataloger.configSecrets = { config, display in
            let scanner = SecretsScanner(engine: SecretsEngineLoader.engine(known: []))
            var result = SecretsScanResult()
            scanner.scanConfig(config, display: display, into: &result)
            return result.findings.map { "\($0.path): \($0.ruleID) \($0.secret)" }
        }
        return try await cataloger.catalog(target, platform: ImagePlatform.option(platform) ?? .linuxAMD64,
                                           openRegistry: imageAccess.registryOpener(quiet: quiet))
    }

    /// Per-file problems as warnings, unless --quiet; secrets in an image's config always.
    func warn(_ inventory: Inventory) {
        for s in inventory.image?.secretsInConfig ?? [] { CLI.stderr("warning: secret in the image config: \(s)") }
        if !quiet { for d in inventory.diagnostics { CLI.stderr("warning: \(d)") } }
    }
}
