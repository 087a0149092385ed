import Foundation
import ProvenantCore

/// The project a source tree is: the agent itself, named by the manifest at the top of the
/// target. The SBOM's `metadata.component` carries it, as trivy and syft name the root project.
public struct RootProject: Sendable, Hashable, Codable {
    public var name: String
    public var version: String?
    public var purl: PackageURL
    /// The file that named it.
    public var source: Location

    public init(name: String, version: String?, purl: PackageURL, source: Location) {
        self.name = name; self.version = version; self.purl = purl; self.source = source
    }
}

/// Reads the root project's identity from the files at the top of the target, in a fixed order so
/// that a tree holding several manifests always names the same one.
enum RootProjectDetector {
    static func detect(in index: FileIndex) -> RootProject? {
        let top = Set(index.files.lazy.filter { !$0.path.contains("/") }.map(\.path))
        guard !top.isEmpty else { return nil }
        let dir = index.source
        func text(_ name: String) -> String? {
            guard top.contains(name), let b = try? dir.read(name, limit: 8 << 20) else { return nil }
            return try? TextDecoding.string(b)
        }
        if let r = packageJSON(text("package.json")) { return r }
        if let r = cargo(text("Cargo.toml"), lock: text("Cargo.lock")) { return r }
        if let r = pyproject(text("pyproject.toml")) { return r }
        if let r = uvLock(text("uv.lock")) { return r }
        if let r = goMod(text("go.mod")) { return r }
        if let r = pom(top.contains("pom.xml") ? try? dir.read("pom.xml", limit: 8 << 20) : nil) { return r }
        for name in top.sorted() where name.hasSuffix(".deps.json") {
            if let r = depsJSON(text(name), file: name) { return r }
        }
        for name in top.sorted() where name.hasSuffix(".csproj") {
            if let r = csproj(top.contains(name) ? try? dir.read(name, limit: 8 << 20) : nil, file: name) { return r }
        }
        return nil
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let t = s?.trimmingCharacters(in: .whitespaces), !t.isEmpty else { return nil }
        return t
    }

    static func packageJSON(_ text: String?) -> RootProject? {
        guard let text, let o = try? JSON.object(Array(text.utf8)), let raw = nonEmpty(o.str("name")) else { return nil }
        let version = nonEmpty(o.str("version"))
        let (ns, name) = raw.hasPrefix("@") && raw.contains("/")
            ? (String(raw[..<raw.firstIndex(of: "/")!]).lowercased(), String(raw[raw.index(after: raw.firstIndex(of: "/")!)...]))
            : (nil, raw)
        return RootProject(name: raw, version: version, purl: PackageURL(type: "npm", namespace: ns, name: name, version: version),
                           source: Location("package.json"))
    }

    static func cargo(_ toml: String?, lock: String?) -> RootProject? {
        guard let toml, let t = try? TOMLParser.parse(toml), let pkg = t.table("package"), let name = nonEmpty(pkg.str("name")) else { return nil }
        var version = nonEmpty(pkg.str("version"))
        // `version.workspace = true` leaves the number to the lockfile's entry for the same crate.
        if version == nil, let lock, let l = try? TOMLParser.parse(lock) {
            version = l.tables("package").first { $0.str("name") == name && $0.str("source") == nil }?.str("version")
        }
        return RootProject(name: name, version: version, purl: PackageURL(type: "cargo", name: name, version: version),
                           source: Location("Cargo.toml"))
    }

    static func pyproject(_ text: String?) -> RootProject? {
        guard let text, let t = try? TOMLParser.parse(text) else { return nil }
        let table = t.table("project") ?? t.table("tool")?.table("poetry")
        guard let table, let name = nonEmpty(table.str("name")) else { return nil }
        let version = nonEmpty(table.str("version"))
        return RootProject(name: name, version: version,
                           purl: PackageURL(type: "pypi", name: PackageIdentity.pep503(name), version: version),
                           source: Location("pyproject.toml"))
    }

