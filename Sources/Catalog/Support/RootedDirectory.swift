import Foundation
import ProvenantCore
import Synchronization

/// Why a path inside a scan target could not be read. Every case names the path as the input gave it.
public enum FileAccessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path, or a symbolic link on the way, leads outside the target. Nothing was read.
    case outsideRoot(String)
    case notFound(String)
    /// A directory, device, FIFO or socket where a file was expected.
    case notRegularFile(String)
    case tooLarge(String, size: Int, limit: Int)
    case tooManyLinks(String)
    case unreadable(String, reason: String)
    /// The scan's whole read budget is spent: the file is not read.
    case overBudget(String, budget: Int)
    /// The scan has walked its budget of names through symbolic links: a path that needs one more link
    /// is not resolved.
    case linkBudgetSpent(String, names: Int)

    public var path: String {
        switch self {
        case .outsideRoot(let p), .notFound(let p), .notRegularFile(let p), .tooManyLinks(let p): p
        case .tooLarge(let p, _, _), .unreadable(let p, _), .overBudget(let p, _), .linkBudgetSpent(let p, _): p
        }
    }

    public var description: String {
        switch self {
        case .outsideRoot(let p): "'\(Redactor.redact(p))' leaves the scan target; skipped, not read"
        case .notFound(let p): "'\(Redactor.redact(p))' does not exist in the scan target"
        case .notRegularFile(let p): "'\(Redactor.redact(p))' is not a regular file"
        case .tooLarge(let p, let size, let limit): "'\(Redactor.redact(p))' is \(size) bytes, over the \(limit >> 20) MiB limit; not read"
        case .tooManyLinks(let p): "'\(Redactor.redact(p))' goes through too many symbolic links (more than \(RootedDirectory.maxLinks), or more than \(RootedDirectory.maxResolveSteps) names, to resolve)"
        case .unreadable(let p, let reason): "'\(Redactor.redact(p))' cannot be read: \(reason)"
        case .overBudget(let p, let budget): "'\(Redactor.redact(p))' not read: the scan has read its budget of \(budget >> 20) MiB"
        case .linkBudgetSpent(let p, let names): "'\(Redactor.redact(p))' not read: the scan has walked its budget of \(names) names through symbolic links"
        }
    }
}

/// Paths inside a scan target: relative, `/`-separated, with `.` and `..` resolved lexically.
public enum RootPath {
    /// Joins `path` onto the directory `base` (both relative to the root) and normalizes the result.
    /// An absolute path, or one whose `..` climbs above the root, is `outsideRoot`.
    public static func resolve(_ path: String, from base: String = "") throws(FileAccessError) -> String {
        if path.hasPrefix("/") { throw .outsideRoot(path) }
        var parts: [Substring] = PathText.components(base)
        if parts.contains(where: { $0 == ".." }) { throw .outsideRoot(path) }
        for c in PathText.components(path) {
            if c == "." { continue }
            if c == ".." {
                guard !parts.isEmpty else { throw .outsideRoot(path) }
                parts.removeLast()
                continue
            }
            parts.append(c)
        }
        return parts.joined(separator: "/")
    }
}

/// A directory that every read of a scan goes through. Paths are relative to the root; each is
/// opened one component at a time with `O_NOFOLLOW`, and a symbolic link met on the way is resolved
/// by this type, inside the root only: an absolute target starts again at the root (as in a chroot,
/// which is right for unpacked root filesystems and images) and a `..` that would climb above the
/// root is refused. Only regular files are read, and their size is checked before any byte is.
public struct RootedDirectory: Sendable {
    public let root: String
    /// What every whole-file read of one scan draws from, when the scan has one.
    public let budget: ReadBudget?
    /// At most this many symbolic links are followed for one path, as the kernel's own limit.
    public static let maxLinks = 40
    /// At most this many names are walked for one path, links' targets included: forty links of long
    /// `a/../a/..` targets would otherwise cost one lookup some 80,000 directory opens.
    public static let maxResolveSteps = 4_096

