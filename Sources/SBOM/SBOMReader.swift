import Catalog
import Foundation
import ProvenantCore

/// Reads CycloneDX JSON and SPDX 2.x JSON SBOMs (Provenant's, syft's, trivy's…) back into an
/// inventory, one package per component that carries a purl.
public enum SBOMReader {

    public static func read(_ path: String) throws(InputError) -> Inventory {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read file", at: Location(path)) }
        let json: JSONValue
        do { json = try JSONParser.parse(data) } catch {
            throw InputError("not valid JSON: \(error.reason)", at: Location(path, line: error.line))
        }
        guard let listed = listing(Doc(json)) else { throw InputError("JSON but neither a CycloneDX nor an SPDX document", at: Location(path)) }
        return inventory(listed, path: path)
    }

    /// The file's inventory when it is a JSON SBOM, nil when it is anything else.
    public static func readIfSBOM(_ path: String) throws(InputError) -> Inventory? {
        guard let data = FileManager.default.contents(atPath: path), data.first(where: { !$0.isWhitespace }) == UInt8(ascii: "{"),
              let json = try? JSONParser.parse(data), let listed = listing(Doc(json)) else { return nil }
        return inventory(listed, path: path)
    }

    /// How a warning names an SBOM entry that could not be scanned (`<origin> '<name>' has no purl,
    /// not scanned`); the diagnostic also carries `unscanned`, which is what a scan counts.
    static let noPurl = "has no purl, not scanned"
    /// `<origin> '<name>' has an unreadable purl '<purl>', not scanned`.
    static let unreadablePurl = "has an unreadable purl"

    /// One SBOM entry that may be a package: its purl, name and version, and what the format calls it.
    struct Listed: Sendable { var purl: String?; var name: String?; var version: String?; var origin: String }

    /// Types that contain packages rather than being one, when they carry no purl.
    static let cdxContainers: Set<String> = ["application", "file", "operating-system", "container", "platform"]
    static let spdxContainers: Set<String> = ["APPLICATION", "FILE", "SOURCE", "CONTAINER", "OPERATING-SYSTEM"]

    /// Just the fields read, taken leniently from the JSON tree: a field of an unexpected type is absent.
    struct Doc {
        struct Component { var type: String?; var name: String?; var version: String?; var purl: String?; var components: [Component]? }
        struct Metadata { var component: Component? }
        struct Relationship { var relationshipType: String?; var relatedSpdxElement: String? }
        struct Ref { var referenceType: String?; var referenceLocator: String? }
        struct SPDXPackage {
            var SPDXID: String?; var name: String?; var versionInfo: String?; var primaryPackagePurpose: String?; var externalRefs: [Ref]?
        }
        var bomFormat: String?; var spdxVersion: String?
        var metadata: Metadata?; var components: [Component]?
        var documentDescribes: [String]?; var relationships: [Relationship]?; var packages: [SPDXPackage]?
    }

    static func listing(_ doc: Doc) -> [Listed]? {
        if doc.bomFormat == "CycloneDX" {
            var out: [Listed] = []
            var stack = (doc.components ?? []) + (doc.metadata?.component?.components ?? [])
            while let c = stack.popLast() {
                stack += c.components ?? []
                // Applications, files and images without a purl are containers of packages, not packages.
                if c.purl == nil, let t = c.type, cdxContainers.contains(t) { continue }
                out.append(Listed(purl: c.purl, name: c.name, version: c.version, origin: "component"))
            }
            return out
        }
        guard doc.spdxVersion != nil else { return nil }
        var described = Set(doc.documentDescribes ?? [])
        for r in doc.relationships ?? [] where r.relationshipType == "DESCRIBES" { if let t = r.relatedSpdxElement { described.insert(t) } }
        return (doc.packages ?? []).compactMap { p in
            let purl = (p.externalRefs ?? []).first { $0.referenceType == "purl" }?.referenceLocator
            // SPDX documents describe their own root (a directory, an image, a lockfile) as a
            // package without a purl.
            if purl == nil, let id = p.SPDXID, described.contains(id) || spdxContainers.contains(p.primaryPackagePurpose ?? "") { return nil }
            return Listed(purl: purl, name: p.name, version: p.versionInfo, origin: "package")
        }
    }

