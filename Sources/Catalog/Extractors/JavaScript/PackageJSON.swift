import ProvenantCore

/// A project's `package.json` in source mode, for what no lockfile pins. Its ranges (`^4.17.0`) name
/// no version, so they are not packages; but a project whose dependencies no lockfile (beside it or
/// in a workspace root above it) pins would otherwise scan as "0 of 0, clean" (found by helper-82).
/// Each such manifest is NOT CHECKED, with how to check it: lock it, or read `node_modules` with
/// `--mode installed`.
public struct PackageJSONExtractor: Extractor {
    public let name = "package-json"
    public init() {}
    public var modes: Set<ScanMode> { [.source] }

    static let lockfiles = ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.lockb"]

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        fileName == "package.json" && !file.path.containsBytes("node_modules/")
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        // A lockfile here or in a directory above (a workspace's root) pins what this manifest names.
        var dir = input.directory
        while true {
            if Self.lockfiles.contains(where: { input.index.contains(dir.isEmpty ? $0 : dir + "/" + $0) }) { return Extraction() }
            if dir.isEmpty { break }
            dir = PathText.splitLast(dir).directory
        }
        let doc = try JSON.object(try input.bytes())
        var fields = ["dependencies", "optionalDependencies"]
        if input.context.includeDev { fields.append("devDependencies") }
        let count = fields.reduce(0) { $0 + (doc.obj($1)?.count ?? 0) }
        guard count > 0 else { return Extraction() }
        return Extraction(diagnostics: [Diagnostic(Location(input.path),
            "\(count) dependenc\(count == 1 ? "y" : "ies") of package.json, and no lockfile pins them: not checked (commit a lockfile, or scan the installed node_modules with --mode installed)",
            unscanned: .entry)])
    }
}
