import Catalog
import Foundation
import ProvenantCore

/// Reads CycloneDX JSON and SPDX 2.x JSON SBOMs (Provenant's, syft's, trivy's…) back into an
/// inventory, one package per component that carries a purl.
public enum SBOMReader {

    public static func read(_ path: String) throws(InputError) -> Inventory {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read file", at: Location(path)) }
        if let listed = try? listing(data) { return inventory(listed, path: path) }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw InputError("not valid JSON", at: Location(path))
        }
        guard let listed = listing(obj) else { throw InputError("JSON but neither a CycloneDX nor an SPDX document", at: Location(path)) }
        return inventory(listed, path: path)
    }

    /// The file's inventory when it is a JSON SBOM, nil when it is anything else; the JSON is parsed once.
    public static func readIfSBOM(_ path: String) throws(InputError) -> Inventory? {
        guard let data = FileManager.default.contents(atPath: path), data.first(where: { !$0.isWhitespace }) == UInt8(ascii: "{") else { return nil }
        if let listed = try? listing(data) { return inventory(listed, path: path) }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let listed = listing(obj) else { return nil }
        return inventory(listed, path: path)
    }

    /// One SBOM entry that may be a package: its purl, name and version, and what the format calls it.
    struct Listed: Sendable { var purl: String?; var name: String?; var version: String?; var origin: String }

    /// Types that contain packages rather than being one, when they carry no purl.
    static let cdxContainers: Set<String> = ["application", "file", "operating-system", "container", "platform"]
    static let spdxContainers: Set<String> = ["APPLICATION", "FILE", "SOURCE", "CONTAINER", "OPERATING-SYSTEM"]

    /// Typed decoding of just the fields read: about twice as fast as a generic JSON tree. A document
    /// that does not fit (a field of an unexpected type) is read by the lenient path below instead.
    struct Doc: Decodable {
        struct Component: Decodable { var type: String?; var name: String?; var version: String?; var purl: String?; var components: [Component]? }
        struct Metadata: Decodable { var component: Component? }
        struct Relationship: Decodable { var relationshipType: String?; var relatedSpdxElement: String? }
        struct Ref: Decodable { var referenceType: String?; var referenceLocator: String? }
        struct SPDXPackage: Decodable {
            var SPDXID: String?; var name: String?; var versionInfo: String?; var primaryPackagePurpose: String?; var externalRefs: [Ref]?
        }
        var bomFormat: String?; var spdxVersion: String?
        var metadata: Metadata?; var components: [Component]?
        var documentDescribes: [String]?; var relationships: [Relationship]?; var packages: [SPDXPackage]?
    }

    static func listing(_ data: Data) throws -> [Listed]? { listing(try JSONDecoder().decode(Doc.self, from: data)) }

    static func listing(_ obj: [String: Any]) -> [Listed]? { listing(Doc(lenient: obj)) }

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
        var packages: [Package] = []
        packages.reserveCapacity(listed.count)
        var diags: [Diagnostic] = []
        for l in listed {
            guard let raw = l.purl, !raw.isEmpty else {
                diags.append(Diagnostic(Location(path), "\(l.origin) '\(l.name ?? "?")' has no purl, not scanned"))
                continue
            }
            guard let purl = PackageURL(parsing: raw) else {
                diags.append(Diagnostic(Location(path), "\(l.origin) '\(l.name ?? "?")' has an unreadable purl '\(raw)', not scanned"))
                continue
            }
            let eco = Ecosystem(rawValue: purl.type) ?? .generic
            let n = purl.namespace.map { purl.type == "maven" ? "\($0):\(purl.name)" : "\($0)/\(purl.name)" } ?? purl.name
            packages.append(Package(ecosystem: eco, name: n, version: purl.version ?? l.version ?? "", purl: purl,
                                    locations: [Location(path)], foundBy: "sbom"))
        }
        return Inventory(target: path, mode: "sbom", distro: nil, packages: Cataloger.merge(packages),
                         diagnostics: diags.uniqueSortedDiagnostics(), sources: [path: "sbom"])
    }
}

extension Array where Element == Diagnostic {
    func uniqueSortedDiagnostics() -> [Diagnostic] { Array(Set(self)).sorted() }
}

private extension UInt8 {
    var isWhitespace: Bool { self == 32 || self == 9 || self == 10 || self == 13 }
}

extension SBOMReader.Doc {
    /// The same model read leniently from a JSON tree: a field of the wrong type is absent, except a
    /// purl that is present but not a string, which stays present (empty) so it is reported, not skipped.
    init(lenient o: [String: Any]) {
        func list(_ v: Any?) -> [[String: Any]]? { v as? [[String: Any]] }
        bomFormat = o["bomFormat"] as? String
        spdxVersion = o["spdxVersion"] as? String
        metadata = ((o["metadata"] as? [String: Any])?["component"] as? [String: Any]).map { Metadata(component: Component(lenient: $0)) }
        components = list(o["components"])?.map(Component.init(lenient:))
        documentDescribes = o["documentDescribes"] as? [String]
        relationships = list(o["relationships"])?.map { Relationship(relationshipType: $0["relationshipType"] as? String, relatedSpdxElement: $0["relatedSpdxElement"] as? String) }
        packages = list(o["packages"])?.map { p in
            SPDXPackage(SPDXID: p["SPDXID"] as? String, name: p["name"] as? String, versionInfo: p["versionInfo"] as? String,
                        primaryPackagePurpose: p["primaryPackagePurpose"] as? String,
                        externalRefs: list(p["externalRefs"])?.map { Ref(referenceType: $0["referenceType"] as? String, referenceLocator: $0["referenceLocator"] as? String) })
        }
    }
}

extension SBOMReader.Doc.Component {
    init(lenient c: [String: Any]) {
        type = c["type"] as? String; name = c["name"] as? String; version = c["version"] as? String
        purl = c["purl"].map { $0 as? String ?? "" }
        components = (c["components"] as? [[String: Any]])?.map(Self.init(lenient:))
    }
}
