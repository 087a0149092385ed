import ArgumentParser
import Catalog
import Foundation
import ProvenantCore

/// How commands that take an image reach registries: `--insecure-registry`, and credentials from the
/// environment or Docker's config, read only when a registry image is opened.
struct ImageAccessOptions: ParsableArguments {
    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp(
        "Allow plain HTTP to this registry host (HOST or HOST:PORT; repeatable). Every other registry is reached over HTTPS only.",
        discussion: """
        Registry credentials come from \(RegistryCredentials.environmentVariable)=HOST=USER:PASSWORD[,HOST2=USER:PASSWORD] \
        (a password holding a comma goes in Docker's config instead), else from ~/.docker/config.json ($DOCKER_CONFIG): \
        'auths' entries (auth, username/password, identitytoken). Credential helpers are not run.
        """, valueName: "host"))
    var insecureRegistry: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Give up on registries this long after the first request: every request and every answer's reading (90s, 10m, 2h; 0 for no limit).",
        discussion: "What was not read by then is an error, and a verification of it fails.", valueName: "duration"))
    var registryTimeout: String = "10m"

    /// `--registry-timeout` in seconds, nil when it is not a duration.
    static func seconds(_ text: String) -> Int? {
        var digits = Substring(text), unit = 1
        switch text.last {
        case "s": digits = digits.dropLast()
        case "m": digits = digits.dropLast(); unit = 60
        case "h": digits = digits.dropLast(); unit = 3600
        default: break
        }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        return n * unit
    }

    func validate() throws {
        guard Self.seconds(registryTimeout) != nil else {
            throw ValidationError("--registry-timeout takes a duration such as 90s, 10m or 2h (0 for no limit), not '\(Redactor.quote(registryTimeout, max: 40))'")
        }
        for h in insecureRegistry where !RegistryOptions.validInsecureHost(h) {
            throw ValidationError("--insecure-registry takes HOST or HOST:PORT, not '\(Redactor.quote(h, max: 80))'")
        }
    }

    /// Opens a `registry:` reference with these options; notes about credentials go to stderr unless quiet.
    func registryOpener(quiet: Bool) -> @Sendable (RegistryReference) throws -> any ImageSource {
        let access = self
        return { reference in try RegistryImageSource(reference, options: try access.registryOptions(quiet: quiet)) }
    }

    /// The options a registry client of these hosts and credentials is made with.
    func registryOptions(quiet: Bool) throws -> RegistryOptions {
        let credentials = try RegistryCredentials.load(environment: ProcessInfo.processInfo.environment)
        if !quiet { for n in credentials.notes { CLI.stderr("note: \(n)") } }
        var options = RegistryOptions(insecureHosts: insecureRegistry, credentials: credentials)
        if let s = Self.seconds(registryTimeout), s > 0 { options.giveUp(after: s, text: registryTimeout) }
        return options
    }

    /// Any image reference as a source: local layouts and archives, or a registry.
    func open(_ reference: ImageReference, quiet: Bool = false) throws -> any ImageSource {
        if case .registry(let r) = reference { return try registryOpener(quiet: quiet)(r) }
        return try ImageSources.open(reference)
    }
}
