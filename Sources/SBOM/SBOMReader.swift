import Catalog
import Foundation
import ProvenantCore

/// Reads CycloneDX JSON and SPDX 2.x JSON SBOMs (Provenant's, syft's, trivy's…) back into an
/// inventory, one package per component that carries a purl.
public enum SBOMReader {
    public enum Kind: String, Sendable { case cyclonedx = "CycloneDX", spdx = "SPDX" }

    /// The SBOM format of a file, or nil when it is not a JSON SBOM.
    public static func detect(_ data: Data) -> Kind? {
        guard data.first(where: { !$0.isWhitespace }) == UInt8(ascii: "{"),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        if obj["bomFormat"] as? String == "CycloneDX" { return .cyclonedx }
        if obj["spdxVersion"] is String { return .spdx }
        return nil
    }

    public static func read(_ path: String) throws(InputError) -> Inventory {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read file", at: Location(path)) }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw InputError("not valid JSON", at: Location(path))
        }
        var packages: [Package] = []
        var diags: [Diagnostic] = []
        func add(purl raw: String?, name: String?, version: String?, origin: String) {
            guard let raw, !raw.isEmpty else {
                diags.append(Diagnostic(Location(path), "\(origin) '\(name ?? "?")' has no purl, not scanned"))
                return
            }
            guard let purl = PackageURL(parsing: raw) else {
                diags.append(Diagnostic(Location(path), "\(origin) '\(name ?? "?")' has an unreadable purl '\(raw)', not scanned"))
                return
            }
            let eco = Ecosystem(rawValue: purl.type) ?? .generic
            let n = purl.namespace.map { purl.type == "maven" ? "\($0):\(purl.name)" : "\($0)/\(purl.name)" } ?? purl.name
            packages.append(Package(ecosystem: eco, name: n, version: purl.version ?? version ?? "", purl: purl,
                                    locations: [Location(path)], foundBy: "sbom"))
        }
        if obj["bomFormat"] as? String == "CycloneDX" {
            var stack = (obj["components"] as? [[String: Any]]) ?? []
            if let meta = obj["metadata"] as? [String: Any], let root = meta["component"] as? [String: Any] {
                stack += (root["components"] as? [[String: Any]]) ?? []
            }
            while let c = stack.popLast() {
                stack += (c["components"] as? [[String: Any]]) ?? []
                // Applications, files and images without a purl are containers of packages, not packages.
                if c["purl"] == nil, let t = c["type"] as? String, ["application", "file", "operating-system", "container", "platform"].contains(t) { continue }
                add(purl: c["purl"] as? String, name: c["name"] as? String, version: c["version"] as? String, origin: "component")
            }
        } else if obj["spdxVersion"] is String {
            var described = Set((obj["documentDescribes"] as? [String]) ?? [])
            for r in (obj["relationships"] as? [[String: Any]]) ?? [] where r["relationshipType"] as? String == "DESCRIBES" {
                if let t = r["relatedSpdxElement"] as? String { described.insert(t) }
            }
            for p in (obj["packages"] as? [[String: Any]]) ?? [] {
                let refs = (p["externalRefs"] as? [[String: Any]]) ?? []
                let purl = refs.first { ($0["referenceType"] as? String) == "purl" }?["referenceLocator"] as? String
                // SPDX documents describe their own root (a directory, an image, a lockfile) as a
                // package without a purl.
                if purl == nil, let id = p["SPDXID"] as? String,
                   described.contains(id) || ["APPLICATION", "FILE", "SOURCE", "CONTAINER", "OPERATING-SYSTEM"].contains(p["primaryPackagePurpose"] as? String ?? "") { continue }
                add(purl: purl, name: p["name"] as? String, version: p["versionInfo"] as? String, origin: "package")
            }
        } else {
            throw InputError("JSON but neither a CycloneDX nor an SPDX document", at: Location(path))
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
