import Foundation
import Testing
import ProvenantCore
@testable import Advisories

/// Issue 11, item 12: suppressions must never hide a finding that nothing valid clears.
@Suite struct SuppressionTests {
    func finding(_ id: String = "PYSEC-2024-60", package: String = "idna", version: String = "2.8", ecosystem: String = "PyPI") -> Finding {
        Finding(id: id, aliases: ["CVE-2024-3651"], summary: "", severity: .medium, score: nil, vector: nil, severitySource: "none",
                package: package, ecosystem: ecosystem, version: version, purl: "pkg:pypi/\(package)@\(version)", locations: [],
                fixed: ["3.7"], status: .affected, note: nil, published: nil, modified: "2024-01-01T00:00:00Z")
    }

    func load(_ json: String, name: String = "vex.json") throws -> VEXDocument {
        let dir = try tempDir("vex-unit")
        try write(json, to: dir + "/" + name)
        return try VEXDocument.load(dir + "/" + name)
    }

    func cdx(_ versions: String?, state: String = "not_affected", justification: String? = "code_not_reachable") throws -> VEXDocument {
        let v = versions.map { #", "versions": \#($0)"# } ?? ""
        let j = justification.map { #", "justification": "\#($0)""# } ?? ""
        return try load("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
             "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "\(state)"\(j)}, "affects": [{"ref": "pkg:pypi/idna"\(v)}]}]}
            """)
    }

    @Test func cycloneDXVersionsDecideWhichVersionsAStatementClears() throws {
        let f = finding()
        #expect(try cdx(nil).suppressing(f) != nil, "no versions: every version of the ref")
        #expect(try cdx(#"[{"version": "2.8", "status": "affected"}]"#).suppressing(f) == nil, "2.8 is affected, says the statement")
        #expect(try cdx(#"[{"range": "vers:pypi/>=3.0", "status": "unaffected"}]"#).suppressing(f) == nil, "only >=3.0 is cleared")
        #expect(try cdx(#"[{"version": "2.8"}]"#).suppressing(f) == nil, "CycloneDX's default status is affected")
        #expect(try cdx(#"[{"version": "2.8", "status": "unaffected"}]"#).suppressing(f) != nil)
        #expect(try cdx(#"[{"range": "vers:pypi/>=2.0|<3.0", "status": "unaffected"}]"#).suppressing(f) != nil)
        #expect(try cdx(#"[{"range": "vers:pypi/>=2.0|<3.0", "status": "unaffected"}, {"version": "2.8", "status": "affected"}]"#).suppressing(f) == nil,
                "when the entries disagree, affected wins")
        let bad = try cdx(#"[{"range": ">=2.0", "status": "unaffected"}]"#)
        #expect(bad.suppressing(f) == nil && bad.warnings.first?.contains("not a vers: range") == true)
        // An entry that cannot be read was dropped, and an empty list speaks for every version: a
        // statement for 3.6 suppressed 2.8 (found by helper-122). Refused now, with a warning.
        for broken in [#"[{"version": 3.6, "status": "unaffected"}]"#, #"[{"ranges": "vers:pypi/>=3.6", "status": "unaffected"}]"#,
                       #"["3.6"]"#, #""3.6""#, #"[{"version": "3.6", "status": 1}]"#] {
            let doc = try cdx(broken)
            #expect(doc.suppressing(f) == nil, "\(broken)")
            #expect(doc.warnings.first?.contains("refused, it suppresses nothing") == true, "\(broken): \(doc.warnings)")
        }
    }

    /// GO-2022-0536 stands for CVE-2019-9512 and CVE-2019-9514: a statement or an ignore entry about one
    /// of them leaves the finding in; both, or the advisory's own id, take it out.
    /// helper-102: a statement about one package of a module (`#html`) suppressed the whole module's
    /// findings. A subpath covers that subpath only; a statement without one covers them all.
    @Test func aStatementWithASubpathCoversThatSubpathOnly() {
        #expect(!VEXDocument.purlCovers("pkg:golang/golang.org/x/net#html", "pkg:golang/golang.org/x/net@v0.0.1"))
        #expect(!VEXDocument.purlCovers("pkg:golang/golang.org/x/net@v0.0.1#html", "pkg:golang/golang.org/x/net@v0.0.1#http2"))
        #expect(VEXDocument.purlCovers("pkg:golang/golang.org/x/net#html", "pkg:golang/golang.org/x/net@v0.0.1#html/"))
        #expect(VEXDocument.purlCovers("pkg:golang/golang.org/x/net", "pkg:golang/golang.org/x/net@v0.0.1#http2"))
        #expect(VEXDocument.purlCovers("pkg:golang/golang.org/x/net", "pkg:golang/golang.org/x/net@v0.0.1"))
        // An empty version after `@` covers no version, not every one (helper-163).
        #expect(!VEXDocument.purlCovers("pkg:pypi/requests@", "pkg:pypi/requests@2.25.0"))
        #expect(!VEXDocument.purlCovers("pkg:pypi/requests@?x=1", "pkg:pypi/requests@2.25.0"))
        // A combining mark after the `?` made `@?` one character, and the version went unseen (helper-228).
        #expect(!VEXDocument.purlCovers("pkg:pypi/requests@?\u{301}", "pkg:pypi/requests@2.25.0"))
    }

    @Test func aFindingOfSeveralCVEsNeedsEachOfThemCleared() throws {
        var f = finding("GO-2022-0536", package: "golang.org/x/net", version: "0.0.1", ecosystem: "Go")
        f.aliases = ["CVE-2019-9512", "CVE-2019-9514", "GHSA-39qc-96h7-956f", "GHSA-hgr8-6h9x-f7q9"]
        f.purl = "pkg:golang/golang.org/x/net@0.0.1"
        func openVEX(_ ids: [String]) throws -> VEXDocument {
            let statements = ids.map { #"{"vulnerability": {"name": "\#($0)"}, "products": [{"@id": "pkg:golang/golang.org/x/net"}], "status": "not_affected", "justification": "vulnerable_code_not_present"}"# }
            return try load(#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1, "statements": [\#(statements.joined(separator: ","))]}"#)
        }
        #expect(try openVEX(["CVE-2019-9512"]).suppressing(f) == nil)
        #expect(try openVEX(["GHSA-39qc-96h7-956f"]).suppressing(f) == nil, "an alias that is not a CVE cannot say which part it clears")
        #expect(try openVEX(["CVE-2019-9512", "CVE-2019-9514"]).suppressing(f) != nil)
        #expect(try openVEX(["GO-2022-0536"]).suppressing(f) != nil)
        // One CVE: any of the finding's names still takes it out.
        #expect(try openVEX(["CVE-2024-3651"]).suppressing(finding()) == nil, "another product")
        let dir = try tempDir("ignore-cves")
        func ignore(_ ids: [String]) throws -> IgnoreFile {
            try write("ignore:\n" + ids.map { "  - id: \($0)\n    reason: reviewed\n" }.joined(), to: dir + "/i.yaml")
            return try IgnoreFile.load(dir + "/i.yaml")
        }
        #expect(try ignore(["CVE-2019-9512"]).suppressing(f, today: "2026-01-01") == nil)
        #expect(try ignore(["CVE-2019-9514", "CVE-2019-9512"]).suppressing(f, today: "2026-01-01") != nil)
        #expect(try ignore(["GO-2022-0536"]).suppressing(f, today: "2026-01-01") != nil)
        #expect(try ignore(["CVE-2024-3651"]).suppressing(finding(), today: "2026-01-01") != nil)
    }

    /// A GHSA for one CVE merged, by alias, with a PYSEC for that CVE and one more: the merged finding
    /// keeps the GHSA's id, and a statement about the GHSA cleared both CVEs (found by helper-131).
    /// The id now speaks only for the CVEs of the advisory it named.
    @Test func aMergedAdvisorysIdClearsOnlyItsOwnCVEs() throws {
        var ghsa = finding("GHSA-aaaa-bbbb-cccc"), pysec = finding("PYSEC-2099-1")
        ghsa.aliases = ["CVE-2099-0001"]; ghsa.severity = .low
        pysec.aliases = ["CVE-2099-0001", "CVE-2099-0002", "GHSA-aaaa-bbbb-cccc"]; pysec.severity = .critical
        let merged = Scanner.collapseAliases([pysec, ghsa])
        #expect(merged.count == 1 && merged[0].id == "GHSA-aaaa-bbbb-cccc" && merged[0].severity == .critical, "\(merged)")
        let f = merged[0]
        #expect(f.suppressionParts == ["CVE-2099-0001", "CVE-2099-0002"])
        func openVEX(_ ids: [String]) throws -> VEXDocument {
            let statements = ids.map { #"{"vulnerability": {"name": "\#($0)"}, "products": [{"@id": "pkg:pypi/idna"}], "status": "not_affected", "justification": "vulnerable_code_not_present"}"# }
            return try load(#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1, "statements": [\#(statements.joined(separator: ","))]}"#)
        }
        #expect(try openVEX(["GHSA-aaaa-bbbb-cccc"]).suppressing(f) == nil, "the GHSA names CVE-2099-0001 only")
        #expect(try openVEX(["GHSA-aaaa-bbbb-cccc", "CVE-2099-0002"]).suppressing(f) != nil)
        #expect(try openVEX(["PYSEC-2099-1"]).suppressing(f) != nil, "the PYSEC stands for both")
        let dir = try tempDir("ignore-merged")
        try write("ignore:\n  - id: GHSA-aaaa-bbbb-cccc\n    reason: reviewed\n", to: dir + "/i.yaml")
        #expect(try IgnoreFile.load(dir + "/i.yaml").suppressing(f, today: "2026-01-01") == nil)
        // The merge is not written out: the finding's JSON is what it was.
        let json = String(decoding: try JSONEncoder().encode(f), as: UTF8.self)
        #expect(!json.contains("mergedCVEs"), "\(json)")
    }

    /// A VEX file that is not JSON says where; JSON that is no VEX document says so (helper-72).
    @Test func badVEXFilesNameTheLineAndWhatIsWrong() throws {
        for (json, line, words) in [("{\"a\":\n  [1,\n  }", 3, "not valid JSON"), ("[]", 1, "not a VEX document")] {
            do { _ = try load(json); Issue.record("accepted: \(json)") } catch let e as InputError {
                #expect(e.location?.line == line && e.message.contains(words), "\(e)")
            }
        }
    }

    @Test func versRangesFollowTheVersSpec() throws {
        func has(_ range: String, _ v: String, _ eco: String = "PyPI") throws -> Bool? { try #require(VersRange(range)).contains(v, fallbackEcosystem: eco) }
        #expect(try has("vers:pypi/>=3.0", "2.8") == false)
        #expect(try has("vers:pypi/>=3.0", "3.0") == true)
        #expect(try has("vers:pypi/>=2.0|<3.0", "2.10") == true)
        #expect(try has("vers:pypi/>=2.0|<3.0", "3.0") == false)
        #expect(try has("vers:npm/1.2.3|>=2.0.0|<2.5.0", "1.2.3", "npm") == true)
        #expect(try has("vers:npm/1.2.3|>=2.0.0|<2.5.0", "1.5.0", "npm") == false)
        #expect(try has("vers:npm/<1.0.0|>=2.0.0|!=2.1.0", "2.1.0", "npm") == false)
        #expect(try has("vers:npm/<1.0.0|>=2.0.0|!=2.1.0", "2.2.0", "npm") == true)
        #expect(try has("vers:deb/*", "anything") == true)
        #expect(try has("vers:deb/>=2.0", "abc") == nil, "a version the scheme cannot read")
        #expect(VersRange("pypi/>=2.0") == nil && VersRange("vers:pypi/") == nil)
    }

    /// Review: `vers:pypi/!=3.0` was read as containing no version; per the vers spec it holds
    /// every version but 3.0, with or without an ordering for the scheme.
    @Test func aNotEqualOnlyRangeHoldsEveryOtherVersion() throws {
        func has(_ range: String, _ v: String, _ eco: String = "PyPI") throws -> Bool? { try #require(VersRange(range)).contains(v, fallbackEcosystem: eco) }
        #expect(try has("vers:pypi/!=3.0", "2.9") == true)
        #expect(try has("vers:pypi/!=3.0", "3.0") == false)
        #expect(try has("vers:pypi/!=3.0|!=3.1", "3.1") == false)
        #expect(try has("vers:pypi/!=3.0|!=3.1", "4.0") == true)
        #expect(try has("vers:pypi/3.0", "3.1") == false, "= alone still holds only what it names")
        // A scheme Provenant cannot order: only = and != are judged, by string.
        #expect(try has("vers:unknownscheme/!=1.0", "2.0", "unknown-eco") == true)
        #expect(try has("vers:unknownscheme/!=1.0", "1.0", "unknown-eco") == false)
    }

    func openVEX(timestamp: String, _ statements: String) -> String {
        """
        {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/\(timestamp)", "author": "sec", "timestamp": "\(timestamp)", "version": 1,
         "statements": [\(statements)]}
        """
    }
    let notAffected = #"{"vulnerability": {"name": "PYSEC-2024-60"}, "products": [{"@id": "pkg:pypi/idna"}], "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}"#
    let affected = #"{"vulnerability": {"name": "CVE-2024-3651"}, "products": [{"@id": "pkg:pypi/idna@2.8"}], "status": "affected", "action_statement": "upgrade"}"#

    @Test func subcomponentsAndBOMLinksAreScopedToTheirProduct() throws {
        let f = finding()
        let doc = try load(openVEX(timestamp: "2024-01-01T00:00:00Z", #"""
            {"vulnerability": {"name": "PYSEC-2024-60"}, "products": [{"@id": "pkg:oci/app-a", "identifiers": {"purl": "pkg:oci/app-a?tag=v1"},
             "subcomponents": [{"@id": "pkg:pypi/idna"}]}], "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}
            """#))
        #expect(doc.statements[0].products == [VEXDocument.Product("pkg:oci/app-a"), VEXDocument.Product("pkg:oci/app-a?tag=v1"),
                                               VEXDocument.Product("pkg:pypi/idna", within: .product(["pkg:oci/app-a", "pkg:oci/app-a?tag=v1"]))])
        // An image product without a digest must name its repository: a bare name matched any image so
        // called, an archive's file name included (helper-218).
        #expect(VEXDocument.decide(f, in: [doc], subject: .init(purls: ["pkg:oci/app-a@sha256:abc?tag=v1"])).suppressing == nil)
        let other = VEXDocument.decide(f, in: [doc], subject: .init(purls: ["pkg:oci/app-b@sha256:abc"]))
        #expect(other.suppressing == nil && other.notApplied.count == 1, "\(other)")
        #expect(VEXDocument.decide(f, in: [doc]).suppressing == nil, "a target that names no product")

        let d1 = "sha256:" + String(repeating: "1", count: 64), d2 = "sha256:" + String(repeating: "2", count: 64)
        func imageStatement(_ product: String) throws -> VEXDocument {
            try load(openVEX(timestamp: "2024-01-01T00:00:00Z", #"""
                {"vulnerability": {"name": "PYSEC-2024-60"}, "products": [{"@id": "\#(product)", "subcomponents": [{"@id": "pkg:pypi/idna"}]}],
                 "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}
                """#), name: "image.json")
        }
        // By digest: any of the image's (manifest, config, an index its reference pins), any name or tag, any case.
        let image = VEXDocument.Subject(purls: ["pkg:oci/app-tar@\(d1)?arch=amd64"], digests: [d1, d2])
        for product in ["pkg:oci/collector@\(d2.uppercased())", "pkg:docker/team/collector@\(d1)?tag=v9", "pkg:oci/app-tar@sha256%3A\(d1.dropFirst(7))"] {
            #expect(VEXDocument.decide(f, in: [try imageStatement(product)], subject: image).suppressing != nil, "\(product)")
        }
        #expect(VEXDocument.decide(f, in: [try imageStatement("pkg:oci/app-tar@sha256:" + String(repeating: "3", count: 64))], subject: image).suppressing == nil)
        #expect(VEXDocument.decide(f, in: [try imageStatement("pkg:oci/app-tar")], subject: image).suppressing == nil, "a name alone")
        let registry = VEXDocument.Subject(purls: ["pkg:oci/collector@\(d1)?repository_url=ghcr.io/team/collector&tag=v1"], digests: [d1])
        #expect(VEXDocument.decide(f, in: [try imageStatement("pkg:oci/collector?repository_url=ghcr.io/team/collector")], subject: registry).suppressing != nil)
        #expect(VEXDocument.decide(f, in: [try imageStatement("pkg:oci/collector?repository_url=ghcr.io/other/collector")], subject: registry).suppressing == nil)
        // A package product (the project at a tree's top) is matched as purls are.
        #expect(VEXDocument.decide(f, in: [try imageStatement("pkg:npm/app")], subject: .init(purls: ["pkg:npm/app@1.2.3"])).suppressing != nil)
        #expect(VEXDocument.decide(f, in: [try imageStatement("")], subject: .init(purls: [""])).suppressing == nil, "an empty id names nothing")

        // A later affected about the package anywhere still decides over an earlier scoped not_affected.
        let later = try load(openVEX(timestamp: "2024-02-01T00:00:00Z", affected), name: "later.json")
        #expect(VEXDocument.decide(f, in: [doc, later], subject: .init(purls: ["pkg:oci/app-a?tag=v1"])).suppressing == nil)
        // An undated scoped statement that does not apply is no verdict, so no conflict either.
        let undatedScoped = try load(#"""
            {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "version": 1, "statements": [
             {"vulnerability": {"name": "PYSEC-2024-60"}, "products": [{"@id": "pkg:oci/x?repository_url=r/x", "subcomponents": [{"@id": "pkg:pypi/idna"}]}], "status": "not_affected", "justification": "component_not_present"}]}
            """#, name: "undated.json")
        let datedClear = try load(openVEX(timestamp: "2024-01-01T00:00:00Z", notAffected), name: "dated.json")
        let mixed = VEXDocument.decide(f, in: [undatedScoped, datedClear], subject: .unnamed)
        #expect(mixed.suppressing?.origin == "dated.json#1" && mixed.conflict == nil, "\(mixed)")
        // A product without an id of its own scopes its subcomponents to nothing.
        let anonymous = try load(openVEX(timestamp: "2024-01-01T00:00:00Z", #"""
            {"vulnerability": {"name": "PYSEC-2024-60"}, "products": [{"subcomponents": [{"@id": "pkg:pypi/idna"}]}], "status": "fixed"}
            """#), name: "anonymous.json")
        #expect(VEXDocument.decide(f, in: [anonymous], subject: .init(purls: ["pkg:oci/app-a"])).suppressing == nil)

        let link = try load("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
             "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "resolved"},
                                  "affects": [{"ref": "urn:cdx:3E671687-395B-41F5-A30F-A58921A69B79/2#pkg:pypi/idna"}]}]}
            """, name: "link.json")
        #expect(link.statements[0].products == [VEXDocument.Product("pkg:pypi/idna", within: .bom(serial: "3e671687-395b-41f5-a30f-a58921a69b79", version: 2), ref: "pkg:pypi/idna")])
        #expect(VEXDocument.decide(f, in: [link], subject: .init(serialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", bomVersion: 2)).suppressing != nil)
        #expect(VEXDocument.decide(f, in: [link], subject: .init(serialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79")).suppressing == nil, "version 1 of it")
        #expect(VEXDocument.decide(f, in: [link], subject: .init(serialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", bomVersion: nil)).suppressing == nil, "a version that cannot be read")
        #expect(VEXDocument.decide(f, in: [link], subject: .init(serialNumber: "urn:uuid:0e671687-395b-41f5-a30f-a58921a69b79", bomVersion: 2)).suppressing == nil)
        #expect(VEXDocument.decide(f, in: [link], subject: .init(serialNumber: "3e671687-395b-41f5-a30f-a58921a69b79")).suppressing == nil, "not a urn:uuid")
        // Upper-case prefixes are BOM-Links too; one without a UUID or a '#' applies nowhere.
        func linked(_ ref: String) throws -> VEXDocument {
            try load("""
                {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                 "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "resolved"}, "affects": [{"ref": "\(ref)"}]}]}
                """, name: "linked.json")
        }
        let serialSubject = VEXDocument.Subject(serialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", bomVersion: 1)
        #expect(VEXDocument.decide(f, in: [try linked("URN:CDX:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg:pypi/idna")], subject: serialSubject).suppressing != nil)
        #expect(VEXDocument.decide(f, in: [try linked("urn:cdx:#pkg:pypi/idna")], subject: .init(serialNumber: "urn:uuid:")).suppressing == nil)
        #expect(VEXDocument.decide(f, in: [try linked("urn:cdx:not-a-uuid/1#pkg:pypi/idna")], subject: serialSubject).suppressing == nil)
        // The version is part of a BOM-Link: one without it, or with one that is no positive integer, names nothing.
        for bad in ["", "/", "/0", "/-1", "/+1", "/1.0", "/1/2", "/99999999999999999999"] {
            #expect(try linked("urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79\(bad)#pkg:pypi/idna").statements[0].products[0].within == .bom(serial: "", version: 0), "\(bad)")
        }
        #expect(try linked("urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1").statements[0].products[0].within == .bom(serial: "", version: 0), "the whole BOM, no component")
    }

    @Test func theNewestOpenVEXStatementWinsAcrossFiles() throws {
        let f = finding()
        let old = try load(openVEX(timestamp: "2024-01-01T00:00:00Z", notAffected), name: "old.json")
        let new = try load(openVEX(timestamp: "2024-02-01T00:00:00Z", affected), name: "new.json")
        #expect(VEXDocument.suppressing(f, in: [old, new]) == nil, "a later affected overrides an earlier not_affected")
        #expect(VEXDocument.suppressing(f, in: [new, old]) == nil, "whatever order the files come in")
        // And the other way round: a later not_affected clears an earlier affected.
        let later = try load(openVEX(timestamp: "2024-03-01T00:00:00Z", notAffected), name: "later.json")
        #expect(VEXDocument.suppressing(f, in: [later, new])?.origin == "later.json#1")
    }

    @Test func theNewestOpenVEXStatementWinsWithinADocument() throws {
        let f = finding()
        func stamped(_ s: String, _ t: String) -> String { String(s.dropLast()) + #", "timestamp": "\#(t)"}"# }
        // The statement's own timestamp beats the document's, and offsets are honoured:
        // 10:00-06:00 is 16:00Z, after 15:00Z.
        let a = try load(openVEX(timestamp: "2024-01-01T00:00:00Z",
                                 stamped(notAffected, "2024-02-01T10:00:00-06:00") + "," + stamped(affected, "2024-02-01T15:00:00Z")))
        #expect(a.suppressing(f)?.origin == "vex.json#1")
        let b = try load(openVEX(timestamp: "2024-01-01T00:00:00Z",
                                 stamped(notAffected, "2024-02-01T10:00:00-06:00") + "," + stamped(affected, "2024-02-01T17:00:00.5Z")))
        #expect(b.suppressing(f) == nil)
        // Without statement timestamps, the later statement of one document is the newer.
        #expect(try load(openVEX(timestamp: "2024-01-01T00:00:00Z", notAffected + "," + affected)).suppressing(f) == nil)
        #expect(try load(openVEX(timestamp: "2024-01-01T00:00:00Z", affected + "," + notAffected)).suppressing(f) != nil)
        #expect(throws: InputError.self) { try load(openVEX(timestamp: "yesterday", notAffected)) }
    }

    /// An undated `affected` used to lose to any dated `not_affected`. When statements on one
    /// finding disagree and any lacks a time, the newest cannot be known: the finding is kept and
    /// the conflict is named.
    @Test func disagreeingStatementsWithoutATimeKeepTheFinding() throws {
        let f = finding()
        let dated = try load(openVEX(timestamp: "2024-01-01T00:00:00Z", notAffected), name: "dated.json")
        let undatedAffected = try load("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
             "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "exploitable"}, "affects": [{"ref": "pkg:pypi/idna"}]}]}
            """, name: "undated.json")
        #expect(undatedAffected.statements.first?.timestamp == nil)
        for order in [[dated, undatedAffected], [undatedAffected, dated]] {
            let d = VEXDocument.decide(f, in: order)
            #expect(d.suppressing == nil, "an undated affected is not overridden by a dated not_affected")
            #expect(d.conflict?.contains("dated.json#1 (not_affected, 2024-01-01T00:00:00Z)") == true && d.conflict?.contains("undated.json#1 (exploitable, undated)") == true,
                    "\(d.conflict ?? "no warning")")
        }
        // Within one document with no document time: a dated not_affected and an undated affected.
        let mixed = try load(#"""
            {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/m", "author": "sec", "version": 1,
             "statements": [\#(String(notAffected.dropLast()) + #", "timestamp": "2024-05-01T00:00:00Z"}"#), \#(affected)]}
            """#, name: "mixed.json")
        #expect(mixed.suppressing(f) == nil && VEXDocument.decide(f, in: [mixed]).conflict != nil)
        // Statements that agree need no order: an undated not_affected beside a dated one still suppresses.
        let undatedClear = try cdx(nil)
        #expect(undatedClear.statements.first?.timestamp == nil)
        let agree = VEXDocument.decide(f, in: [dated, undatedClear])
        #expect(agree.suppressing != nil && agree.conflict == nil)
        // And dated statements that disagree still go by time, without a warning.
        let newer = try load(openVEX(timestamp: "2024-02-01T00:00:00Z", affected), name: "newer.json")
        let byTime = VEXDocument.decide(f, in: [newer, dated])
        #expect(byTime.suppressing == nil && byTime.conflict == nil)
    }

    /// helper-148: two files of the same time that disagree were settled by the order they were given
    /// in; a statement dated in the future outranked every real one; and a newer statement in a
    /// malformed list vanished, so an older not_affected decided. Each now keeps the finding or is an error.
    @Test func tiesFutureTimesAndMistypedListsDoNotDecide() throws {
        let f = finding()
        let clear = try load(openVEX(timestamp: "2025-01-01T00:00:00Z", notAffected), name: "clear.json")
        let keep = try load(openVEX(timestamp: "2025-01-01T00:00:00Z", affected), name: "keep.json")
        for order in [[clear, keep], [keep, clear]] {
            let d = VEXDocument.decide(f, in: order)
            #expect(d.suppressing == nil && d.conflict?.contains("at the same time") == true, "\(d)")
        }
        #expect(throws: InputError.self) { try load(openVEX(timestamp: "2999-01-01T00:00:00Z", notAffected)) }
        let bad: [String] = [
            #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "exploitable"}, "affects": [{"ref": "pkg:pypi/idna"}]}, "oops"]}"#,
            #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "exploitable"}, "affects": [null]}]}"#,
            #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": {"0": {"id": "CVE-2024-3651"}}}"#,
            #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": "exploitable"}]}"#,
            openVEX(timestamp: "2025-02-01T00:00:00Z", #"{"vulnerability": {"name": "CVE-2024-3651"}, "products": {"@id": "pkg:pypi/idna@2.8"}, "status": "affected", "action_statement": "upgrade"}"#),
        ]
        // ...and a product's @id or purl of the wrong type, or a stray item in components (helper-149).
        let moreBad: [String] = [
            openVEX(timestamp: "2025-02-01T00:00:00Z", #"{"vulnerability": {"name": "CVE-2024-3651"}, "products": [{"identifiers": {"purl": ["pkg:pypi/idna@2.8"]}}], "status": "affected", "action_statement": "upgrade"}"#),
            openVEX(timestamp: "2025-02-01T00:00:00Z", #"{"vulnerability": {"name": "CVE-2024-3651"}, "products": [{"@id": 7}], "status": "affected", "action_statement": "upgrade"}"#),
            #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"bom-ref": "a", "purl": "pkg:pypi/idna@2.8"}, "x"], "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "exploitable"}, "affects": [{"ref": "a"}]}]}"#,
        ]
        for text in bad + moreBad { #expect(throws: InputError.self, "\(text)") { try load(text) } }
    }

    @Test func notAffectedWithoutAValidJustificationIsRefused() throws {
        let f = finding()
        func statement(_ extra: String) -> String {
            #"{"vulnerability": {"name": "PYSEC-2024-60"}, "products": [{"@id": "pkg:pypi/idna"}], "status": "not_affected"\#(extra)}"#
        }
        let bare = try load(openVEX(timestamp: "2024-01-01T00:00:00Z", statement("")))
        #expect(bare.suppressing(f) == nil)
        #expect(bare.warnings == ["vex.json#1: not_affected without a justification or an impact_statement; refused, it suppresses nothing"])
        let made = try load(openVEX(timestamp: "2024-01-01T00:00:00Z", statement(#", "justification": "we_checked""#)))
        #expect(made.suppressing(f) == nil && made.warnings.first?.contains("'we_checked', which OpenVEX does not define") == true)
        let impact = try load(openVEX(timestamp: "2024-01-01T00:00:00Z", statement(#", "impact_statement": "idna only parses our own hostnames""#)))
        #expect(impact.suppressing(f) != nil && impact.warnings.isEmpty)
        // A refused statement is still the newest word: it does not let an older one through.
        let older = try load(openVEX(timestamp: "2023-01-01T00:00:00Z", notAffected), name: "older.json")
        #expect(VEXDocument.suppressing(f, in: [older, bare]) == nil)

        #expect(try cdx(nil, justification: nil).suppressing(f) == nil)
        #expect(try cdx(nil, justification: nil).warnings.first?.contains("without an analysis.justification") == true)
        #expect(try cdx(nil, justification: "trust_me").suppressing(f) == nil)
        #expect(try cdx(nil, state: "false_positive", justification: nil).suppressing(f) != nil, "false_positive needs no justification")
    }

    /// A list or mapping where the ignore file wants a string used to read as absent: `expires:
    /// [2020-01-01]` suppressed forever, `package: {purl: …}` for every package. Each is now an
    /// error naming the file and line, and so is a package that is not a purl.
    @Test func ignoreFileFieldsThatAreNotStringsAreErrors() throws {
        let dir = try tempDir("ignore-shapes")
        func error(_ field: String) throws -> String? {
            try write("ignore:\n  - id: PYSEC-2024-60\n    reason: accepted\n\(field)\n", to: dir + "/i.yaml")
            do { _ = try IgnoreFile.load(dir + "/i.yaml"); return nil } catch { return "\(error)" }
        }
        let expiresList = try error("    expires: [2020-01-01]")
        #expect(expiresList?.contains("i.yaml:4") == true && expiresList?.contains("'expires' must be a single value, not a list") == true, "\(expiresList ?? "accepted")")
        let packageMap = try error("    package: {purl: pkg:pypi/idna}")
        #expect(packageMap?.contains("i.yaml:4") == true && packageMap?.contains("'package' must be a single value, not a mapping") == true, "\(packageMap ?? "accepted")")
        let packageBlock = try error("    package:\n      - pkg:pypi/idna")
        #expect(packageBlock?.contains("i.yaml:5") == true && packageBlock?.contains("not a list") == true, "\(packageBlock ?? "accepted")")
        let notPurl = try error("    package: idna")
        #expect(notPurl?.contains("i.yaml:4") == true && notPurl?.contains("package 'idna' is not a purl") == true, "\(notPurl ?? "accepted")")
        let emptyVersion = try error("    package: pkg:pypi/idna@")
        #expect(emptyVersion?.contains("i.yaml:4") == true && emptyVersion?.contains("is not a purl") == true, "\(emptyVersion ?? "accepted")")
        #expect(try error("    reason2: x")?.contains("unknown key 'reason2'") == true)
        // A YAML null is no value (helper-122: `reason: ~` was the reason "~"); a quoted "~" is a string.
        for null in ["~", "null", "NULL", ""] {
            try write("ignore:\n  - id: PYSEC-2024-60\n    reason: \(null)\n", to: dir + "/n.yaml")
            #expect(throws: InputError.self, "\(null)") { try IgnoreFile.load(dir + "/n.yaml") }
        }
        try write("ignore:\n  - id: PYSEC-2024-60\n    reason: \"~\"\n", to: dir + "/q.yaml")
        #expect(throws: Never.self) { try IgnoreFile.load(dir + "/q.yaml") }
        // The entries that stay valid still load, and suppress only what they name.
        #expect(try error("    package: pkg:pypi/idna\n    expires: 2099-01-01") == nil)
        let ok = try IgnoreFile.load(dir + "/i.yaml")
        #expect(ok.suppressing(finding(), today: "2026-01-01") != nil)
        #expect(ok.suppressing(finding(package: "requests"), today: "2026-01-01") == nil)
        try write("ignore:\n  - id: [PYSEC-2024-60]\n    reason: accepted\n", to: dir + "/i.yaml")
        #expect(throws: InputError.self) { try IgnoreFile.load(dir + "/i.yaml") }
        try write("ignore:\n  - id: PYSEC-2024-60\n    reason: {why: accepted}\n", to: dir + "/i.yaml")
        do { _ = try IgnoreFile.load(dir + "/i.yaml"); Issue.record("a mapping reason was accepted") } catch { #expect("\(error)".contains("i.yaml:3")) }
    }

    @Test func ignoreFilesRefuseDatesThatDoNotExist() throws {
        let dir = try tempDir("ignore-dates")
        func load(_ date: String) throws -> IgnoreFile {
            try write("ignore:\n  - id: X\n    reason: accepted\n    expires: \(date)\n", to: dir + "/i.yaml")
            return try IgnoreFile.load(dir + "/i.yaml")
        }
        for bad in ["2099-99-99", "2099-02-30", "2100-02-29", "2099-13-01", "2099-04-31", "2099-00-10", "0000-01-01"] {
            #expect(throws: InputError.self, "\(bad)") { try load(bad) }
            do { _ = try load(bad) } catch { #expect("\(error)".contains("i.yaml:4") && "\(error)".contains(bad)) }
        }
        #expect(try load("2028-02-29").entries.first?.expires == "2028-02-29")
        #expect(try load("2000-02-29").entries.count == 1)
    }

    /// Ignore entries expire on the wall clock's UTC day; SOURCE_DATE_EPOCH plays no part.
    @Test func theUTCDayIsTheCivilDate() {
        #expect(CalendarDate.utcDay(Date(timeIntervalSince1970: 0)) == "1970-01-01")
        #expect(CalendarDate.utcDay(Date(timeIntervalSince1970: 1_700_000_000)) == "2023-11-14")
        #expect(CalendarDate.utcDay(Date(timeIntervalSince1970: 951_868_799)) == "2000-02-29")
        #expect(CalendarDate.utcDay(Date(timeIntervalSince1970: 951_868_800)) == "2000-03-01")
        #expect(CalendarDate.utcDay(Date(timeIntervalSince1970: -1)) == "1969-12-31")
        #expect(CalendarDate.utcDay() >= "2026-01-01")
    }
}
