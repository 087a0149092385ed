import Foundation
import Testing
import Catalog
import ProvenantCore
@testable import Advisories

@Suite struct MatchingTests {
    func eval(_ events: [[String: String]], _ version: String, eco: String = "PyPI", versions: [String]? = nil, type: String = "ECOSYSTEM") throws -> RangeEvaluator.Outcome {
        let a = try affected(osv("T-1", ecosystem: eco, name: "p", events: events, versions: versions, rangeType: type))
        return RangeEvaluator.evaluate(a, version: version, ecosystem: eco)
    }

    @Test func introducedAndFixedBoundTheRange() throws {
        let ev = [["introduced": "1.0"], ["fixed": "1.5"]]
        #expect(try eval(ev, "0.9") == .notAffected)
        #expect(try eval(ev, "1.0") == .affected)
        #expect(try eval(ev, "1.4.9") == .affected)
        #expect(try eval(ev, "1.5") == .notAffected)
        #expect(try eval(ev, "1.5rc1") == .affected, "a pre-release of the fix is still before it")
    }

    @Test func zeroPrecedesEveryVersionAndEventsAreSorted() throws {
        // Out of order on purpose: evaluation sorts events first.
        let ev = [["fixed": "2.5"], ["introduced": "2.0"], ["fixed": "1.5"], ["introduced": "0"]]
        #expect(try eval(ev, "0.0.1") == .affected)
        #expect(try eval(ev, "1.7") == .notAffected)
        #expect(try eval(ev, "2.1") == .affected)
        #expect(try eval(ev, "3.0") == .notAffected)
    }

    @Test func lastAffectedIsInclusive() throws {
        let ev = [["introduced": "0"], ["last_affected": "2.0"]]
        #expect(try eval(ev, "2.0") == .affected)
        #expect(try eval(ev, "2.0.post1") == .notAffected)
    }

    @Test func limitStopsTheRange() throws {
        let ev = [["introduced": "1.0"], ["limit": "1.8"]]
        #expect(try eval(ev, "1.7") == .affected)
        #expect(try eval(ev, "1.8") == .notAffected)
        #expect(try eval([["introduced": "1.0"], ["limit": "*"]], "99") == .affected)
    }

    @Test func listedVersionsMatchEvenOutsideRanges() throws {
        #expect(try eval([], "0.3.0", versions: ["0.1.0", "0.3.0"]) == .affected)
        #expect(try eval([], "0.2.0", versions: ["0.1.0", "0.3.0"]) == .notAffected)
    }

    /// With ranges beside it, the list was matched as text only: `3.2.0a1` missed a listed `3.2a1`
    /// that the ranges do not cover. It is compared under the ecosystem's scheme, ranges or not.
    @Test func listedVersionsBesideRangesAreComparedUnderTheScheme() throws {
        let ev = [["introduced": "1.0"], ["fixed": "1.5"]]
        #expect(try eval(ev, "3.2.0a1", versions: ["1.0", "3.2a1"]) == .affected)
        #expect(try eval(ev, "3.2.0", versions: ["1.0", "3.2a1"]) == .notAffected)
        #expect(try eval([["introduced": "0"], ["fixed": "1.0.0"]], "v2.0.0", eco: "Go", versions: ["2.0"], type: "SEMVER") == .affected)
    }

    @Test func gitRangesAreSkippedAndOthersStillEvaluated() throws {
        var rec = try OSVRecord.decode(Data(osv("T-2", ecosystem: "PyPI", name: "p", events: [["introduced": "0"], ["fixed": "2.0"]]).utf8), yaml: false)
        rec.affected![0].ranges!.insert(OSVRecord.Range(type: "GIT", repo: "https://example.com/r", events: [.init(introduced: "abc123")]), at: 0)
        #expect(RangeEvaluator.evaluate(rec.affected![0], version: "1.0", ecosystem: "PyPI") == .affected)
        #expect(RangeEvaluator.evaluate(rec.affected![0], version: "2.0", ecosystem: "PyPI") == .notAffected)
    }

