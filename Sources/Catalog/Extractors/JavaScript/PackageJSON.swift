import Foundation
import ProvenantCore
import Yams

/// A project's `package.json` in source mode, for what no lockfile pins. Its ranges (`^4.17.0`) name
/// no version, so they are not packages; but a project whose dependencies no lockfile pins would
/// otherwise scan as "0 of 0, clean" (found by helper-82). Each such manifest is NOT CHECKED, with how
/// to check it: lock it, or read `node_modules` with `--mode installed`.
///
/// Pinned means a lockfile beside it, or one in a directory above whose workspace declaration names
/// it (`workspaces` in that directory's package.json, `pnpm-workspace.yaml`, or a Rush `rush.json`
/// project): a lockfile above that does not name it pins nothing of it (found by review). Bundled
/// copies are not projects: package.json files under `site-packages`, `.venv`, `vendor` or
/// `bower_components`, and templates (a `{{` in the path) are left alone.
/// The members one directory declares: its workspace globs (package.json, pnpm-workspace.yaml) and
/// rush.json's project folders.
public struct WorkspaceMembers: Sendable {
    let included: [Glob], excluded: [Glob]
    let rushProjects: Set<String>
    /// A glob longer than this is not matched: a `**` glob of megabytes cost each manifest below it
    /// its length times the manifest's path (42 s for one; found by helper-232). An inclusion that
    /// long takes no member, so its members are said to be unpinned, as any manifest no lockfile
    /// pins; an exclusion that long could take any member out, so then the directory has none.
    static let maxGlobBytes = 1024

    init(globs: [String], rushProjects: Set<String>) {
        let long = globs.filter { $0.utf8.count > Self.maxGlobBytes }
        let kept = long.contains { $0.hasPrefix("!") } ? [] : globs.filter { $0.utf8.count <= Self.maxGlobBytes }
        // An excluded member (`!packages/legacy`) is no member (found by review).
        included = kept.filter { !$0.hasPrefix("!") }.map { Glob($0) }
        excluded = kept.filter { $0.hasPrefix("!") }.map { Glob(String($0.dropFirst())) }
        self.rushProjects = rushProjects
    }

    /// Whether the workspace globs take `rel` (relative to their directory) as a member.
    func holds(_ rel: String) -> Bool {
        !excluded.contains { $0.matchesWhole(rel) } && included.contains { $0.matchesWhole(rel) }
    }
}

public struct PackageJSONExtractor: Extractor {
    public let name = "package-json"
    public init() {}
    public var modes: Set<ScanMode> { [.source] }

    static let lockfiles = ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock"]
    static let bundledDirectories = ["site-packages", "dist-packages", "labextensions", "bower_components", "jspm_packages", "npm-asset", "bower-asset"]

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        guard fileName == "package.json", !file.path.hasDirectory("node_modules"), !file.path.containsBytes("{{") else { return false }
        // Names of directories that hold other projects' built copies only (a `vendor` or `venv` of
        // one's own is no such sign, found by review).
        let dirs = file.path.split(separator: "/").dropLast()
        return !dirs.contains { Self.bundledDirectories.contains(String($0)) }
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        if pinned(input) { return Extraction() }
        let doc: [String: Any]
        do { doc = try JSON.object(try input.bytes()) } catch {
            // Node reads some JSON this parser refuses (a lone surrogate, 1e400): not known is not clean (found by review).
            return Extraction(diagnostics: [Diagnostic(Location(input.path), "package.json could not be read (\(error)); its dependencies are not known", unscanned: .entry)])
        }
        var fields = ["dependencies", "optionalDependencies"]
        if input.context.includeDev { fields.append("devDependencies") }
        let count = fields.reduce(0) { $0 + (doc.obj($1)?.count ?? 0) }
        guard count > 0 else { return Extraction() }
        let binary = input.index.contains(input.sibling("bun.lockb")) ? " (bun.lockb is binary and not read: `bun install --save-text-lockfile` writes bun.lock)" : ""
        return Extraction(diagnostics: [Diagnostic(Location(input.path),
            "\(count) dependenc\(count == 1 ? "y" : "ies") of package.json, and no lockfile pins them\(binary): not checked (commit a lockfile, or scan the installed node_modules with --mode installed)",
            unscanned: .entry)])
    }

    /// Whether a lockfile pins this manifest's directory.
    func pinned(_ input: ExtractInput) -> Bool {
        let here = input.directory
        func join(_ dir: String, _ name: String) -> String { dir.isEmpty ? name : dir + "/" + name }
        if Self.lockfiles.contains(where: { input.index.contains(join(here, $0)) }) { return true }
        guard !here.isEmpty else { return false }
        var dir = here
        while !dir.isEmpty {
            dir = PathText.splitLast(dir).directory
            let rel = dir.isEmpty ? here : String(here.dropFirst(dir.count + 1))
            // Each directory's declarations are read once a scan, not once for each manifest below it:
            // 400 members under a 2.5 MB root package.json took 23 s (found by helper-232).
            // Workspace globs count only beside a lockfile, so they are read only there.
            let locked = Self.lockfiles.contains { input.index.contains(join(dir, $0)) }
            let declared = input.index.workspaceMembers.value(dir) {
                WorkspaceMembers(globs: locked ? workspaces(input, in: dir) : [], rushProjects: rushProjects(input, in: dir))
            }
            if declared.holds(rel) { return true }
            // Rush keeps its lockfile in common/config/rush and names each project in rush.json (JSON with comments).
            if declared.rushProjects.contains(rel) { return true }
        }
        return false
    }

    /// The project folders rush.json in `dir` names.
    func rushProjects(_ input: ExtractInput, in dir: String) -> Set<String> {
        let path = dir.isEmpty ? "rush.json" : dir + "/rush.json"
        guard input.index.contains(path),
              let rush = try? JSON.object(JSONC.strip(try input.readBytes(path, limit: 4 << 20))),
              let projects = rush["projects"] as? [[String: Any]] else { return [] }
        return Set(projects.compactMap { ($0["projectFolder"] as? String).map { PathText.components($0).joined(separator: "/") } })
    }

    /// The workspace globs declared in `dir`: package.json `workspaces` (a list, or `packages` in an
    /// object) and pnpm-workspace.yaml's `packages` list.
    func workspaces(_ input: ExtractInput, in dir: String) -> [String] {
        func join(_ name: String) -> String { dir.isEmpty ? name : dir + "/" + name }
        var out: [String] = []
        if input.index.contains(join("package.json")), let doc = try? JSON.object(try input.readBytes(join("package.json"), limit: 4 << 20)) {
            if let list = doc["workspaces"] as? [Any] { out += list.compactMap { $0 as? String } }
            if let obj = doc["workspaces"] as? [String: Any], let list = obj["packages"] as? [Any] { out += list.compactMap { $0 as? String } }
        }
        if input.index.contains(join("pnpm-workspace.yaml")), let bytes = try? input.readBytes(join("pnpm-workspace.yaml"), limit: 1 << 20),
           let text = try? TextDecoding.string(bytes), (try? YAMLNesting.check(text)) != nil,
           let doc = try? Yams.compose(yaml: text), let list = doc["packages"]?.sequence {
            out += list.compactMap(\.string)
        }
        // Exclusions keep their `!`.
        return out.map { g in
            let neg = g.hasPrefix("!")
            var body = neg ? String(g.dropFirst()) : g
            if body.hasPrefix("./") { body = String(body.dropFirst(2)) }
            if body.hasSuffix("/") { body = String(body.dropLast()) }
            return neg ? "!" + body : body
        }
    }
}
