import Foundation
import ProvenantCore

/// VEX statements that say a vulnerability does not apply to a product (`not_affected`) or has
/// been fixed in it. OpenVEX and CycloneDX VEX documents are both read.
public struct VEXDocument: Sendable {
    public struct Statement: Sendable, Equatable {
        public var vulnerability: String
        public var aliases: [String]
        /// purls (or bom-refs) the statement covers.
        public var products: [String]
        public var status: String
        public var justification: String?
        /// `FILE#N`: the file and the statement's position, for the report.
        public var origin: String
    }

    public var statements: [Statement]

    public static func load(_ path: String) throws(InputError) -> VEXDocument {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read VEX file", at: Location(path)) }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw InputError("VEX file is not valid JSON", at: Location(path))
        }
        let name = (path as NSString).lastPathComponent
        if obj["bomFormat"] as? String == "CycloneDX" { return try cyclonedx(obj, name: name, path: path) }
        if obj["statements"] != nil || (obj["@context"] as? String)?.contains("openvex") == true { return try openVEX(obj, name: name, path: path) }
        throw InputError("neither an OpenVEX nor a CycloneDX VEX document", at: Location(path))
    }

    static func openVEX(_ obj: [String: Any], name: String, path: String) throws(InputError) -> VEXDocument {
        guard let raw = obj["statements"] as? [[String: Any]] else { throw InputError("OpenVEX document without a 'statements' list", at: Location(path)) }
        var out: [Statement] = []
        for (i, s) in raw.enumerated() {
            // v0.2 writes {"name": …, "aliases": […]}; earlier drafts a bare string.
            var vuln = s["vulnerability"] as? String
            var aliases: [String] = []
            if let v = s["vulnerability"] as? [String: Any] {
                vuln = (v["name"] as? String) ?? (v["@id"] as? String)
                aliases = (v["aliases"] as? [String]) ?? []
            }
            guard let vuln, !vuln.isEmpty else { throw InputError("statement \(i + 1) names no vulnerability", at: Location(path)) }
            guard let status = s["status"] as? String else { throw InputError("statement \(i + 1) has no status", at: Location(path)) }
            var products: [String] = []
            for p in (s["products"] as? [Any]) ?? [] {
                if let id = p as? String { products.append(id); continue }
                guard let d = p as? [String: Any] else { continue }
                if let id = d["@id"] as? String { products.append(id) }
                if let ids = d["identifiers"] as? [String: Any], let purl = ids["purl"] as? String { products.append(purl) }
                for sub in (d["subcomponents"] as? [[String: Any]]) ?? [] {
                    if let id = sub["@id"] as? String { products.append(id) }
                    if let ids = sub["identifiers"] as? [String: Any], let purl = ids["purl"] as? String { products.append(purl) }
                }
            }
            out.append(Statement(vulnerability: vuln, aliases: aliases, products: products, status: status,
                                 justification: s["justification"] as? String, origin: "\(name)#\(i + 1)"))
        }
        return VEXDocument(statements: out)
    }

    static func cyclonedx(_ obj: [String: Any], name: String, path: String) throws(InputError) -> VEXDocument {
        // affects[].ref names a bom-ref; resolve it to the component's purl when the VEX lists components.
        var purlByRef: [String: String] = [:]
        var stack = (obj["components"] as? [[String: Any]]) ?? []
        while let c = stack.popLast() {
            stack += (c["components"] as? [[String: Any]]) ?? []
            if let ref = c["bom-ref"] as? String, let purl = c["purl"] as? String { purlByRef[ref] = purl }
        }
        var out: [Statement] = []
        for (i, v) in ((obj["vulnerabilities"] as? [[String: Any]]) ?? []).enumerated() {
            guard let id = v["id"] as? String else { throw InputError("vulnerability \(i + 1) has no id", at: Location(path)) }
            guard let analysis = v["analysis"] as? [String: Any], let state = analysis["state"] as? String else { continue }
            // CycloneDX's words for the two OpenVEX statuses that suppress.
            let status: String
            switch state {
            case "not_affected", "false_positive": status = "not_affected"
            case "resolved", "resolved_with_pedigree": status = "fixed"
            default: status = state
            }
            var products: [String] = []
            for a in (v["affects"] as? [[String: Any]]) ?? [] {
                guard var ref = a["ref"] as? String else { continue }
                // BOM-Link: urn:cdx:serial/version#bom-ref
                if ref.hasPrefix("urn:cdx:"), let h = ref.firstIndex(of: "#") { ref = String(ref[ref.index(after: h)...]).removingPercentEncoding ?? ref }
                products.append(purlByRef[ref] ?? ref)
            }
            let aliases = ((v["references"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            out.append(Statement(vulnerability: id, aliases: aliases, products: products, status: status,
                                 justification: analysis["justification"] as? String, origin: "\(name)#\(i + 1)"))
        }
        return VEXDocument(statements: out)
    }

    /// The statement that takes this finding out, if any: same vulnerability (by id or alias),
    /// a covered product, and a `not_affected` or `fixed` status.
    public func suppressing(_ f: Finding) -> Statement? {
        statements.first { s in
            (s.status == "not_affected" || s.status == "fixed")
                && ([s.vulnerability] + s.aliases).contains(where: f.isKnownAs)
                && s.products.contains { Self.purlCovers($0, f.purl) }
        }
    }

    /// A statement's purl covers a package's when type, namespace and name agree, its version (if
    /// it names one) is the package's, and every qualifier it names has the same value.
    static func purlCovers(_ statement: String, _ package: String) -> Bool {
        if statement == package { return true }
        guard let s = PackageURL(parsing: statement), let p = PackageURL(parsing: package) else { return false }
        guard s.type == p.type, s.name == p.name, (s.namespace ?? "") == (p.namespace ?? "") else { return false }
        if let v = s.version, v != p.version { return false }
        return s.qualifiers.allSatisfy { p.qualifiers[$0.key] == $0.value }
    }
}
