import Drift
import ProvenantCore
import Testing

@Suite struct DriftPolicyTests {
    @Test func badPoliciesAreRefusedWithTheirLine() {
        let cases: [(String, String, Int)] = [
            ("approve:\n  - allow: everything\n", "unknown allow 'everything'", 2),
            ("approve:\n  - allow: patch-upgrades\n    expires: 2027-02-30\n", "is not a YYYY-MM-DD date that exists", 3),
            ("approve:\n  - allow: minor-upgrades\n", "minor-upgrades needs 'packages'", 2),
            ("approve:\n  - allow: additions\n", "additions needs 'match'", 2),
            ("approve:\n  - allow: additions\n    match: x\n    color: red\n", "unknown key 'color'", 4),
            ("approve: yes\n", "'approve' must be a list", 1),
            ("ignore: []\n", "unknown key 'ignore'", 1),
            // A duplicated key names the mapping it is in (helper-170 #10), and a syntax error its line.
            ("approve:\n  - allow: additions\n    match: x\n\n  - allow: patch-upgrades\n    allow: additions\n", "duplicated key(s): 'allow'", 5),
            ("approve:\n  - allow: patch-upgrades\n    match: [x\n", "not valid YAML", 4),
        ]
        for (text, message, line) in cases {
            do {
                _ = try DriftPolicy.parse(text, path: "p.yaml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.message.contains(message), "\(error)")
                #expect(error.location?.line == line, "\(error)")
                #expect(error.location?.path == "p.yaml")
            }
        }
    }

    @Test func deepNestingIsRefusedNotRecursed() {
        let text = "approve:\n  - allow: additions\n    match: " + String(repeating: "[", count: 5000)
        #expect(throws: InputError.self) { try DriftPolicy.parse(text, path: "p.yaml") }
    }

    @Test func patchRulesApprovePatchesOnlyAndExpire() throws {
        let p = try DriftPolicy.parse("""
            approve:
              - id: patches
                allow: patch-upgrades
                expires: 2026-12-31
              - id: web
                allow: minor-upgrades
                packages: [express]
              - id: types
                allow: additions
                match: "@types/*"
            """, path: "p.yaml")
        let express = PackageKey(name: "pkg:npm/express", version: "4.19.0")
        let lodash = PackageKey(name: "pkg:npm/lodash", version: "4.18.0")
        #expect(p.approving(.upgrade(lodash, .patch), today: "2026-12-01")?.id == "patches")
        #expect(p.approving(.upgrade(lodash, .patch), today: "2027-01-01") == nil, "expired")
        #expect(p.expired(today: "2027-01-01").map(\.id) == ["patches"])
        #expect(p.approving(.upgrade(lodash, .minor), today: "2026-12-01") == nil)
        #expect(p.approving(.upgrade(express, .minor), today: "2026-12-01")?.id == "web")
        #expect(p.approving(.upgrade(express, .major), today: "2026-12-01") == nil)
        #expect(p.approving(.addition(PackageKey(name: "pkg:npm/@types/node", version: "1")), today: "2026-12-01")?.id == "types")
        #expect(p.approving(.addition(PackageKey(name: "pkg:npm/left-pad", version: "1")), today: "2026-12-01") == nil)
    }

    @Test func bumpsAreReadFromTheLeadingNumbers() {
        #expect(VersionBump.of(from: "1.2.3", to: "1.2.4") == .patch)
        #expect(VersionBump.of(from: "1.2.3", to: "1.3.0") == .minor)
        #expect(VersionBump.of(from: "1.2.3", to: "2.0.0") == .major)
        #expect(VersionBump.of(from: "v1.2", to: "v1.2.1") == .patch)
        #expect(VersionBump.of(from: "1:2.36-9", to: "1:2.36-10") == .patch)
        #expect(VersionBump.of(from: "abc", to: "1.0") == .unknown)
    }

    @Test func lookalikesAreOneSwapAway() {
        #expect(Lookalike.reason("request", "requests") != nil)
        #expect(Lookalike.reason("reqeusts", "requests") != nil, "neighbours swapped")
        #expect(Lookalike.reason("python_dateutil", "python-dateutil") == "differs only in separators")
        #expect(Lookalike.reason("lodash", "l0dash") == "differs by a look-alike character")
        #expect(Lookalike.reason("modern", "rnodern") == "differs by a look-alike character")
        #expect(Lookalike.reason("express", "express") == nil)
        #expect(Lookalike.reason("react", "redux") == nil)
        #expect(Lookalike.reason("ms", "mx") == nil, "names this short are one edit from too much")
        // Case is kept only where the ecosystem keeps it (Go): there a case variant is another module.
        #expect(Lookalike.reason("github.com/SirupSen/logrus", "github.com/sirupsen/logrus") == "differs only in case")
        #expect(Lookalike.Index(["github.com/sirupsen/logrus"]).nearMiss("github.com/SirupSen/logrus")?.reason == "differs only in case")
    }

    /// Names the purl spec calls case-insensitive pair across case: a case-only rename of a GitHub
    /// action with other content is tampering, not an addition and a removal (helper-106).
    @Test func caseInsensitiveEcosystemsPairAcrossCase() throws {
        func key(_ purl: String) throws -> PackageKey {
            let p = try #require(PackageURL(parsing: purl))
            return PackageKey(Package(ecosystem: .generic, name: p.name, version: p.version ?? "", purl: p, locations: [], foundBy: "test"))
        }
        #expect(try key("pkg:github/Actions/Checkout@v4.1.1") == key("pkg:github/actions/checkout@v4.1.1"))
        #expect(try key("pkg:bitbucket/Team/Repo@1") == key("pkg:bitbucket/team/repo@1"))
        #expect(try key("pkg:golang/github.com/SirupSen/logrus@v1") != key("pkg:golang/github.com/sirupsen/logrus@v1"))
        #expect(PackageKey(name: "(no purl) 1odash", version: "1.0.0").displayName == "1odash")
        #expect(Lookalike.Index(["lodash"]).nearMiss(PackageKey(name: "(no purl) 1odash", version: "1.0.0").displayName) != nil)
        // A namespace written `%2540types` is `%40types`, not the `@types` scope: decoded twice, an
        // additions glob for `@types/*` approved it (helper-163).
        #expect(try key("pkg:npm/%2540types/evil@1.0.0").displayName == "%40types/evil")
        #expect(try key("pkg:npm/%40types/node@1.0.0").displayName == "@types/node")
    }

    /// Found by review: the index kept every one-deletion key as a string, so 30,000 `--names` of 214
    /// bytes took 2.2 GB. Keys are hashes now, and deletion keys are made for names of up to 64 bytes;
    /// the index still finds what `reason` finds, among many names.
    @Test func theIndexFindsNearMissesAmongManyNames() {
        var names = (0..<5000).map { "package-\($0)-" + String(repeating: "x", count: $0 % 150) }
        names += ["requests", "python-dateutil", String(repeating: "long-name-", count: 10)]
        let index = Lookalike.Index(names)
        #expect(index.nearMiss("reqeusts")?.name == "requests")
        #expect(index.nearMiss("python_dateutil")?.reason == "differs only in separators")
        #expect(index.nearMiss(String(repeating: "long_name_", count: 10))?.reason == "differs only in separators", "a long name is still compared by its separators")
        #expect(index.nearMiss("package-42-" + String(repeating: "x", count: 42) + "y")?.name == "package-42-" + String(repeating: "x", count: 42))
        #expect(index.nearMiss("unrelated-name") == nil)
    }

    /// Names past the deletion keys' 64 bytes are found one edit apart too, at every position: a
    /// substitution, a deletion, an insertion and a swap, each from both sides, against the index
    /// of many names (they were compared by separators and folding only).
    @Test func longNamesAreFoundOneEditApartAtEveryPosition() {
        let long = "github.com/example-org/very-long-module-name-for-testing/internal/pkg/subsystem/componentz"
        let names = (0..<3000).map { "package-\($0)-" + String(repeating: "x", count: $0 % 150) } + [long, String(long.prefix(64)), String(long.prefix(65))]
        let index = Lookalike.Index(names)
        let b = Array(long.utf8)
        var missed: [String] = []
        for i in b.indices {
            var variants: [[UInt8]] = []
            var sub = b; sub[i] = sub[i] == UInt8(ascii: "q") ? UInt8(ascii: "w") : UInt8(ascii: "q"); variants.append(sub)
            var del = b; del.remove(at: i); variants.append(del)
            var ins = b; ins.insert(UInt8(ascii: "q"), at: i); variants.append(ins)
            if i + 1 < b.count, b[i] != b[i + 1] { var sw = b; sw.swapAt(i, i + 1); variants.append(sw) }
            for v in variants {
                let name = String(decoding: v, as: UTF8.self)
                guard Lookalike.reason(name, long) != nil else { continue }
                if index.nearMiss(name)?.name != long { missed.append(name) }
            }
        }
        #expect(missed.isEmpty, "\(missed.count) near misses of a \(b.count)-byte name not found: \(missed.prefix(3))")
        // At the boundary: 64 and 65 bytes, one deletion apart, find each other.
        #expect(Lookalike.Index([String(long.prefix(65))]).nearMiss(String(long.prefix(64)))?.name == String(long.prefix(65)))
        #expect(Lookalike.Index([String(long.prefix(64))]).nearMiss(String(long.prefix(64)) + "q")?.name == String(long.prefix(64)))
        #expect(Lookalike.Index([String(long.prefix(64))]).nearMiss(String(long.prefix(63)) + "qz") == nil, "two edits apart")
    }

    /// Found by review: a bare name approved any scope's package of that name, and a prerelease or
    /// pseudo-version read as a patch.
    @Test func aBareNameIsNotAnotherScopeAndPrereleasesAreNotPatches() throws {
        let p = try DriftPolicy.parse("approve:\n  - allow: additions\n    match: express\n  - allow: patch-upgrades\n", path: "p.yaml")
        #expect(p.approving(.addition(PackageKey(name: "pkg:npm/express", version: "1")), today: "2026-12-01") != nil)
        #expect(p.approving(.addition(PackageKey(name: "pkg:npm/@evil/express", version: "1")), today: "2026-12-01") == nil)
        #expect(VersionBump.of(from: "v0.0.0-20200101000000-aaaaaaaaaaaa", to: "v0.0.0-20240101000000-bbbbbbbbbbbb") == .unknown)
        #expect(VersionBump.of(from: "1.2.3", to: "1.2.3+build") == .unknown)
        #expect(VersionBump.of(from: "1.2.3", to: "1.2.4") == .patch)
    }

    /// Found by review: `patch-upgrades` approved requests 2.31.0 → 2.31.1rc1 (a PEP 440 prerelease)
    /// and openssl 1:3.0.0-1 → 2:3.0.1-1 (a new epoch), since only `-` and `+` marked a non-patch.
    @Test func prereleasesAndEpochChangesAreNeverPatches() throws {
        let p = try DriftPolicy.parse("approve:\n  - allow: patch-upgrades\n", path: "p.yaml")
        func approved(_ name: String, _ a: String, _ b: String) -> Bool {
            p.approving(.upgrade(PackageKey(name: name, version: b), VersionBump.of(from: a, to: b)), today: "2026-12-01") != nil
        }
        #expect(!approved("pkg:pypi/requests", "2.31.0", "2.31.1rc1"))
        #expect(!approved("pkg:deb/openssl", "1:3.0.0-1", "2:3.0.1-1"))
        #expect(approved("pkg:pypi/requests", "2.31.0", "2.31.1"))
        #expect(approved("pkg:deb/openssl", "1:3.0.0-1", "1:3.0.1-1"))
        for to in ["2.31.1a1", "2.31.1b2", "2.31.1.dev0", "2.31.0.post1", "1!2.31.1", "2.31.1-1", "2.31.1~rc1"] {
            #expect(VersionBump.of(from: "2.31.0", to: to) == .unknown, "\(to)")
        }
        #expect(VersionBump.of(from: "1:3.0.0-1", to: "1:3.0.1~rc1-1") == .unknown, "Debian's ~ prerelease")
        #expect(VersionBump.of(from: "1:3.0.0-1", to: "3.0.1-1") == .unknown, "an epoch dropped")
        #expect(VersionBump.of(from: "1:3.0.0-1", to: "1:3.0.1") == .unknown, "a revision dropped")
        #expect(VersionBump.of(from: "1:3.0.0-1", to: "1:3.1.0-1") == .minor)
    }

    /// Found by review: aliases expand in full, so a short policy of aliases to aliases stalled the run.
    @Test func aliasesAreRefusedWithTheirLine() {
        do {
            _ = try DriftPolicy.parse("approve:\n  - &r {allow: additions, match: [a]}\n  - *r\n", path: "p.yaml")
            Issue.record("aliases accepted")
        } catch {
            #expect(error.message.contains("aliases") && error.location?.line == 3, "\(error)")
        }
    }
}
