import Catalog
import Foundation

/// One harness per lockfile and manifest extractor. The input is written under the file name the
/// extractor claims, in an otherwise empty directory, and scanned through the public `Cataloger`
/// with only that extractor, so the harness follows file access exactly as `provenant sbom` does.
enum ExtractorTargets {
    static let all: [FuzzTarget] = [
        target(DpkgExtractor(), "var/lib/dpkg/status", mode: .installed),
        target(ApkExtractor(), "lib/apk/db/installed", mode: .installed),
        target(GoModExtractor(), "go.mod"),
        target(GoVendorExtractor(), "vendor/modules.txt"),
        target(GoBinaryExtractor(), "app", executable: true),
        target(PythonInstalledExtractor(), "site-packages/pkg-1.0.dist-info/METADATA", mode: .installed),
        target(RequirementsExtractor(), "requirements.txt"),
        target(PipfileLockExtractor(), "Pipfile.lock"),
        target(PythonTOMLLockExtractor(.poetry), "poetry.lock"),
        target(PythonTOMLLockExtractor(.uv), "uv.lock"),
        target(PythonTOMLLockExtractor(.pdm), "pdm.lock"),
        target(PythonTOMLLockExtractor(.pylock), "pylock.toml"),
        target(NpmLockExtractor(), "package-lock.json"),
        target(YarnLockExtractor(), "yarn.lock"),
        target(PnpmLockExtractor(), "pnpm-lock.yaml"),
        target(BunLockExtractor(), "bun.lock"),
        target(NodeModulesExtractor(), "node_modules/pkg/package.json", mode: .installed),
        target(PackageJSONExtractor(), "package.json"),
        target(JarExtractor(), "app.jar"),
        target(PomExtractor(), "pom.xml"),
        target(GradleLockExtractor(), "gradle.lockfile"),
        target(CargoLockExtractor(), "Cargo.lock"),
        target(GemfileLockExtractor(), "Gemfile.lock"),
        target(ComposerLockExtractor(), "composer.lock"),
        target(NuGetLockExtractor(), "packages.lock.json"),
        target(DotnetDepsExtractor(), "app.deps.json"),
        target(SwiftResolvedExtractor(), "Package.resolved"),
    ]

    /// The Go binary reader skips executables of 4 KiB or less; short inputs are padded with zeros
    /// (which no ELF field reads as meaningful) so the fuzzer's small inputs still reach it.
    static let goBinaryMinimum = 4097

    static func target(_ extractor: any Extractor, _ relative: String, mode: ScanMode = .source,
                       executable: Bool = false) -> FuzzTarget {
        let name = extractor.name
        return FuzzTarget(name, "\(relative) through the \(name) extractor") { bytes in
            var input = bytes
            if executable, input.count < goBinaryMinimum { input += [UInt8](repeating: 0, count: goBinaryMinimum - input.count) }
            let cataloger = Cataloger(mode: mode, includeDev: true, excludes: [], extractors: [extractor])
            Scratch.withFile(input, target: name, as: relative, executable: executable) { _, dir in
                runBlocking {
                    // A thrown error is a rejected input; only crashes, hangs and leaks are findings.
                    _ = try? await cataloger.catalog(dir)
                }
            }
        }
    }
}
