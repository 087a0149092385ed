import Catalog
import Foundation
import ProvenantCore
import Testing
@testable import Advisories

/// The index of a scan's VEX statements and ignore entries: it narrows what each finding is held
/// against, and must never leave out a statement or product that would speak of it.
@Suite struct VEXIndexTests {
    func finding(_ id: String, aliases: [String], purl: String, version: String) -> Finding {
        Finding(id: id, aliases: aliases, summary: "", severity: .medium, score: nil, vector: nil, severitySource: "none",
                package: "p", ecosystem: "PyPI", version: version, purl: purl, locations: [],
                fixed: [], status: .affected, note: nil, published: nil, modified: "2024-01-01T00:00:00Z")
    }

    /// A reproducible draw (a linear congruential generator): the corpora are the same on every run.
    struct Seeded {
        var seed: UInt64
        init(_ seed: UInt64) { self.seed = seed }
        mutating func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(n)) }
    }

    /// Findings both corpora are judged for: one CVE or several merged, purls with and without
    /// versions, qualifiers and subpaths, and one that is no purl.
    static let corpus: [Finding] = {
        func finding(_ id: String, aliases: [String], purl: String) -> Finding {
            VEXIndexTests().finding(id, aliases: aliases, purl: purl, version: PackageURL(parsing: purl)?.version ?? "2.8")
        }
        var merged = finding("GHSA-9", aliases: ["CVE-1", "CVE-2"], purl: "pkg:pypi/idna@2.8")
        merged.mergedCVEs = ["GHSA-9": ["CVE-1"], "PYSEC-1": ["CVE-1", "CVE-2"]]
        var mergedOnce = finding("GHSA-1", aliases: ["CVE-1", "CVE-2"], purl: "pkg:pypi/idna@2.8")
        mergedOnce.mergedCVEs = ["GHSA-1": ["CVE-1"], "PYSEC-1": ["CVE-1", "CVE-2"]]
        return [
            finding("PYSEC-1", aliases: ["CVE-1"], purl: "pkg:pypi/idna@2.8"),
            finding("GHSA-1", aliases: ["CVE-1"], purl: "pkg:pypi/idna@2.9"),
            finding("GHSA-1", aliases: ["CVE-2"], purl: "pkg:pypi/idna@2.9?arch=x"),
            finding("CVE-2", aliases: [], purl: "pkg:pypi/django@1.0"),
            finding("GO-1", aliases: ["CVE-3"], purl: "pkg:golang/golang.org/x/net@v0.1.0#html"),
            finding("GO-1", aliases: ["CVE-2"], purl: "pkg:golang/golang.org/x/net@v0.1.0#html"),
            finding("CVE-1", aliases: [], purl: "pkg:npm/%40angular/core@1.0"),
            finding("CVE-1", aliases: [], purl: "pkg:pypi/idna@2.8?arch=x"),
            finding("CVE-1", aliases: [], purl: "pkg:pypi/idna@2.8?arch=x&distro=d"),
            finding("PYSEC-1", aliases: ["CVE-1"], purl: "pkg:pypi/idna@2.8?arch=x&distro=d"),
            finding("CVE-3", aliases: [], purl: "pkg:pypi/idna@2.9?distro=d"),
            finding("CVE-2", aliases: [], purl: "idna"),
            merged, mergedOnce,
        ]
    }()

    /// Statements drawn from every kind of product the index keys differently, judged for each finding
    /// both ways: against every statement and product, and against the index's candidates only.
    @Test func theIndexLeavesOutNothingThatSpeaksOfAFinding() throws {
        let serial = "3e671687-395b-41f5-a30f-a58921a69b79"
        let ids = ["pkg:pypi/idna", "pkg:pypi/idna@2.8", "pkg:pypi/idna@2.9", "pkg:pypi/idna@", "pkg:pypi/idna@2.8?arch=x",
                   "pkg:pypi/idna@2.8#sub", "pkg:pypi/IDNA@2.8", "idna", "not a purl", "pkg:pypi/django@1.0", "pkg:pypi/django",
                   "pkg:npm/%40angular/core@1.0", "pkg:npm/@angular/core", "pkg:golang/golang.org/x/net@v0.1.0#html",
                   "pkg:golang/golang.org/x/net", "c1", "c2", "c3", "pkg:pypi/idna%402.8", "pkg:pypi/idna?distro=d", "pkg:pypi/idna@2.8?arch=x&distro=d",
                   "pkg:golang/golang.org/x/net#/html/", "pkg:golang/golang.org/x/net#other"]
        let refs = ["c1", "c2", "c3", "c4", "pkg:pypi/idna@2.8", "pkg:npm/%40angular/core@1.0"]
        let scopes: [VEXDocument.Scope?] = [nil, nil, .bom(serial: serial, version: 1), .bom(serial: serial, version: 2), .product(["pkg:pypi/app@1"]), .product(["pkg:pypi/other@1"])]
        let versions: [[VEXDocument.Versions]] = [[], [.init(match: .version("2.8"), status: "unaffected")], [.init(match: .version("9.9"), status: "unaffected")],
                                                  [.init(match: .version("2.8"), status: "affected")], [.init(match: .unreadable("x"), status: "unaffected")]]
        let names = [("CVE-1", ["GHSA-1"]), ("CVE-2", []), ("PYSEC-1", ["CVE-1"]), ("GO-1", []), ("CVE-3", ["CVE-2"])]
        var random = Seeded(0x9E37_79B9_7F4A_7C15)
        func next(_ n: Int) -> Int { random.next(n) }
        var statements: [VEXDocument.Statement] = []
        for i in 0..<600 {
            var products: [VEXDocument.Product] = []
            for _ in 0..<(1 + next(4)) {
                let scope = scopes[next(scopes.count)]
                var p = VEXDocument.Product(ids[next(ids.count)], versions: versions[next(versions.count)], within: scope)
                if case .bom? = scope {
                    p.ref = refs[next(refs.count)]
                    if next(3) == 0 { p.rawRef = refs[next(refs.count)] }
                }
                products.append(p)
            }
            let (v, aliases) = names[next(names.count)]
            statements.append(VEXDocument.Statement(vulnerability: v, aliases: aliases, products: products, status: ["not_affected", "affected", "fixed"][next(3)],
                                                    justification: nil, timestamp: nil, origin: "v#\(i)", refusal: nil))
        }
        let documents = [VEXDocument(statements: Array(statements[..<300])), VEXDocument(statements: Array(statements[300...]))]
        let subjects = [
            VEXDocument.Subject(purls: ["pkg:pypi/app@1"], serialNumber: "urn:uuid:\(serial)", bomVersion: 1,
                                refs: DocumentRefs([(id: "c1", purl: "pkg:pypi/idna@2.8"), (id: "c2", purl: "pkg:pypi/idna@2.8"), (id: "c3", purl: "pkg:pypi/django@1.0"),
                                                    (id: "c3", purl: "pkg:pypi/idna@2.9"), (id: "pkg:npm/%40angular/core@1.0", purl: "pkg:npm/%40angular/core@1.0"),
                                                    (id: nil, purl: "pkg:golang/golang.org/x/net@v0.1.0#html")])),
            VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)", bomVersion: 1),
            .unnamed,
        ]
        let findings = Self.corpus
        var spoken = 0, viaLinks = 0
        for subject in subjects {
            let index = VEXDocument.Index(documents, subject: subject)
            for f in findings {
                for part in f.suppressionParts {
                    var flat: [String] = []
                    for (di, d) in documents.enumerated() {
                        for s in d.statements {
                            let r = VEXDocument.verdictAndScope(s, on: f, part: part, subject: subject)
                            if r.verdict != nil || r.outside != nil { flat.append("\(di) \(s.origin) \(String(describing: r.verdict)) \(String(describing: r.outside))") }
                        }
                    }
                    let found = try? index.candidates(for: f, part: part)
                    #expect(found != nil)
                    let indexed = (found ?? []).compactMap { c -> String? in
                        let r = VEXDocument.verdictAndScope(c.statement, on: f, part: part, subject: subject, only: c.products)
                        return r.verdict != nil || r.outside != nil ? "\(c.document) \(c.statement.origin) \(String(describing: r.verdict)) \(String(describing: r.outside))" : nil
                    }
                    let same = indexed == flat
                    #expect(same, "\(f.purl) \(f.id) part \(part ?? "-"): indexed \(indexed.count), flat \(flat.count); left out: \(flat.filter { !indexed.contains($0) }.prefix(3))")
                    spoken += flat.count
                    if subject.refs != nil {
                        // Statements whose verdict comes only through a BOM-Link's ref: the same judged without the subject's refs.
                        let bare = VEXDocument.Subject(purls: subject.purls, serialNumber: "urn:uuid:\(serial)", bomVersion: 1)
                        viaLinks += flat.count - documents.flatMap(\.statements).filter {
                            let r = VEXDocument.verdictAndScope($0, on: f, part: part, subject: bare); return r.verdict != nil || r.outside != nil
                        }.count
                    }
                }
            }
        }
        // The corpus reaches every kind: statements that speak, and some only through a BOM-Link's ref.
        #expect(spoken > 300, "\(spoken)")
        #expect(viaLinks > 0, "\(viaLinks)")
    }

    /// 10,000 statements on other vulnerabilities of the package, and 10,000 on its vulnerability for
    /// other packages: the finding is held against the one statement that names both.
    @Test func aFindingIsHeldOnlyAgainstTheStatementsThatNameItAndItsPackage() {
        var statements: [VEXDocument.Statement] = []
        for n in 0..<10_000 {
            statements.append(.init(vulnerability: "CVE-2099-\(n)", aliases: [], products: [.init("pkg:pypi/idna")], status: "affected",
                                    justification: nil, timestamp: nil, origin: "a#\(n)", refusal: nil))
            statements.append(.init(vulnerability: "CVE-2024-3651", aliases: [], products: [.init("pkg:pypi/other\(n)"), .init("pkg:pypi/idna@9.\(n)")], status: "affected",
                                    justification: nil, timestamp: nil, origin: "b#\(n)", refusal: nil))
        }
        statements.append(.init(vulnerability: "CVE-2024-3651", aliases: [], products: [.init("pkg:pypi/other"), .init("pkg:pypi/idna@2.8")], status: "not_affected",
                                justification: "component_not_present", timestamp: nil, origin: "c#1", refusal: nil))
        let index = VEXDocument.Index([VEXDocument(statements: statements)])
        let f = finding("PYSEC-2024-60", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/idna@2.8", version: "2.8")
        let candidates = (try? index.candidates(for: f, part: nil)) ?? []
        #expect(candidates.map(\.statement.origin) == ["c#1"])
        #expect(candidates.first?.products == [1], "of its products, only the one naming idna 2.8")
        #expect(VEXDocument.decide(f, in: index).suppressing?.origin == "c#1")
    }

    /// More statements, products and versions than the budget may speak of a finding: it is not
    /// judged, and kept, with the reason; one fewer and a statement among them still takes it out.
    @Test func aFindingMoreStatementsSpeakOfThanTheBudgetIsKept() {
        func statements(_ count: Int) -> [VEXDocument.Statement] {
            (0..<count).map { n in
                VEXDocument.Statement(vulnerability: "CVE-2024-3651", aliases: [], products: [.init("pkg:pypi/idna", versions: [.init(match: .version("9.\(n)"), status: "affected")])],
                                      status: "affected", justification: nil, timestamp: VEXTimestamp("2024-01-01T00:00:00Z"), origin: "v#\(n)", refusal: nil)
            } + [VEXDocument.Statement(vulnerability: "CVE-2024-3651", aliases: [], products: [.init("pkg:pypi/idna@2.8")], status: "not_affected",
                                       justification: "component_not_present", timestamp: VEXTimestamp("2025-01-01T00:00:00Z"), origin: "last", refusal: nil)]
        }
        let f = finding("PYSEC-2024-60", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/idna@2.8", version: "2.8")
        // Each of the first statements costs 3 (itself, its product, its version); the last 2.
        let within = (VEXDocument.Index.budget - 2) / 3
        #expect(VEXDocument.decide(f, in: [VEXDocument(statements: statements(within))]).suppressing?.origin == "last")
        let over = VEXDocument.decide(f, in: [VEXDocument(statements: statements(within + 1))])
        #expect(over.suppressing == nil)
        #expect(over.conflict?.contains("was not judged against the VEX files: more than 10000 VEX statements, products and versions entries may speak of it; the finding is kept") == true, "\(over.conflict ?? "")")
    }

    /// Statements in disagreement are each named in the conflict: with thousands, every finding they
    /// touch wrote them all. The first 20 are named, and how many more.
    @Test func aConflictNamesTwentyStatementsAndCountsTheRest() {
        let statements = (0..<25).map { n in
            VEXDocument.Statement(vulnerability: "CVE-2024-3651", aliases: [], products: [.init("pkg:pypi/idna")], status: n % 2 == 0 ? "not_affected" : "affected",
                                  justification: "component_not_present", timestamp: nil, origin: "v#\(n)", refusal: nil)
        }
        let f = finding("PYSEC-2024-60", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/idna@2.8", version: "2.8")
        let d = VEXDocument.decide(f, in: [VEXDocument(statements: statements)])
        #expect(d.suppressing == nil)
        let conflict = d.conflict ?? ""
        #expect(conflict.contains("v#19 (affected, undated); and 5 more;"), "\(conflict)")
        #expect(!conflict.contains("v#20"), "\(conflict)")
    }

    /// One statement of many aliases and many products: the index holds each once, not each pair
    /// (3,000 of each made 9,000,000 entries; helper-228).
    @Test func theIndexGrowsWithNamesAndProductsNotTheirPairs() {
        let s = VEXDocument.Statement(vulnerability: "CVE-2024-3651", aliases: (0..<3_000).map { "GHSA-\($0)" },
                                      products: (0..<3_000).map { .init("pkg:pypi/p\($0)@1.0") }, status: "not_affected",
                                      justification: "component_not_present", timestamp: nil, origin: "v#1", refusal: nil)
        let index = VEXDocument.Index([VEXDocument(statements: [s])])
        let held = index.byName.values.reduce(0) { $0 + $1.count } + index.byKey.values.reduce(0) { $0 + $1.count }
        #expect(held == 6_001, "\(held)")
        let f = finding("GHSA-2999", aliases: [], purl: "pkg:pypi/p2999@1.0", version: "1.0")
        #expect(VEXDocument.decide(f, in: index).suppressing?.origin == "v#1")
    }

    /// Both ways to the candidates longer than the budget allows (40,001 statements on the finding's
    /// CVE for another package, 40,001 on another CVE for its package): not walked, and kept.
    @Test func aFindingWhoseNamesAndPackageBothLeadFarIsKept() {
        var statements: [VEXDocument.Statement] = []
        for n in 0...(4 * VEXDocument.Index.budget) {
            statements.append(.init(vulnerability: "CVE-2024-3651", aliases: [], products: [.init("pkg:pypi/other")], status: "affected",
                                    justification: nil, timestamp: nil, origin: "a#\(n)", refusal: nil))
            statements.append(.init(vulnerability: "CVE-2099-\(n)", aliases: [], products: [.init("pkg:pypi/idna")], status: "affected",
                                    justification: nil, timestamp: nil, origin: "b#\(n)", refusal: nil))
        }
        let f = finding("PYSEC-2024-60", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/idna@2.8", version: "2.8")
        let index = VEXDocument.Index([VEXDocument(statements: statements)])
        #expect(throws: VEXDocument.Index.Unjudged.self) { try index.candidates(for: f, part: nil) }
        let conflict = VEXDocument.decide(f, in: index).conflict ?? ""
        #expect(conflict.contains("was not judged against the VEX files: more than 40000 VEX statements name one of its ids"), "\(conflict)")
        // One statement fewer on either side, and the walk is taken: nothing speaks of idna 2.8 for its CVE.
        let fewer = VEXDocument.Index([VEXDocument(statements: Array(statements.dropFirst(2)))])
        #expect((try? fewer.candidates(for: f, part: nil))?.isEmpty == true)
    }

    /// A finding's purl of 5,000 qualifiers and a subpath: its keys are made of the qualifiers and
    /// subpaths the products name, not every one of its own.
    @Test func aFindingsKeysUseOnlyWhatTheProductsName() {
        let qualifiers = (0..<5_000).map { "q\($0)=v" }.joined(separator: "&")
        let purl = "pkg:pypi/idna@2.8?\(qualifiers)#a/b"
        var parts = VEXDocument.Index.KeyParts()
        let product = VEXDocument.Index.keys(of: .init("pkg:pypi/idna?q17=v#a/b"), subject: .unnamed, parts: &parts)
        let keys = VEXDocument.Index.keys(ofPackage: purl, parts: parts)
        // Its text, then version or not × q17 or none × subpath or not.
        #expect(keys.count == 9, "\(keys.count)")
        #expect(keys.contains(product[0]))
        #expect(VEXDocument.Index.keys(ofPackage: purl, parts: .init()).count == 3, "no product names a qualifier or subpath")
    }

    /// The ignore file's entries, drawn from ids, packages (versions, qualifiers, subpaths) and days,
    /// judged for findings both ways: by the index, and by the first entry in file order that is in
    /// force, names the finding and covers its package.
    @Test func theIgnoreIndexAnswersAsTheFileReadInOrder() throws {
        let ids = ["CVE-1", "CVE-2", "GHSA-1", "PYSEC-1", "GO-1"]
        let packages: [String?] = [nil, nil, "pkg:pypi/idna", "pkg:pypi/idna@2.8", "pkg:pypi/idna@2.9", "pkg:pypi/idna?arch=x", "pkg:pypi/idna@2.8?arch=x&distro=d",
                                   "pkg:golang/golang.org/x/net#html", "pkg:golang/golang.org/x/net@v0.1.0", "pkg:pypi/django"]
        let days: [String?] = [nil, "2020-01-01", "2025-06-01", "2026-01-01", "2030-01-01"]
        var random = Seeded(0x2545_F491_4F6C_DD1D)
        func next(_ n: Int) -> Int { random.next(n) }
        var text = "ignore:\n"
        for n in 0..<30 {
            text += "  - id: \(ids[next(ids.count)])\n    reason: r\(n)\n"
            if let p = packages[next(packages.count)] { text += "    package: \"\(p)\"\n" }
            if let d = days[next(days.count)] { text += "    expires: \(d)\n" }
        }
        let dir = try tempDir("ignore-flat")
        try write(text, to: dir + "/i.yaml")
        let ignore = try IgnoreFile.load(dir + "/i.yaml")
        let findings = Self.corpus
        var decided = 0
        for today in ["2019-01-01", "2020-01-01", "2025-06-02", "2027-01-01", "2031-01-01"] {
            for f in findings {
                var flat: IgnoreFile.Entry?
                for part in f.suppressionParts {
                    guard let e = ignore.entries.first(where: { e in
                        (e.expires ?? "9999-12-31") >= today && f.names([e.id], cover: part) && (e.package.map { VEXDocument.purlCovers($0, f.purl) } ?? true)
                    }) else { flat = nil; break }
                    flat = flat ?? e
                }
                let indexed = ignore.suppressing(f, today: today)
                #expect(indexed == flat, "\(f.id) \(f.purl) on \(today): \(indexed?.reason ?? "none") against \(flat?.reason ?? "none")")
                if flat != nil { decided += 1 }
            }
        }
        let judged = 5 * findings.count
        #expect(decided > 5 && decided < judged - 5, "\(decided) of \(judged) suppressed: the corpus should both suppress and keep")
    }

    /// More groups of entries than the budget may name a finding (10,001 spellings of one purl and
    /// its first qualifier): it is not judged, and kept; with fewer, its entry takes it out.
    @Test func anIgnoreFileOfTooManySpellingsOfAPackageKeepsTheFinding() {
        func ignore(_ count: Int) -> IgnoreFile {
            IgnoreFile(entries: (0..<count).map { n in
                IgnoreFile.Entry(id: "CVE-2024-3651", reason: "r\(n)", expires: nil, package: "pkg:pypi/idna?a=1&b=\(n)", line: n + 2, file: "i.yaml")
            })
        }
        let f = finding("PYSEC-2024-60", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/idna@2.8?a=1&b=5", version: "2.8")
        #expect(ignore(VEXDocument.Index.budget).suppressing(f, today: "2026-01-01")?.reason == "r5")
        #expect(ignore(VEXDocument.Index.budget + 1).suppressing(f, today: "2026-01-01") == nil)
        #expect(ignore(VEXDocument.Index.budget + 1).judge(f, today: "2026-01-01") == .unjudged, "said, for the report's warning")
        #expect(ignore(VEXDocument.Index.budget).judge(finding("GHSA-x", aliases: [], purl: "pkg:pypi/idna@2.8?a=1&b=5", version: "2.8"), today: "2026-01-01") == .kept)
    }

    /// The ignore file's index keeps file order: the first entry that takes the finding out is the
    /// one reported, whether it names the package, a version of it, or no package.
    @Test func theFirstIgnoreEntryInFileOrderDecides() throws {
        let dir = try tempDir("ignore-index")
        try write("""
            ignore:
              - id: CVE-2024-3651
                reason: only 2.8
                package: pkg:pypi/idna@2.8
              - id: PYSEC-2024-60
                reason: any package
              - id: CVE-2024-3651
                reason: idna
                package: pkg:pypi/idna
              - id: CVE-2024-3651
                reason: expired
                expires: 2020-01-01
            """, to: dir + "/i.yaml")
        let ignore = try IgnoreFile.load(dir + "/i.yaml")
        let at28 = finding("PYSEC-2024-60", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/idna@2.8", version: "2.8")
        let at29 = finding("PYSEC-2024-60", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/idna@2.9", version: "2.9")
        let other = finding("GHSA-x", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/idna@2.9", version: "2.9")
        let django = finding("GHSA-x", aliases: ["CVE-2024-3651"], purl: "pkg:pypi/django@2.9", version: "2.9")
        #expect(ignore.suppressing(at28, today: "2026-01-01")?.reason == "only 2.8")
        #expect(ignore.suppressing(at29, today: "2026-01-01")?.reason == "any package")
        #expect(ignore.suppressing(other, today: "2026-01-01")?.reason == "idna")
        #expect(ignore.suppressing(django, today: "2026-01-01") == nil, "only an expired entry names it for any package")
        #expect(ignore.suppressing(django, today: "2019-12-31")?.reason == "expired")
        // Entries of one id and package: the first in force on the day decides, whatever their order of expiry.
        let expiries = [("e1", "2025-01-01"), ("e2", "2024-01-01"), ("e3", "2027-01-01"), ("e4", "2026-01-01")]
        try write("ignore:\n" + expiries.map { "  - id: CVE-2024-3651\n    reason: \($0.0)\n    expires: \($0.1)\n" }.joined(), to: dir + "/j.yaml")
        let days = try IgnoreFile.load(dir + "/j.yaml")
        #expect(days.suppressing(django, today: "2023-06-01")?.reason == "e1")
        #expect(days.suppressing(django, today: "2025-01-01")?.reason == "e1")
        #expect(days.suppressing(django, today: "2025-01-02")?.reason == "e3")
        #expect(days.suppressing(django, today: "2027-01-01")?.reason == "e3")
        #expect(days.suppressing(django, today: "2027-01-02") == nil)
    }
}