    static func inventory(_ listed: [Listed], path: String) -> Inventory {
        // Purl parsing is most of the work; contiguous slices on each core keep the input order.
        let width = listed.count < 2_000 ? 1 : Parallel.cores
        let slices = Parallel.map(width: width) { w -> ([Package], [Diagnostic]) in
            var packages: [Package] = [], diags: [Diagnostic] = []
            let slice = listed[Parallel.share(w, of: width, listed.indices)]
            packages.reserveCapacity(slice.count)
            for l in slice {
                guard let raw = l.purl, !raw.isEmpty else {
                    diags.append(Diagnostic(Location(path), "\(l.origin) '\(l.name ?? "?")' " + noPurl,
                                            unscanned: .componentWithoutPurl("\(l.origin) '\(l.name ?? "?")'")))
                    continue
                }
                guard let purl = PackageURL(parsing: raw) else {
                    diags.append(Diagnostic(Location(path), "\(l.origin) '\(l.name ?? "?")' " + unreadablePurl + " '\(raw)', not scanned",
                                            unscanned: .componentWithUnreadablePurl("\(l.origin) '\(l.name ?? "?")'")))
                    continue
                }
                let eco = Ecosystem(rawValue: purl.type) ?? .generic
                let n = purl.namespace.map { purl.type == "maven" ? "\($0):\(purl.name)" : "\($0)/\(purl.name)" } ?? purl.name
                packages.append(Package(ecosystem: eco, name: n, version: purl.version ?? l.version ?? "", purl: purl,
                                        locations: [Location(path)], foundBy: "sbom"))
            }
            return (packages, diags)
        }
        let diagnostics = slices.flatMap(\.1).uniqueSortedDiagnostics()
        var lists = slices.map(\.0)
        _ = consume slices
        // An SBOM from elsewhere is input like any other: what it says is redacted before it is echoed.
        var packages = Parallel.joined(&lists)
        InputRedaction.scrub(&packages)
        return Inventory(target: path, mode: "sbom", distro: nil, packages: Cataloger.merge(packages),
                         diagnostics: diagnostics, sources: [path: "sbom"])
    }
}

extension Array where Element == Diagnostic {
    func uniqueSortedDiagnostics() -> [Diagnostic] { Array(Set(self)).sorted() }
}

private extension UInt8 {
    var isWhitespace: Bool { self == 32 || self == 9 || self == 10 || self == 13 }
}

extension SBOMReader.Doc {
    /// A field of the wrong type is absent, except a purl that is present but not a string, which
    /// stays present (empty) so it is reported, not skipped. Non-object list items are passed over.
    init(_ o: JSONValue) {
        func objects(_ v: JSONValue?) -> [JSONValue]? { v?.arrayValue?.filter { $0.objectFields != nil } }
        bomFormat = o["bomFormat"]?.stringValue
        spdxVersion = o["spdxVersion"]?.stringValue
        metadata = o["metadata"]?["component"].flatMap { $0.objectFields == nil ? nil : Metadata(component: Component($0)) }
        components = objects(o["components"])?.map(Component.init)
        documentDescribes = o["documentDescribes"]?.arrayValue?.compactMap(\.stringValue)
        relationships = objects(o["relationships"])?.map { Relationship(relationshipType: $0["relationshipType"]?.stringValue, relatedSpdxElement: $0["relatedSpdxElement"]?.stringValue) }
        packages = objects(o["packages"])?.map { p in
            SPDXPackage(SPDXID: p["SPDXID"]?.stringValue, name: p["name"]?.stringValue, versionInfo: p["versionInfo"]?.stringValue,
                        primaryPackagePurpose: p["primaryPackagePurpose"]?.stringValue,
                        externalRefs: objects(p["externalRefs"])?.map { Ref(referenceType: $0["referenceType"]?.stringValue, referenceLocator: $0["referenceLocator"]?.stringValue) })
        }
    }
}

extension SBOMReader.Doc.Component {
    init(_ c: JSONValue) {
        type = c["type"]?.stringValue; name = c["name"]?.stringValue; version = c["version"]?.stringValue
        purl = c["purl"].map { $0.stringValue ?? "" }
        components = c["components"]?.arrayValue?.filter { $0.objectFields != nil }.map(Self.init)
    }
}
