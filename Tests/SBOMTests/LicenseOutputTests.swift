import Foundation
import Testing
@testable import Catalog
@testable import SBOM
import ProvenantCore

/// Debian licenses as the SBOMs carry them, from the real copyright files of `CatalogTests/Fixtures/debian-root`.
/// Both documents are kept for the schema validators `scripts/test` runs.
@Suite struct LicenseOutputTests {
    static func debianInventory() async throws -> Inventory {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CatalogTests/Fixtures/debian-root").path
        return try await Cataloger(mode: .installed, includeDev: false).catalog(root)
    }

    @Test func cycloneDXGivesSPDXIdsAsIdsAndLicenseRefsAsNames() async throws {
        let inv = try await Self.debianInventory()
        let cdx = try render(inv, .cyclonedxJSON)
        try keep(cdx, as: "debian-licenses.cdx.json")
        let comps = try #require(try json(cdx)["components"] as? [[String: Any]])
        #expect(comps.count == 37)
        func licenses(_ name: String) -> [[String: String]] {
            let c = comps.first { $0["name"] as? String == name }
            return ((c?["licenses"] as? [[String: Any]]) ?? []).compactMap { $0["license"] as? [String: String] }
        }
        #expect(licenses("zlib1g") == [["id": "Zlib"]])
        #expect(licenses("tzdata") == [["name": "LicenseRef-public-domain"]])
        #expect(licenses("base-files") == [["id": "GPL-2.0-or-later"]])
        // A LicenseRef with a text in the copyright file carries it; one without carries only its name.
        let bash = comps.first { $0["name"] as? String == "bash" }
        let bashLicenses = ((bash?["licenses"] as? [[String: Any]]) ?? []).compactMap { $0["license"] as? [String: Any] }
        let mitLike = try #require(bashLicenses.first { ($0["name"] as? String)?.hasPrefix("LicenseRef-MIT-like-") == true })
        #expect(((mitLike["text"] as? [String: String])?["content"])?.contains("Permission") == true)
        #expect(bashLicenses.contains { $0["name"] as? String == "LicenseRef-permissive" && $0["text"] == nil })
        // Every component states a license.
        for c in comps { #expect(!((c["licenses"] as? [Any]) ?? []).isEmpty, "\(c["name"] ?? "")") }
    }

    /// An npm name holds its scope: CycloneDX gets no group beside it (`@babel/@babel/core`: helper-107).
    @Test func aScopedNpmNameIsNotGroupedTwice() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scoped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"name":"app","lockfileVersion":3,"packages":{"":{"name":"app","dependencies":{"@babel/core":"7.0.0"}},"node_modules/@babel/core":{"version":"7.0.0"}}}"#
            .write(to: dir.appendingPathComponent("package-lock.json"), atomically: true, encoding: .utf8)
        let inv = try await Cataloger(mode: .source, includeDev: false).catalog(dir.path)
        let comps = try #require(try json(try render(inv, .cyclonedxJSON))["components"] as? [[String: Any]])
        let babel = try #require(comps.first { ($0["purl"] as? String)?.hasPrefix("pkg:npm/%40babel/core@") == true })
        #expect(babel["name"] as? String == "@babel/core" && babel["group"] == nil, "\(babel)")
    }

    @Test func freeTextLicensesThatSanitizeAlikeKeepTheirOwnRefsAndTexts() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("licref-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"name":"app","lockfileVersion":3,"packages":{"":{"name":"app","dependencies":{"a":"1.0.0","b":"1.0.0"}},"node_modules/a":{"version":"1.0.0","license":"Commercial: no use permitted"},"node_modules/b":{"version":"1.0.0","license":"Commercial, no use permitted?"}}}"#
            .write(to: dir.appendingPathComponent("package-lock.json"), atomically: true, encoding: .utf8)
        let inv = try await Cataloger(mode: .source, includeDev: false).catalog(dir.path)
        let doc = try json(try render(inv, .spdxJSON))
        let pkgs = try #require(doc["packages"] as? [[String: Any]])
        func declared(_ name: String) -> String? { pkgs.first { $0["name"] as? String == name }?["licenseDeclared"] as? String }
        let a = try #require(declared("a")), b = try #require(declared("b"))
        #expect(a != b && a.hasPrefix("LicenseRef-Commercial-no-use-permitted-") && b.hasPrefix("LicenseRef-Commercial-no-use-permitted-"))
        let infos = try #require(doc["hasExtractedLicensingInfos"] as? [[String: String]])
        #expect(infos.first { $0["licenseId"] == a }?["extractedText"] == "Commercial: no use permitted")
        #expect(infos.first { $0["licenseId"] == b }?["extractedText"] == "Commercial, no use permitted?")
    }

    @Test func aLicenseNamedLikeABareTextHashGetsItsOwnReference() {
        // A free-form copyright text without a prefix is `LicenseRef-` and 16 hex digits; a licence
        // that is named so must not take that reference, or one text would overwrite the other.
        let textRef = LicenseTextMatcher.hashRef("Permission is granted to use this only on Tuesdays.")
        let named = LicenseTextMatcher.nameRef(String(textRef.dropFirst("LicenseRef-".count)))
        #expect(named != textRef && named.hasPrefix(textRef + "-"), "\(named)")
        #expect(LicenseTextMatcher.nameRef("Commercial") == "LicenseRef-Commercial")
        #expect(LicenseTextMatcher.nameRef("0123456789abcdeg") == "LicenseRef-0123456789abcdeg")
    }

    @Test func spdxDeclaresLicenseRefsOnceWithTheirText() async throws {
        let inv = try await Self.debianInventory()
        let spdx = try render(inv, .spdxJSON)
        try keep(spdx, as: "debian-licenses.spdx.json")
        let doc = try json(spdx)
        let pkgs = try #require(doc["packages"] as? [[String: Any]])
        func declared(_ name: String) -> String? { pkgs.first { $0["name"] as? String == name }?["licenseDeclared"] as? String }
        #expect(declared("tzdata") == "LicenseRef-public-domain")
        #expect(declared("libbz2-1.0") == "GPL-2.0-only AND LicenseRef-BSD-variant")
        #expect(declared("zlib1g") == "Zlib")
        let infos = try #require(doc["hasExtractedLicensingInfos"] as? [[String: String]])
        let ids = infos.compactMap { $0["licenseId"] }
        #expect(Set(ids).count == ids.count)
        #expect(!ids.contains { $0.hasPrefix("LicenseRef-LicenseRef") })
        // Every LicenseRef a package declares is defined, and only those.
        var used: Set<String> = []
        for p in pkgs {
            for tok in ((p["licenseDeclared"] as? String) ?? "").split(separator: " ") where tok.hasPrefix("LicenseRef-") { used.insert(String(tok)) }
        }
        #expect(used == Set(ids))
        let bashRef = try #require(ids.first { $0.hasPrefix("LicenseRef-MIT-like-") })
        let info = try #require(infos.first { $0["licenseId"] == bashRef })
        #expect(info["extractedText"]?.contains("Permission") == true)
        #expect(info["name"] == String(bashRef.dropFirst(11)))
    }
}

