import Foundation
import Testing
@testable import Advisories

/// osv-scalibr's version-ordering facts (Apache-2.0, see Fixtures/version-order/LICENSE.osv-scalibr):
/// every `a < b`, `a = b` and `a > b` line must hold in both directions.
@Suite struct VersionOrderTests {
    static let files: [(String, String)] = [
        ("alpine-versions.txt", "Alpine"), ("alpine-versions-generated.txt", "Alpine"),
        ("cran-versions.txt", "CRAN"), ("cran-versions-generated.txt", "CRAN"),
        ("debian-versions.txt", "Debian"), ("debian-versions-generated.txt", "Debian"),
        ("hackage-versions.txt", "Hackage"),
        ("maven-versions.txt", "Maven"), ("maven-versions-generated.txt", "Maven"),
        ("nuget-versions.txt", "NuGet"),
        ("packagist-versions.txt", "Packagist"), ("packagist-versions-generated.txt", "Packagist"),
        ("pub-versions.txt", "Pub"),
        ("pypi-versions.txt", "PyPI"), ("pypi-versions-generated.txt", "PyPI"),
        ("redhat-versions.txt", "Red Hat"),
        ("rubygems-versions.txt", "RubyGems"), ("rubygems-versions-generated.txt", "RubyGems"),
        ("semver-versions.txt", "npm"),
    ]

    /// Returns the number of facts checked and the ones that failed, as readable lines.
    static func check(_ file: String, _ ecosystem: String) throws -> (Int, [String]) {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/version-order/" + file, withExtension: nil))
        let scheme = try #require(AnyVersionScheme.forEcosystem(ecosystem))
        var checked = 0
        var failures: [String] = []
        for (n, line) in try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("#") || line.hasPrefix("//") || line.isEmpty { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 3, let want = ["<": -1, "=": 0, ">": 1][String(parts[1])] else {
                failures.append("\(file):\(n + 1): unreadable fact '\(line)'"); continue
            }
            checked += 1
            do {
                let got = try scheme.compare(String(parts[0]), String(parts[2]))
                let back = try scheme.compare(String(parts[2]), String(parts[0]))
                if got.signum() != want || back.signum() != -want {
                    failures.append("\(file):\(n + 1): \(line) but got \(got.signum()) / reverse \(back.signum())")
                }
            } catch {
                failures.append("\(file):\(n + 1): \(line): \(error)")
            }
        }
        return (checked, failures)
    }

    @Test(arguments: files)
    func factsHold(_ file: String, _ ecosystem: String) throws {
        let (checked, failures) = try Self.check(file, ecosystem)
        #expect(checked > 0)
        #expect(failures.isEmpty, "\(failures.count) of \(checked) failed:\n\(failures.prefix(15).joined(separator: "\n"))")
    }

    /// A Maven version nests a list at every digit-letter switch; 20,000 of them overflowed the stack
    /// when compared or freed (found by helper-102). Deep ones are refused as unparsable.
    @Test func aDeeplyNestedMavenVersionIsRefused() throws {
        let deep = "2" + String(repeating: "a1", count: 20_000)
        #expect(throws: VersionError.self) { try MavenVersion().parse(deep) }
        let fine = "1.0-alpha-1-SNAPSHOT"
        #expect(try MavenVersion().compare(MavenVersion().parse(fine), MavenVersion().parse("1.0-alpha-2")) < 0)
        #expect(throws: Never.self) { try MavenVersion().parse("1" + String(repeating: "a1", count: 30)) }
    }