    /// An entry naming the package without versions or ranges (or with GIT ranges only) was
    /// "not affected" for every version; older Go entries meant every version by it.
    @Test func anEntryWithoutVersionsOrRangesIsUnknown() throws {
        guard case .unknown(let why) = try eval([], "1.0") else { Issue.record("an entry with nothing to match must be unknown"); return }
        #expect(why.contains("no affected versions"))
        var rec = try OSVRecord.decode(Data(osv("T-3", ecosystem: "PyPI", name: "p", events: []).utf8), yaml: false)
        rec.affected![0].ranges = [OSVRecord.Range(type: "GIT", repo: "https://example.com/r", events: [.init(introduced: "abc123")])]
        guard case .unknown = RangeEvaluator.evaluate(rec.affected![0], version: "1.0", ecosystem: "PyPI") else {
            Issue.record("an entry with GIT ranges only must be unknown for a package version"); return
        }
        #expect(try eval([], "0.2.0", versions: ["0.1.0"]) == .notAffected, "a list alone still decides")
    }

    @Test func unparsableVersionsGiveUnknownNeverNotAffected() throws {
        guard case .unknown(let why) = try eval([["introduced": "0"], ["fixed": "1.0"]], "not a version!", eco: "Debian") else {
            Issue.record("an unparsable package version must be unknown"); return
        }
        #expect(why.contains("unparsable version"))
        guard case .unknown = try eval([["introduced": "0"], ["fixed": "1:x:y"]], "1.0", eco: "Debian") else {
            Issue.record("an unparsable advisory version must be unknown"); return
        }
        // PEP 440's parser takes anything (the legacy order), so an advisory fixed at a version it
        // rejects never held a release and the advisory never matched (found by helper-122).
        for event in [["introduced": "0"], ["fixed": "2.0-custom-build"]] as [[String: String]] where event["fixed"] != nil {
            guard case .unknown(let why) = try eval([["introduced": "0"], event], "1.0", eco: "PyPI") else {
                Issue.record("a PyPI advisory version PEP 440 rejects must give unknown"); return
            }
            #expect(why.contains("PEP 440 does not accept"), "\(why)")
        }
        #expect(try eval([["introduced": "0"], ["fixed": "2.0.post1"]], "1.0", eco: "PyPI") == .affected)
        #expect(try eval([["introduced": "1!0"], ["fixed": "1!2.0"]], "1!1.5", eco: "PyPI") == .affected)
    }

    /// A PyPI version PEP 440 rejects was put before every release (pip's old legacy order) and so
    /// missed every range starting above 0: it is unknown now (found by helper-72).
    @Test func pypiVersionsPEP440RejectsAreUnknown() throws {
        guard case .unknown(let why) = try eval([["introduced": "3.2"], ["fixed": "3.2.19"]], "3.2.5-custom") else {
            Issue.record("3.2.5-custom must be unknown"); return
        }
        #expect(why.contains("not a PEP 440 version"))
        #expect(try eval([["introduced": "3.2"], ["fixed": "3.2.19"]], "3.2.5") == .affected)
        #expect(try eval([["introduced": "3.2"], ["fixed": "3.2.19"]], "3.2.5.post1") == .affected)
    }

    /// A Composer branch sorted below every release and so missed every range starting above 0: it is
    /// unknown now (found by helper-214). Pre-release snapshots of a release keep their place.
    @Test func composerBranchesAreUnknown() throws {
        let range = [["introduced": "1.2.0"], ["fixed": "1.5.0"]]
        for branch in ["1.x-dev", "dev-main", "1.3.x-dev", " DEV-feature/x "] {
            guard case .unknown(let why) = try eval(range, branch, eco: "Packagist") else {
                Issue.record("\(branch) must be unknown"); continue
            }
            #expect(why.contains("is a branch"), "\(why)")
        }
        #expect(try eval(range, "1.3.0", eco: "Packagist") == .affected)
        #expect(try eval(range, "1.5.0-dev", eco: "Packagist") == .affected, "a snapshot before 1.5.0 is below the fix")
        #expect(try eval(range, "1.1.0", eco: "Packagist") == .notAffected)
        // A range holding every version holds a branch too (found by helper-215).
        #expect(try eval([["introduced": "0"]], "dev-main", eco: "Packagist") == .affected)
        #expect(try eval([["introduced": "0"], ["limit": "*"]], "2.x-dev", eco: "Packagist") == .affected)
        guard case .unknown = try eval([["introduced": "0"], ["fixed": "1.0.0"]], "dev-main", eco: "Packagist") else {
            Issue.record("a branch against a fixed range must be unknown"); return
        }
    }

