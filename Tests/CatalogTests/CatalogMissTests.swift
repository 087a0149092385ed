import Foundation
import Testing
@testable import Catalog
import ProvenantCore

/// Packages that were on disk, or in a lockfile, and were dropped without a word, so a scan said
/// "No known vulnerabilities" (found by helper-127). Each is now listed, or NOT CHECKED.
@Suite struct CatalogMissTests {
    static func root(_ files: [String: String]) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-miss-\(UUID().uuidString)")
        for (rel, text) in files {
            let url = d.appendingPathComponent(rel)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        return d
    }

    static func stanza(_ name: String, _ status: String) -> String {
        "Package: \(name)\nStatus: \(status)\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: m\nDescription: d\n\n"
    }

    /// dpkg lists a package mid-upgrade (`unpacked`, `half-configured`, `triggers-pending`) with its
    /// files on disk; only removed ones (`config-files`, `not-installed`) are gone.
    @Test func dpkgPackagesMidUpgradeAreListed() async throws {
        let states = ["install ok installed", "install ok triggers-pending", "install ok half-configured", "install ok unpacked",
                      "install reinstreq half-installed", "deinstall ok config-files", "purge ok not-installed"]
        let status = states.enumerated().map { Self.stanza("p\($0.offset)", $0.element) }.joined()
        let r = try Self.root(["var/lib/dpkg/status": status, "etc/os-release": "ID=debian\nVERSION_ID=\"12\"\n"])
        defer { try? FileManager.default.removeItem(at: r) }
        let inv = try await Cataloger().catalog(r.path)
        #expect(inv.packages.map(\.name).sorted() == ["p0", "p1", "p2", "p3", "p4"], "\(inv.packages.map(\.name))")
    }

    /// No extractor reads RPM's database: a RHEL root was an empty, clean inventory.
    @Test func anRPMDatabaseIsNotChecked() async throws {
        for db in ["var/lib/rpm/rpmdb.sqlite", "var/lib/rpm/Packages", "usr/lib/sysimage/rpm/rpmdb.sqlite"] {
            let r = try Self.root([db: "SQLite format 3\u{0}", "etc/os-release": "ID=\"rhel\"\nVERSION_ID=\"9.3\"\n"])
            defer { try? FileManager.default.removeItem(at: r) }
            let inv = try await Cataloger().catalog(r.path)
            #expect(inv.mode == ScanMode.installed.rawValue)
            #expect(inv.diagnostics.contains { $0.location.path == db && $0.unscanned == .input && $0.message.contains("RPM") }, "\(db): \(inv.diagnostics)")
        }
    }

    /// Only a whole `vendor/` (or `node_modules/`) directory holds installed copies; `multivendor/`
    /// is a project of its own.
    @Test func onlyAWholeVendorDirectoryIsSkipped() async throws {
        let lock = #"{"packages": [{"name": "guzzlehttp/guzzle", "version": "7.4.0"}], "packages-dev": []}"#
        let npm = #"{"name": "x", "lockfileVersion": 3, "packages": {"": {"name": "x"}, "node_modules/lodash": {"version": "4.17.20"}}}"#
        let r = try Self.root(["multivendor/composer.lock": lock, "vendor/a/composer.lock": lock.replacingOccurrences(of: "7.4.0", with: "1.0.0"),
                               "my_node_modules/package-lock.json": npm, "node_modules/b/package-lock.json": npm.replacingOccurrences(of: "4.17.20", with: "1.0.0")])
        defer { try? FileManager.default.removeItem(at: r) }
        let inv = try await Cataloger().catalog(r.path)
        #expect(Set(inv.packages.map { "\($0.name)@\($0.version)" }) == ["guzzlehttp/guzzle@7.4.0", "lodash@4.17.20"], "\(inv.packages.map(\.purl))")
    }

