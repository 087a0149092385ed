import ProvenantCore

/// composer.lock: `packages` and `packages-dev`, with `require` edges.
public struct ComposerLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "composer-lock"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName == "composer.lock" && !file.path.hasDirectory("vendor") }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = try input.bytes()
        let doc = try JSON.object(bytes)
        var packages: [Package] = []
        var rawDeps: [[String]] = []
        var diags: [Diagnostic] = []
        var lineCursor = LineCursor(bytes)
        for (section, scope) in [("packages", Scope.required), ("packages-dev", Scope.dev)] {
            for case let e as [String: Any] in doc.arr(section) ?? [] {
                guard let n = e.str("name"), let v = e.str("version"), !n.isEmpty, !v.isEmpty else {
                    diags.append(Diagnostic(Location(input.path), "\(section) entry without name or version, skipped", unscanned: .entry)); continue
                }
                let line = lineCursor.next("\"name\": \"\(n.replacingOccurrences(of: "/", with: "\\/"))\"", "\"name\": \"\(n)\"")
                var p = Make.package(.composer, n, v, at: input.path, line: line, by: name, scope: scope)
                if let lic = e.arr("license") as? [String], !lic.isEmpty { p.licenses = [lic.count == 1 ? lic[0] : "(" + lic.joined(separator: " OR ") + ")"] }
                if let shasum = e.obj("dist")?.str("shasum"), let d = Digest(.sha1, hex: shasum) { p.digests = [d] }
                p.description = e.str("description")
                p.homepage = e.str("homepage")
                p.dependenciesKnown = true
                packages.append(p)
                rawDeps.append(Array((e.obj("require") ?? [:]).keys))
            }
        }
        let byName = Dictionary(packages.enumerated().map { ($1.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        Graph.link(&packages, rawDeps) { byName[$0.lowercased()] }
        return Extraction(packages.filteredForDev(input.context.includeDev), diagnostics: diags)
    }
}

/// Finds successive needles in a text, for formats whose entries repeat the same keys.
struct LineCursor {
    let bytes: [UInt8]
    var pos = 0
    var line = 1
    /// How far past the last find one entry's needle is looked for. Each spelling was looked for to
    /// the end of the file in turn, so a Package.resolved whose slashes were not escaped took a pass
    /// over the rest of the file per pin: 4,000 pins, 108 s (found by helper-151).
    static let window = 64 << 10
    /// Finds missed in a row; past a few, no more are looked for (lines are then not given): a file
    /// whose names are written some other way (`\u0068ttps`, minified) missed every pin, each after
    /// a window's scan (found by helper-153).
    var misses = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    /// The line of the first of `needles` (any spelling) from the last find on, within the window;
    /// nil, and the cursor stays, when none is there.
    mutating func next(_ needles: String...) -> Int? {
        let ns = needles.map { Array($0.utf8) }.filter { !$0.isEmpty }
        guard !ns.isEmpty, misses < 8 else { return nil }
        var i = pos, l = line
        let end = min(bytes.count, pos + Self.window)
        while i < end {
            for n in ns where bytes[i] == n[0] && i + n.count <= bytes.count && bytes[i..<i + n.count].elementsEqual(n) {
                pos = i + n.count; line = l; misses = 0
                return l
            }
            if bytes[i] == 10 { l += 1 }
            i += 1
        }
        misses += 1
        return nil
    }
}

/// NuGet `packages.lock.json`: per-framework maps with Direct/Transitive types and content hashes.
public struct NuGetLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "nuget-lock"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName == "packages.lock.json" }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = try input.bytes()
        let doc = try JSON.object(bytes)
        let lines = JSONKeyLines(bytes)
        guard let frameworks = doc.obj("dependencies") else { throw ParseError("no 'dependencies' object") }
        var byRef: [String: Package] = [:]
        var rawDeps: [String: Set<String>] = [:]
        for fw in frameworks.keys.sorted() {
            guard let deps = frameworks[fw] as? [String: Any] else { continue }
            for n in deps.keys.sorted() {
                guard let e = deps[n] as? [String: Any], let v = e.str("resolved"), !v.isEmpty else { continue }
                if e.str("type") == "Project" { continue }
                var p = Make.package(.nuget, n, v, at: input.path, line: lines.line(n), by: name)
                p.isDirect = e.str("type") == "Direct"
                if let h = e.str("contentHash"), let d = Digest(.sha512, base64: h) { p.digests = [d] }
                p.dependenciesKnown = true
                if let old = byRef[p.ref] { p.isDirect = (old.isDirect ?? false) || (p.isDirect ?? false) }
                byRef[p.ref] = p
                rawDeps[p.ref, default: []].formUnion((e.obj("dependencies") ?? [:]).keys.map { $0.lowercased() })
            }
        }
        var packages = byRef.values.sorted { $0.ref < $1.ref }
        let byName = Dictionary(packages.map { ($0.name.lowercased(), $0.ref) }, uniquingKeysWith: { a, _ in a })
        for i in packages.indices {
            packages[i].dependsOn = (rawDeps[packages[i].ref] ?? []).compactMap { byName[$0] }.uniqueSorted()
        }
        return Extraction(packages)
    }
}

