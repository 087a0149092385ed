import ProvenantCore

/// Installed packages: `node_modules/**/package.json` (installed mode).
public struct NodeModulesExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "node-modules"
    public init() {}
    public var modes: Set<ScanMode> { [.installed] }

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        // The last whole `node_modules/` directory: `node_modules/foo_node_modules/package.json` is
        // foo_node_modules' own manifest (found by review).
        guard fileName == "package.json" else { return false }
        let at: Int
        if let slash = file.path.byteOffset(of: "/node_modules/", last: true) { at = slash + 1 }
        else if file.path.hasPrefix("node_modules/") { at = 0 }
        else { return false }
        // Only the package's own manifest: node_modules/name/package.json or node_modules/@scope/name/package.json.
        let rest = file.path.utf8.dropFirst(at + 13).split(separator: UInt8(ascii: "/"))
        return rest.count == 2 || (rest.count == 3 && rest[0].first == UInt8(ascii: "@"))
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let doc = try JSON.object(try input.bytes())
        guard let n = doc.str("name"), !n.isEmpty, let v = doc.str("version"), !v.isEmpty else {
            throw ParseError("package.json has no name or version")
        }
        var p = Make.package(.npm, n, v, at: input.path, by: name)
        if let l = doc.str("license") { p.licenses = [l] }
        else if let l = doc.obj("license")?.str("type") { p.licenses = [l] }
        else if let ls = doc.arr("licenses") as? [[String: Any]] { p.licenses = ls.compactMap { $0.str("type") } }
        if let a = doc.str("author") { p.author = a }
        else if let a = doc.obj("author")?.str("name") { p.author = a }
        p.supplier = p.author
        p.description = doc.str("description")
        p.homepage = doc.str("homepage")
        p.source = doc.str("_resolved")
        // The lifecycle scripts npm runs at install time.
        let scripts = doc.obj("scripts") ?? [:]
        let hooks = ["preinstall", "install", "postinstall"].compactMap { k in scripts.str(k).map { "\(k): \($0)" } }
        p.installScripts = hooks.isEmpty ? nil : hooks
        return Extraction([p])
    }
}