    /// A VEX range cannot place a Composer branch either: `<2.0` does not hold `2.x-dev`, the tip of
    /// the 2.x line (found by helper-215); `=` still matches its spelling.
    @Test func versRangesDoNotPlaceComposerBranches() throws {
        let below = try #require(VersRange("vers:composer/<2.0"))
        #expect(below.contains("2.x-dev", fallbackEcosystem: "Packagist") == nil)
        #expect(below.contains("dev-main", fallbackEcosystem: "Packagist") == nil)
        #expect(below.contains("1.9.0", fallbackEcosystem: "Packagist") == true)
        let pinned = try #require(VersRange("vers:composer/dev-main"))
        #expect(pinned.contains("dev-main", fallbackEcosystem: "Packagist") == true)
        // A single version names one branch, not every branch (found by helper-216).
        #expect(VEXDocument.sameVersion("dev-legacy", "dev-main", ecosystem: "Packagist") == false)
        #expect(VEXDocument.sameVersion("1.x-dev", "2.x-dev", ecosystem: "Packagist") == false)
        #expect(VEXDocument.sameVersion("DEV-main", "dev-main", ecosystem: "Packagist") == true)
        #expect(VEXDocument.sameVersion("1.0.0", "1.0.1", ecosystem: "Packagist") == false)
    }

    @Test func semverRangesUseGoRulesForGo() throws {
        let ev = [["introduced": "0"], ["fixed": "1.19.2"]]
        #expect(try eval(ev, "1.19", eco: "Go", type: "SEMVER") == .affected, "1.19 is 1.19.0")
        #expect(try eval(ev, "go1.19.2", eco: "Go", type: "SEMVER") == .notAffected)
        #expect(try eval([["introduced": "0"], ["fixed": "0.0.0-20220101000000-abcdefabcdef"]], "v0.0.0-20210101000000-abcdefabcdef", eco: "Go", type: "SEMVER") == .affected)
        #expect(try eval([["introduced": "2.0.0"]], "v2.1.0+incompatible", eco: "Go", type: "SEMVER") == .affected)
        // Toolchain pre-releases are named as Go names them and ranged as OSV writes them (GO-2025-3373).
        let rc = [["introduced": "1.24.0-0"], ["fixed": "1.24.0-rc.2"]]
        #expect(try eval(rc, "go1.24rc1", eco: "Go", type: "SEMVER") == .affected)
        #expect(try eval(rc, "1.24rc1", eco: "Go", type: "SEMVER") == .affected)
        #expect(try eval(rc, "v1.24rc1", eco: "Go", type: "SEMVER") == .affected, "with a v too (found by review)")
        #expect(try eval(rc, "go1.24rc2", eco: "Go", type: "SEMVER") == .notAffected)
        #expect(try eval(rc, "go1.24.0", eco: "Go", type: "SEMVER") == .notAffected)
        #expect(try eval([["introduced": "1.9.0-0"], ["fixed": "1.9.0-rc.1"]], "go1.9beta2", eco: "Go", type: "SEMVER") == .affected)
        #expect(try eval([["introduced": "1.21.1-0"], ["fixed": "1.21.1-rc.2"]], "go1.21.1rc1", eco: "Go", type: "SEMVER") == .affected)
    }