    /// Names the scan's lookups may walk through symbolic links' targets, shared by every copy of this
    /// reader: one lookup is held to `maxResolveSteps`, and this holds many (a copyright file per
    /// package behind a `usr/share/doc` of long link chains) to a bound.
    public let linkNames: LinkNameBudget
    /// Set when the root is a directory of this host rather than a filesystem image (a directory of
    /// manifests that `kubectl apply` reads): the root's real path. An absolute link target is then a
    /// host path, followed only when it lies under this one, and from the root; any other is
    /// `outsideRoot`. Read from the root instead, it named a decoy inside the directory while the
    /// host's tools follow the link out (found by helper-204).
    public let hostRoot: String?

    public init(root: String, budget: ReadBudget? = nil, linkNames: LinkNameBudget = LinkNameBudget()) {
        self.root = root; self.budget = budget; self.linkNames = linkNames; hostRoot = nil
    }

    /// A reader of `root` as a directory of this host, whose absolute links are host paths; nil when
    /// the root's real path cannot be found.
    public init?(hostDirectory root: String) {
        // A real path that is not UTF-8 reads back repaired (U+FFFD); no target it could then match
        // is followed, as a target holding U+FFFD is refused.
        guard let real = PathText.real(root) else { return nil }
        self.root = root; budget = nil; linkNames = LinkNameBudget(); hostRoot = real
    }

