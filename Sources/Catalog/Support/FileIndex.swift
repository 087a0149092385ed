import Foundation
import ProvenantCore

/// One entry found by the walk. Paths are relative to the scan root, with '/' separators.
public struct IndexedFile: Sendable, Hashable {
    public var path: String
    public var size: Int
    public var isExecutable: Bool
}

/// The single walk of the target. Every extractor is fed from this index, so the tree is read once.
public struct FileIndex: Sendable {
    public let root: String
    public private(set) var files: [IndexedFile] = []
    public private(set) var diagnostics: [Diagnostic] = []
    private var byPath: [String: Int] = [:]
    /// The symbolic links the walk met, by their own paths: not files, but a package database may be
    /// reached through one (`addingLinkedPaths`).
    public private(set) var links: [String] = []
    /// What the scan's whole-file reads draw from, shared by every copy of this index.
    public let budget: ReadBudget
    /// The root-scoped reader every extractor reads through.
    public let source: any FileSource
    /// Directories deeper than this are not walked (and said so).
    public static let maxDepth = 256
    /// Bytes a scan reads whole before it refuses more: eight files at the one-file limit.
    public static let defaultReadBudget = 8 << 30

    /// Walks `root` by directory descriptors: each directory is opened from its parent's descriptor
    /// with `O_NOFOLLOW`, so neither a symbolic link nor a directory swapped for one during the walk
    /// can lead it outside the root, and link loops cannot trap it.
    /// `skippingGitDirectories`: a source tree's `.git` holds history, not what ships, and is passed
    /// over; a check of installed files (where a `.git` under `usr/bin` is itself suspect) walks it.
    public init(root: String, excludes: [Glob] = [], readBudget: Int = FileIndex.defaultReadBudget, skippingGitDirectories: Bool = true) {
        self.root = root
        let budget = ReadBudget(total: readBudget)
        self.budget = budget
        source = RootedDirectory(root: root, budget: budget)
        let isFilesystemRoot = (root as NSString).standardizingPath == "/"
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else {
            diagnostics.append(Diagnostic(Location("."), "directory not readable: \(String(cString: strerror(errno)))", unscanned: .input))
            return
        }
        // A pending directory holds its parent open; the pending ones are siblings of the current
        // path's directories, so at most `maxDepth` descriptors are open at once.
        var stack: [(rel: String, parent: DirectoryDescriptor?, name: String, depth: Int)] = [("", nil, "", 0)]
        let top = DirectoryDescriptor(rootFD)
        while let (rel, parent, dirName, depth) = stack.popLast() {
            let dir: DirectoryDescriptor
            if let parent {
                let fd = openat(parent.fd, dirName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else {
                    diagnostics.append(Diagnostic(Location(rel), "directory not readable: \(String(cString: strerror(errno)))", unscanned: .input))
                    continue
                }
                dir = DirectoryDescriptor(fd)
            } else {
                dir = top
            }
            let listFD = dup(dir.fd)
            guard listFD >= 0, let stream = fdopendir(listFD) else {
                if listFD >= 0 { close(listFD) }
                diagnostics.append(Diagnostic(Location(rel.isEmpty ? "." : rel), "directory not readable: \(String(cString: strerror(errno)))", unscanned: .input))
                continue
            }
            var children: [String] = []
            while let ent = readdir(stream) {
                let bytes = RootedDirectory.entryName(ent)
                // A name that is not UTF-8 cannot be spelled back to the system as a String: it is
                // reported as not read (with the bytes shown repaired), never passed over in silence.
                guard let name = String(validating: bytes, as: UTF8.self) else {
                    let shown = String(decoding: bytes, as: UTF8.self)
                    diagnostics.append(Diagnostic(Location(rel.isEmpty ? shown : rel + "/" + shown), "name is not valid UTF-8; not read", unscanned: .input))
                    continue
                }
                if name == "." || name == ".." { continue }
                children.append(name)
            }
            closedir(stream)
            for name in children.sorted() {
                let childRel = rel.isEmpty ? name : rel + "/" + name
                if excludes.contains(where: { $0.matches(childRel) }) { continue }
                var st = stat()
                guard fstatat(dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                    diagnostics.append(Diagnostic(Location(childRel), "cannot stat: \(String(cString: strerror(errno)))"))
                    continue
                }
                let kind = st.st_mode & S_IFMT
                if kind == S_IFDIR {
                    if name == ".git", skippingGitDirectories { continue }
                    if isFilesystemRoot && rel.isEmpty && ["proc", "sys", "dev", "run", "tmp"].contains(name) { continue }
                    guard depth < Self.maxDepth else {
                        diagnostics.append(Diagnostic(Location(childRel), "more than \(Self.maxDepth) directories deep; not walked", unscanned: .input))
                        continue
                    }
                    stack.append((childRel, dir, name, depth + 1))
                } else if kind == S_IFREG {
                    byPath[childRel] = files.count
                    files.append(IndexedFile(path: childRel, size: Int(st.st_size),
                                             isExecutable: st.st_mode & 0o111 != 0))
                } else if kind == S_IFLNK {
                    links.append(childRel)
                }
            }
        }
    }

    /// An index of a single file given as the target.
    public init(singleFile path: String, readBudget: Int = FileIndex.defaultReadBudget) {
        let budget = ReadBudget(total: readBudget)
        self.budget = budget
        let url = URL(fileURLWithPath: path)
        root = url.deletingLastPathComponent().path
        source = RootedDirectory(root: root, budget: budget)
        var st = stat()
        if lstat(path, &st) == 0 {
            files = [IndexedFile(path: url.lastPathComponent, size: Int(st.st_size), isExecutable: st.st_mode & 0o111 != 0)]
            byPath[url.lastPathComponent] = 0
        } else {
            diagnostics.append(Diagnostic(Location(path), "cannot stat: \(String(cString: strerror(errno)))"))
        }
    }

    /// This index with package databases reached through symbolic links inside the root
    /// (`LinkedPaths`) listed under the paths their extractors name; reads resolve those paths through
    /// their links, inside the root. A path an exclude matches is left out, and a link that leads
    /// nowhere readable is said, as the database is not read.
    public func addingLinkedPaths(_ extractors: [any Extractor], excludes: [Glob] = [],
                                  maxDirectoryEntries: Int = FileIndex.maxLinkedDirectoryEntries) -> FileIndex {
        guard let directory, !links.isEmpty else { return self }
        var unreadableNames: [String] = []
        let found = LinkedPaths.find(extractors, lookUp: { path -> LinkedPaths.Target<IndexedFile> in
            guard let (real, st) = try? directory.lookUp(path) else {
                // The entry's type read inside its parent, opened through the root-scoped reader; a parent
                // that is a file (a directory linked to a file) holds no link, as in an image.
                let broken = LinkedPaths.leadsNowhere(path) { parent, name in
                    if let fd = try? directory.openDirectory(parent) {
                        defer { close(fd) }
                        return RootedDirectory.entryStatus(name, in: fd).status.map { $0.st_mode & S_IFMT == S_IFLNK } ?? false
                    }
                    if let (_, st) = try? directory.lookUp(parent), st.st_mode & S_IFMT != S_IFDIR { return false }
                    return nil
                }
                return broken ? .dangling : .none
            }
            // A file the walk left out (an excluded directory) is still what the database path leads to.
            func indexed(_ real: String, _ st: stat) -> IndexedFile {
                file(real) ?? IndexedFile(path: real, size: Int(st.st_size), isExecutable: st.st_mode & 0o111 != 0)
            }
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                guard real != path else { return .none }
                return .file(real: real, indexed(real, st))
            case S_IFDIR:
                // A link to its own directory or above reads nothing (`LinkedPaths.find`).
                guard real == path || (!real.isEmpty && !path.hasPrefix(real + "/")) else { return .none }
                // Only names an extractor reads there are looked at, and links resolved: a plain
                // `info/` holds thousands of files nothing reads through it.
                func wanted(_ name: String) -> Bool { LinkedPaths.read(path + "/" + name, by: extractors) }
                let prefix = real.isEmpty ? "" : real + "/"
                var entries: [(name: String, real: String, item: IndexedFile)] = []
                var broken: [String] = []
                var resolved = 0
                var steps = Self.maxLinkedEntrySteps
                // A link entry, resolved inside the root; false once too many were, or too many names
                // were walked resolving them.
                func follow(_ name: String) -> Bool {
                    resolved += 1
                    guard resolved <= Self.maxLinkedEntryLinks, steps > 0 else { return false }
                    if let (target, tst) = try? directory.lookUp(prefix + name, steps: &steps) {
                        if tst.st_mode & S_IFMT == S_IFREG { entries.append((name, target, indexed(target, tst))) }
                    } else {
                        broken.append(name)
                    }
                    return true
                }
                if real == path {
                    // Not reached through a link: its files are read where they are, and only the links
                    // the walk met directly in it can lead elsewhere.
                    for link in links where link.hasPrefix(prefix) && !link.utf8.dropFirst(prefix.utf8.count).contains(UInt8(ascii: "/")) {
                        let name = String(link.dropFirst(prefix.count))
                        if wanted(name), !follow(name) { return .unlisted }
                    }
                    return .directory(real: real, entries.sorted { $0.name < $1.name }, broken: broken.sorted())
                }
                // Reached through a link: its entries as they are on disk (the walk may have left the
                // directory out).
                guard let fd = try? directory.openDirectory(real) else { return .dangling }
                defer { close(fd) }
                guard let names = try? RootedDirectory.names(in: fd, fullPath: real, limit: maxDirectoryEntries + 1) else { return .dangling }
                guard names.count <= maxDirectoryEntries else { return .unlisted }
                for raw in names {
                    guard let name = String(validating: raw, as: UTF8.self) else {
                        // Not a name an extractor can be asked about: said, never passed over.
                        unreadableNames.append(path + "/" + String(decoding: raw, as: UTF8.self))
                        continue
                    }
                    guard wanted(name), let est = RootedDirectory.entryStatus(name, in: fd).status else { continue }
                    switch est.st_mode & S_IFMT {
                    case S_IFREG: entries.append((name, prefix + name, indexed(prefix + name, est)))
                    case S_IFLNK: if !follow(name) { return .unlisted }
                    default: continue
                    }
                }
                return .directory(real: real, entries.sorted { $0.name < $1.name }, broken: broken.sorted())
            default:
                return .none
            }
        }, describe: { ($0.size, $0.isExecutable) }, readAtRealPath: { file($0) != nil })
        var copy = self
        for alias in found.aliases where copy.byPath[alias.path] == nil && !Glob.excludes(excludes, alias.path) {
            copy.byPath[alias.path] = copy.files.count
            copy.files.append(IndexedFile(path: alias.path, size: alias.item.size, isExecutable: alias.item.isExecutable))
        }
        for path in found.dangling where !Glob.excludes(excludes, path) {
            copy.diagnostics.append(LinkedPaths.notRead(path))
        }
        for path in found.unlisted where !Glob.excludes(excludes, path) {
            copy.diagnostics.append(LinkedPaths.notListed(path, entries: maxDirectoryEntries, links: Self.maxLinkedEntryLinks, steps: Self.maxLinkedEntrySteps))
        }
        for path in unreadableNames.sorted() where !Glob.excludes(excludes, path) {
            copy.diagnostics.append(Diagnostic(Location(Redactor.quote(path, max: 160)),
                                               "has a name that is not UTF-8, in a directory reached through a symbolic link; not read", unscanned: .input))
        }
        return copy
    }