    @Test func purlsMapToOSVCoordinates() throws {
        func key(_ s: String) -> Ecosystems.Key? { PackageURL(parsing: s).flatMap(Ecosystems.key) }
        #expect(key("pkg:pypi/Foo_Bar@1.0")?.name == "foo-bar")
        #expect(key("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")?.name == "org.apache.logging.log4j:log4j-core")
        #expect(key("pkg:npm/%40babel/core@7.0.0")?.name == "@babel/core")
        #expect(key("pkg:golang/github.com/gin-gonic/gin@v1.9.0")?.name == "github.com/gin-gonic/gin")
        let deb = try #require(key("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"))
        #expect(deb.osvEcosystem == "Debian:12")
        #expect(deb.name == "openssl")
        let src = try #require(key("pkg:deb/debian/libc6@2.36-9+deb12u4?distro=debian-12&upstream=glibc%282.36-9%2Bdeb12u3%29"))
        #expect(src.name == "glibc" && src.version == "2.36-9+deb12u3", "the source package's own version is what advisories name")
        #expect(key("pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.18.4")?.osvEcosystem == "Alpine:v3.18")
        // Wolfi and Chainguard have databases of their own, without releases; Wolfi's packages were
        // matched against Alpine's (found by helper-131). Another apk distribution is not covered.
        #expect(key("pkg:apk/wolfi/openssl@3.2.0-r0")?.osvEcosystem == "Wolfi")
        #expect(key("pkg:apk/wolfi/openssl@3.2.0-r0?distro=wolfi-20230201")?.osvEcosystem == "Wolfi")
        #expect(key("pkg:apk/chainguard/openssl@3.2.0-r0")?.osvEcosystem == "Chainguard")
        #expect(key("pkg:apk/postmarketos/openssl@3.2.0-r0") == nil)
        #expect(Ecosystems.uncovered(PackageURL(parsing: "pkg:apk/postmarketos/openssl@3.2.0-r0")!).label == "pkg:apk/postmarketos")
        #expect(key("pkg:generic/thing@1.0") == nil)
    }

    /// helper-102: syft's `upstream=openssl@3.0.11-1~deb12u1`, trivy's `distro=debian-12.4` and
    /// `distro=3.19.1`, and purl-lowercased Go module paths each missed their advisories.
    @Test func otherToolsSpellingsOfSourcesReleasesAndGoPathsMatch() throws {
        func key(_ s: String) -> Ecosystems.Key? { PackageURL(parsing: s).flatMap(Ecosystems.key) }
        let syft = try #require(key("pkg:deb/debian/libssl3@3.0.11-1~deb12u1%2Bb1?arch=amd64&distro=debian-12&upstream=openssl%403.0.11-1~deb12u1"))
        #expect(syft.name == "openssl" && syft.version == "3.0.11-1~deb12u1" && syft.osvEcosystem == "Debian:12")
        #expect(key("pkg:deb/debian/libssl3@3.0.11-1?upstream=openssl%40&distro=debian-12")?.version == "3.0.11-1")
        #expect(key("pkg:deb/debian/libssl3@3.0.11-1?distro=debian-12.4")?.osvEcosystem == "Debian:12")
        #expect(key("pkg:apk/alpine/libcrypto3@3.1.4-r5?distro=3.19.1")?.osvEcosystem == "Alpine:v3.19")
        #expect(key("pkg:deb/debian/libssl3@3.0.11-1?distro=bookworm")?.osvEcosystem == "Debian")
        #expect(key("pkg:golang/github.com/masterminds/goutils@v1.1.0")?.name == key("pkg:golang/github.com/Masterminds/goutils@v1.1.0")?.name)
        #expect(Ecosystems.canonicalName("Go", "github.com/Masterminds/goutils") == "github.com/masterminds/goutils")
    }

    /// Review: every `pkg:deb/<namespace>` but ubuntu was judged against Debian's advisories,
    /// though a derivative (kali, raspbian, openwrt) builds its own packages. Only debian and
    /// ubuntu are covered; the others are NOT CHECKED under their own label.
    @Test func onlyDebianAndUbuntuDebPackagesMapToOSV() throws {
        func key(_ s: String) -> Ecosystems.Key? { PackageURL(parsing: s).flatMap(Ecosystems.key) }
        #expect(key("pkg:deb/debian/openssl@3.0.11-1?distro=debian-12")?.osvEcosystem == "Debian:12")
        #expect(key("pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.6?distro=ubuntu-22.04")?.osvEcosystem == "Ubuntu:22.04:LTS")
        for ns in ["kali", "raspbian", "openwrt"] {
            let purl = try #require(PackageURL(parsing: "pkg:deb/\(ns)/openssl@3.0.11-1?distro=\(ns)-1"))
            #expect(Ecosystems.key(for: purl) == nil, "\(ns)")
            let u = Ecosystems.uncovered(purl)
            #expect(u.label == "pkg:deb/\(ns)" && u.reason == "no advisory database covers pkg:deb/\(ns)")
        }
        #expect(key("pkg:deb/openssl@3.0.11-1") == nil, "no namespace: no distribution to judge it by")
    }
}
