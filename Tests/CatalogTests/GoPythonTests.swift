import Foundation
import Testing
@testable import Catalog
import ProvenantCore

@Suite struct GoExtractorTests {
    @Test func twoPackagesAndStdlib() throws {
        let x = try Fixture.extract(GoModExtractor(), "lockfiles/golang-gomod/two-packages.mod")
        #expect(Fixture.summary(x) == [
            "pkg:golang/github.com/BurntSushi/toml@v1.0.0 required",
            "pkg:golang/gopkg.in/yaml.v2@v2.4.0 required",
            "pkg:golang/stdlib@1.17 required",
        ])
        #expect(x.packages.allSatisfy { $0.isDirect == true })
    }

    @Test func replaceDirectives() throws {
        #expect(Fixture.summary(try Fixture.extract(GoModExtractor(), "lockfiles/golang-gomod/replace-one.mod"))
                == ["pkg:golang/example.com/fork/net@v1.4.5 required"])
        // A local directory replacement is source in the tree, not a module.
        #expect(Fixture.summary(try Fixture.extract(GoModExtractor(), "lockfiles/golang-gomod/replace-local.mod"))
                == ["pkg:golang/github.com/BurntSushi/toml@v1.0.0 required"])
        #expect(Fixture.summary(try Fixture.extract(GoModExtractor(), "lockfiles/golang-gomod/replace-mixed.mod"))
                == ["pkg:golang/example.com/fork/net@v1.4.5 required", "pkg:golang/golang.org/x/net@v0.5.6 required"])
        #expect(Fixture.summary(try Fixture.extract(GoModExtractor(), "lockfiles/golang-gomod/replace-no-version.mod"))
                == ["pkg:golang/example.com/fork/net@v1.4.5 required"])
    }

    @Test func toolchainBecomesStdlib() throws {
        let x = try Fixture.extract(GoModExtractor(), "lockfiles/golang-gomod/toolchain-with-suffix.mod")
        #expect(Fixture.summary(x).contains("pkg:golang/stdlib@1.23.6 required"))
    }

    @Test func indirectMarked() throws {
        let x = try Fixture.extract(GoModExtractor(), "lockfiles/golang-gomod/indirect-1.23.mod")
        let sys = try #require(x.packages.first { $0.name == "golang.org/x/sys" })
        #expect(sys.isDirect == false)
        #expect(x.packages.first { $0.name == "github.com/sirupsen/logrus" }?.isDirect == true)
    }

    /// go.mod read as Go's own lexer reads it (found by helper-82): `require(` opens a block, quoted
    /// paths are unquoted, a version-specific replace beats a wildcard one whatever their order, and
    /// what Go refuses is NOT CHECKED, not silently dropped.
    @Test func goModIsReadAsGoReadsIt() throws {
        func extract(_ mod: String, sum: String? = nil) throws -> Extraction {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gomod-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try mod.write(toFile: dir + "/go.mod", atomically: true, encoding: .utf8)
            if let sum { try sum.write(toFile: dir + "/go.sum", atomically: true, encoding: .utf8) }
            let index = FileIndex(root: dir)
            return try GoModExtractor().extract(ExtractInput(file: try #require(index.file("go.mod")), index: index, context: ExtractContext(mode: .source, includeDev: false)))
        }
        let head = "module example.com/app\n\ngo 1.21\n\n"
        #expect(Fixture.summary(try extract(head + "require(\n\tgolang.org/x/text v0.3.0\n)\n")).contains("pkg:golang/golang.org/x/text@v0.3.0 required"))
        for quoted in ["require `golang.org/x/text` v0.3.0\n", "require \"golang.org/x/t\\u0065xt\" v0.3.0\n"] {
            #expect(Fixture.summary(try extract(head + quoted)).contains("pkg:golang/golang.org/x/text@v0.3.0 required"), "\(quoted)")
        }
        let replaced = try extract(head + "require golang.org/x/text v0.3.0\nreplace golang.org/x/text => golang.org/x/text v0.3.8\nreplace golang.org/x/text v0.3.0 => golang.org/x/text v0.3.5\n")
        #expect(Fixture.summary(replaced).contains("pkg:golang/golang.org/x/text@v0.3.5 required"), "\(Fixture.summary(replaced))")
        // Go refuses these files: what they would build is NOT CHECKED.
        for refused in ["require ( golang.org/x/text v0.3.0 )\n", "frobnicate x\n", "require \"golang.org/x/text v0.3.0\n", "require (\n\tgolang.org/x/text v0.3.0\n"] {
            let x = try extract(head + refused)
            #expect(x.diagnostics.contains { $0.unscanned != nil }, "\(refused): \(x.diagnostics)")
            #expect(!x.packages.contains { $0.name.contains("(") }, "\(refused)")
        }
        #expect(try extract(head + "require ()\n").diagnostics.isEmpty, "an empty block is Go's too")
        // Before 1.17 the indirect modules are in go.sum only: each at its highest version there.
        let old = try extract("module example.com/app\n\ngo 1.16\n\nrequire github.com/a/b v1.0.0\n",
                              sum: "github.com/a/b v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ngolang.org/x/text v0.3.0 h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=\ngolang.org/x/text v0.3.5 h1:i6eZZ+zk0SOf0xgBpEpPD18qWcJda6q1sxt3S0kzyUQ=\ngolang.org/x/text v0.3.9/go.mod h1:o4eNf7Ede1fv+hwOwZsTHl9EsPFO6q6ZvYR8vYfY45I=\n")
        #expect(Fixture.summary(old).contains("pkg:golang/golang.org/x/text@v0.3.5 required"), "\(Fixture.summary(old))")
        #expect(!Fixture.summary(old).contains { $0.contains("v0.3.0") || $0.contains("v0.3.9") })
        // A replace pins an indirect module as it pins a required one (found by review).
        let pinned = try extract("module example.com/app\n\ngo 1.16\n\nrequire github.com/a/b v1.0.0\nreplace golang.org/x/text => golang.org/x/text v0.3.5\n",
                                 sum: "github.com/a/b v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ngolang.org/x/text v0.3.5 h1:i6eZZ+zk0SOf0xgBpEpPD18qWcJda6q1sxt3S0kzyUQ=\n")
        #expect(Fixture.summary(pinned).contains("pkg:golang/golang.org/x/text@v0.3.5 required"), "\(Fixture.summary(pinned))")
        #expect(try extract("module example.com/app\n\ngo 1.16\n\nrequire github.com/a/b v1.0.0\n").diagnostics.contains { $0.unscanned != nil },
                "without a go.sum the indirect modules are not known")
        #expect(GoModExtractor.semverLess("v1.2.3-rc.1", "v1.2.3") && GoModExtractor.semverLess("v1.2.3", "v1.10.0") && !GoModExtractor.semverLess("v2.0.0+incompatible", "v1.9.9"))
    }

    @Test func notGoModIsAnError() {
        #expect(throws: ParseError.self) { try Fixture.extract(GoModExtractor(), "lockfiles/golang-gomod/not-go-mod.mod") }
    }

    @Test func vendorModules() throws {
        let x = try Fixture.extract(GoVendorExtractor(), "lockfiles/golang-vendormodules/valid/vendor/modules.txt")
        let s = Fixture.summary(x)
        #expect(s.contains("pkg:golang/github.com/BurntSushi/toml@v1.2.1 required"))
        #expect(s.contains("pkg:golang/example.com/fork/net@v1.4.5 required"))
        #expect(!s.contains { $0.contains("example.com/local") })
    }

    @Test func buildInfoText() {
        let info = GoBuildInfo.parse(goVersion: "go1.22.1 X:loopvar", modInfo: "path\tex\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.1.0\th1:abc=\n=>\texample.com/net\tv0.2.0\t\n")
        #expect(info.goVersion == "1.22.1")
        #expect(info.main?.path == "example.com/app")
        #expect(info.deps.first?.effectivePath == "example.com/net" && info.deps.first?.effectiveVersion == "v0.2.0")
    }
}