/// What `diff` compares of a package's licenses: the terms a list or a conjunction requires.
@Suite struct LicenseTermsTests {
    @Test func aConjunctionIsTheListItJoins() {
        #expect(Licenses.terms(["Apache-2.0 AND MIT"]) == Licenses.terms(["MIT", "Apache-2.0"]))
        #expect(Licenses.terms(["(Apache-2.0 AND (MIT AND BSD-3-Clause))"]) == ["Apache-2.0", "MIT", "BSD-3-Clause"])
        // A free-text name is the LicenseRef SPDX gives it.
        #expect(Licenses.terms(["Some Custom Terms"]) == Licenses.terms([Licenses.licenseRef("Some Custom Terms")]))
        // A choice stays one term, and AND binds tighter than OR.
        #expect(Licenses.terms(["MIT OR Apache-2.0"]).count == 1)
        #expect(Licenses.terms(["MIT AND Apache-2.0 OR BSD-3-Clause"]).count == 1)
        #expect(Licenses.terms(["(MIT OR Apache-2.0) AND BSD-3-Clause"]).count == 2)
        #expect(Licenses.terms(["MIT"]) != Licenses.terms(["MIT", "Apache-2.0"]))
        #expect(Licenses.terms(["GPL-2.0-only AND MIT"]) != Licenses.terms(["GPL-3.0-only AND MIT"]))
        // Names an idstring cannot spell stay apart.
        #expect(Licenses.terms(["商业许可 仅限内部使用"]) != Licenses.terms(["开源许可"]))
        #expect(Licenses.licenseRef("商业许可").hasPrefix("LicenseRef-unknown-") && Licenses.isLicenseRef(Licenses.licenseRef("商业许可")))
    }
}