    static func uvLock(_ text: String?) -> RootProject? {
        guard let text, let t = try? TOMLParser.parse(text) else { return nil }
        guard let root = t.tables("package").first(where: { p in
            guard let s = p.table("source") else { return false }
            return s.str("virtual") == "." || s.str("editable") == "."
        }), let name = nonEmpty(root.str("name")) else { return nil }
        let version = nonEmpty(root.str("version"))
        return RootProject(name: name, version: version,
                           purl: PackageURL(type: "pypi", name: PackageIdentity.pep503(name), version: version),
                           source: Location("uv.lock"))
    }

    static func goMod(_ text: String?) -> RootProject? {
        guard let text else { return nil }
        for (n, raw) in Lines(text: text) {
            let line = raw.trimmed
            guard line.hasPrefix("module") else { continue }
            var path = line.dropFirst("module".count).trimmed
            if let c = path.range(of: "//") { path = String(path[..<c.lowerBound]).trimmed }
            path = path.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard !path.isEmpty else { return nil }
            // `module /` has no last part: its `!` trapped (found by helper-151).
            let parts = path.split(separator: "/")
            guard let last = parts.last else { return nil }
            let name = String(last)
            let ns = parts.count > 1 ? parts.dropLast().joined(separator: "/") : nil
            return RootProject(name: path, version: nil, purl: PackageURL(type: "golang", namespace: ns, name: name),
                               source: Location("go.mod", line: n))
        }
        return nil
    }

    static func pom(_ bytes: [UInt8]?) -> RootProject? {
        guard let bytes else { return nil }
        var stack: [String] = [], text = "", fields: [String: String] = [:]
        do {
            try MiniXML.parse(bytes, start: { name, _ in stack.append(name); text = "" },
                              text: { text += $0 },
                              end: { name in
                                  if stack.count == 2 { fields[name] = text.trimmingCharacters(in: .whitespacesAndNewlines) }
                                  if stack.count == 3 && stack[1] == "parent" { fields["parent." + name] = text.trimmingCharacters(in: .whitespacesAndNewlines) }
                                  stack.removeLast(); text = ""
                              })
        } catch { return nil }
        guard let artifact = nonEmpty(fields["artifactId"]), let group = nonEmpty(fields["groupId"] ?? fields["parent.groupId"]) else { return nil }
        // A property reference is not a version anyone can look up.
        let version = nonEmpty(fields["version"] ?? fields["parent.version"]).flatMap { $0.contains("${") ? nil : $0 }
        return RootProject(name: group + ":" + artifact, version: version,
                           purl: PackageURL(type: "maven", namespace: group, name: artifact, version: version),
                           source: Location("pom.xml"))
    }

    static func depsJSON(_ text: String?, file: String) -> RootProject? {
        guard let text, let o = try? JSON.object(Array(text.utf8)), let libs = o.obj("libraries") else { return nil }
        // The project itself is the one library of type "project"; keys are `Name/Version`.
        guard let key = libs.keys.sorted().first(where: { (libs.obj($0)?.str("type")) == "project" }),
              let slash = key.lastIndex(of: "/") else { return nil }
        let name = String(key[..<slash]), version = nonEmpty(String(key[key.index(after: slash)...]))
        return RootProject(name: name, version: version, purl: PackageURL(type: "nuget", name: name, version: version),
                           source: Location(file))
    }

    static func csproj(_ bytes: [UInt8]?, file: String) -> RootProject? {
        guard let bytes else { return nil }
        var current = "", text = "", fields: [String: String] = [:]
        do {
            try MiniXML.parse(bytes, start: { name, _ in current = name; text = "" },
                              text: { text += $0 },
                              end: { name in
                                  if name == current, fields[name] == nil { fields[name] = text.trimmingCharacters(in: .whitespacesAndNewlines) }
                                  text = ""
                              })
        } catch { return nil }
        let name = nonEmpty(fields["PackageId"]) ?? nonEmpty(fields["AssemblyName"]) ?? String(file.dropLast(".csproj".count))
        let version = nonEmpty(fields["Version"]) ?? nonEmpty(fields["PackageVersion"])
        return RootProject(name: name, version: version, purl: PackageURL(type: "nuget", name: name, version: version),
                           source: Location(file))
    }
}