    /// Entries of a linked database directory (`status.d`) looked at, at most; one with more is not
    /// read, and said.
    public static let maxLinkedDirectoryEntries = 100_000
    /// Links in one database directory (`status.d`, `info/`) followed, at most, among the names an
    /// extractor reads there: each is resolved step by step inside the root. One with more is not read,
    /// and said.
    public static let maxLinkedEntryLinks = 1_000
    /// Names walked resolving those links, at most, across one directory: a link whose targets are long
    /// `a/../a/..` chains costs thousands of directory opens, where a real one costs a few.
    public static let maxLinkedEntrySteps = 100_000

    public func file(_ rel: String) -> IndexedFile? { byPath[rel].map { files[$0] } }
    public func contains(_ rel: String) -> Bool { byPath[rel] != nil }
    /// Absolute path of an indexed file, for messages and for tools run on it; reads go through `directory`.
    public func absolute(_ rel: String) -> String { root == "/" ? "/" + rel : root + "/" + rel }
    /// The same listing read through another source (an image with an earlier layer's version of a file).
    func reading(through other: any FileSource) -> FileIndex {
        var copy = FileIndex(listing: files, byPath: byPath, root: root, budget: budget, source: other)
        copy.diagnostics = diagnostics
        return copy
    }

    private init(listing: [IndexedFile], byPath: [String: Int], root: String, budget: ReadBudget, source: any FileSource) {
        self.root = root; self.files = listing; self.byPath = byPath; self.budget = budget; self.source = source
    }