/// Metadata that made a whole document invalid (found by helper-90): a LicenseRef inside an
/// expression without its extracted text, operands SPDX does not take, an actor without a name, and
/// URLs with a space. The documents are left for the schema validators too.
@Suite struct OddMetadataOutputTests {
    @Test func oddMetadataKeepsBothDocumentsValid() throws {
        #expect(Licenses.expression("LicenseRef-Proprietary OR MIT") == "LicenseRef-Proprietary OR MIT")
        #expect(Licenses.expression("GPL-2.0-only WITH Classpath-exception-2.0") == "GPL-2.0-only WITH Classpath-exception-2.0")
        for bad in ["MIT WITH MIT", "LicenseRef-foo_bar OR MIT", "LicenseRef- OR MIT", "Classpath-exception-2.0 OR MIT", "DocumentRef-x:LicenseRef-y OR MIT"] {
            #expect(Licenses.expression(bad) == nil, "\(bad)")
        }
        #expect(SPDXWriter.actor("") == nil && SPDXWriter.actor("  ") == nil && SPDXWriter.actor("<only@mail.example>") == nil)
        #expect(SPDXWriter.actor("Ann <ann@mail.example>") == "Ann (ann@mail.example)")
        #expect(!CycloneDXWriter.isIRI("http://my site.example.com/") && !CycloneDXWriter.isIRI("http://") && CycloneDXWriter.isIRI("https://a.example/x?y#z"))
        #expect(!CycloneDXWriter.isIRI("https://ok.example.com/%zz") && CycloneDXWriter.isIRI("https://ok.example.com/a%20b"))
        // What the schema's iri-reference format check refuses (helper-148): two ports, two userinfos,
        // private-use characters, noncharacters and tag characters; ucschar passes.
        for bad in ["https://host:80:90/", "https://a@b@host/", "https://x:1:2/", "https://h.example/\u{E000}", "https://h.example/" + String(Unicode.Scalar(0xFFFF)!),
                    "https://h.example/\u{E0001}", "https://h.example/" + String(Unicode.Scalar(0xFDD0)!), "https://h.example/" + String(Unicode.Scalar(0x1FFFE)!), "https://h.example/\u{85}"] {
            #expect(!CycloneDXWriter.isIRI(bad), "\(bad)")
        }
        #expect(CycloneDXWriter.isIRI("https://user:pw@bücher.example:8080/straße?q=ü#frag") && CycloneDXWriter.isIRI("https://h.example/\u{1F600}"))
        // ASCII URLs are read by bytes; the answers are the Characters' on random URL-like texts.
        let parts = ["https", "http", "git+ssh", "a1", ":", ":", "//", "/", "@", "@", "#", "?", "%20", "%zz", "%2", "host", "h.example", "80", "8o", "[", "]", " ", "+", "-", ".", "1", "x"]
        var rng = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<20_000 {
            let s = (0..<Int.random(in: 0...9, using: &rng)).map { _ in parts.randomElement(using: &rng)! }.joined()
            let (a, b) = (CycloneDXWriter.isASCIIIRI(Array(s.utf8)), CycloneDXWriter.isIRIByCharacters(s))
            #expect(a == b, "\(s)")
            if a { accepted += 1 }
        }
        #expect(accepted > 200)
        // The bytes a URL may hold bare, as a table: every ASCII byte against the characters listed.
        for b in UInt8(0)...127 {
            let listed = b > 32 && b != 127 && !"\"<>\\^`{|}[]".utf8.contains(b)
            #expect(CycloneDXWriter.isBareURLByte(b) == listed, "\(b)")
        }

        func package(_ name: String) -> Package {
            Package(ecosystem: .npm, name: name, version: "1.0.0", purl: PackageURL(type: "npm", name: name, version: "1.0.0"), foundBy: "test")
        }
        var a = package("refs")
        a.licenses = ["LicenseRef-Proprietary OR MIT", "MIT WITH MIT"]
        a.author = ""
        a.supplier = "<only@mail.example>"
        a.homepage = "http://my site.example.com/"
        a.source = "https://registry.example.com/p/-/p 1.0.0.tgz"
        a.otherSources = ["https://registry.npmjs.org/refs/-/refs-1.0.0.tgz"]
        var b = package("urls")
        b.homepage = "https://[::1]/"
        let inv = Inventory(target: "odd", mode: "source", distro: nil, packages: [a, b], diagnostics: [], sources: [:])
        let spdx = try render(inv, .spdxJSON), cdx = try render(inv, .cyclonedxJSON)
        let extracted = (try json(spdx)["hasExtractedLicensingInfos"] as? [[String: Any]] ?? []).compactMap { $0["licenseId"] as? String }
        #expect(extracted.contains("LicenseRef-Proprietary"), "\(extracted)")
        #expect(!spdx.contains("Person: ") && !spdx.contains("my site") && !cdx.contains("my site"))
        try keep(spdx, as: "odd-metadata.spdx.json")
        try keep(cdx, as: "odd-metadata.cdx.json")
        // Both sources survive the round trip, the one no URL field takes as a property.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("odd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, text) in [("odd.cdx.json", cdx), ("odd.spdx.json", spdx)] {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            let back = try SBOMReader.read(dir.appendingPathComponent(name).path)
            let refs = back.packages.first { $0.name == "refs" }
            #expect(Set([refs?.source].compactMap { $0 } + (refs?.otherSources ?? [])) == Set([a.source!] + a.otherSources!), "\(name): \(String(describing: refs))")
        }
    }
}
