import Catalog
import Foundation
import SBOM
import ProvenantCore
import Testing
@testable import Advisories

/// What a scan is of, for VEX statements scoped to a product (helper-218's review of the scoping).
@Suite struct VEXSubjectTests {
    @Test func anImageIsNamedByItsDigestsIncludingTheIndexItsReferencePins() {
        let index = "sha256:" + String(repeating: "c", count: 64), manifest = "sha256:" + String(repeating: "d", count: 64)
        var info = ImageInfo(reference: "registry.example/team/collector@\(index)", name: "registry.example/team/collector", imageID: "sha256:" + String(repeating: "e", count: 64))
        info.manifestDigest = manifest
        var inventory = Inventory(target: "registry:x", mode: "image", distro: nil, packages: [], diagnostics: [], sources: [:])
        inventory.image = info
        let subject = VEXDocument.Subject(inventory)
        #expect(Set(subject.digests) == [index, manifest, "sha256:" + String(repeating: "e", count: 64)], "\(subject.digests)")
        #expect(subject.holds(.product(["pkg:oci/anything@\(index.uppercased())"])))
        #expect(!subject.holds(.product(["pkg:oci/collector@sha256:" + String(repeating: "f", count: 64)])))
        #expect(!subject.holds(.product(["pkg:oci/collector"])), "a bare name")
    }