    /// The bytes of the regular file at `path`, refusing files larger than `limit`.
    public func read(_ path: String, limit: Int) throws(FileAccessError) -> [UInt8] {
        let fd = try open(path)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path, reason: Self.errorText()) }
        let size = Int(st.st_size)
        if size > limit { throw .tooLarge(path, size: size, limit: limit) }
        if let budget, !budget.take(size) { throw .overBudget(path, budget: budget.total) }
        var out = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = out.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + done, size - done) }
            if n < 0 { if errno == EINTR { continue }; throw .unreadable(path, reason: Self.errorText()) }
            if n == 0 { break }
            done += n
        }
        if done < size { out.removeLast(size - done) }
        // A file that grew while being read is read up to the size it had, never past the limit.
        return out
    }

    /// A handle on the regular file at `path`, for readers that seek instead of loading the whole file.
    public func handle(_ path: String) throws(FileAccessError) -> FileHandle {
        FileHandle(fileDescriptor: try open(path), closeOnDealloc: true)
    }

    /// Opens the regular file at `path` (relative to the root) for reading; the caller closes it.
    public func open(_ path: String) throws(FileAccessError) -> Int32 { try openResolved(path).fd }

    /// Opens the directory at `path` (relative to the root; "" is the root), resolved like `open`, for
    /// a caller that reads many files from one directory with `open(_:in:)`; the caller closes it.
    public func openDirectory(_ path: String) throws(FileAccessError) -> Int32 {
        if path.isEmpty || path == "." {
            let fd = Foundation.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw .unreadable(path, reason: "cannot open the scan root: \(Self.errorText())") }
            return fd
        }
        return try openResolved(path, directory: true).fd
    }

    /// Opens `name`, a regular file directly inside the directory `dirFD` (from `openDirectory`), without
    /// following a link. A link there is resolved the slow way, through `open(fullPath)`, inside the root.
    public func open(_ name: String, in dirFD: Int32, fullPath: String) throws(FileAccessError) -> Int32 {
        switch Self.openRegular(name, in: dirFD) {
        case .opened(let fd): return fd
        case .link: return try open(fullPath)
        case .notRegular: throw .notRegularFile(fullPath)
        case .failed(let err):
            if err == ENOENT || err == ENOTDIR { throw .notFound(fullPath) }
            throw .unreadable(fullPath, reason: String(cString: strerror(err)))
        }
    }

    enum Opened { case opened(Int32), link, notRegular, failed(Int32) }

    /// Opens `name` in `dirFD` for reading only when it is a regular file, without following a link.
    /// The name is first opened O_PATH, which opens nothing: a device's driver is not called and a FIFO's
    /// writer is not released, as an O_RDONLY open of them would (a `copyright` linked to `/dev/watchdog`
    /// would start the watchdog). The regular file is then reopened through `/proc/self/fd`, which is the
    /// same file whatever the name has become; without /proc it is opened again by name and must be the
    /// same file (device and inode), which narrows but does not close a race with a name swapped to a
    /// device in between.
    static func openRegular(_ name: String, in dirFD: Int32) -> Opened {
        let path = openat(dirFD, name, pathOnly | O_NOFOLLOW | O_CLOEXEC)
        guard path >= 0 else { return .failed(errno) }
        defer { close(path) }
        var st = stat()
        guard fstat(path, &st) == 0 else { return .failed(errno) }
        switch st.st_mode & S_IFMT {
        case S_IFLNK: return .link
        case S_IFREG: break
        default: return .notRegular
        }
        // O_NONBLOCK: a file lease someone holds on it fails the open at once instead of holding the
        // scan for the kernel's 45 s (found by review).
        var fd = Foundation.open("/proc/self/fd/\(path)", O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            fd = openat(dirFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { return errno == ELOOP || errno == EMLINK ? .link : .failed(errno) }
        }
        var again = stat()
        guard fstat(fd, &again) == 0, again.st_mode & S_IFMT == S_IFREG, again.st_dev == st.st_dev, again.st_ino == st.st_ino else {
            close(fd)
            return .notRegular
        }
        return .opened(fd)
    }

    /// Where `path` really leads inside the root once every `..` and symbolic link is resolved:
    /// the one name under which a file can be recognised, however an include spells it.
    public func canonicalPath(_ path: String) throws(FileAccessError) -> String {
        let (fd, canonical) = try openResolved(path)
        close(fd)
        return canonical
    }

    /// Opens the directory at `path` as `openDirectory` does, and gives the path it really is once every
    /// link on the way is resolved inside the root ("" for the root itself).
    public func openDirectoryResolved(_ path: String) throws(FileAccessError) -> (fd: Int32, canonical: String) {
        if try RootPath.resolve(path).isEmpty { return (try openDirectory(""), "") }
        return try openResolved(path, directory: true)
    }

    /// What is at `name` directly inside the directory `dirFD` (from `openDirectory`), without following
    /// a link there (lstat); the errno when there is nothing to stat.
    public static func entryStatus(_ name: String, in dirFD: Int32) -> (status: stat?, errno: Int32) {
        var st = stat()
        return fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (st, 0) : (nil, errno)
    }

    /// The target of the symbolic link `name` directly inside `dirFD`, as written; nil when it is not one.
    public static func linkTarget(_ name: String, in dirFD: Int32) -> String? { readLink(dirFD, name) }

    /// Opens `name`, a directory directly inside `dirFD`, without following a link; the caller closes it.
    public static func openSubdirectory(_ name: String, in dirFD: Int32, fullPath: String) throws(FileAccessError) -> Int32 {
        let fd = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            if err == ENOENT { throw .notFound(fullPath) }
            if err == ENOTDIR || err == ELOOP { throw .notRegularFile(fullPath) }
            throw .unreadable(fullPath, reason: String(cString: strerror(err)))
        }
        return fd
    }

    /// The names in the directory `dirFD` (without `.` and `..`), each as its raw bytes, since a name
    /// need not be UTF-8. `dirFD` stays open and is not moved.
    public static func names(in dirFD: Int32, fullPath: String, limit: Int = .max) throws(FileAccessError) -> [[UInt8]] {
        let listFD = dup(dirFD)
        guard listFD >= 0, let stream = fdopendir(listFD) else {
            let reason = errorText()
            if listFD >= 0 { close(listFD) }
            throw .unreadable(fullPath, reason: reason)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var out: [[UInt8]] = []
        while out.count < limit, let ent = readdir(stream) {
            let name = DirectoryEntry.name(ent)
            if name == [46] || name == [46, 46] { continue }
            out.append(name)
        }
        return out
    }

    /// What `path` leads to inside the root, links resolved as `open` resolves them, without opening it
    /// for reading (`O_PATH`: a device or FIFO a link names is never opened): its canonical path and type.
    public func lookUp(_ path: String) throws(FileAccessError) -> (canonical: String, status: stat) {
        var steps = Self.maxResolveSteps
        return try lookUp(path, steps: &steps)
    }

    /// `lookUp`, walking at most `steps` names (and never more than `maxResolveSteps`), which are taken
    /// from it whether or not the lookup succeeds: one budget for many lookups of one directory.
    public func lookUp(_ path: String, steps: inout Int) throws(FileAccessError) -> (canonical: String, status: stat) {
        let (fd, canonical) = try openResolved(path, directory: false, probe: true, steps: &steps)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path, reason: Self.errorText()) }
        return (canonical, st)
    }

    private func openResolved(_ path: String, directory: Bool = false, probe: Bool = false) throws(FileAccessError) -> (fd: Int32, canonical: String) {
        var steps = Self.maxResolveSteps
        return try openResolved(path, directory: directory, probe: probe, steps: &steps)
    }

    private func openResolved(_ path: String, directory: Bool, probe: Bool, steps left: inout Int) throws(FileAccessError) -> (fd: Int32, canonical: String) {
        var pending = PathText.components(try RootPath.resolve(path)).map(String.init)
        guard !pending.isEmpty else { throw .notRegularFile(path) }
        pending.reverse()
        var dirs: [Int32] = []
        defer { for d in dirs { close(d) } }
        // Directories on the way are opened O_PATH: walking through one needs only search permission,
        // as the kernel's own lookup does (dpkg's info directory may be 0711, its files readable).
        let rootFD = Foundation.open(root, Self.pathOnly | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw .unreadable(path, reason: "cannot open the scan root: \(Self.errorText())") }
        dirs.append(rootFD)
        // The names of the directories in `dirs` below the root, for the canonical path.
        var names: [String] = []
        var links = 0
        var steps = 0
        let maxSteps = min(left, Self.maxResolveSteps)
        var walk = LinkNameBudget.Walk(ownNames: pending.count)
        defer {
            left -= steps
            linkNames.charge(walk)
        }
        while let name = pending.popLast() {
            walk.popped(leaving: pending.count)
            steps += 1
            if steps > maxSteps { steps = maxSteps; throw .tooManyLinks(path) }
            if name == "." || name.isEmpty { continue }
            if name == ".." {
                guard dirs.count > 1 else { throw .outsideRoot(path) }
                close(dirs.removeLast())
                names.removeLast()
                continue
            }
            let isLast = pending.isEmpty
            if isLast && !probe && !directory {
                // A regular file: never an O_RDONLY open of a device or FIFO (`openRegular`).
                switch Self.openRegular(name, in: dirs.last!) {
                case .opened(let fd): return (fd, (names + [name]).joined(separator: "/"))
                case .notRegular: throw .notRegularFile(path)
                case .link: errno = ELOOP
                case .failed(let err): errno = err
                }
            }
            let flags = isLast ? (probe ? Self.pathOnly | O_NOFOLLOW | O_CLOEXEC : O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY)
                : Self.pathOnly | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY
            var fd = isLast && !probe && !directory ? -1 : openat(dirs.last!, name, flags)
            if fd >= 0, isLast, probe {
                // O_PATH with O_NOFOLLOW gives the link itself: followed below, as ELOOP would be.
                var st = stat()
                if fstat(fd, &st) != 0 { close(fd); throw .unreadable(path, reason: Self.errorText()) }
                if st.st_mode & S_IFMT == S_IFLNK { close(fd); fd = -1; errno = ELOOP } else { return (fd, (names + [name]).joined(separator: "/")) }
            }
            if fd >= 0 {
                if isLast && directory { return (fd, (names + [name]).joined(separator: "/")) }
                if isLast {
                    var st = stat()
                    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { close(fd); throw .notRegularFile(path) }
                    return (fd, (names + [name]).joined(separator: "/"))
                }
                dirs.append(fd)
                names.append(name)
                continue
            }
            let err = errno
            // O_NOFOLLOW fails with ELOOP on a link (ENOTDIR when O_DIRECTORY meets a link on some
            // kernels); anything else is a real failure.
            guard err == ELOOP || err == ENOTDIR || err == EMLINK, let target = Self.readLink(dirs.last!, name) else {
                if err == ENOENT { throw .notFound(path) }
                if err == ENOTDIR { throw .notFound(path) }
                throw .unreadable(path, reason: String(cString: strerror(err)))
            }
            links += 1
            if links > Self.maxLinks { throw .tooManyLinks(path) }
            // Once the scan's budget is spent, no lookup goes through another link.
            if linkNames.isSpent { throw .linkBudgetSpent(path, names: linkNames.total) }
            var targetNames = PathText.components(target)
            // On a host directory a target is read back repaired when it is not UTF-8: `deploy\xff`
            // and `deploy\u{FFFD}` would be one name here and two to the kernel (helper-205).
            if hostRoot != nil, target.unicodeScalars.contains("\u{FFFD}") { throw .outsideRoot(path) }
            if target.hasPrefix("/") {
                // Absolute targets resolve from the root, never from the host's `/`: in an image the
                // root is `/`; on a host directory the target must name a path under the root's.
                if let hostRoot {
                    // `.` names nothing, to the kernel as here; `..` is kept and met below.
                    targetNames.removeAll { $0 == "." }
                    let rootNames = PathText.components(hostRoot)
                    // Compared as bytes: names a filesystem holds apart (é and e + U+0301) stay apart.
                    guard targetNames.count >= rootNames.count, zip(rootNames, targetNames).allSatisfy({ $0.utf8.elementsEqual($1.utf8) }) else { throw .outsideRoot(path) }
                    targetNames.removeFirst(rootNames.count)
                }
                for d in dirs.dropFirst() { close(d) }
                dirs.removeLast(dirs.count - 1)
                names.removeAll()
            }
            for c in targetNames.reversed() { pending.append(String(c)) }
        }
        // The names ran out on a directory (a link to `.`, `..` or `/`): a lookup is given that directory.
        if probe, let last = dirs.last {
            let fd = dup(last)
            if fd >= 0 { return (fd, names.joined(separator: "/")) }
        }
        throw .notRegularFile(path)
    }

    /// Linux's O_PATH (the same on every architecture Swift runs on), which Glibc's module does not export.
    static let pathOnly: Int32 = 0o10000000

    private static func readLink(_ dirFD: Int32, _ name: String) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(dirFD, name, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}