    /// A jar named by its manifest alone has no stated Maven group: `spring-beans` became
    /// `pkg:maven/spring/spring-beans`, which no advisory names. Listed, and NOT CHECKED; a jar
    /// nothing identifies is NOT CHECKED too. A vendor id states the group.
    @Test func aJarWithAGuessedGroupIsNotChecked() throws {
        let dir = try JavaExtractorTests.tempDir("guess")
        try JavaExtractorTests.jar(dir.appendingPathComponent("spring-beans-5.3.17.jar"), pom: nil,
                                   manifest: "Manifest-Version: 1.0\nImplementation-Title: spring-beans\nAutomatic-Module-Name: spring.beans\nImplementation-Version: 5.3.17\n")
        try JavaExtractorTests.jar(dir.appendingPathComponent("app.jar"), pom: nil, manifest: "Manifest-Version: 1.0\n")
        try JavaExtractorTests.jar(dir.appendingPathComponent("tool-2.0.jar"), pom: nil,
                                   manifest: "Manifest-Version: 1.0\nImplementation-Version: 2.0\nImplementation-Vendor-Id: com.acme\n")
        let index = FileIndex(root: dir.path)
        func run(_ name: String) throws -> Extraction {
            try JarExtractor().extract(ExtractInput(file: try #require(index.file(name)), index: index, context: ExtractContext(mode: .source, includeDev: false)))
        }
        let spring = try run("spring-beans-5.3.17.jar")
        #expect(spring.packages.count == 1 && spring.diagnostics.contains { $0.unscanned == .entry && $0.message.contains("group is a guess") }, "\(spring.diagnostics)")
        #expect(try run("app.jar").diagnostics.contains { $0.unscanned == .input })
        let tool = try run("tool-2.0.jar")
        #expect(Fixture.summary(tool) == ["pkg:maven/com.acme/tool@2.0 required"] && tool.diagnostics.isEmpty, "\(tool.diagnostics)")
    }

    /// A profile active by default adds its dependencies to every build; another one's apply only
    /// when a build activates it, so they are NOT CHECKED, never silently dropped.
    @Test func pomProfileDependenciesAreListedOrNotChecked() throws {
        let pom = """
            <project><modelVersion>4.0.0</modelVersion><groupId>g</groupId><artifactId>a</artifactId><version>1</version>
            <profiles>
              <profile><id>default</id><activation><activeByDefault>true</activeByDefault></activation>
                <dependencies><dependency><groupId>org.springframework</groupId><artifactId>spring-beans</artifactId><version>5.3.16</version></dependency></dependencies>
              </profile>
              <profile><id>legacy</id><activation><jdk>1.8</jdk></activation>
                <dependencies><dependency><groupId>log4j</groupId><artifactId>log4j</artifactId><version>1.2.17</version></dependency></dependencies>
              </profile>
            </profiles></project>
            """
        let r = try Self.root(["pom.xml": pom])
        defer { try? FileManager.default.removeItem(at: r) }
        let index = FileIndex(root: r.path)
        let x = try PomExtractor().extract(ExtractInput(file: try #require(index.file("pom.xml")), index: index, context: ExtractContext(mode: .source, includeDev: false)))
        #expect(Fixture.summary(x) == ["pkg:maven/org.springframework/spring-beans@5.3.16 required"])
        #expect(x.diagnostics.count == 1 && x.diagnostics[0].unscanned == .entry && x.diagnostics[0].message.contains("profile 'legacy' declares 1 dependency"), "\(x.diagnostics)")
    }

    /// Test configurations start with `test` or name `Test` as a word; `latestRuntimeClasspath` is not one.
    @Test func gradleTestConfigurationsAreWholeWords() throws {
        let r = try Self.root(["gradle.lockfile": "a:b:1.0=latestRuntimeClasspath\nc:d:2.0=testRuntimeClasspath,integrationTestCompileClasspath\nempty=\n"])
        defer { try? FileManager.default.removeItem(at: r) }
        let index = FileIndex(root: r.path)
        let x = try GradleLockExtractor().extract(ExtractInput(file: try #require(index.file("gradle.lockfile")), index: index, context: ExtractContext(mode: .source, includeDev: true)))
        #expect(Fixture.summary(x) == ["pkg:maven/a/b@1.0 required", "pkg:maven/c/d@2.0 dev"])
    }
}
