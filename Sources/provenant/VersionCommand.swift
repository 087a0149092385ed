import Advisories
import ArgumentParser

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Work with ecosystem version schemes.",
        subcommands: [VersionCompare.self]
    )
}

struct VersionCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Print <, = or > for two versions under an ecosystem's ordering.",
        discussion: "Ecosystems are spelled as OSV spells them: PyPI, npm, Go, crates.io, Maven, RubyGems, NuGet, Packagist, Pub, Hex, CRAN, Hackage, Debian, Ubuntu, Alpine, 'Red Hat'. Exits 2 when a version cannot be parsed."
    )
    @Argument(help: "OSV ecosystem name, e.g. PyPI or 'Debian:12'.")
    var ecosystem: String
    @Argument(help: "First version.")
    var a: String
    @Argument(help: "Second version.")
    var b: String

    func run() throws {
        guard let scheme = AnyVersionScheme.forEcosystem(ecosystem) else {
            CLI.fail("error: unknown ecosystem '\(ecosystem)'")
        }
        do {
            let c = try scheme.compare(a, b)
            print(c < 0 ? "<" : c == 0 ? "=" : ">")
        } catch {
            CLI.fail("error: \(error)")
        }
    }
}
