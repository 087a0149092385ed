import Foundation
import Testing
@testable import Catalog
import ProvenantCore
import ZIPFoundation

/// Crafted files that used to crash (stack overflow, arithmetic trap) or stall a whole scan. Each must
/// now end in a one-line diagnostic naming the file (and line, where there is one) while the rest of
/// the scan goes on.
@Suite struct HostileInputTests {
    static func tempDir(_ tag: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-hostile-\(tag)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ bytes: [UInt8], _ path: String, executable: Bool = false) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if executable { chmod(path, 0o755) }
    }

    /// Runs one extractor on `name` inside `dir`.
    static func extract(_ e: any Extractor, _ dir: String, _ name: String) throws -> Extraction {
        let index = FileIndex(root: dir)
        let file = try #require(index.file(name))
        return try e.extract(ExtractInput(file: file, index: index, context: ExtractContext(mode: .source, includeDev: false)))
    }

    /// Catalogs `dir`, which also holds a healthy requirements.txt: its package must survive whatever the hostile file does.
    static func catalogWithHealthyNeighbour(_ dir: String) async throws -> Inventory {
        try write(Array("requests==2.31.0\n".utf8), dir + "/requirements.txt")
        let inv = try await Cataloger(mode: .source).catalog(dir)
        #expect(inv.packages.contains { $0.purl.description == "pkg:pypi/requests@2.31.0" }, "the healthy file next to the hostile one is still read")
        return inv
    }

    static func parseError(_ body: () throws -> Void) -> ParseError? {
        do { try body(); return nil } catch let e as ParseError { return e } catch { return ParseError("\(error)") }
    }

    // MARK: Path text

    /// Foundation's lastPathComponent and deletingLastPathComponent trap on this argv[0] (found by
    /// the guard-exec-argv harness); PathText gives the same answers without trapping.
    @Test func pathTextSplitsWhatFoundationTrapsOn() {
        let hostile = "basenv31I////////////////////P///"
        #expect(PathText.lastComponent(hostile) == "P" && PathText.parent(hostile) == "basenv31I")
        let cases: [(String, String, String)] = [("/usr/bin/env", "env", "/usr/bin"), ("/a", "a", "/"), ("a", "a", ""), ("a//b/", "b", "a"),
                                                  ("/", "/", "/"), ("", "", "")]
        for (p, last, parent) in cases {
            #expect(PathText.lastComponent(p) == last && PathText.parent(p) == parent, "\(p)")
        }
    }

    /// The last component is cut by bytes; it is the one cutting by scalars gave, on random paths of
    /// slashes, ASCII, multi-byte letters, combining marks and emoji.
    @Test func lastComponentByBytesIsTheScalarsOne() {
        func byScalars(_ p: String) -> String {
            var u = Substring(p).unicodeScalars
            while u.last == "/", !u.dropFirst().isEmpty { u = u.dropLast() }
            if u.first == "/", u.dropFirst().isEmpty { return "/" }
            guard let slash = u.lastIndex(of: "/") else { return String(Substring(u)) }
            return String(Substring(u[u.index(after: slash)...]))
        }
        let pieces = ["/", "/", "a", "b.json", "é", "e\u{301}", "\u{301}", "😀", "ß", "\u{0}", " ", "//"]
        var rng = SystemRandomNumberGenerator()
        var differing = 0
        for _ in 0..<20_000 {
            let p = (0..<Int.random(in: 0...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let (a, b) = (PathText.lastComponent(p), byScalars(p))
            if !a.utf8.elementsEqual(b.utf8) { differing += 1 }
        }
        #expect(differing == 0)
    }

    // MARK: The walk and the scan's read budget

    /// Many large files must not stall a scan: past the scan's budget a file is not read, and says so,
    /// while what the budget covered is catalogued.
    /// A package without a name makes no purl (`pkg:gem/@3.0`, `pkg:npm/@1.0.0`): skipped, and said (helper-107).
    @Test func packagesWithoutANameAreSkippedAndSaid() async throws {
        let dir = try Self.tempDir("nameless")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write(Array("GEM\n  remote: https://rubygems.org/\n  specs:\n    (3.0)\n    rake (13.0.6)\n\nDEPENDENCIES\n  rake\n".utf8), dir + "/Gemfile.lock")
        let inv = try await Self.catalogWithHealthyNeighbour(dir)
        #expect(!inv.packages.contains { $0.purl.name.isEmpty } && inv.packages.contains { $0.purl.description == "pkg:gem/rake@13.0.6" })
        #expect(inv.diagnostics.contains { $0.message.contains("without a name, skipped") && $0.location.line == 4 }, "\(inv.diagnostics)")
    }

    /// A lockfile that is a link out of the target is not read, and the SBOM says so (helper-107).
    @Test func aLockfileLinkedOutOfTheTargetIsSaidNotRead() async throws {
        let dir = try Self.tempDir("linked-out")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outside = try Self.tempDir("outside")
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try Self.write(Array("flask==3.0.0\n".utf8), outside + "/requirements.txt")
        try FileManager.default.createDirectory(atPath: dir + "/app", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/app/requirements.txt", withDestinationPath: outside + "/requirements.txt")
        let inv = try await Self.catalogWithHealthyNeighbour(dir)
        #expect(!inv.packages.contains { $0.name == "flask" })
        #expect(inv.diagnostics.contains { $0.location.path == "app/requirements.txt" && $0.message.contains("leads outside the target") && $0.unscanned != nil }, "\(inv.diagnostics)")
        // Inside the root, to a file no extractor reads under its own name: not read either, and said (review).
        try Self.write(Array("django==5.0\n".utf8), dir + "/app/pins.dat")
        try FileManager.default.createSymbolicLink(atPath: dir + "/requirements-dev.txt", withDestinationPath: "app/pins.dat")
        let inside = try await Cataloger(mode: .source).catalog(dir)
        #expect(inside.diagnostics.contains { $0.location.path == "requirements-dev.txt" && $0.unscanned != nil }, "\(inside.diagnostics)")
    }

    @Test func filesBeyondTheScansReadBudgetAreReportedNotRead() async throws {
        let dir = try Self.tempDir("scan-read-budget")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Three requirements files of about 600 KB each (comment padding), under a 1 MiB budget.
        let pad = "# " + String(repeating: "x", count: 600_000) + "\n"
        for (i, name) in ["a", "b", "c"].enumerated() {
            try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
            try Self.write(Array((pad + "pkg\(i)==1.0.\(i)\n").utf8), dir + "/\(name)/requirements.txt")
        }
        let inv = try await Cataloger(mode: .source, readBudget: 1 << 20).catalog(dir)
        #expect(inv.packages.count == 1, "\(inv.packages.map(\.purl.description))")
        let refused = inv.diagnostics.filter { $0.message.contains("read its budget of 1 MiB") }
        #expect(refused.count == 2, "\(inv.diagnostics)")
        // The default budget reads them all.
        #expect(try await Cataloger(mode: .source).catalog(dir).packages.count == 3)
    }

    /// A tree deeper than the walk's limit is reported at the limit, not walked to the bottom.
    @Test func aTreeDeeperThanTheWalkLimitIsReported() throws {
        let dir = try Self.tempDir("walk-depth")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fd = open(dir, O_RDONLY | O_DIRECTORY)
        var cur = fd
        // Built with mkdirat/openat: the full path is longer than PATH_MAX.
        for _ in 0..<(FileIndex.maxDepth + 20) {
            #expect(mkdirat(cur, "d", 0o755) == 0)
            let next = openat(cur, "d", O_RDONLY | O_DIRECTORY)
            if cur != fd { close(cur) }
            cur = next
        }
        let leaf = openat(cur, "requirements.txt", O_WRONLY | O_CREAT, 0o644)
        close(leaf); close(cur); close(fd)
        let index = FileIndex(root: dir)
        #expect(index.files.isEmpty)
        let d = try #require(index.diagnostics.first)
        #expect(d.message.contains("more than \(FileIndex.maxDepth) directories deep"))
        // What was not walked was not checked: a scan's --fail-on must see it.
        #expect(d.unscanned == .input)
        #expect(d.location.path.split(separator: "/").count == FileIndex.maxDepth + 1)
        // Removed the same way: the path is too long for FileManager.
        _ = try? Process.run(URL(fileURLWithPath: "/bin/rm"), arguments: ["-rf", dir]).waitUntilExit()
    }

    /// A symbolic link to a directory outside the root is not walked into.
    @Test func aLinkedDirectoryIsNotWalked() throws {
        let dir = try Self.tempDir("walk-link")
        let outside = try Self.tempDir("walk-link-outside")
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: outside) }
        try Self.write(Array("secret==1.0\n".utf8), outside + "/requirements.txt")
        try FileManager.default.createSymbolicLink(atPath: dir + "/vendor", withDestinationPath: outside)
        try Self.write(Array("ok==1.0\n".utf8), dir + "/requirements.txt")
        #expect(FileIndex(root: dir).files.map(\.path) == ["requirements.txt"])
    }

    // MARK: TOML

    @Test func tomlNestingIsLimitedInsteadOfOverflowingTheStack() throws {
        let deep = 100_000
        let cases = [
            "a = " + String(repeating: "[", count: deep),
            "[package]\nname = \"x\"\nb = " + String(repeating: "{c = ", count: deep),
            String(repeating: "a.", count: deep) + "b = 1",
            "[" + String(repeating: "a.", count: deep) + "b]",
            // Nesting built from dotted keys inside inline tables adds up across levels.
            "a = " + String(repeating: "{" + String(repeating: "k.", count: 60) + "k = ", count: 40),
        ]
        for (i, text) in cases.enumerated() {
            let e = try #require(Self.parseError { _ = try TOMLParser.parse(text) }, "case \(i) must be refused")
            #expect(e.message.contains("deeper than \(TOMLParser.maxDepth)") || e.message.contains("more than \(TOMLParser.maxDepth) dotted parts"), "case \(i): \(e.message)")
            #expect(e.line != nil)
        }
        // Ordinary nesting still reads.
        let ok = try TOMLParser.parse("a = [[1, 2], [3, {x = [4]}]]\n[b.c.d]\ne = {f.g = 1}\n")
        #expect(ok["a"]?.array?.count == 2)
        #expect(ok.table("b")?.table("c")?.table("d")?.table("e")?.table("f")?["g"] != nil)
    }

    @Test func deeplyNestedCargoLockIsADiagnosticAndTheScanGoesOn() async throws {
        let dir = try Self.tempDir("cargo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write(Array(("version = 3\n\na = " + String(repeating: "[", count: 100_000)).utf8), dir + "/Cargo.lock")
        let inv = try await Self.catalogWithHealthyNeighbour(dir)
        let d = try #require(inv.diagnostics.first { $0.location.path == "Cargo.lock" })
        #expect(d.location.line == 3)
        #expect(d.message.contains("nested deeper than"))
        #expect(!d.description.contains("\n"))
    }

    /// 50,000 `[[package]]` entries with sub-tables: each header and key used to copy the whole array
    /// it edited, quadratic in the number of packages (20,000 took 54 s in a debug build, this ~6 minutes;
    /// now ~6 s).
    @Test(.timeLimit(.minutes(1))) func manyArrayTablesParseInLinearTime() throws {
        let n = 50_000
        var text = ""
        for i in 0..<n { text += "[[package]]\nname = \"p\(i)\"\n[package.dependencies]\nx = \"1\"\n" }
        let doc = try TOMLParser.parse(text)
        #expect(doc.tables("package").count == n)
        #expect(doc.tables("package").last?.str("name") == "p\(n - 1)")
        #expect(doc.tables("package").last?.table("dependencies")?.str("x") == "1")
    }

    // MARK: XML

    /// 300,000 nested elements: before, every closing tag joined the whole open-element stack, so
    /// the parse was quadratic (hours in a debug build); now nesting stops at `MiniXML.maxDepth`.
    @Test(.timeLimit(.minutes(1))) func deeplyNestedPomFailsFastWithItsLine() throws {
        let dir = try Self.tempDir("pom")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = 300_000
        var xml = "<?xml version=\"1.0\"?>\n<project>\n"
        xml += String(repeating: "<a>", count: n) + String(repeating: "</a>", count: n) + "\n</project>\n"
        try Self.write(Array(xml.utf8), dir + "/pom.xml")
        let e = try #require(Self.parseError { _ = try Self.extract(PomExtractor(), dir, "pom.xml") })
        #expect(e.message.contains("nested deeper than \(MiniXML.maxDepth) levels"))
        #expect(e.line == 3)
    }

    /// Many dependencies whose versions come from dependencyManagement: before, each looked through
    /// every managed entry, quadratic in the file's size.
    @Test(.timeLimit(.minutes(1))) func managedVersionsResolveInLinearTime() throws {
        let dir = try Self.tempDir("pom-managed")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = 20_000
        var xml = "<project><groupId>g</groupId><artifactId>root</artifactId><version>1</version><dependencyManagement><dependencies>\n"
        for i in 0..<n { xml += "<dependency><groupId>org.m</groupId><artifactId>a\(i)</artifactId><version>1.\(i)</version></dependency>\n" }
        xml += "</dependencies></dependencyManagement><dependencies>\n"
        for i in 0..<n { xml += "<dependency><groupId>org.m</groupId><artifactId>a\(n - 1 - i)</artifactId></dependency>\n" }
        xml += "</dependencies></project>\n"
        try Self.write(Array(xml.utf8), dir + "/pom.xml")
        let x = try Self.extract(PomExtractor(), dir, "pom.xml")
        #expect(x.packages.count == n)
        #expect(x.diagnostics.isEmpty)
        #expect(x.packages.contains { $0.purl.description == "pkg:maven/org.m/a7@1.7" })
    }

    /// An empty or blank license says nothing and made an invalid SPDX document (helper-75): never kept.
    @Test func blankLicensesAreNotKept() {
        var p = Package(ecosystem: .npm, name: "left-pad", version: "1.3.0", purl: PackageURL(type: "npm", name: "left-pad", version: "1.3.0"),
                        licenses: ["", "MIT", " \t"], foundBy: "test")
        #expect(p.licenses == ["MIT"])
        p.licenses = [""]
        #expect(p.licenses.isEmpty)
    }

    /// A property used many times over expands no further than a coordinate or version can be long: a
    /// 125 KB POM gave a 160 MB SBOM and as much on stderr (found by helper-75). The dependency is an
    /// entry not resolved, never a package of that size.
    @Test func propertyExpansionIsBounded() throws {
        let dir = try Self.tempDir("pom-expand")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let big = String(repeating: "x", count: 100)
        let xml = "<project><properties><a>\(big)</a><b>${a}${a}${a}${a}${a}${a}</b></properties><dependencies>"
            + "<dependency><groupId>g</groupId><artifactId>wide</artifactId><version>${b}</version></dependency>"
            + "<dependency><groupId>g</groupId><artifactId>fits</artifactId><version>${a}</version></dependency></dependencies></project>"
        try Self.write(Array(xml.utf8), dir + "/pom.xml")
        let x = try Self.extract(PomExtractor(), dir, "pom.xml")
        #expect(x.packages.map(\.name) == ["g:fits"])
        #expect(x.diagnostics.count == 1 && x.diagnostics.first?.unscanned == .entry && x.diagnostics.first?.message.contains("expands past 512 bytes") == true)
    }

    /// go.mod with many requires and replaces: each require searched every replace and every package
    /// taken so far, quadratic in the file's size (40,000 of each ran past 400 s in a debug build; now ~7 s).
    @Test(.timeLimit(.minutes(1))) func goModWithManyRequiresIsLinear() throws {
        let dir = try Self.tempDir("gomod")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = 40_000
        var text = "module example.com/m\n\ngo 1.22\n\nrequire (\n"
        for i in 0..<n { text += "\texample.com/d\(i) v1.0.\(i)\n" }
        text += ")\n\nreplace (\n"
        for i in 0..<n { text += "\texample.com/d\(i) => example.com/fork\(i % (n / 2)) v2.0.0\n" }
        text += ")\n"
        try Self.write(Array(text.utf8), dir + "/go.mod")
        let x = try Self.extract(GoModExtractor(), dir, "go.mod")
        // Two requirements replaced by the same module are one dependency.
        #expect(x.packages.filter { $0.name != "stdlib" }.count == n / 2)
        #expect(x.packages.contains { $0.purl.description == "pkg:golang/example.com/fork7@v2.0.0" })
    }

    /// Foundation's JSON reader stops at 512 levels on its own; its error now carries the line.
    @Test func deeplyNestedJSONNamesItsLine() async throws {
        let dir = try Self.tempDir("json")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let deep = 100_000
        try Self.write(Array(("{\n\"lockfileVersion\": 3,\n\"packages\": " + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + "}\n").utf8),
                       dir + "/package-lock.json")
        let inv = try await Self.catalogWithHealthyNeighbour(dir)
        let d = try #require(inv.diagnostics.first { $0.location.path == "package-lock.json" })
        #expect(d.message.contains("Too many nested arrays or dictionaries"))
        #expect(d.location.line == 3)
    }

    // MARK: YAML

    @Test func deeplyNestedPnpmLockIsRefusedBeforeYamsRecurses() async throws {
        let dir = try Self.tempDir("pnpm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // libyaml itself stops at 1,000 levels; below that Yams' node builder recursed once per level.
        let deep = 900
        try Self.write(Array(("lockfileVersion: '9.0'\n\nsettings: " + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + "\n").utf8), dir + "/pnpm-lock.yaml")
        let inv = try await Self.catalogWithHealthyNeighbour(dir)
        let d = try #require(inv.diagnostics.first { $0.location.path == "pnpm-lock.yaml" })
        #expect(d.message.contains("nested deeper than \(YAMLNesting.maxDepth) levels"))
        #expect(d.location.line == 3)
        // Block sequences nest too: `- - - …` on one line.
        #expect(throws: ParseError.self) { try YAMLNesting.check(String(repeating: "- ", count: deep) + "x\n") }
        try YAMLNesting.check("a:\n  b: [1, {c: [2]}]\n")
    }

    /// A bun.lock tarball URL with a password: split at the last `@`, the password became the name and
    /// purl (helper-146). Now the URL entry is not resolved, and said; scoped and git entries still read.
    @Test func bunTarballURLsAreNotResolvedAndKeepNoCredentials() throws {
        let dir = try Self.tempDir("bun-url")
        try Self.write(Array("""
        { "lockfileVersion": 1, "packages": {
          "foo": ["foo@https://deploy:HunterTwo2024@pkgs.example.com/foo-1.0.0.tgz", {}],
          "@sc/bar": ["@sc/bar@2.0.0", "", {}, ""],
          "baz": ["baz@git+https://u:pw123456@git.example.com/baz.git#abc123", {}],
        } }
        """.utf8), dir + "/bun.lock")
        let x = try Self.extract(BunLockExtractor(), dir, "bun.lock")
        #expect(Set(x.packages.map { "\($0.name)@\($0.version)" }) == ["@sc/bar@2.0.0", "baz@abc123"])
        let all = "\(x.packages.map { $0.purl.description + $0.name + $0.version + $0.ref }) \(x.diagnostics.map(\.message))"
        #expect(!all.contains("HunterTwo2024") && !all.lowercased().contains("huntertwo2024") && !all.contains("pw123456"), "\(all)")
        let d = try #require(x.diagnostics.first)
        #expect(d.unscanned == .entry && d.message.contains("'foo'") && d.location.line == 2, "\(x.diagnostics)")
    }

    /// package-lock.json entries without a version were dropped without a word, and a scan said clean.
    @Test func npmEntriesWithoutAVersionAreSaid() throws {
        let dir = try Self.tempDir("npm-noversion")
        try Self.write(Array("""
        { "lockfileVersion": 3, "packages": {
          "": { "dependencies": { "noversion": "^1.0.0" } },
          "node_modules/noversion": { "resolved": "https://registry.npmjs.org/noversion/-/noversion-1.0.0.tgz" },
          "node_modules/ok": { "version": "1.0.0" },
          "node_modules/peer-not-installed": { "dev": true, "optional": true, "peer": true },
          "node_modules/dev-only": { "dev": true, "resolved": "https://registry.npmjs.org/dev-only/-/dev-only-1.0.0.tgz" }
        } }
        """.utf8), dir + "/package-lock.json")
        let x = try Self.extract(NpmLockExtractor(), dir, "package-lock.json")
        #expect(x.packages.map(\.name) == ["ok"])
        #expect(x.diagnostics.contains { $0.unscanned == .entry && $0.message.contains("node_modules/noversion") && $0.location.line == 3 }, "\(x.diagnostics)")
        // An optional peer npm did not install holds nothing; a dev entry counts only with dev (helper-149).
        #expect(x.diagnostics.filter { $0.unscanned == .entry }.count == 1, "\(x.diagnostics)")
        let v1 = try Self.tempDir("npm-noversion-v1")
        try Self.write(Array("""
        { "lockfileVersion": 1, "dependencies": {
          "noversion": { "resolved": "https://registry.npmjs.org/noversion/-/noversion-1.0.0.tgz" },
          "ok": { "version": "1.0.0" }
        } }
        """.utf8), v1 + "/package-lock.json")
        let y = try Self.extract(NpmLockExtractor(), v1, "package-lock.json")
        #expect(y.packages.map(\.name) == ["ok"])
        #expect(y.diagnostics.contains { $0.unscanned == .entry && $0.message.contains("noversion") }, "\(y.diagnostics)")
    }

    @Test func npmEdgesPastTheResolutionLimitsAreSaidNotDropped() throws {
        let dir = try Self.tempDir("npm-deep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A copy of `a` nested 200 deep (past 128 levels) needs `shared`, which only the top level
        // holds: its edge cannot be resolved within the limits. The shallow copy's edge is.
        let deepKey = Array(repeating: "node_modules/a", count: 200).joined(separator: "/")
        let lock = #"{"lockfileVersion":3,"packages":{"":{"dependencies":{"a":"1.0.0"}},"node_modules/shared":{"version":"2.0.0"},"node_modules/a":{"version":"1.0.0","dependencies":{"shared":"2.0.0"}},""#
            + deepKey + #"":{"version":"1.0.1","dependencies":{"shared":"2.0.0"}}}}"#
        try Self.write(Array(lock.utf8), dir + "/package-lock.json")
        let x = try Self.extract(NpmLockExtractor(), dir, "package-lock.json")
        #expect(x.packages.first { $0.version == "1.0.0" }?.dependsOn == ["pkg:npm/shared@2.0.0"], "\(x.packages)")
        #expect(x.packages.first { $0.version == "1.0.1" }?.dependsOn == [])
        #expect(x.diagnostics.count == 1 && x.diagnostics[0].message.contains("dependencies of 1 package nested past 4096-byte keys or 128 levels were not resolved"), "\(x.diagnostics)")
        // Within the limits nothing is said.
        let shallow = #"{"lockfileVersion":3,"packages":{"node_modules/shared":{"version":"2.0.0"},"node_modules/a":{"version":"1.0.0","dependencies":{"shared":"2.0.0","absent":"1.0.0"}}}}"#
        try Self.write(Array(shallow.utf8), dir + "/package-lock.json")
        #expect(try Self.extract(NpmLockExtractor(), dir, "package-lock.json").diagnostics.isEmpty)
    }

    // MARK: Go binaries

    /// An ELF64 file: header, `body` at offset 64, then the section headers. Sections name their
    /// strings by index into the generated name table.
    static func elf(body: [UInt8], sections: [(name: String, type: UInt32, addr: UInt64, offset: UInt64, size: UInt64)],
                    shoff: UInt64? = nil) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        var names: [UInt8] = [0]
        var nameOffsets: [UInt32] = []
        for s in sections + [(".shstrtab", 3, 0, 0, 0)] { nameOffsets.append(UInt32(names.count)); names += Array(s.0.utf8) + [0] }
        let strOffset = 64 + body.count
        let tableOffset = strOffset + names.count
        var f: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        f += le(UInt16(2)) + le(UInt16(0x3E)) + le(UInt32(1)) + le(UInt64(0)) + le(UInt64(0)) + le(shoff ?? UInt64(tableOffset))
        f += le(UInt32(0)) + le(UInt16(64)) + le(UInt16(56)) + le(UInt16(0)) + le(UInt16(64))
        f += le(UInt16(sections.count + 2)) + le(UInt16(sections.count + 1))
        f += body + names
        func header(_ name: UInt32, _ type: UInt32, _ addr: UInt64, _ off: UInt64, _ size: UInt64) -> [UInt8] {
            le(name) + le(type) + le(UInt64(0)) + le(addr) + le(off) + le(size) + le(UInt32(0)) + le(UInt32(0)) + le(UInt64(1)) + le(UInt64(0))
        }
        f += header(0, 0, 0, 0, 0)
        for (i, s) in sections.enumerated() { f += header(nameOffsets[i], s.type, s.addr, s.offset, s.size) }
        f += header(nameOffsets[sections.count], 3, 0, UInt64(strOffset), UInt64(names.count))
        return f + [UInt8](repeating: 0, count: 4096)
    }

    /// A pre-1.18 `.go.buildinfo` header (flags 0, 8-byte pointers) whose version-string pointer is `ptr`.
    static func oldBuildInfo(pointingAt ptr: UInt64) -> [UInt8] {
        var h: [UInt8] = [0xFF] + Array(" Go buildinf:".utf8) + [8, 0]
        h += withUnsafeBytes(of: ptr.littleEndian) { Array($0) }
        h += [UInt8](repeating: 0, count: 32 - h.count)
        return h
    }

    @Test func craftedELFOffsetsAreDiagnosticsNotTraps() async throws {
        let dir = try Self.tempDir("elf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let top = UInt64.max
        let cases: [(String, [UInt8], String)] = [
            // The section header table claimed past Int64.max: seeking there trapped.
            ("shoff", Self.elf(body: [], sections: [], shoff: 0xFFFF_FFFF_FFFF_FF00), "section header table"),
            // A pointer two bytes below the top of a section that ends at 2^64 - 1: `addr + size` overflowed.
            ("addr", Self.elf(body: Self.oldBuildInfo(pointingAt: top - 1),
                              sections: [(".go.buildinfo", 1, 0, 64, 32), (".data", 1, top - 0x100, 64, 0x100)]), "damaged Go build info"),
            // A section whose file offset is near 2^64: `offset + (addr - s.addr)` overflowed.
            ("offset", Self.elf(body: Self.oldBuildInfo(pointingAt: 0x1100),
                                sections: [(".go.buildinfo", 1, 0, 64, 32), (".data", 1, 0x1000, top - 8, 0x1000)]), "damaged Go build info"),
            // A section that wraps around the address space.
            ("wrap", Self.elf(body: Self.oldBuildInfo(pointingAt: top - 0x10),
                              sections: [(".go.buildinfo", 1, 0, 64, 32), (".data", 1, top - 0x20, 64, 0x1000)]), "damaged Go build info"),
        ]
        for (name, bytes, _) in cases { try Self.write(bytes, dir + "/" + name, executable: true) }
        for (name, _, want) in cases {
            let e = try #require(Self.parseError { _ = try Self.extract(GoBinaryExtractor(), dir, name) }, "\(name) must be refused")
            #expect(e.message.contains(want), "\(name): \(e.message)")
        }
        let inv = try await Self.catalogWithHealthyNeighbour(dir)
        for (name, _, _) in cases {
            #expect(inv.diagnostics.contains { $0.location.path == name && $0.message.hasPrefix("go-binary: damaged") }, "\(name) is reported")
        }
    }

    // MARK: Jars and zips

    /// A zip written by hand, so headers can lie: stored or raw-deflate `data` per entry, as given.
    static func zip(_ entries: [(name: String, method: UInt16, data: [UInt8], usize: UInt32)], zip64CDOffset: UInt64? = nil) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        var out: [UInt8] = [], cd: [UInt8] = []
        for e in entries {
            let off = UInt32(out.count), name = Array(e.name.utf8)
            out += le(UInt32(0x0403_4B50)) + le(UInt16(20)) + le(UInt16(0)) + le(e.method) + le(UInt32(0)) + le(UInt32(0))
                + le(UInt32(e.data.count)) + le(e.usize) + le(UInt16(name.count)) + le(UInt16(0)) + name + e.data
            cd += le(UInt32(0x0201_4B50)) + le(UInt16(20)) + le(UInt16(20)) + le(UInt16(0)) + le(e.method) + le(UInt32(0)) + le(UInt32(0))
                + le(UInt32(e.data.count)) + le(e.usize) + le(UInt16(name.count)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0))
                + le(UInt16(0)) + le(UInt32(0)) + le(off) + name
        }
        let cdOffset = out.count
        out += cd
        if let z = zip64CDOffset {
            let rec = out.count
            out += le(UInt32(0x0606_4B50)) + le(UInt64(44)) + le(UInt16(45)) + le(UInt16(45)) + le(UInt32(0)) + le(UInt32(0))
                + le(UInt64(entries.count)) + le(UInt64(entries.count)) + le(UInt64(cd.count)) + le(z)
            out += le(UInt32(0x0706_4B50)) + le(UInt32(0)) + le(UInt64(rec)) + le(UInt32(1))
        }
        out += le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(entries.count)) + le(UInt16(entries.count))
            + le(UInt32(cd.count)) + le(UInt32(zip64CDOffset == nil ? UInt32(cdOffset) : 0xFFFF_FFFF)) + le(UInt16(0))
        return out
    }

    /// A real deflated zip of one entry of `size` zero bytes, written by ZIPFoundation.
    static func zeros(_ name: String, size: Int) throws -> [UInt8] {
        let archive = try Archive(accessMode: .create)
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(size), compressionMethod: .deflate) { pos, n in
            Data(count: min(n, size - Int(pos)))
        }
        return [UInt8](try #require(archive.data))
    }

    static let manifest = Array("Manifest-Version: 1.0\nImplementation-Title: lib\nImplementation-Version: 1.0\nImplementation-Vendor-Id: org.ok\n".utf8)

    @Test(.timeLimit(.minutes(2))) func zipBombEntryIsCutOffByTheRatioCap() async throws {
        let dir = try Self.tempDir("bomb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 64 MiB of zeros deflate to about 64 KiB: a ratio near 1000:1. Before, all of it was inflated
        // (and a 4 GiB one would have been too), with no word about it.
        try Self.write(try Self.zeros("META-INF/MANIFEST.MF", size: 64 << 20), dir + "/bomb-1.0.jar")
        let x = try Self.extract(JarExtractor(), dir, "bomb-1.0.jar")
        #expect(x.diagnostics.contains { $0.location.path == "bomb-1.0.jar!/META-INF/MANIFEST.MF" && $0.message.contains("inflates more than 200 times") },
                "\(x.diagnostics)")
        let inv = try await Self.catalogWithHealthyNeighbour(dir)
        #expect(inv.diagnostics.contains { $0.message.contains("zip bomb") })
    }

    @Test func totalInflatedBytesAreBudgetedAcrossEntriesAndNestedJars() throws {
        let dir = try Self.tempDir("budget")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var limits = ArchiveLimits()
        limits.totalInflatedBytes = 1 << 20
        // Stored (ratio 1) entries: the ratio cap never fires, only the shared budget does.
        let inner = Self.zip([("META-INF/MANIFEST.MF", 0, Self.manifest, UInt32(Self.manifest.count)),
                              ("lib/pad-1.jar", 0, [UInt8](repeating: 7, count: 700 << 10), 700 << 10)])
        let outer = Self.zip([("META-INF/MANIFEST.MF", 0, Self.manifest, UInt32(Self.manifest.count)),
                              ("lib/inner-1.0.jar", 0, inner, UInt32(inner.count))])
        try Self.write(outer, dir + "/outer-1.0.jar")
        let x = try Self.extract(JarExtractor(limits: limits), dir, "outer-1.0.jar")
        #expect(x.diagnostics.contains { $0.location.path == "outer-1.0.jar" && $0.message.contains("more than 1 MiB") }, "\(x.diagnostics)")
        // What was read before the budget ran out is kept.
        #expect(x.packages.contains { $0.purl.description == "pkg:maven/org.ok/outer@1.0" })
    }

    @Test func packagesReadBeforeTheBudgetRanOutAreKept() throws {
        let dir = try Self.tempDir("kept")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var limits = ArchiveLimits()
        limits.totalInflatedBytes = 1 << 20
        // log4j's coordinates come first; the next entry, a stored jar, exhausts the budget.
        let pom = Array("groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n".utf8)
        let jar = Self.zip([("META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties", 0, pom, UInt32(pom.count)),
                            ("lib/pad-1.jar", 0, [UInt8](repeating: 7, count: 2 << 20), 2 << 20)])
        try Self.write(jar, dir + "/log4j-core-2.14.1.jar")
        let x = try Self.extract(JarExtractor(limits: limits), dir, "log4j-core-2.14.1.jar")
        #expect(x.packages.map(\.purl.description) == ["pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"], "\(x.diagnostics)")
        #expect(x.diagnostics.contains { $0.message.contains("stopped reading") })
    }

    @Test func entriesSharingCompressedDataAreRefused() throws {
        let dir = try Self.tempDir("overlap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = Array("groupId=a\nartifactId=a\nversion=1\n".utf8)
        var bytes = Self.zip([("META-INF/maven/a/a/pom.properties", 0, a, UInt32(a.count)),
                              ("META-INF/maven/b/b/pom.properties", 0, a, UInt32(a.count))])
        // Point the second central-directory record at the first entry's local header and data.
        var records: [Int] = []
        for i in 0..<(bytes.count - 4) where bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x01 && bytes[i + 3] == 0x02 { records.append(i) }
        try #require(records.count == 2)
        for k in 0..<4 { bytes[records[1] + 42 + k] = bytes[records[0] + 42 + k] }
        try Self.write(bytes, dir + "/a-1.jar")
        #expect { try Self.extract(JarExtractor(), dir, "a-1.jar") } throws: { ($0 as? ParseError)?.message.contains("share compressed data") == true }
    }

    @Test func entryNamesAreRedactedBeforeTheyAreCut() throws {
        let dir = try Self.tempDir("zipname")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The '@' that marks the password comes after the first 120 characters of the name.
        let password = String(repeating: "p", count: 130)
        let name = "lib/https://deploy:" + password + "@host.example/x.jar"
        let jar = Self.zip([(name, 99, [1, 2, 3], 3)])
        try Self.write(jar, dir + "/app-1.0.jar")
        let x = try Self.extract(JarExtractor(), dir, "app-1.0.jar")
        #expect(!x.diagnostics.isEmpty)
        #expect(!x.diagnostics.contains { $0.message.contains("pppppppppp") }, "\(x.diagnostics)")
    }

    @Test func aSmallArchiveGetsASmallBudget() {
        let small = InflateBudget(ArchiveLimits(), archiveSize: 48 << 10)
        #expect(small.limit == 16 << 20, "48 KiB × 256 is under the 16 MiB floor")
        let large = InflateBudget(ArchiveLimits(), archiveSize: 1 << 30)
        #expect(large.limit == 512 << 20, "the absolute cap still holds")
        #expect(InflateBudget(ArchiveLimits(), archiveSize: 1 << 20).limit == 256 << 20)
    }

    @Test func nestingDeeperThanTheLimitIsReportedNotRead() throws {
        let dir = try Self.tempDir("nest")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var jar = Self.zip([("META-INF/MANIFEST.MF", 0, Self.manifest, UInt32(Self.manifest.count))])
        for level in (1...6).reversed() { jar = Self.zip([("lib/l\(level)-1.0.jar", 0, jar, UInt32(jar.count))]) }
        try Self.write(jar, dir + "/top-1.0.jar")
        let x = try Self.extract(JarExtractor(), dir, "top-1.0.jar")
        #expect(x.diagnostics.contains { $0.location.path == "top-1.0.jar!/lib/l1-1.0.jar!/lib/l2-1.0.jar!/lib/l3-1.0.jar!/lib/l4-1.0.jar!/lib/l5-1.0.jar"
            && $0.message.contains("nested more than 4 levels deep") }, "\(x.diagnostics)")
    }

    /// The limit catches a stall, not slowness: a minute was once not enough on a loaded CI machine.
    @Test(.timeLimit(.minutes(5))) func damagedZipStructuresFailCleanly() async throws {
        let dir = try Self.tempDir("zip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A deflate stream that ends before its last block: it used to be dropped without a word.
        let unfinished: [UInt8] = [0x00, 0xE8, 0x03, 0x17, 0xFC] + Array("short".utf8)
        try Self.write(Self.zip([("META-INF/MANIFEST.MF", 8, unfinished, 1000)]), dir + "/stall-1.0.jar")
        // A ZIP64 central directory offset past Int64.max: ZIPFoundation trapped converting it to off_t.
        try Self.write(Self.zip([("META-INF/MANIFEST.MF", 0, Self.manifest, UInt32(Self.manifest.count))], zip64CDOffset: 1 << 63), dir + "/zip64-1.0.jar")
        // A local header offset past the end of the file.
        var far = Self.zip([("META-INF/MANIFEST.MF", 0, Self.manifest, UInt32(Self.manifest.count))])
        let cd = far.count - 22 - (46 + 20)
        far.replaceSubrange((cd + 42)..<(cd + 46), with: [0xF0, 0xFF, 0xFF, 0x7F])
        try Self.write(far, dir + "/far-1.0.jar")

        let stall = try Self.extract(JarExtractor(), dir, "stall-1.0.jar")
        #expect(stall.diagnostics.contains { $0.message.contains("damaged deflate data") }, "\(stall.diagnostics)")
        let e1 = try #require(Self.parseError { _ = try Self.extract(JarExtractor(), dir, "zip64-1.0.jar") })
        #expect(e1.message.contains("central directory"))
        let e2 = try #require(Self.parseError { _ = try Self.extract(JarExtractor(), dir, "far-1.0.jar") })
        #expect(e2.message.contains("local header"))
        let inv = try await Self.catalogWithHealthyNeighbour(dir)
        #expect(Set(inv.diagnostics.map(\.location.path)).isSuperset(of: ["zip64-1.0.jar", "far-1.0.jar", "stall-1.0.jar!/META-INF/MANIFEST.MF"]))
    }
}
