import Catalog
import Foundation
import SBOM
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
