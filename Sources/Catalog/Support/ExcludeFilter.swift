import ProvenantCore
import Synchronization

/// `--exclude` globs asked of many paths, as `Glob.excludes` asks them (a path is left out when it or
/// any directory above it matches), with each directory's verdict kept: a deep tree asks about the same
/// directories again and again, and a `**` glob against every leading part of a deep path cost the
/// square of its depth for each file. Shared by the threads that read an image's layers.
public final class ExcludeFilter: Sendable {
    public let globs: [Glob]
    private let directories = Mutex<[PathKey: Bool]>([:])

    public init(_ globs: [Glob]) { self.globs = globs }

    public var isEmpty: Bool { globs.isEmpty }

    public func excludes(_ path: String) -> Bool {
        // The root itself is never left out, as in `Glob.excludes` (found by fuzzing: `./*` matches "").
        guard !globs.isEmpty, !path.isEmpty else { return false }
        if globs.contains(where: { $0.matches(path) }) { return true }
        guard let parent = Self.shorterPrefix(path) else { return false }
        return excludesDirectory(parent)
    }

    /// The next shorter of `PathText.prefixes(path)`: `path` cut at its last '/' past the first byte,
    /// slashes kept as they are. `Glob.excludes` asks every one of those prefixes; `PathText.parent`
    /// would skip some when a path has doubled or trailing slashes ("a/b/" has the prefix "a/b",
    /// "a//b" has "a/"; found by fuzzing: the filter said no where `Glob.excludes` said yes). A prefix's
    /// own prefixes are the leading ones of the path's, so each one's verdict can be kept by itself.
    static func shorterPrefix(_ path: String) -> String? {
        let u = path.utf8
        guard let slash = u.lastIndex(of: 0x2F), slash != u.startIndex else { return nil }
        return String(Substring(u[..<slash]))
    }

    /// Whether `directory` or one of its shorter prefixes matches: the ones not yet known are asked
    /// from the shortest up, so each is matched once, without recursion.
    private func excludesDirectory(_ directory: String) -> Bool {
        var unknown: [String] = []
        var verdict = false
        var current: String? = directory
        while let here = current {
            if let known = directories.withLock({ $0[PathKey(here)] }) { verdict = known; break }
            unknown.append(here)
            current = Self.shorterPrefix(here)
        }
        for dir in unknown.reversed() {
            if !verdict { verdict = globs.contains { $0.matches(dir) } }
            let v = verdict
            directories.withLock { $0[PathKey(dir)] = v }
        }
        return verdict
    }
}
