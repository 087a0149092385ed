import ProvenantCore

/// dpkg's `status`, distroless `status.d/*`, and opkg's status, with per-file md5sums.
public struct DpkgExtractor: Extractor {
    public let name = "dpkg"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        let p = file.path
        if p.hasSuffix("var/lib/dpkg/status") || p.hasSuffix("usr/lib/opkg/status") || p.hasSuffix("var/lib/opkg/status") { return true }
        let dir = "var/lib/dpkg/status.d/"
        if let at = p.byteOffset(of: dir), !p.utf8.dropFirst(at + dir.utf8.count).contains(UInt8(ascii: "/")) {
            return !fileName.hasSuffix(".md5sums")
        }
        return false
    }

    /// `info/` for the md5sums beside a status reached through a linked `var/lib/dpkg`.
    public var linkedPaths: [String] { ["var/lib/dpkg/status", "var/lib/dpkg/status.d/", "var/lib/dpkg/info/", "usr/lib/opkg/status", "var/lib/opkg/status"] }

    public func alsoReads(_ path: String, fileName: String) -> Bool {
        (fileName == "copyright" && path.containsBytes("usr/share/doc/"))
            || (fileName.hasSuffix(".md5sums") && (path.containsBytes("var/lib/dpkg/") || path.containsBytes("opkg/")))
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let text = try input.text()
        let isOpkg = input.path.contains("opkg/")
        let distro = input.context.distro
        var packages: [Package] = []
        var diags: [Diagnostic] = []
        var raw: [[String]] = []
        var provides: [(String, Int)] = []
        var owners: [(name: String, arch: String?)] = []
        for st in Stanzas.rfc822(text) {
            guard let pkgName = st.first("Package"), !pkgName.isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: st.line), "package record without a Package field, skipped", unscanned: .entry))
                continue
            }
            // Every state but these two has the package's files on disk: `unpacked`, `half-configured`,
            // `triggers-pending` are installed packages mid-upgrade, as dpkg-query lists them; reading
            // only `installed` dropped them unseen (found by helper-127).
            if let status = st.first("Status"), let state = status.split(separator: " ").last, state == "not-installed" || state == "config-files" { continue }
            guard let version = st.first("Version"), !version.isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: st.line), "package '\(pkgName)' has no Version, skipped", unscanned: .entry))
                continue
            }
            let arch = st.first("Architecture")
            var q: [String: String] = [:]
            if let a = arch { q["arch"] = a }
            if let d = distro { q["distro"] = d.qualifier }
            // Source packages are the unit advisories name; keep them when they differ.
            if let src = st.first("Source") {
                let srcName = src.split(separator: " ").first.map(String.init) ?? src
                if srcName != pkgName { q["upstream"] = src.replacingOccurrences(of: " ", with: "") }
            }
            let ns = isOpkg ? (distro?.id ?? "openwrt") : (distro?.id ?? "debian")
            var p = Make.package(.deb, pkgName, version, at: input.path, line: st.line, by: name,
                                 qualifiers: q, namespace: ns)
            p.supplier = st.first("Maintainer")
            p.description = st.first("Description").map { String($0.split(separator: "\n").first ?? "") }
            p.homepage = st.first("Homepage")
            p.dependenciesKnown = true
            owners.append((pkgName, arch))
            raw.append(Self.dependencyNames(st.first("Depends")) + Self.dependencyNames(st.first("Pre-Depends")))
            provides += Self.dependencyNames(st.first("Provides")).map { ($0, packages.count) }
            packages.append(p)
        }
        // Each package's md5sums and copyright files are its own, so they are parsed on every core: on
        // a Debian image that is most of the extractor's time, and the whole catalog waits for it. They
        // are read on this thread, in the status file's order, a batch at a time: the read budget is
        // shared, and reads racing for it made which packages got a license vary from run to run
        // (found by review). Worker `w` parses every `width`-th package of a batch (copyright files
        // differ a hundredfold in size); results and diagnostics go back in the status file's order.
        let count = owners.count
        var perPackage = [[Diagnostic]](repeating: [], count: count)
        for batch in stride(from: 0, to: count, by: Self.batch) {
            let range = batch..<min(count, batch + Self.batch)
            var read: [(md5: [UInt8]?, copyright: [UInt8]?)] = []
            for i in range {
                read.append((md5sumBytes(for: owners[i].name, arch: owners[i].arch, input: input, diags: &perPackage[i]),
                             isOpkg ? nil : copyrightBytes(for: owners[i].name, input: input, diags: &perPackage[i])))
            }
            let bytes = read, width = range.count < 16 ? 1 : Parallel.cores
            let parsed = Parallel.map(width: width) { w in
                stride(from: w, to: bytes.count, by: width).map { j in
                    (j, bytes[j].md5.map(Self.md5sumFiles) ?? [], bytes[j].copyright.map(DebianCopyright.parse))
                }
            }
            for (j, files, license) in parsed.joined() {
                let i = range.lowerBound + j
                packages[i].files = files
                if let c = license {
                    packages[i].licenses = c.licenses
                    if !c.texts.isEmpty { packages[i].licenseTexts = c.texts }
                }
            }
        }
        diags += perPackage.joined()
        // Depends lines name packages; resolve them to installed packages, real names before Provides.
        var byName: [String: Int] = [:]
        for (i, p) in packages.enumerated() { byName[p.name] = i }
        for (name, i) in provides where byName[name] == nil { byName[name] = i }
        Graph.link(&packages, raw) { byName[$0] }
        return Extraction(packages, diagnostics: diags)
    }

    /// `a (>= 1) | b, c:any` → the first alternative of each clause, without version or arch.
    static func dependencyNames(_ field: String?) -> [String] {
        guard let f = field else { return [] }
        return f.split(separator: ",").compactMap { clause in
            let alt = clause.split(separator: "|").first ?? clause
            let name = alt.trimmed.split(whereSeparator: { $0 == " " || $0 == "(" }).first.map(String.init) ?? ""
            let bare = name.split(separator: ":").first.map(String.init) ?? name
            return bare.isEmpty ? nil : bare
        }
    }

    /// The root a dpkg database sits in: `rootfs/var/lib/dpkg/status` → `rootfs/`.
    static func rootPrefix(_ path: String) -> String? {
        for marker in ["var/lib/dpkg/status.d/", "var/lib/dpkg/status"] {
            if let r = path.rangeOfBytes(marker, last: true) { return String(path[..<r.lowerBound]) }
        }
        return nil
    }

    /// Licenses from `usr/share/doc/<package>/copyright` under the same root, read through the root-scoped
    /// reader (a doc directory that is a link to another package's, as for libgcc-s1, is followed inside
    /// the root only). A missing file is normal (distroless images strip them) and says nothing; one that
    /// is refused is a diagnostic. Either way the package stays listed.
    /// Packages whose md5sums and copyright files are held at once, read and then parsed.
    static let batch = 256

    private func copyrightBytes(for pkg: String, input: ExtractInput, diags: inout [Diagnostic]) -> [UInt8]? {
        guard let prefix = Self.rootPrefix(input.path), !pkg.contains("/"), pkg != "..", pkg != "." else { return nil }
        let rel = prefix + "usr/share/doc/\(pkg)/copyright"
        // `--exclude /usr/share/doc` leaves copyright files unread, wherever a link would lead (helper-75).
        if !input.index.excludes.isEmpty {
            if Glob.excludes(input.index.excludes, rel) { return nil }
            if let real = try? input.index.source.canonicalPath(rel), Glob.excludes(input.index.excludes, real) { return nil }
        }
        do { return try input.readBytes(rel, limit: DebianCopyright.maxBytes) }
        catch .notFound { return nil }
        catch { diags.append(Diagnostic(Location(rel), "copyright file not read, so no license is given for '\(pkg)': \(error)")); return nil }
    }

    private func md5sumBytes(for pkg: String, arch: String?, input: ExtractInput, diags: inout [Diagnostic]) -> [UInt8]? {
        // status.d keeps md5sums beside each record; the status file keeps them in info/.
        var candidates = [input.sibling(input.fileName + ".md5sums"), input.sibling(pkg + ".md5sums")]
        let info = input.sibling("info/")
        if let a = arch { candidates.append(info + "\(pkg):\(a).md5sums") }
        candidates.append(info + "\(pkg).md5sums")
        guard let path = candidates.first(where: { input.index.contains($0) }) else { return nil }
        guard let bytes = try? input.readBytes(path), !bytes.contains(0) else {
            diags.append(Diagnostic(Location(path), "md5sums file is not readable text, skipped"))
            return nil
        }
        return bytes
    }

    static func md5sumFiles(_ bytes: [UInt8]) -> [PackageFile] {
        var files: [PackageFile] = []
        _ = DpkgDatabase.md5sumLines(bytes) { b, hash, path, _ in
            // Paths are written absolute, as dpkg's .list files give them.
            let p = b[path].first == UInt8(ascii: "/") ? String(decoding: b[path], as: UTF8.self) : "/" + String(decoding: b[path], as: UTF8.self)
            files.append(PackageFile(path: p, md5Hex: b[hash]))
        }
        return files
    }
}