/// Names one scan may walk through symbolic links' targets, across all its lookups and threads.
public final class LinkNameBudget: Sendable {
    /// Real trees walk a few names per link, and few links: a Debian root some thousands in all.
    public static let defaultTotal = 1_000_000
    public let total: Int
    private let spent = Mutex(0)

    public init(total: Int = LinkNameBudget.defaultTotal) { self.total = total }

    /// Charges the link names one lookup walked, as walked: a lookup cut short at its step limit costs
    /// no more than that, whatever its links' lengths. At the total the budget is spent, and no further
    /// lookup follows a link (lookups already past their links finish, uncharged beyond the total).
    public func charge(_ walk: Walk) {
        guard walk.linkNames > 0 else { return }
        spent.withLock { spent in spent = min(total, spent + min(walk.linkNames, total)) }
    }

    /// Counts, as one lookup pops names, those that came from links: the path's own names lie at the
    /// bottom of its stack of pending names, under any link's, so a name popped from above them is a
    /// link's. The directory reader and the image's resolver both count with it.
    public struct Walk: Sendable {
        private var ownLeft: Int
        public private(set) var linkNames = 0
        public init(ownNames: Int) { ownLeft = ownNames }
        /// One name popped, `remaining` left pending.
        public mutating func popped(leaving remaining: Int) {
            if remaining < ownLeft { ownLeft = remaining } else { linkNames += 1 }
        }
    }

    public var used: Int { spent.withLock { $0 } }
    public var isSpent: Bool { used >= total }
}

/// The bytes one scan may read whole, across all its files and threads: one file may be up to
/// `ExtractInput.maxBytes`, and a tree of many such files would otherwise stall the run. A file the
/// budget cannot cover is not read, and says so.
public final class ReadBudget: Sendable {
    public let total: Int
    private let spent = Mutex(0)

    public init(total: Int) { self.total = total }

    /// Takes `bytes` from the budget, or nothing when they do not fit.
    public func take(_ bytes: Int) -> Bool {
        spent.withLock { spent in
            let (sum, overflow) = spent.addingReportingOverflow(bytes)
            guard !overflow, sum <= total else { return false }
            spent = sum
            return true
        }
    }

    public var used: Int { spent.withLock { $0 } }
}