    /// apk versions with unparsed tails: a tail starting with `-` (a broken `-r` build) was equal to
    /// any other tail, so `1.0-*x` = `1.0.-y` and `1.0-*x` = `1.0Z` while `1.0.-y` < `1.0Z`: not an
    /// order (found by fuzzing, version-order). Only two broken builds are equal, as apk ignores them.
    @Test func alpineUnparsedTailsAreOrderedTransitively() throws {
        let o = AlpineVersion()
        func c(_ a: String, _ b: String) throws -> Int { o.compare(try o.parse(a), try o.parse(b)).signum() }
        let (a, b, z) = ("1.0-*NAPSHOT", "1.0.-SNAP0", "1.0SH")
        #expect(try c(a, b) == -1 && c(b, z) == -1 && c(a, z) == -1)
        #expect(try c(b, a) == 1 && c(z, b) == 1 && c(z, a) == 1)
        #expect(try c("1.0-rX", "1.0-rY") == 0 && c("1.0-r1", "1.0-rX") == 1)
        // Every triple of these is ordered consistently: tails whose first Character is a `-` with a
        // combining mark, and a first digit carrying one (both found by review), among plain ones.
        let odd = ["1.0-a", "1.0-\u{301}", "1.0-\u{5E2}", "10", "9", "1\u{301}", "a1", "*1", "1.0", "1.0-r1", "1.0-rX", "1.0.-y", "1.0Z", "2.0~abc-r1"]
        var order: [[Int]] = []
        for x in odd { order.append(try odd.map { try c(x, $0) }) }
        for i in odd.indices {
            #expect(order[i][i] == 0)
            for j in odd.indices {
                #expect(order[i][j] == -order[j][i], "\(odd[i]) \(odd[j])")
                for k in odd.indices where order[i][j] <= 0 && order[j][k] <= 0 {
                    #expect(order[i][k] <= 0 && (order[i][j] < 0 || order[j][k] < 0 ? order[i][k] < 0 : order[i][k] == 0),
                            "\(odd[i]) ≤ \(odd[j]) ≤ \(odd[k])")
                }
            }
        }
    }

    /// Packagist's ordering has a cycle, and the ordering facts put it there: `1.2.3.#` equals both
    /// `1.2.3` and `1.2.3.1`, while a trailing number beats a missing part. So the `version-order`
    /// harness asks no transitivity of it; should this test fail, the ordering became transitive and
    /// the harness can ask it again.
    @Test func packagistsOwnOrderHasACycle() throws {
        let o = try #require(AnyVersionScheme.forEcosystem("Packagist"))
        #expect(try o.compare("1.2.3.#", "1.2.3") == 0 && o.compare("1.2.3.#", "1.2.3.1") == 0 && o.compare("1.2.3.1", "1.2.3") > 0)
    }

    /// Numbers past a SemVer version's third were ignored, so `1.2.3.4` was `1.2.3` (found by
    /// helper-131). They are ordered, a missing one as zero.
    @Test func semverNumbersPastTheThirdAreOrdered() throws {
        for eco in ["npm", "crates.io", "Pub"] {
            let s = try #require(AnyVersionScheme.forEcosystem(eco))
            #expect(try s.compare("1.2.3.4", "1.2.3") > 0, "\(eco)")
            #expect(try s.compare("1.2.3.4", "1.2.3.5") < 0, "\(eco)")
            #expect(try s.compare("1.2.3.0", "1.2.3") == 0, "\(eco)")
            #expect(try s.compare("1.2.3.4-rc.1", "1.2.3.4") < 0, "\(eco)")
            #expect(try s.compare("1.2.4", "1.2.3.9") > 0, "\(eco)")
            // More numbers than are read are refused, not dropped with what follows (helper-134).
            let many = Array(repeating: "1", count: 32).joined(separator: ".")
            #expect(throws: VersionError.self, "\(eco)") { try s.compare(many + ".5", many + ".9") }
        }
        // Go's semver has three numbers.
        #expect(throws: VersionError.self) { try GoVersion().parse("v1.2.3.4") }
        #expect(try GoVersion().compare(GoVersion().parse("v1.2.3"), GoVersion().parse("v1.2.4")) < 0)
    }

    @Test func totalFactCount() throws {
        let total = try Self.files.reduce(0) { $0 + (try Self.check($1.0, $1.1)).0 }
        #expect(total == 71_818)
    }
}
