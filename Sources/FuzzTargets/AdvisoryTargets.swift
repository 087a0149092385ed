import Advisories
import Catalog
import Foundation

/// OSV advisories as imported by `db import`/`db update`, and the files that suppress findings.
enum AdvisoryTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("osv-json", "one OSV record in JSON, as `db import` decodes it") { bytes in
            guard let r = try? OSVRecord.decode(Data(bytes), yaml: false) else { return }
            _ = AdvisoryBrief(r)
        },
        FuzzTarget("osv-yaml", "one PyPA-style OSV record in YAML") { bytes in
            guard let r = try? OSVRecord.decode(Data(bytes), yaml: true) else { return }
            _ = AdvisoryBrief(r)
        },
        FuzzTarget("osv-archive", "an OSV zip archive (all.zip), through AdvisoryImporter.load") { bytes in
            Scratch.withFile(bytes, target: "osv-archive", as: "all.zip") { path, _ in
                runBlocking { _ = try? await AdvisoryImporter.load([path]) }
            }
        },
        FuzzTarget("vex", "an OpenVEX or CycloneDX VEX document (--vex), indexed and judged against findings of a scanned SBOM") { bytes in
            Scratch.withFile(bytes, target: "vex", as: "statements.vex.json") { path, _ in
                guard let document = try? VEXDocument.load(path) else { return }
                // The index and the judgement, against a BOM whose refs are plain, shared and ambiguous.
                let index = VEXDocument.Index([document], subject: vexSubject)
                for f in vexFindings { _ = VEXDocument.decide(f, in: index) }
            }
        },
        FuzzTarget("ignore-file", "the ignore file (.provenant-ignore.yaml)") { bytes in
            Scratch.withFile(bytes, target: "ignore-file", as: ".provenant-ignore.yaml") { path, _ in
                _ = (try? IgnoreFile.load(path))?.expired(today: "2026-01-01")
            }
        },
        FuzzTarget("version-order", "three version strings (one per line) under every ecosystem's ordering: each comparison is reflexive and antisymmetric, and transitive where the ecosystem's own order is") { bytes in
            let lines = String(decoding: bytes.prefix(4096), as: UTF8.self).split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).prefix(3).map(String.init)
            guard lines.count >= 2 else { return }
            for name in versionOrderEcosystems {
                guard let order = AnyVersionScheme.forEcosystem(name) else { preconditionFailure("no ordering for \(name)") }
                func cmp(_ a: String, _ b: String) -> Int? { (try? order.compare(a, b)).map { $0.signum() } }
                for a in lines {
                    if let same = cmp(a, a) { precondition(same == 0, "\(name): a version is not equal to itself") }
                    for b in lines {
                        if let ab = cmp(a, b), let ba = cmp(b, a) { precondition(ab == -ba, "\(name): a < b and b < a disagree") }
                    }
                }
                // Transitivity over the orderings of the three: a ≤ b ≤ c implies a ≤ c. Not for the two
                // whose own definitions have cycles, which Provenant keeps as the ordering facts require:
                // Maven's ComparableVersion (`1.x` > `1` > `1-rc-1`, yet a list item sorts after a string
                // item, so `1-rc-1` > `1.x`), and Packagist's, where a `#` part is version_compare's name
                // for a number: the osv-scalibr facts say `1.2.3.#` = `1.2.3` and `1.2.3.#` = `1.2.3.1`,
                // while a trailing number beats a missing part (`1.0.0` > `1.0`), so `1.2.3.1` > `1.2.3`
                // (`packagistsOwnOrderHasACycle`).
                if lines.count == 3, !intransitiveUpstream.contains(name) {
                    for (a, b, c) in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)].map({ (lines[$0.0], lines[$0.1], lines[$0.2]) }) {
                        if let ab = cmp(a, b), let bc = cmp(b, c), let ac = cmp(a, c), ab <= 0, bc <= 0 {
                            precondition(ac <= 0 && (ab < 0 || bc < 0 ? ac < 0 : ac == 0), "\(name): the order is not transitive")
                        }
                    }
                }
            }
        },
    ]

    /// The scan the `vex` target judges statements for: the BOM `urn:uuid:3e671687-…` version 1.
    static let vexSubject = VEXDocument.Subject(purls: ["pkg:pypi/app@1.0"], serialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", bomVersion: 1,
                                                refs: DocumentRefs([(id: "c1", purl: "pkg:pypi/idna@2.8"), (id: "c2", purl: "pkg:pypi/idna@2.8"),
                                                                    (id: "c3", purl: "pkg:npm/%40angular/core@1.0"), (id: "c3", purl: "pkg:pypi/idna@2.9"),
                                                                    (id: nil, purl: "pkg:golang/golang.org/x/net@v0.1.0#html")]))

    /// Findings the `vex` target judges: one CVE, several merged, and purls with qualifiers and subpaths.
    static let vexFindings: [Finding] = {
        func finding(_ id: String, _ aliases: [String], _ purl: String, _ version: String) -> String {
            #"{"id": "\#(id)", "aliases": [\#(aliases.map { "\"\($0)\"" }.joined(separator: ","))], "summary": "", "severity": 3, "severitySource": "none", "#
                + #""package": "p", "ecosystem": "PyPI", "version": "\#(version)", "purl": "\#(purl)", "locations": [], "fixed": [], "status": "affected", "modified": "2024-01-01T00:00:00Z"}"#
        }
        let json = "[" + [
            finding("PYSEC-2024-60", ["CVE-2024-3651", "GHSA-jjg7-2v4v-x38h"], "pkg:pypi/idna@2.8", "2.8"),
            finding("GO-2022-0536", ["CVE-2019-9512", "CVE-2019-9514"], "pkg:golang/golang.org/x/net@v0.1.0#html", "v0.1.0"),
            finding("CVE-2024-3651", [], "pkg:npm/%40angular/core@1.0?arch=x", "1.0"),
            finding("GHSA-jjg7-2v4v-x38h", ["CVE-2024-3651"], "pkg:pypi/idna@2.9", "2.9"),
        ].joined(separator: ",") + "]"
        guard let findings = try? JSONDecoder().decode([Finding].self, from: Data(json.utf8)), findings.count == 4 else { preconditionFailure("the vex target's findings do not decode") }
        return findings
    }()

    /// Orderings whose own definition is not transitive on every input; the harness follows them.
    static let intransitiveUpstream: Set<String> = ["Maven", "Packagist"]

    /// One OSV ecosystem name for each ordering `AnyVersionScheme.forEcosystem` knows.
    static let versionOrderEcosystems = ["npm", "Pub", "Go", "PyPI", "Maven", "RubyGems", "NuGet", "Packagist", "Debian", "Alpine", "Red Hat", "CRAN"]
}
