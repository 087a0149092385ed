import Foundation
import ProvenantCore

/// pom.xml declared dependencies, with `${property}` substitution from the same file and
/// versions filled in from its own `dependencyManagement`.
public struct PomExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "maven-pom"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        fileName == "pom.xml" || (fileName.hasSuffix(".pom") && !file.path.containsBytes("META-INF/"))
    }

    struct Dep { var g = "", a = "", v = "", scope = "", type = "", classifier = "", line = 0 }

    /// Collects properties, project coordinates and dependencies from the element events.
    struct Reader {
        var stack: [String] = []
        var text = ""
        var props: [String: String] = [:]
        var project: [String: String] = [:]
        var deps: [Dep] = []
        var managed: [Dep] = []
        var cur: Dep?
        var sawProject = false
        /// The profile being read: its id, whether it is active by default, its dependencies.
        var profile: (id: String, active: Bool, deps: [Dep], line: Int)?
        /// Profiles not active by default that declare dependencies: id, count and line.
        var inactiveProfiles: [(id: String, count: Int, line: Int)] = []

        mutating func start(_ name: String, line: Int) {
            if stack.isEmpty && name == "project" { sawProject = true }
            stack.append(name)
            text = ""
            if name == "dependency" { cur = Dep(line: line) }
            if stack.count == 3 && stack[0] == "project" && stack[1] == "profiles" && name == "profile" { profile = ("", false, [], line) }
        }

        mutating func end(_ name: String) {
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if stack.count == 3 && stack[1] == "properties" { props[name] = value }
            if stack.count == 2 { project[name] = value }
            if stack.count == 3 && stack[1] == "parent" { project["parent." + name] = value }
            if cur != nil && stack.count >= 2 && stack[stack.count - 2] == "dependency" {
                switch name {
                case "groupId": cur?.g = value
                case "artifactId": cur?.a = value
                case "version": cur?.v = value
                case "scope": cur?.scope = value
                case "type": cur?.type = value
                case "classifier": cur?.classifier = value
                default: break
                }
            }
            if name == "dependency", let d = cur {
                // Compared by position, not by joining the whole stack, so each element costs O(1).
                if stack.count == 3 && stack[0] == "project" && stack[1] == "dependencies" { deps.append(d) }
                else if stack.count == 4 && stack[0] == "project" && stack[1] == "dependencyManagement" && stack[2] == "dependencies" { managed.append(d) }
                // A profile's own dependencies (project/profiles/profile/dependencies), which were
                // dropped unseen (found by helper-127).
                else if stack.count == 5 && stack[0] == "project" && stack[1] == "profiles" && stack[3] == "dependencies" { profile?.deps.append(d) }
                cur = nil
            }
            if stack.count == 4 && stack[1] == "profiles" && name == "id" { profile?.id = value }
            if stack.count == 5 && stack[1] == "profiles" && stack[3] == "activation" && name == "activeByDefault" { profile?.active = value == "true" }
            if stack.count == 3 && stack[0] == "project" && stack[1] == "profiles" && name == "profile", let p = profile {
                if p.active { deps += p.deps } else if !p.deps.isEmpty { inactiveProfiles.append((p.id, p.deps.count, p.line)) }
                profile = nil
            }
            stack.removeLast()
            text = ""
        }
    }

    /// A coordinate or version longer than this after `${…}` substitution is not resolved.
    static let maxExpanded = 512

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = try input.bytes()
        if bytes.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) { throw ParseError("empty file") }
        var r = Reader()
        try MiniXML.parse(bytes, start: { r.start($0, line: $1) }, text: { r.text += $0 }, end: { r.end($0) })
        guard r.sawProject else { throw ParseError("not a Maven POM: the root element is not <project>") }
        var vars = r.props
        for (k, v) in r.project { vars["project." + k] = v; if k.hasPrefix("parent.") { vars["project." + k] = v } }
        if vars["project.version"] == nil { vars["project.version"] = r.project["parent.version"] }
        if vars["project.groupId"] == nil { vars["project.groupId"] = r.project["parent.groupId"] }
        func subst(_ s: String) -> String? {
            var out = s
            for _ in 0..<8 {
                guard let open = out.range(of: "${"), let close = out[open.upperBound...].firstIndex(of: "}") else { return out }
                let key = String(out[open.upperBound..<close])
                guard let v = vars[key] else { return nil }
                out.replaceSubrange(open.lowerBound...close, with: v)
                // Coordinates and versions are short: a property used many times over, in many
                // dependencies, would otherwise multiply the POM into the SBOM (125 KB became 160 MB).
                guard out.utf8.count <= Self.maxExpanded else { return nil }
            }
            return out.contains("${") ? nil : out
        }
        // Managed versions by coordinates, first entry wins, built once: a search per dependency
        // would be quadratic in a POM with many dependencies.
        var managed: [String: String] = [:]
        for m in r.managed {
            guard let g = subst(m.g), let a = subst(m.a), managed[g + "\u{0}" + a] == nil else { continue }
            managed[g + "\u{0}" + a] = m.v
        }
        var out = Extraction()
        // Maven applies a profile's dependencies only when the build activates it (by JDK, OS, a
        // property or -P): what they are is known, whether they ship is not.
        for p in r.inactiveProfiles {
            out.diagnostics.append(Diagnostic(Location(input.path, line: p.line), "profile '\(Redactor.quote(p.id, max: 80))' declares \(p.count) dependenc\(p.count == 1 ? "y" : "ies") "
                + "that apply only when a build activates it: not checked", unscanned: .entry))
        }
        for d in r.deps {
            let loc = Location(input.path, line: d.line)
            guard let g = subst(d.g), let a = subst(d.a), !g.isEmpty, !a.isEmpty else {
                out.diagnostics.append(Diagnostic(loc, "dependency with an unresolvable groupId or artifactId (an undefined property, or one that expands past \(Self.maxExpanded) bytes), skipped", unscanned: .entry)); continue
            }
            var raw = d.v
            if raw.isEmpty, let m = managed[g + "\u{0}" + a] { raw = m }
            guard !raw.isEmpty else {
                out.diagnostics.append(Diagnostic(loc, "unresolved dependency \(g):\(a): no version in this file", unscanned: .entry)); continue
            }
            guard let v = subst(raw) else {
                out.diagnostics.append(Diagnostic(loc, "unresolved dependency \(g):\(a): property in '\(Redactor.quote(raw, max: 80))' is not defined in this file, or expands past \(Self.maxExpanded) bytes", unscanned: .entry)); continue
            }
            if v.hasPrefix("[") || v.hasPrefix("(") || v.contains(",") {
                out.diagnostics.append(Diagnostic(loc, "unresolved dependency \(g):\(a): version range '\(Redactor.quote(v, max: 80))' is not a pinned version", unscanned: .entry)); continue
            }
            let scope = d.scope.lowercased()
            var q: [String: String] = [:]
            if !d.type.isEmpty && d.type != "jar" { q["type"] = d.type }
            if !d.classifier.isEmpty { q["classifier"] = d.classifier }
            var p = Make.package(.maven, "\(g):\(a)", v, at: input.path, line: d.line, by: name,
                                 scope: scope == "test" ? .dev : .required, qualifiers: q)
            p.isDirect = true
            out.packages.append(p)
        }
        out.packages = out.packages.filteredForDev(input.context.includeDev)
        return out
    }
}