@Suite struct PythonExtractorTests {
    @Test func requirementsPinsAndUnresolved() throws {
        let x = try Fixture.extract(RequirementsExtractor(), "lockfiles/python-requirements/with_versions.txt")
        #expect(Fixture.summary(x) == [
            "pkg:pypi/hy-phen@1.2 required", "pkg:pypi/nltk@3.2.2 required", "pkg:pypi/pkg-dot-name@5.0.0 required",
            "pkg:pypi/qwerty@0.1 required", "pkg:pypi/tabulate@0.7.7 required", "pkg:pypi/under-score@1.3 required",
            "pkg:pypi/yolo@1.0 required",
        ])
        // newspaper3k>=, asdf==0.7.*, the >= combination and pkg<= are not pins.
        #expect(x.diagnostics.count == 4)
        #expect(x.packages.first { $0.name == "qwerty" }?.locations.first?.line == 5)
    }

    /// An editable VCS install is NOT CHECKED, as the same line without -e is; a local one is the tree's own source (found by helper-82).
    @Test func editableInstallsFromURLsAreNotChecked() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("req-e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "-e git+https://github.com/urllib3/urllib3@1.25.7#egg=urllib3\n--editable=hg+https://example.com/r#egg=x\n-e .\n-e ./libs/local\nidna==2.8\n-e ${REPO}#egg=y\n"
            .write(toFile: dir + "/requirements.txt", atomically: true, encoding: .utf8)
        let index = FileIndex(root: dir)
        let x = try RequirementsExtractor().extract(ExtractInput(file: try #require(index.file("requirements.txt")), index: index, context: ExtractContext(mode: .source, includeDev: false)))
        #expect(Fixture.summary(x) == ["pkg:pypi/idna@2.8 required"])
        #expect(x.diagnostics.filter { $0.unscanned != nil }.map(\.location.line) == [1, 2, 6], "\(x.diagnostics)")
    }

    @Test func requirementsIncludeLoopTerminates() throws {
        let x = try Fixture.extract(RequirementsExtractor(), "lockfiles/python-requirements/loop.txt")
        #expect(x.packages.isEmpty && x.diagnostics.isEmpty)
        let ex = try Fixture.extract(RequirementsExtractor(), "lockfiles/python-requirements/example.txt")
        // other-requirements.txt is a requirements file by its name: its own job reads it, not the includer's.
        #expect(Fixture.summary(ex) == ["pkg:pypi/docopt@0.6.1 required"])
        let other = try Fixture.extract(RequirementsExtractor(), "lockfiles/python-requirements/other-requirements.txt")
        #expect(Fixture.summary(other) == ["pkg:pypi/pandas@2.2.3 required"])
    }

    @Test func poetryEdges() throws {
        let x = try Fixture.extract(PythonTOMLLockExtractor(.poetry), "lockfiles/python-poetrylock/two-packages.lock")
        #expect(Fixture.summary(x) == ["pkg:pypi/proto-plus@1.22.0 required", "pkg:pypi/protobuf@4.21.5 required"])
        #expect(Fixture.edges(x)["pkg:pypi/proto-plus@1.22.0"] == ["pkg:pypi/protobuf@4.21.5"])
        #expect(Fixture.edges(x)["pkg:pypi/protobuf@4.21.5"] == [])
    }

    @Test func pdmDevGroup() throws {
        let prod = try Fixture.extract(PythonTOMLLockExtractor(.pdm), "lockfiles/python-pdmlock/dev-dependency.toml")
        #expect(Fixture.summary(prod) == ["pkg:pypi/toml@0.10.2 required"])
        let all = try Fixture.extract(PythonTOMLLockExtractor(.pdm), "lockfiles/python-pdmlock/dev-dependency.toml", includeDev: true)
        #expect(Fixture.summary(all) == ["pkg:pypi/pyroute2@0.7.11 dev", "pkg:pypi/toml@0.10.2 required", "pkg:pypi/win-inet-pton@1.1.0 dev"])
        #expect(Fixture.edges(all)["pkg:pypi/pyroute2@0.7.11"] == ["pkg:pypi/win-inet-pton@1.1.0"])
        // The sdist hash identifies the release.
        #expect(all.packages.first { $0.name == "toml" }?.digests == [Digest(.sha256, "b3bda1d108d5dd99f4a20d24d9c348e91c4db7ab1b749200bded2f839ccbe68f")])
    }

    @Test func pylockExample() throws {
        let x = try Fixture.extract(PythonTOMLLockExtractor(.pylock), "lockfiles/python-pylock/example.toml")
        #expect(Fixture.summary(x) == ["pkg:pypi/attrs@25.1.0 required", "pkg:pypi/cattrs@24.1.2 required", "pkg:pypi/numpy@2.2.3 required"])
        #expect(Fixture.edges(x)["pkg:pypi/cattrs@24.1.2"] == ["pkg:pypi/attrs@25.1.0"])
    }

    @Test func uvGroupsAndRoot() throws {
        let x = try Fixture.extract(PythonTOMLLockExtractor(.uv), "lockfiles/python-uvlock/grouped-packages.lock", includeDev: true)
        // The project itself (`source = { virtual = "." }`) is the root, not a dependency.
        #expect(!x.packages.contains { $0.name == "uv-lockfiles" })
        let byName = Dictionary(uniqueKeysWithValues: x.packages.map { ($0.name, $0) })
        // emoji is the project's one unconditional dependency.
        #expect(byName["emoji"]?.scope == .required && byName["emoji"]?.isDirect == true)
        // Extras (`cli`, `dev`, `test` under optional-dependencies) are optional, and so is what only they reach.
        for name in ["click", "black", "flake8"] {
            #expect(byName[name]?.scope == .optional && byName[name]?.isDirect == true, "\(name)")
        }
        for name in ["colorama", "mccabe", "mypy-extensions", "packaging", "pathspec", "platformdirs", "pycodestyle", "pyflakes", "tomli", "typing-extensions"] {
            #expect(byName[name]?.scope == .optional && byName[name]?.isDirect == false, "\(name)")
        }
        #expect(byName["black"]?.dependsOn == ["pkg:pypi/click@8.1.7", "pkg:pypi/mypy-extensions@1.0.0", "pkg:pypi/packaging@24.2",
                                                "pkg:pypi/pathspec@0.12.1", "pkg:pypi/platformdirs@4.3.6", "pkg:pypi/tomli@2.2.1",
                                                "pkg:pypi/typing-extensions@4.12.2"])
        #expect(byName["flake8"]?.dependsOn == ["pkg:pypi/mccabe@0.7.0", "pkg:pypi/pycodestyle@2.12.1", "pkg:pypi/pyflakes@3.2.0"])
        #expect(x.packages.count == 14)
    }

    @Test func uvDependencyGroupsAreDev() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("provenant-uvgroups-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        try """
        version = 1
        [[package]]
        name = "app"
        version = "0.1.0"
        source = { editable = "." }
        dependencies = [{ name = "idna" }]
        [package.dev-dependencies]
        dev = [{ name = "pytest" }]

        [[package]]
        name = "idna"
        version = "3.7"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "pytest"
        version = "8.0.0"
        source = { registry = "https://pypi.org/simple" }
        dependencies = [{ name = "idna" }]
        """.write(toFile: dir + "/uv.lock", atomically: true, encoding: .utf8)
        let index = FileIndex(root: dir)
        func run(_ dev: Bool) throws -> [String] {
            Fixture.summary(try PythonTOMLLockExtractor(.uv).extract(ExtractInput(file: try #require(index.file("uv.lock")), index: index,
                                                                                   context: ExtractContext(mode: .source, includeDev: dev))))
        }
        #expect(try run(true) == ["pkg:pypi/idna@3.7 required", "pkg:pypi/pytest@8.0.0 dev"])
        #expect(try run(false) == ["pkg:pypi/idna@3.7 required"])
    }

    @Test func pipfileDevSection() throws {
        let x = try Fixture.extract(PipfileLockExtractor(), "lockfiles/python-pipfilelock/one-package-dev.json", includeDev: true)
        #expect(x.packages.count == 1 && x.packages[0].scope == .dev)
        #expect(try Fixture.extract(PipfileLockExtractor(), "lockfiles/python-pipfilelock/one-package-dev.json").packages.isEmpty)
    }

    @Test func distInfoMetadata() throws {
        let x = try Fixture.extract(PythonInstalledExtractor(), "lockfiles/python-wheelegg/distinfo_meta")
        #expect(Fixture.summary(x) == ["pkg:pypi/pip@22.2.2 required"])
        #expect(x.packages[0].licenses == ["MIT"])
        #expect(x.packages[0].author == "The pip developers")
    }
}

@Suite struct LineEndingTests {
    /// "\r\n" is one Character in Swift, so splitting on Character("\n") never split CRLF text:
    /// such METADATA files were rejected as having no Name field.
    @Test func crlfMetadataParses() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("provenant-crlf-\(getpid())/pkg-1.0.dist-info").path
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "Metadata-Version: 2.1\r\nName: Some_Pkg\r\nVersion: 1.0\r\nLicense: MIT\r\n\r\nbody\r\n".write(toFile: dir + "/METADATA", atomically: true, encoding: .utf8)
        try "some_pkg/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n".write(toFile: dir + "/RECORD", atomically: true, encoding: .utf8)
        let index = FileIndex(root: dir)
        let x = try PythonInstalledExtractor().extract(ExtractInput(file: try #require(index.file("METADATA")), index: index,
                                                                    context: ExtractContext(mode: .installed, includeDev: false)))
        #expect(Fixture.summary(x) == ["pkg:pypi/some-pkg@1.0 required"])
        #expect(x.packages[0].licenses == ["MIT"])
        #expect(x.packages[0].files == [PackageFile(path: "some_pkg/__init__.py",
                                                    digest: Digest(.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))])
    }

    @Test func jarManifestWithCRLF() {
        let m = JarExtractor.manifest("Manifest-Version: 1.0\r\nImplementation-Title: app\r\nImplementation-Version: 1.5\r\n\r\n")
        #expect(m["Implementation-Version"] == "1.5")
    }
}

/// requirements.txt comments are found by bytes in ASCII lines; the place is the one the reading by
/// Characters finds, on random lines of `#`, spaces, tabs, carriage returns and text, and the
/// Character reading still takes lines that are not ASCII.
@Suite struct RequirementsCommentTests {
    @Test func theByteReadingFindsTheCharactersComment() {
        let pieces = ["#", "#", " ", "\t", "\r", "a", "==1.0", "--hash=sha256:ab", "\\", "x#y", " # via", "e\u{301}", "\u{301}#", "é"]
        var rng = SystemRandomNumberGenerator()
        var found = 0, ascii = 0
        for _ in 0..<20_000 {
            let line = (0..<Int.random(in: 0...7, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let (a, b) = (RequirementsExtractor.commentStart(line), RequirementsExtractor.commentStartByCharacters(line))
            #expect(a == b, "\(Array(line.utf8))")
            if a != nil { found += 1 }
            if line.utf8.allSatisfy({ $0 < 0x80 }) { ascii += 1 }
        }
        // Both kinds of line, with and without comments, were met.
        #expect(found > 5_000 && ascii > 5_000 && ascii < 19_000)
    }
}