/// .NET `*.deps.json`: the `libraries` of type package, with edges from `targets`.
public struct DotnetDepsExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "dotnet-deps"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName.hasSuffix(".deps.json") }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = try input.bytes()
        let doc = try JSON.object(bytes)
        let lines = JSONKeyLines(bytes)
        guard let libs = doc.obj("libraries") else { throw ParseError("no 'libraries' object") }
        var packages: [Package] = []
        var diags: [Diagnostic] = []
        var projectDeps: [String] = []
        var targetDeps: [String: [String]] = [:]
        for (_, t) in doc.obj("targets") ?? [:] {
            for (k, v) in (t as? [String: Any]) ?? [:] {
                let deps = ((v as? [String: Any])?.obj("dependencies") ?? [:]).map { "\($0.key)/\($0.value)" }
                targetDeps[k, default: []] += deps
            }
        }
        for key in libs.keys.sorted() {
            guard let e = libs[key] as? [String: Any] else { continue }
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: lines.line(key)), "library key '\(Redactor.quote(key, max: 60))' is not name/version, skipped", unscanned: .entry)); continue
            }
            if e.str("type") == "project" { projectDeps += targetDeps[key] ?? []; continue }
            var p = Make.package(.nuget, parts[0], parts[1], at: input.path, line: lines.line(key), by: name)
            if let h = e.str("sha512"), h.hasPrefix("sha512-"), let d = Digest(.sha512, base64: String(h.dropFirst(7))) { p.digests = [d] }
            p.dependenciesKnown = targetDeps[key] != nil
            // A dependency key without a name (`"": ""` made "/") is passed over: its `[0]` trapped (found by helper-151).
            p.dependsOn = (targetDeps[key] ?? []).compactMap(Self.dependencyPurl)
            packages.append(p)
        }
        let refs = Set(packages.map(\.ref))
        let roots = Set(projectDeps.compactMap(Self.dependencyPurl))
        for i in packages.indices { packages[i].dependsOn = packages[i].dependsOn.filter { refs.contains($0) }.sorted() }
        if !projectDeps.isEmpty { Graph.markDirect(&packages, roots: roots) }
        return Extraction(packages, diagnostics: diags)
    }

    /// `name/version` as a purl; nil when either part is missing.
    static func dependencyPurl(_ key: String) -> String? {
        let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return PackageIdentity.purl(.nuget, name: String(parts[0]), version: String(parts[1])).description
    }
}

/// SwiftPM `Package.resolved` v1, v2 and v3.
public struct SwiftResolvedExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "swift-resolved"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName == "Package.resolved" }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = try input.bytes()
        let doc = try JSON.object(bytes)
        let pins: [Any]
        if let v1 = doc.obj("object")?.arr("pins") { pins = v1 }
        else if let v2 = doc.arr("pins") { pins = v2 }
        else { throw ParseError("no 'pins' in Package.resolved") }
        var cursor = LineCursor(bytes)
        var out = Extraction()
        for case let pin as [String: Any] in pins {
            let location = pin.str("location") ?? pin.str("repositoryURL") ?? ""
            let state = pin.obj("state") ?? [:]
            let line = cursor.next(location.replacingOccurrences(of: "/", with: "\\/"), location)
            guard let version = state.str("version") ?? state.str("revision"), !version.isEmpty, !location.isEmpty else {
                out.diagnostics.append(Diagnostic(Location(input.path, line: line), "pin '\(pin.str("identity") ?? pin.str("package") ?? "?")' has no version or location, skipped", unscanned: .entry))
                continue
            }
            // The name is derived from the location, so credentials in it must go before it is.
            var host = URLUserinfo.stripped(location)
            for prefix in ["https://", "http://", "ssh://", "git@"] where host.hasPrefix(prefix) { host = String(host.dropFirst(prefix.count)) }
            host = host.replacingOccurrences(of: ":", with: "/")
            if host.hasSuffix(".git") { host = String(host.dropLast(4)) }
            var p = Make.package(.swift, host, version, at: input.path, line: line, by: name)
            p.homepage = location
            out.packages.append(p)
        }
        return out
    }
}
