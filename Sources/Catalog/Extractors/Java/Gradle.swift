import ProvenantCore

/// gradle.lockfile: `group:artifact:version=configurations`.
public struct GradleLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "gradle-lock"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        fileName == "gradle.lockfile" || (fileName.hasSuffix(".lockfile") && file.path.containsBytes("dependency-locks/"))
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        var out = Extraction()
        for (n, l) in Lines(text: try input.text()) {
            let t = l.trimmed
            if t.isEmpty || t.hasPrefix("#") || t.hasPrefix("empty=") { continue }
            let (coord, confs) = t.firstIndex(of: "=").map { (String(t[..<$0]), String(t[t.index(after: $0)...])) } ?? (t, "")
            let parts = coord.split(separator: ":").map(String.init)
            guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") && !$0.contains("/") }) else {
                out.diagnostics.append(Diagnostic(Location(input.path, line: n), "not a group:artifact:version line, skipped", unscanned: .entry))
                continue
            }
            // A test configuration starts with `test` or has `Test` as a word (integrationTestRuntimeClasspath);
            // `latestRuntimeClasspath` is not one (found by helper-127).
            let configurations = confs.split(separator: ",").map(String.init)
            let testOnly = !configurations.isEmpty && configurations.allSatisfy {
                $0.hasPrefix("test") || $0.contains("Test") || ["annotationprocessor", "developmentonly"].contains($0.lowercased())
            }
            let p = Make.package(.maven, "\(parts[0]):\(parts[1])", parts[2], at: input.path, line: n, by: name,
                                 scope: testOnly ? .dev : .required)
            out.packages.append(p)
        }
        out.packages = out.packages.filteredForDev(input.context.includeDev)
        return out
    }
}