    /// The directory behind this index, when it is one on disk (not an image).
    public var directory: RootedDirectory? { source as? RootedDirectory }

    /// An index of an image's squashed root filesystem; `name` stands for the root in messages.
    /// `excludes` leave out a path, or everything under a directory, as the directory walk does.
    public init(image: ImageFileSource, name: String, excludes: [Glob] = []) {
        root = name
        budget = image.budget
        source = image
        // A file screened out while its layer streamed (an executable without Go build info) was
        // checked then and holds nothing any extractor reads: it is not offered to them again.
        // Package databases reached through links (`SquashedFileSystem.aliases`) are listed as files too.
        let listed = image.filesystem.aliases.isEmpty ? image.filesystem.files()
            : (image.filesystem.files() + image.filesystem.aliases).sorted { $0.path < $1.path }
        let filter = ExcludeFilter(excludes)
        for f in listed where f.node.content?.screenedOut != true && f.node.content?.excluded != true && !filter.excludes(f.path) {
            byPath[f.path] = files.count
            files.append(IndexedFile(path: f.path, size: f.node.size, isExecutable: f.node.mode & 0o111 != 0))
        }
    }
}

/// An open directory of the walk, closed when the last pending child lets go of it.
private final class DirectoryDescriptor {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// Shell-style globs: `*` and `?` stay inside one path segment, `**` crosses segments.
/// A pattern without '/' is also tried against every trailing part of the path, as gitignore does;
/// one that starts with '/' is anchored at the target's root (`/etc` is the image's or tree's `etc`
/// only, as syft spells an image path), and so is one that starts with `./`.
public struct Glob: Sendable {
    public let pattern: String
    private let p: [UInt8]
    /// Matched against the whole path only, never a trailing part of it.
    private let anchored: Bool
    public init(_ pattern: String) {
        var pat = pattern
        var anchored = false
        while pat.hasPrefix("./") || pat.hasPrefix("/") { pat.removeFirst(pat.hasPrefix("/") ? 1 : 2); anchored = true }
        self.pattern = pat
        self.anchored = anchored
        p = Array(pat.utf8)
    }