    @Test func aBOMLinksRefIsTheScannedBOMsAndNamesEveryCopy() throws {
        let serial = "3e671687-395b-41f5-a30f-a58921a69b79"
        let dir = try tempDir("vex-links")
        func vex(_ refs: [String], ownSerial: String? = nil, ownVersion: Int = 1) throws -> VEXDocument {
            let affects = refs.map { #"{"ref": "urn:cdx:\#(serial)/1#\#($0)"}"# }.joined(separator: ",")
            try write("""
                {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": \(ownVersion)\(ownSerial.map { #", "serialNumber": "urn:uuid:\#($0)""# } ?? ""),
                 "components": [{"type": "library", "bom-ref": "c1", "name": "django", "purl": "pkg:pypi/django@1.0"}],
                 "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "resolved"}, "affects": [\(affects)]}]}
                """, to: dir + "/v.json")
            return try VEXDocument.load(dir + "/v.json")
        }
        func finding(_ name: String, _ version: String) -> Finding {
            Finding(id: "PYSEC-2024-60", aliases: ["CVE-2024-3651"], summary: "", severity: .medium, score: nil, vector: nil, severitySource: "none",
                    package: name, ecosystem: "PyPI", version: version, purl: "pkg:pypi/\(name)@\(version)", locations: [],
                    fixed: [], status: .affected, note: nil, published: nil, modified: "2024-01-01T00:00:00Z")
        }
        let idna = finding("idna", "2.8"), django = finding("django", "1.0")
        let scanned = VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)", bomVersion: 1, refs: DocumentRefs(refs: ["c1": "pkg:pypi/idna@2.8"]))
        // The scanned BOM's c1 is idna: the VEX document's own c1 (django) does not speak for it (helper-221).
        #expect(VEXDocument.decide(idna, in: [try vex(["c1"])], subject: scanned).suppressing != nil)
        #expect(VEXDocument.decide(django, in: [try vex(["c1"])], subject: scanned).suppressing == nil)
        // A link into the VEX document itself is read through its own components.
        let own = VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)", bomVersion: 1)
        #expect(VEXDocument.decide(django, in: [try vex(["c1"], ownSerial: serial)], subject: own).suppressing != nil)
        // Only when the link names the VEX document's own version: version 2 of it does not speak through
        // its components for links into version 1 (c1 stays a bare ref, which names no package here).
        #expect(VEXDocument.decide(django, in: [try vex(["c1"], ownSerial: serial, ownVersion: 2)], subject: own).suppressing == nil)
        #expect(VEXDocument.decide(django, in: [try vex(["c1"], ownSerial: serial)], subject: VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)")).suppressing == nil,
                "a scanned BOM whose version is not known is no version a link names")
        // Two components of one purl: a statement naming one copy leaves the finding; naming both clears it.
        let twins = VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)", bomVersion: 1, refs: DocumentRefs([(id: "a", purl: "pkg:pypi/idna@2.8"), (id: "b", purl: "pkg:pypi/idna@2.8")]))
        #expect(VEXDocument.decide(idna, in: [try vex(["a"])], subject: twins).suppressing == nil)
        #expect(VEXDocument.decide(idna, in: [try vex(["a", "b"])], subject: twins).suppressing != nil)
        // A ref counts as named only when its entry's versions clear the finding's: `b` listed at 9.9
        // says nothing of the copy at 2.8 (helper-223).
        func versioned(_ bVersion: String) throws -> VEXDocument {
            try write("""
                {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                 "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
                   "affects": [{"ref": "urn:cdx:\(serial)/1#a", "versions": [{"version": "2.8", "status": "unaffected"}]},
                               {"ref": "urn:cdx:\(serial)/1#b", "versions": [{"version": "\(bVersion)", "status": "unaffected"}]}]}]}
                """, to: dir + "/versioned.json")
            return try VEXDocument.load(dir + "/versioned.json")
        }
        #expect(VEXDocument.decide(idna, in: [try versioned("9.9")], subject: twins).suppressing == nil)
        #expect(VEXDocument.decide(idna, in: [try versioned("2.8")], subject: twins).suppressing != nil)
        // A copy without a ref can never be named, so nothing clears its purl by link.
        let unnamed = VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)", bomVersion: 1, refs: DocumentRefs([(id: "a", purl: "pkg:pypi/idna@2.8"), (id: nil, purl: "pkg:pypi/idna@2.8")]))
        #expect(VEXDocument.decide(idna, in: [try vex(["a"])], subject: unnamed).suppressing == nil)
        // A ref the scanned BOM gives to two packages names neither, whatever the VEX document's own
        // components say (helper-222).
        let ambiguous = VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)", bomVersion: 1, refs: DocumentRefs([(id: "c1", purl: "pkg:pypi/django@1.0"), (id: "c1", purl: "pkg:pypi/six@1.0")]))
        #expect(VEXDocument.decide(django, in: [try vex(["c1"], ownSerial: serial)], subject: ambiguous).suppressing == nil)
        // A newer statement naming one copy still decides: it keeps the finding an older one cleared
        // (helper-222: it was passed over, and the older not_affected suppressed).
        try write(#"""
            {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1, "statements": [
             {"vulnerability": {"name": "PYSEC-2024-60"}, "products": [{"@id": "pkg:pypi/idna"}], "status": "not_affected", "justification": "component_not_present"}]}
            """#, to: dir + "/old.json")
        try write("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "metadata": {"timestamp": "2024-06-01T00:00:00Z"},
             "vulnerabilities": [{"id": "CVE-2024-3651", "analysis": {"state": "exploitable"}, "affects": [{"ref": "urn:cdx:\(serial)/1#a"}]}]}
            """, to: dir + "/new.json")
        // A bom-ref with a '%' of its own is found as written, not only decoded (helper-223).
        let angular = Finding(id: "PYSEC-2024-60", aliases: ["CVE-2024-3651"], summary: "", severity: .medium, score: nil, vector: nil, severitySource: "none",
                              package: "@angular/core", ecosystem: "npm", version: "15.0.0", purl: "pkg:npm/%40angular/core@15.0.0", locations: [],
                              fixed: [], status: .affected, note: nil, published: nil, modified: "2024-01-01T00:00:00Z")
        let percent = VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)", bomVersion: 1, refs: DocumentRefs(refs: ["pkg:npm/%40angular/core@15.0.0": "pkg:npm/%40angular/core@15.0.0"]))
        #expect(VEXDocument.decide(angular, in: [try vex(["pkg:npm/%40angular/core@15.0.0"])], subject: percent).suppressing != nil)
        let older = try VEXDocument.load(dir + "/old.json"), newer = try VEXDocument.load(dir + "/new.json")
        #expect(VEXDocument.decide(idna, in: [older], subject: twins).suppressing != nil)
        #expect(VEXDocument.decide(idna, in: [older, newer], subject: twins).suppressing == nil)

        // A bom-ref the scanned SBOM gives to two packages names neither.
        let bom = try SBOMReader.read(Data("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "serialNumber": "urn:uuid:\(serial)",
             "components": [{"type": "library", "bom-ref": "u", "name": "idna", "version": "2.8", "purl": "pkg:pypi/idna@2.8"},
                            {"type": "library", "bom-ref": "u", "name": "six", "version": "1.0", "purl": "pkg:pypi/six@1.0"},
                            {"type": "library", "bom-ref": "v", "name": "six", "version": "1.0", "purl": "pkg:pypi/six@1.0"}]}
            """.utf8), path: "bom.json")
        #expect(bom.documentRefs == DocumentRefs(refs: ["v": "pkg:pypi/six@1.0"], ambiguous: ["u": ["pkg:pypi/idna@2.8", "pkg:pypi/six@1.0"]],
                                                 unnamedCopies: ["pkg:pypi/idna@2.8", "pkg:pypi/six@1.0"]), "\(String(describing: bom.documentRefs))")
        // A component whose version field disagrees with its purl is scanned as both; its ref names
        // both, so a link naming only the other component of the second purl cannot clear it (helper-223).
        let twin = try SBOMReader.read(Data("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "serialNumber": "urn:uuid:\(serial)",
             "components": [{"type": "library", "bom-ref": "a", "name": "idna", "version": "3.6", "purl": "pkg:pypi/idna@2.8"},
                            {"type": "library", "bom-ref": "b", "name": "idna", "version": "3.6", "purl": "pkg:pypi/idna@3.6"}]}
            """.utf8), path: "bom.json")
        #expect(twin.documentRefs?.ambiguous["a"] == ["pkg:pypi/idna@2.8", "pkg:pypi/idna@3.6"], "\(String(describing: twin.documentRefs))")
        let twinSubject = VEXDocument.Subject(serialNumber: "urn:uuid:\(serial)", bomVersion: 1, refs: twin.documentRefs)
        #expect(VEXDocument.decide(finding("idna", "3.6"), in: [try vex(["b"])], subject: twinSubject).suppressing == nil)

        // What an input SBOM says of itself is not written out with the inventory.
        let encoded = String(decoding: try JSONEncoder().encode(bom), as: UTF8.self)
        #expect(!encoded.contains("documentRefs") && !encoded.contains("serialNumber") && !encoded.contains("bomVersion"))

        // The version a BOM-Link must name: the SBOM's, 1 when it gives none, none when it cannot be read.
        func version(_ field: String) throws -> Int? {
            try SBOMReader.read(Data("""
                {"bomFormat": "CycloneDX", "specVersion": "1.6", \(field) "serialNumber": "urn:uuid:\(serial)", "components": []}
                """.utf8), path: "bom.json").bomVersion
        }
        #expect(try version(#""version": 7,"#) == 7)
        #expect(try version("") == 1)
        #expect(try version(#""version": "7","#) == nil)
        #expect(try version(#""version": 0,"#) == nil)
        #expect(try version(#""version": 1.5,"#) == nil)
    }

    @Test func anSPDXDocumentsSubjectIsTheOnePackageTheDocumentDescribes() throws {
        func spdx(_ relationships: String) throws -> [String]? {
            try SBOMReader.read(Data("""
                {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "dataLicense": "CC0-1.0",
                 "packages": [
                   {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0", "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/app@1.0"}]},
                   {"SPDXID": "SPDXRef-lib", "name": "lib", "versionInfo": "2.0", "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/lib@2.0"}]}],
                 "relationships": [\(relationships)]}
                """.utf8), path: "x.spdx.json").describedPurls
        }
        #expect(try spdx(#"{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-app"}, {"spdxElementId": "SPDXRef-app", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-lib"}"#)
                == ["pkg:npm/app@1.0"], "a package describing another does not make it the document's subject")
        #expect(try spdx(#"{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-app"}, {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-lib"}"#)
                == [], "a document describing every package names no subject")
    }
}
