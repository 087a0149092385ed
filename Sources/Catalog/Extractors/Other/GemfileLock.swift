import ProvenantCore

/// Gemfile.lock: GEM, GIT and PATH specs, with edges from the indented dependency lines.
public struct GemfileLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "gemfile-lock"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName == "Gemfile.lock" || fileName == "gems.locked" }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        var packages: [Package] = []
        var rawDeps: [[String]] = []
        var direct: [String] = []
        var section = "", inSpecs = false, revision: String?
        var sawSection = false
        let text = try input.text()
        for (n, raw) in Lines(text: text) {
            if raw.isEmpty { continue }
            let indent = raw.prefix(while: { $0 == " " }).count
            if indent == 0 { section = raw.trimmed; inSpecs = false; revision = nil; sawSection = true; continue }
            let t = raw.trimmed
            switch section {
            case "GEM", "GIT", "PATH", "PLUGIN SOURCE":
                if indent == 2 {
                    inSpecs = t == "specs:"
                    if t.hasPrefix("revision:") { revision = String(t.dropFirst(9)).trimmed }
                } else if inSpecs && indent == 4 {
                    guard let open = t.firstIndex(of: "("), t.hasSuffix(")") else { continue }
                    let gname = String(t[..<open]).trimmed
                    var ver = String(t[t.index(after: open)..<t.index(before: t.endIndex)])
                    // Platform-specific gems read `1.13.8-x86_64-linux`.
                    var q: [String: String] = [:]
                    if let dash = ver.firstIndex(of: "-"), ver[ver.index(after: dash)...].contains(where: { $0.isLetter }) {
                        q["platform"] = String(ver[ver.index(after: dash)...]); ver = String(ver[..<dash])
                    }
                    if section == "PATH" { continue }
                    var p = Make.package(.gem, gname, ver, at: input.path, line: n, by: name, qualifiers: q)
                    if section == "GIT", let r = revision { p.description = "git revision \(r)" }
                    p.dependenciesKnown = true
                    packages.append(p); rawDeps.append([])
                } else if inSpecs && indent == 6, !rawDeps.isEmpty {
                    let dn = t.split(separator: " ").first.map(String.init) ?? t
                    rawDeps[rawDeps.count - 1].append(dn)
                }
            case "DEPENDENCIES":
                if indent == 2 {
                    var dn = t.split(separator: " ").first.map(String.init) ?? t
                    if dn.hasSuffix("!") { dn.removeLast() }
                    direct.append(dn)
                }
            default: break
            }
        }
        if !sawSection && !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ParseError("not a Gemfile.lock: no GEM, GIT or PATH section")
        }
        let byName = Dictionary(packages.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        Graph.link(&packages, rawDeps) { byName[$0] }
        if !direct.isEmpty {
            Graph.markDirect(&packages, roots: Set(direct.compactMap { byName[$0].map { packages[$0].ref } }))
        }
        return Extraction(packages)
    }
}