    /// Whether `path` is left out by any of `globs`: itself or a directory it is in, as the directory
    /// walk leaves them out. The one exclude check of trees, images and the secrets scan of images.
    public static func excludes(_ globs: [Glob], _ path: String) -> Bool {
        guard !globs.isEmpty else { return false }
        var end = path.startIndex
        while end < path.endIndex {
            end = path[path.index(after: end)...].firstIndex(of: "/") ?? path.endIndex
            let prefix = String(path[..<end])
            if globs.contains(where: { $0.matches(prefix) }) { return true }
        }
        return false
    }

    /// The pattern against the whole string, never a suffix after a '/'.
    public func matchesWhole(_ s: String) -> Bool { Self.match(p[...], Array(s.utf8)[...]) }

    public func matches(_ path: String) -> Bool {
        let s = Array(path.utf8)
        if Self.match(p[...], s[...]) { return true }
        if !anchored && (!p.contains(UInt8(ascii: "/")) || pattern.hasPrefix("**/")) {
            for (i, c) in s.enumerated() where c == UInt8(ascii: "/") {
                if Self.match(p[...], s[(i + 1)...]) { return true }
            }
        }
        return false
    }

    private static func match(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        guard let c = p.first else { return s.isEmpty }
        let star = UInt8(ascii: "*"), slash = UInt8(ascii: "/")
        if c == star {
            let double = p.dropFirst().first == star
            var rest = p.dropFirst(double ? 2 : 1)
            if double, rest.first == slash {
                // `**/` may match zero segments.
                if match(rest.dropFirst(), s) { return true }
                rest = p.dropFirst(2)
            }
            var i = s.startIndex
            while true {
                if match(rest, s[i...]) { return true }
                if i == s.endIndex { return false }
                if !double && s[i] == slash { return false }
                i += 1
            }
        }
        guard let h = s.first else { return false }
        if c == UInt8(ascii: "?") ? h != slash : c == h { return match(p.dropFirst(), s.dropFirst()) }
        return false
    }
}
