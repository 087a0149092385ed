import Foundation
import ProvenantCore

/// A configuration file recorded in the SBOM so `diff` can see it change: its path inside the target
/// and the SHA-256 of its bytes. The bytes themselves are never recorded (they may hold secrets).
public struct ConfigFile: Sendable, Hashable, Codable, Comparable {
    public var path: String
    public var digest: Digest
    /// The image layer that put it there, for an image.
    public var layer: String?
    public init(path: String, digest: Digest, layer: String? = nil) { self.path = path; self.digest = digest; self.layer = layer }
    public static func < (a: ConfigFile, b: ConfigFile) -> Bool { (a.path, a.digest) < (b.path, b.digest) }
}

/// Which files count as configuration: the `--config` globs, and the agent manifest wherever it is.
public struct ConfigSelection: Sendable {
    /// The agent manifest's file name; it is recorded by default when one is found.
    public static let manifestName = "provenant.agent.yaml"
    public var globs: [Glob]
    public init(globs: [String]) { self.globs = globs.map { Glob($0) } }

    public func selects(_ path: String) -> Bool {
        PathText.lastComponent(path) == Self.manifestName || globs.contains { $0.matches(path) }
    }

    /// Hashes each selected file through the index's source (so only files inside the target are read).
    /// A file that cannot be read is a diagnostic: it is not silently left out of the baseline.
    public func record(_ index: FileIndex) -> (files: [ConfigFile], diagnostics: [Diagnostic]) {
        var out = Recorded(index: index)
        for f in index.files where selects(f.path) { out.add(f.path, reading: f.path) }
        // A selected name that is a symbolic link is read through it, inside the target only, and
        // recorded under its own path: it was left out without a word, and `diff` passed a changed
        // manifest behind a link (found by helper-135). One that leads nowhere readable is not checked.
        for link in selectedLinks(index) where !index.contains(link) {
            out.add(link, reading: link, note: "configuration file is a symbolic link, not recorded through it")
        }
        if !globs.isEmpty, let dir = index.directory { recordThroughLinkedDirectories(index, dir, &out) }
        // A FIFO, socket or device under a selected name is never opened: not checked, where `diff`
        // had read it as the manifest removed (left undone by helper-138).
        for path in index.specials where selects(path) {
            out.diagnostics.append(Diagnostic(Location(Redactor.quote(path, max: 160)),
                                              "configuration file is not a regular file (a FIFO, socket or device); not recorded", unscanned: .input))
        }
        return (out.files.sorted(), out.diagnostics)
    }

    /// What `record` gathers, and how a file is read into it.
    struct Recorded {
        let index: FileIndex
        var files: [ConfigFile] = [], diagnostics: [Diagnostic] = []
        mutating func add(_ path: String, reading real: String, note: String = "configuration file not recorded") {
            do {
                let bytes = try index.source.read(real, limit: 64 << 20)
                files.append(ConfigFile(path: path, digest: FileDigest.sha256(bytes)))
            } catch {
                diagnostics.append(Diagnostic(Location(path), "\(note): \(error)", unscanned: .input))
            }
        }
    }

    /// Looks, at most, past which what is left through linked directories is not checked.
    static let maxLinkedLooks = 2_000_000
    static let maxLinkedFiles = 10_000

    /// A `--config` glob may name files through a linked directory (`etc/app -> /opt/app/conf`): they
    /// matched nothing and were dropped without a word (helper-138). The files under a linked directory
    /// inside the target are matched under the link's name too, and read where they are, for links a
    /// glob could match below; a link there that leads out, or a link within the linked directory (not
    /// followed again), is not checked. Bounded: thousands of links to a large directory took half a
    /// minute (helper-139), and what the bound leaves is said.
    func recordThroughLinkedDirectories(_ index: FileIndex, _ dir: RootedDirectory, _ out: inout Recorded) {
        let literals = globs.map { g in String(g.pattern.prefix { !"*?[{".contains($0) }) }
        func couldMatchBelow(_ path: String) -> Bool {
            let d = path + "/"
            return literals.contains { $0.hasPrefix(d) || d.hasPrefix($0) }
        }
        var recorded = Set(out.files.map(\.path))
        var looks = Self.maxLinkedLooks, aliased = Self.maxLinkedFiles
        for link in index.links where !index.contains(link) && couldMatchBelow(link) {
            var steps = 4096
            guard let (real, st) = try? dir.lookUp(link, steps: &steps) else {
                out.diagnostics.append(Diagnostic(Location(link), "configuration a --config glob may name below this symbolic link is not recorded: it leads outside the target or nowhere", unscanned: .input))
                continue
            }
            guard st.st_mode & S_IFMT == S_IFDIR else { continue }
            let prefix = real.isEmpty ? "" : real + "/"
            // Every look (a link or a file under the linked directory) is charged to one budget; what
            // it leaves unlooked at is said.
            func spend() -> Bool {
                looks -= 1
                if looks >= 0 && aliased >= 0 { return true }
                out.diagnostics.append(Diagnostic(Location(link), "more files through linked directories than --config globs are matched against (\(Self.maxLinkedLooks) looks, \(Self.maxLinkedFiles) files); configuration there is not recorded", unscanned: .input))
                return false
            }
            for nested in index.links where nested.hasPrefix(prefix) && nested != link {
                guard spend() else { return }
                let alias = link + "/" + nested.dropFirst(prefix.count)
                if couldMatchBelow(alias) || globs.contains(where: { $0.matches(alias) }) {
                    out.diagnostics.append(Diagnostic(Location(alias), "is a symbolic link within a linked directory, not followed; configuration a --config glob may name there is not recorded", unscanned: .input))
                }
            }
            for f in index.files where f.path.hasPrefix(prefix) {
                let alias = link + "/" + f.path.dropFirst(prefix.count)
                guard !recorded.contains(alias), globs.contains(where: { $0.matches(alias) }) else {
                    guard spend() else { return }
                    continue
                }
                aliased -= 1
                guard spend() else { return }
                recorded.insert(alias)
                out.add(alias, reading: f.path)
            }
        }
    }

    /// The symbolic links the walk met whose names are selected: a directory's, or an image's.
    func selectedLinks(_ index: FileIndex) -> [String] {
        var links = index.links.filter(selects)
        if let image = index.source as? ImageFileSource {
            image.filesystem.walk { path, node in
                if case .symbolicLink = node.kind, selects(path) { links.append(path) }
            }
        }
        return links
    }
}
