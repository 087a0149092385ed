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
        let parent = PathText.parent(path)
        guard !parent.isEmpty, parent != "/" else { return false }
        return excludesDirectory(parent)
    }

    /// Whether `directory` or one above it matches: the directories not yet known are asked from the
    /// top down, so each is matched once, without recursion.
    private func excludesDirectory(_ directory: String) -> Bool {
        var unknown: [String] = []
        var verdict = false
        var current = directory
        while !current.isEmpty, current != "/" {
            if let known = directories.withLock({ $0[PathKey(current)] }) { verdict = known; break }
            unknown.append(current)
            current = PathText.parent(current)
        }
        for dir in unknown.reversed() {
            if !verdict { verdict = globs.contains { $0.matches(dir) } }
            let v = verdict
            directories.withLock { $0[PathKey(dir)] = v }
        }
        return verdict
    }
}
