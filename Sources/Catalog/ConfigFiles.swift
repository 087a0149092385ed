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
        var files: [ConfigFile] = [], diags: [Diagnostic] = []
        for f in index.files where selects(f.path) {
            do {
                let bytes = try index.source.read(f.path, limit: 64 << 20)
                files.append(ConfigFile(path: f.path, digest: FileDigest.sha256(bytes)))
            } catch {
                diags.append(Diagnostic(Location(f.path), "configuration file not recorded: \(error)", unscanned: .input))
            }
        }
        // A selected name that is a symbolic link is read through it, inside the target only, and
        // recorded under its own path: it was left out without a word, and `diff` passed a changed
        // manifest behind a link (found by helper-135). One that leads nowhere readable is not checked.
        for link in selectedLinks(index) where !index.contains(link) {
            do {
                let bytes = try index.source.read(link, limit: 64 << 20)
                files.append(ConfigFile(path: link, digest: FileDigest.sha256(bytes)))
            } catch {
                diags.append(Diagnostic(Location(link), "configuration file is a symbolic link, not recorded through it: \(error)", unscanned: .input))
            }
        }
        // A `--config` glob may name files through a linked directory (`etc/app -> /opt/app/conf`):
        // matched nothing and dropped without a word (helper-138). The files under a linked directory
        // inside the target are matched under the link's name too, and read where they are; a link
        // that leads out, when a glob names something below it, is not checked.
        if !globs.isEmpty, let dir = index.directory {
            var recorded = Set(files.map(\.path))
            for link in index.links where !index.contains(link) {
                var steps = 4096
                guard let (real, st) = try? dir.lookUp(link, steps: &steps) else {
                    if globs.contains(where: { $0.pattern.hasPrefix(link + "/") }) {
                        diags.append(Diagnostic(Location(link), "configuration named below this symbolic link is not recorded: it leads outside the target or nowhere", unscanned: .input))
                    }
                    continue
                }
                guard st.st_mode & S_IFMT == S_IFDIR else { continue }
                let prefix = real.isEmpty ? "" : real + "/"
                for f in index.files where f.path.hasPrefix(prefix) {
                    let aliased = link + "/" + f.path.dropFirst(prefix.count)
                    guard !recorded.contains(aliased), globs.contains(where: { $0.matches(aliased) }) else { continue }
                    recorded.insert(aliased)
                    do {
                        let bytes = try index.source.read(f.path, limit: 64 << 20)
                        files.append(ConfigFile(path: aliased, digest: FileDigest.sha256(bytes)))
                    } catch {
                        diags.append(Diagnostic(Location(aliased), "configuration file not recorded: \(error)", unscanned: .input))
                    }
                }
            }
        }
        return (files.sorted(), diags)
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
