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
    /// By path compared as bytes (`PathKey`): two names a filesystem holds apart stay apart.
    private var byPath: [PathKey: Int] = [:]
    /// The symbolic links the walk met, by their own paths: not files, but a package database may be
    /// reached through one (`addingLinkedPaths`).
    public private(set) var links: [String] = []
    /// Entries that are neither files, directories nor links (FIFOs, sockets, devices), by path: never
    /// read, and said where an extractor reads the name (`addingLinkedPaths`).
    public private(set) var specials: [String] = []
    /// The directories of `skippedAtFilesystemRoot` the walk left out, when the root is `/`, in name
    /// order: a caller that must say what went unread (`policy check /`) names them.
    public private(set) var skippedAtRoot: [String] = []
    /// What the scan's whole-file reads draw from, shared by every copy of this index.
    public let budget: ReadBudget
    /// Files one job of the scan reads for all (shared by every copy of this index).
    public let claims = ReadOnceClaims()
    /// The workspace members each directory declares, read once a scan (see `PackageJSONExtractor`).
    public let workspaceMembers = ScanMemo<WorkspaceMembers>()
    /// The scan's `--exclude` patterns: a file an extractor reads beside its own (a dpkg copyright file)
    /// is left unread when they exclude it, as the walk left it out.
    public private(set) var excludes: [Glob] = []
    /// The root-scoped reader every extractor reads through.
    public let source: any FileSource
    /// The host's pseudo-filesystems and scratch directories, not walked when the root is `/`.
    public static let skippedAtFilesystemRoot: Set<String> = ["proc", "sys", "dev", "run", "tmp"]
    /// Directories deeper than this are not walked (and said so).
    public static let maxDepth = 256
    /// Bytes a scan reads whole before it refuses more: eight files at the one-file limit.
    public static let defaultReadBudget = 8 << 30

    /// Walks `root` by directory descriptors: each directory is opened from its parent's descriptor
    /// with `O_NOFOLLOW`, so neither a symbolic link nor a directory swapped for one during the walk
    /// can lead it outside the root, and link loops cannot trap it.
    /// `skippingGitDirectories`: a source tree's `.git` holds history, not what ships, and is passed
    /// over; a check of installed files (where a `.git` under `usr/bin` is itself suspect) walks it.
    /// `keptFromGitDirectories`: files of a skipped `.git` still listed, when they are regular files
    /// (`config`, where a remote's URL may carry a token, for a secrets scan); a name ending in `/`
    /// lists the regular files directly in that directory (`hooks/`).
    public init(root: String, excludes: [Glob] = [], readBudget: Int = FileIndex.defaultReadBudget, skippingGitDirectories: Bool = true,
                keptFromGitDirectories: [String] = []) {
        self.root = root
        self.excludes = excludes
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
                let bytes = DirectoryEntry.name(ent)
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
            for name in children.sorted(by: PathKey.byBytes) {
                let childRel = rel.isEmpty ? name : rel + "/" + name
                if excludes.contains(where: { $0.matches(childRel) }) { continue }
                var st = stat()
                guard fstatat(dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                    diagnostics.append(Diagnostic(Location(childRel), "cannot stat: \(String(cString: strerror(errno)))"))
                    continue
                }
                let kind = st.st_mode & S_IFMT
                if kind == S_IFDIR {
                    if name == ".git", skippingGitDirectories {
                        let gitFD = openat(dir.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        guard gitFD >= 0 else { continue }
                        defer { close(gitFD) }
                        for kept in keptFromGitDirectories {
                            // `hooks/`: the regular files directly in that directory (scripts git runs,
                            // where a token may be written: found by helper-141).
                            if kept.hasSuffix("/") {
                                let sub = String(kept.dropLast())
                                let subFD = openat(gitFD, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                                guard subFD >= 0 else { continue }
                                defer { close(subFD) }
                                let subRel = childRel + "/" + sub
                                // Listed up to a bound, and what is past it or unlistable said (helper-143).
                                let listed: [[UInt8]]
                                do { listed = try RootedDirectory.names(in: subFD, fullPath: subRel, limit: Self.maxKeptGitEntries + 1) } catch {
                                    diagnostics.append(Diagnostic(Location(subRel), "directory not listed: \(error)", unscanned: .input))
                                    continue
                                }
                                if listed.count > Self.maxKeptGitEntries {
                                    diagnostics.append(Diagnostic(Location(subRel), "more than \(Self.maxKeptGitEntries) entries; none of them read", unscanned: .input))
                                    continue
                                }
                                for bytes in listed {
                                    guard let n = String(validating: bytes, as: UTF8.self) else {
                                        diagnostics.append(Diagnostic(Location(subRel), "a file name that is not UTF-8; not read", unscanned: .input))
                                        continue
                                    }
                                    keepGitFile(n, in: subFD, as: subRel + "/" + n)
                                }
                                continue
                            }
                            keepGitFile(kept, in: gitFD, as: childRel + "/" + kept)
                        }
                        continue
                    }
                    if isFilesystemRoot && rel.isEmpty && Self.skippedAtFilesystemRoot.contains(name) { skippedAtRoot.append(name); continue }
                    guard depth < Self.maxDepth else {
                        diagnostics.append(Diagnostic(Location(childRel), "more than \(Self.maxDepth) directories deep; not walked", unscanned: .input))
                        continue
                    }
                    stack.append((childRel, dir, name, depth + 1))
                } else if kind == S_IFREG {
                    byPath[PathKey(childRel)] = files.count
                    files.append(IndexedFile(path: childRel, size: Int(st.st_size),
                                             isExecutable: st.st_mode & 0o111 != 0))
                } else if kind == S_IFLNK {
                    links.append(childRel)
                } else {
                    specials.append(childRel)
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
            byPath[PathKey(url.lastPathComponent)] = 0
        } else {
            diagnostics.append(Diagnostic(Location(path), "cannot stat: \(String(cString: strerror(errno)))"))
        }
    }

    /// This index with package databases reached through symbolic links inside the root
    /// (`LinkedPaths`) listed under the paths their extractors name; reads resolve those paths through
    /// their links, inside the root. A path an exclude matches is left out, and a link that leads
    /// nowhere readable is said, as the database is not read.
    public func addingLinkedPaths(_ extractors: [any Extractor], excludes: [Glob] = [],
                                  maxDirectoryEntries: Int = FileIndex.maxLinkedDirectoryEntries,
                                  maxLinkedSteps: Int = FileIndex.maxLinkedEntrySteps) -> FileIndex {
        guard let directory, !links.isEmpty else { return specials.isEmpty ? self : withSpecialsSaid(extractors, excludes: excludes) }
        var unreadableNames: [String] = []
        let found = LinkedPaths.find(extractors, lookUp: { path -> LinkedPaths.Target<IndexedFile> in
            let looked: (canonical: String, status: stat)?
            do throws(FileAccessError) { looked = try directory.lookUp(path) } catch .linkBudgetSpent { return .budgetSpent } catch { looked = nil }
            guard let (real, st) = looked else {
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
                var steps = maxLinkedSteps
                var budgetSpent = false
                // A link entry, resolved inside the root; false once too many were, or too many names
                // were walked resolving them.
                func follow(_ name: String) -> Bool {
                    resolved += 1
                    guard resolved <= Self.maxLinkedEntryLinks, steps > 0 else { return false }
                    do throws(FileAccessError) {
                        let (target, tst) = try directory.lookUp(prefix + name, steps: &steps)
                        if tst.st_mode & S_IFMT == S_IFREG { entries.append((name, target, indexed(target, tst))) }
                    } catch .linkBudgetSpent {
                        // The scan's link budget ran out: said once for the scan, and the directory is
                        // not read, rather than this link said to lead nowhere.
                        budgetSpent = true
                        return false
                    } catch {
                        // The directory's budget ran out on this link: the directory is over it, and the
                        // link need not lead nowhere.
                        if steps <= 0 { return false }
                        broken.append(name)
                    }
                    return true
                }
                if real == path {
                    // Not reached through a link: its files are read where they are, and only the links
                    // the walk met directly in it can lead elsewhere.
                    for link in links where link.hasPrefix(prefix) && !link.utf8.dropFirst(prefix.utf8.count).contains(UInt8(ascii: "/")) {
                        let name = String(link.dropFirst(prefix.count))
                        if wanted(name), !follow(name) { return budgetSpent ? .budgetSpent : .unlisted }
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
                        // Not a name an extractor can be given: said, never passed over, when its
                        // readable spelling is one an extractor reads there (any name in `status.d`,
                        // a `.md5sums` in `info/`).
                        let shown = String(decoding: raw, as: UTF8.self)
                        if wanted(shown) { unreadableNames.append(path + "/" + shown) }
                        continue
                    }
                    guard wanted(name), let est = RootedDirectory.entryStatus(name, in: fd).status else { continue }
                    switch est.st_mode & S_IFMT {
                    case S_IFREG: entries.append((name, prefix + name, indexed(prefix + name, est)))
                    case S_IFLNK: if !follow(name) { return budgetSpent ? .budgetSpent : .unlisted }
                    default: continue
                    }
                }
                return .directory(real: real, entries.sorted { $0.name < $1.name }, broken: broken.sorted())
            default:
                return .none
            }
        }, describe: { ($0.size, $0.isExecutable) }, readAtRealPath: { file($0) != nil })
        var copy = self
        for alias in found.aliases where copy.byPath[PathKey(alias.path)] == nil && !Glob.excludes(excludes, alias.path) {
            copy.byPath[PathKey(alias.path)] = copy.files.count
            copy.files.append(IndexedFile(path: alias.path, size: alias.item.size, isExecutable: alias.item.isExecutable))
        }
        for path in found.dangling where !Glob.excludes(excludes, path) {
            copy.diagnostics.append(LinkedPaths.notRead(path))
        }
        for path in found.unlisted where !Glob.excludes(excludes, path) {
            copy.diagnostics.append(LinkedPaths.notListed(path, entries: maxDirectoryEntries, links: Self.maxLinkedEntryLinks, steps: maxLinkedSteps))
        }
        for path in found.budgetSpent where !Glob.excludes(excludes, path) {
            copy.diagnostics.append(LinkedPaths.notFollowed(path, names: directory.linkNames.total))
        }
        for path in unreadableNames.sorted() where !Glob.excludes(excludes, path) {
            copy.diagnostics.append(Diagnostic(Location(Redactor.quote(path, max: 160)),
                                               "has a name that is not UTF-8, in a directory reached through a symbolic link; not read", unscanned: .input))
        }
        // A link named as a file an extractor reads (a lockfile, a manifest) is not read through: said,
        // so the SBOM is not called complete (found by helper-107: `package-lock.json -> ../outside/…`
        // gave 0 components and an aggregate of "complete"), unless it leads to a file inside the root
        // that is read where it is, under a name an extractor reads. At most 10,000 are looked up; past
        // that the rest are said as not checked (review).
        let databasePaths = extractors.flatMap(\.linkedPaths)
        // Package databases' paths (`LinkedPaths`), at the root or below a link to it (`lib -> usr/lib`),
        // were handled above.
        func isDatabasePath(_ link: String) -> Bool {
            let bounded = "/" + link + "/"
            return databasePaths.contains { p in p.hasSuffix("/") ? bounded.contains("/" + p) : bounded.hasSuffix("/" + p + "/") }
        }
        var budget = 10_000
        var unchecked = 0
        // The name tests first: the path tests cost each link its path's length (times its depth, for
        // an exclude), and 1,000 links 250 directories deep took 48 s (found by helper-232).
        for link in links where copy.byPath[PathKey(link)] == nil && LinkedPaths.read(link, by: extractors)
            && !isDatabasePath(link) && !Glob.excludes(excludes, link) {
            guard budget > 0 else { unchecked += 1; continue }
            budget -= 1
            var steps = maxLinkedSteps
            if let (real, st) = try? directory.lookUp(link, steps: &steps), st.st_mode & S_IFMT == S_IFREG,
               copy.byPath[PathKey(real)] != nil, !Glob.excludes(excludes, real), LinkedPaths.read(real, by: extractors) { continue }
            copy.diagnostics.append(Diagnostic(Location(Redactor.quote(link, max: 160)),
                                               "is a symbolic link, not read through: it leads outside the target, to nothing readable, or to a file not read under its own name", unscanned: .input))
        }
        // A link standing for a package's directory (`node_modules/x`, `x-1.0.dist-info`) whose manifest
        // an extractor would read: not followed, it dropped the package without a word (found by
        // helper-151), unless it leads to a directory inside the root read where it is.
        // Only links named as a package's directory are asked: any other link (`README.md -> docs/…`,
        // a venv's `lib64 -> lib`) was flagged too (found by helper-153).
        let packageFiles = ["package.json", "METADATA", "PKG-INFO"]
        func packageDirectory(_ link: String) -> Bool {
            let parts = link.split(separator: "/")
            guard let last = parts.last, !last.hasPrefix(".") else { return false }
            if last.hasSuffix(".dist-info") || last.hasSuffix(".egg-info") { return true }
            if parts.count >= 2, parts[parts.count - 2] == "node_modules" { return true }
            return parts.count >= 3 && parts[parts.count - 3] == "node_modules" && parts[parts.count - 2].hasPrefix("@")
        }
        for link in links where copy.byPath[PathKey(link)] == nil && packageDirectory(link) && !LinkedPaths.read(link, by: extractors)
            && !isDatabasePath(link) && !Glob.excludes(excludes, link) {
            guard budget > 0 else { unchecked += 1; continue }
            budget -= 1
            // A directory inside the root whose manifest is read where it is (a pnpm store, a workspace);
            // one the walk skipped (under `.git`, excluded, too deep) is not (helper-154).
            var steps = maxLinkedSteps
            if let (real, st) = try? directory.lookUp(link, steps: &steps), st.st_mode & S_IFMT == S_IFDIR,
               packageFiles.contains(where: { copy.byPath[PathKey(real + "/" + $0)] != nil }) { continue }
            copy.diagnostics.append(Diagnostic(Location(Redactor.quote(link, max: 160)),
                                               "is a symbolic link to a package's directory, not read through: it leads outside the target or to a directory not read where it is", unscanned: .input))
        }
        if unchecked > 0 {
            copy.diagnostics.append(Diagnostic(Location(Redactor.quote(directory.root, max: 160)),
                                               "\(unchecked) more symbolic links named as files an extractor reads were not looked up; files reached through them were not read", unscanned: .input))
        }
        return copy.withSpecialsSaid(extractors, excludes: excludes)
    }

    /// A FIFO, socket or device under a name an extractor reads (`package-lock.json`) is not read, and
    /// is said as not checked: it was dropped by the walk and the SBOM said complete (found by helper-135).
    func withSpecialsSaid(_ extractors: [any Extractor], excludes: [Glob]) -> FileIndex {
        var copy = self
        for path in specials where LinkedPaths.read(path, by: extractors) && !Glob.excludes(excludes, path) {
            copy.diagnostics.append(Diagnostic(Location(Redactor.quote(path, max: 160)),
                                               "is not a regular file (a FIFO, socket or device); not read", unscanned: .input))
        }
        return copy
    }

    /// A file of a skipped `.git` listed as `rel`, when it is a regular file and not excluded.
    private mutating func keepGitFile(_ name: String, in dirFD: Int32, as rel: String) {
        var st = stat()
        guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
        if excludes.contains(where: { $0.matches(rel) }) { return }
        byPath[PathKey(rel)] = files.count
        files.append(IndexedFile(path: rel, size: Int(st.st_size), isExecutable: st.st_mode & 0o111 != 0))
    }

    /// Entries of a kept `.git` directory (`hooks/`) listed, at most; one with more is not read, and said.
    public static let maxKeptGitEntries = 10_000

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

    public func file(_ rel: String) -> IndexedFile? { byPath[PathKey(rel)].map { files[$0] } }
    public func contains(_ rel: String) -> Bool { byPath[PathKey(rel)] != nil }
    /// Absolute path of an indexed file, for messages and for tools run on it; reads go through `directory`.
    public func absolute(_ rel: String) -> String { root == "/" ? "/" + rel : root + "/" + rel }
    /// The same listing read through another source (an image with an earlier layer's version of a file).
    func reading(through other: any FileSource) -> FileIndex {
        var copy = FileIndex(listing: files, byPath: byPath, root: root, budget: budget, source: other)
        copy.diagnostics = diagnostics
        return copy
    }

    private init(listing: [IndexedFile], byPath: [PathKey: Int], root: String, budget: ReadBudget, source: any FileSource) {
        self.root = root; self.files = listing; self.byPath = byPath; self.budget = budget; self.source = source
    }

    /// The directory behind this index, when it is one on disk (not an image).
    public var directory: RootedDirectory? { source as? RootedDirectory }

    /// An index of an image's squashed root filesystem; `name` stands for the root in messages.
    /// `excludes` leave out a path, or everything under a directory, as the directory walk does.
    public init(image: ImageFileSource, name: String, excludes: [Glob] = []) {
        root = name
        self.excludes = excludes
        budget = image.budget
        source = image
        // A file screened out while its layer streamed (an executable without Go build info) was
        // checked then and holds nothing any extractor reads: it is not offered to them again.
        // Package databases reached through links (`SquashedFileSystem.aliases`) are listed as files too.
        let listed = image.filesystem.aliases.isEmpty ? image.filesystem.files()
            : (image.filesystem.files() + image.filesystem.aliases).sorted { PathKey.byBytes($0.path, $1.path) }
        let filter = ExcludeFilter(excludes)
        for f in listed where f.node.content?.screenedOut != true && f.node.content?.excluded != true && !filter.excludes(f.path) {
            byPath[PathKey(f.path)] = files.count
            files.append(IndexedFile(path: f.path, size: f.node.size, isExecutable: f.node.mode & 0o111 != 0))
        }
        // FIFOs and devices, said where an extractor reads their names, as in a directory (helper-138).
        image.filesystem.walk { path, node in
            if case .other = node.kind, !filter.excludes(path) { specials.append(path) }
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
    /// The pattern as steps of a matcher that reads a path once, byte by byte: the cost of a match is
    /// the path's length times the pattern's, whatever the stars, and never grows with the path's depth.
    private let steps: [Step]
    /// Also tried against the part of a path after each '/': a pattern of no '/' names a file or
    /// directory at any depth, as does one that starts with `**/`.
    private let atAnyDepth: Bool
    /// For a pattern of fewer than 64 steps (all real ones), the steps as bits, so one byte of a path is
    /// a few machine operations: `literals[c]`, the steps that are the byte `c`; the steps that take any
    /// byte but '/' and move on (`?`), or stay (`*`); those that stay on any byte (`**`). `literals` is
    /// empty for longer patterns, which take the step-by-step loop.
    private let literals: [UInt64]
    private let one: UInt64, star: UInt64, doubleStar: UInt64
    /// Steps that may be passed without a byte (a star's), and `**/`'s skips over its two steps.
    private let passable: UInt64, skips: UInt64

    /// One step of a pattern: `*` is any run of bytes but '/'; `**` any run at all; `?` one byte but '/'.
    /// `**/` is nothing, or any run that ends with '/': a `skip` that may pass over the two steps after
    /// it, `**` and '/'.
    private enum Step: Sendable, Equatable { case byte(UInt8), one, star, doubleStar, skip }

    /// An `--exclude` pattern: `vendor/` names the directory, as in .gitignore. Without the slash it
    /// matches it and all below it; with it, it matched nothing, as no path ends in '/' (helper-75).
    public init(excluding pattern: String) {
        var pat = pattern
        while pat.utf8.count > 1, pat.hasSuffix("/") { pat.removeLast() }
        self.init(pat)
    }

    public init(_ pattern: String) {
        var pat = pattern
        var anchored = false
        while pat.hasPrefix("./") || pat.hasPrefix("/") { pat.removeFirst(pat.hasPrefix("/") ? 1 : 2); anchored = true }
        self.pattern = pat
        let p = Array(pat.utf8)
        atAnyDepth = !anchored && (!p.contains(UInt8(ascii: "/")) || pat.hasPrefix("**/"))
        var steps: [Step] = []
        var i = 0
        while i < p.count {
            switch p[i] {
            case UInt8(ascii: "*"):
                if i + 1 < p.count, p[i + 1] == UInt8(ascii: "*") {
                    if i + 2 < p.count, p[i + 2] == UInt8(ascii: "/") { steps += [.skip, .doubleStar, .byte(p[i + 2])]; i += 3 } else { steps.append(.doubleStar); i += 2 }
                } else {
                    steps.append(.star); i += 1
                }
            case UInt8(ascii: "?"): steps.append(.one); i += 1
            case let c: steps.append(.byte(c)); i += 1
            }
        }
        self.steps = steps
        var literals: [UInt64] = []
        var one: UInt64 = 0, star: UInt64 = 0, doubleStar: UInt64 = 0, passable: UInt64 = 0, skips: UInt64 = 0
        if steps.count < 64 {
            // Built per pattern, and some callers build one per check: a zeroed table and a bit per step.
            literals = [UInt64](repeating: 0, count: 256)
            for (i, step) in steps.enumerated() {
                let bit = UInt64(1) << UInt64(i)
                switch step {
                case .byte(let b): literals[Int(b)] |= bit
                case .one: one |= bit
                case .star: star |= bit; passable |= bit
                case .doubleStar: doubleStar |= bit; passable |= bit
                case .skip: passable |= bit; skips |= bit
                }
            }
        }
        self.literals = literals
        (self.one, self.star, self.doubleStar, self.passable, self.skips) = (one, star, doubleStar, passable, skips)
    }

    /// Whether `path` is left out by any of `globs`: itself or a directory it is in, as the directory
    /// walk leaves them out. The one exclude check of trees, images and the secrets scan of images.
    public static func excludes(_ globs: [Glob], _ path: String) -> Bool {
        guard !globs.isEmpty else { return false }
        return PathText.prefixes(path).contains { prefix in globs.contains { $0.matches(prefix) } }
    }

    /// The pattern against the whole string, never a suffix after a '/'.
    public func matchesWhole(_ s: String) -> Bool { run(Array(s.utf8), restartAtSlashes: false) }

    public func matches(_ path: String) -> Bool { run(Array(path.utf8), restartAtSlashes: atAnyDepth) }

    /// Reads `s` once, keeping every step the pattern could have reached so far (a set, so no choice is
    /// ever tried twice). With `restartAtSlashes` the pattern also starts afresh after each '/', which is
    /// matching it against every trailing part of `s` in the same single pass.
    private func run(_ s: [UInt8], restartAtSlashes: Bool) -> Bool {
        literals.isEmpty ? runSteps(s, restartAtSlashes: restartAtSlashes) : runBits(s, restartAtSlashes: restartAtSlashes)
    }

    /// `run` on the bit table: the same steps, as a set of bits (none for a pattern of 64 steps or more,
    /// which the step loop answers).
    func runBits(_ s: [UInt8], restartAtSlashes: Bool) -> Bool {
        guard !literals.isEmpty else { return runSteps(s, restartAtSlashes: restartAtSlashes) }
        let (one, star, doubleStar, passable, skips) = (one, star, doubleStar, passable, skips)
        func close(_ x: UInt64) -> UInt64 {
            var x = x
            while true {
                let n = x | (x & passable) << 1 | (x & skips) << 3
                if n == x { return x }
                x = n
            }
        }
        let accept = UInt64(1) << UInt64(steps.count)
        let slash = UInt8(ascii: "/")
        return literals.withUnsafeBufferPointer { lit in
            var live = close(1)
            for c in s {
                var next: UInt64
                if c == slash {
                    next = (live & lit[Int(c)]) << 1 | live & doubleStar
                    if restartAtSlashes { next |= 1 }
                } else {
                    next = (live & (lit[Int(c)] | one)) << 1 | live & (star | doubleStar)
                }
                // Nothing left to reach: no match, unless the pattern starts again after a later '/'.
                if next == 0 && !restartAtSlashes { return false }
                live = close(next)
            }
            return live & accept != 0
        }
    }

    /// `run` one step at a time, for a pattern too long for the bit table.
    func runSteps(_ s: [UInt8], restartAtSlashes: Bool) -> Bool {
        let slash = UInt8(ascii: "/")
        let count = steps.count
        var live = [Bool](repeating: false, count: count + 1)
        var next = live
        // A live step is also past any star that may match nothing, and past a `**/` that does.
        func close(_ set: inout [Bool]) {
            for i in 0..<count where set[i] {
                switch steps[i] {
                case .star, .doubleStar: set[i + 1] = true
                case .skip: set[i + 1] = true; set[i + 3] = true
                default: break
                }
            }
        }
        live[0] = true
        close(&live)
        for c in s {
            for i in 0...count { next[i] = false }
            var any = false
            for i in 0..<count where live[i] {
                switch steps[i] {
                case .byte(let b): if c == b { next[i + 1] = true; any = true }
                case .one: if c != slash { next[i + 1] = true; any = true }
                case .star: if c != slash { next[i] = true; any = true }
                case .doubleStar: next[i] = true; any = true
                case .skip: break
                }
            }
            if restartAtSlashes, c == slash { next[0] = true; any = true }
            // Nothing left to reach: no match, unless the pattern starts again after a later '/'.
            if !any && !restartAtSlashes { return false }
            close(&next)
            swap(&live, &next)
        }
        return live[count]
    }
}
