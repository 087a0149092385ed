@testable import Drift
import Catalog
import Foundation
import ProvenantCore
import SBOM
import Testing

/// The diff's comparisons that grew with the product of two input sizes (found by helper-233), and
/// what is said when a budget leaves an addition uncompared.
@Suite struct DiffBudgetTests {
    static func npm(_ name: String, _ version: String, extra: String = "") -> String {
        #"{"type": "library", "name": "\#(name)", "version": "\#(version)", "purl": "pkg:npm/\#(name)@\#(version)"\#(extra)}"#
    }

    /// `SameSource` finds a source after exactly when `sourceChange` gives nil for one source before.
    @Test func sameSourceAgreesWithThePairwiseComparison() {
        let hosts = ["registry.npmjs.org", "evil.example", "REGISTRY.npmjs.org", "registry.yarnpkg.com", "user:pw@registry.npmjs.org"]
        let schemes = ["https://", "http://", "git+https://", "git+ssh://git@", ""]
        let paths = ["/a/-/a-1.0.0.tgz", "/a/-/a-2.0.0.tgz", "/b/-/b-1.0.0.tgz", "/a/repo.git", "/a/repo2.git", "", "/a", "/a/-/a-1.0.0.tgz?x=1"]
        let fragments = ["", "#abc123", "#def456", "#sha1-xyz"]
        var all: [String] = []
        for s in schemes { for h in hosts { for p in paths { for f in fragments { all.append(s + h + p + f) } } } }
        var rng = SystemRandomNumberGenerator()
        var disagreements: [String] = []
        for _ in 0..<300 {
            let before = (0..<Int.random(in: 1...4, using: &rng)).map { _ in all.randomElement(using: &rng)! }
            for sameVersion in [true, false] {
                let same = SBOMDiff.SameSource(before, sameVersion: sameVersion)
                for _ in 0..<8 {
                    let after = all.randomElement(using: &rng)!
                    let pairwise = before.contains { SBOMDiff.sourceChange($0, after, sameVersion: sameVersion) == nil }
                    if same.contains(after) != pairwise { disagreements.append("\(before) \(after) sameVersion=\(sameVersion) pairwise=\(pairwise)") }
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    /// 1,000 sources on each side of one package: every new one is named, none that was there.
    @Test func manySourcesOfOnePackageAreComparedOnce() throws {
        func component(_ hosts: Range<Int>) -> String {
            let props = hosts.map { #"{"type": "distribution", "url": "https://h\#($0).example/a/-/a-1.0.0.tgz"}"# }.joined(separator: ",")
            return Self.npm("a", "1.0.0", extra: #", "externalReferences": [\#(props)]"#)
        }
        let d = compare(try document([component(0..<1000)]), try document([component(1..<1001)]))
        let moved = d.findings.filter { $0.rule == .sourceChanged }
        #expect(moved.count == 1 && moved.first?.message.contains("h1000.example") == true, "\(moved.map(\.message).prefix(3))")
    }

    /// Added versions over the budget are not compared for a respelling, and the diff says so (NOT
    /// CHECKED, which `--fail-on` fails); under it, a respelt release is still compared.
    @Test func respellingsOverTheBudgetAreNotChecked() throws {
        let before = try document((0..<30).map { Self.npm("a", "1.0.\($0)") })
        let after = try document((0..<30).map { Self.npm("a", "1.0.\($0)") } + (0..<30).map { Self.npm("a", "2.0.\($0)") } + [Self.npm("a", "1.0.5+build")])
        var o = SBOMDiff.Options(today: "2026-12-01")
        let whole = SBOMDiff.compare(baseline: before, current: after, options: o)
        #expect(whole.additionsNotCompared.isEmpty)
        o.respellingComparisons = 30 * 10
        let cut = SBOMDiff.compare(baseline: before, current: after, options: o)
        #expect(cut.additionsNotCompared.count == 21, "\(cut.additionsNotCompared)")
        #expect(cut.notes.contains { $0.hasPrefix("NOT CHECKED: 21 additions were not compared") }, "\(cut.notes)")
    }

    /// New long names sharing a first half are each other's candidates: past the budget they are not
    /// compared, and said; within it, the look-alike is still found.
    @Test func lookalikesOverTheBudgetAreNotChecked() throws {
        let head = String(repeating: "x", count: 40)
        let known = (0..<50).map { head + String(format: "%030d", $0) }
        let before = try document(known.map { Self.npm($0, "1.0.0") })
        var squat = Array(known[7])
        squat[55] = "z"
        let added = (0..<50).map { head + "q" + String(format: "%029d", $0) }
        let after = try document((known + added + [String(squat)]).map { Self.npm($0, "1.0.0") })
        var o = SBOMDiff.Options(today: "2026-12-01")
        let whole = SBOMDiff.compare(baseline: before, current: after, options: o)
        #expect(whole.additionsNotCompared.isEmpty && whole.findings.contains { $0.rule == .lookalike }, "\(whole.notes)")
        o.lookalikeComparisons = 200
        let cut = SBOMDiff.compare(baseline: before, current: after, options: o)
        #expect(!cut.additionsNotCompared.isEmpty && cut.notes.contains { $0.contains("for look-alikes") }, "\(cut.notes)")
    }

    /// A new package at the end of a chain 3,000 deep is shown by its first and last five steps.
    @Test func aDeepChainShowsItsEnds() throws {
        func chain(_ n: Int, extra: Bool) -> String {
            var comps: [String] = [], deps: [String] = []
            for i in 0..<n {
                comps.append(Self.npm("c\(i)", "1.0.0").replacingOccurrences(of: #""type""#, with: #""bom-ref": "c\#(i)", "type""#))
                deps.append(#"{"ref": "c\#(i)", "dependsOn": [\#(i + 1 < n ? "\"c\(i + 1)\"" : (extra ? "\"z\"" : ""))]}"#)
            }
            if extra {
                comps.append(Self.npm("z", "1.0.0").replacingOccurrences(of: #""type""#, with: #""bom-ref": "z", "type""#))
                deps.append(#"{"ref": "z", "dependsOn": []}"#)
            }
            return "[" + comps.joined(separator: ",") + #"], "dependencies": ["# + deps.joined(separator: ",") + "]"
        }
        func doc(_ body: String) throws -> Inventory {
            let json = #"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": "# + body + "}"
            return try SBOMReader.read(Data(json.utf8), path: "bom.json", keepingComponentsWithoutPurl: true)
        }
        let d = compare(try doc(chain(3000, extra: false)), try doc(chain(3000, extra: true)))
        let f = try #require(d.findings.first { $0.rule == .newTransitive })
        #expect(f.message.hasSuffix("pkg:npm/c0@1.0.0 > pkg:npm/c1@1.0.0 > pkg:npm/c2@1.0.0 > pkg:npm/c3@1.0.0 > pkg:npm/c4@1.0.0 > … 2991 more … > pkg:npm/c2996@1.0.0 > pkg:npm/c2997@1.0.0 > pkg:npm/c2998@1.0.0 > pkg:npm/c2999@1.0.0 > pkg:npm/z@1.0.0"), "\(f.message)")
    }
}
