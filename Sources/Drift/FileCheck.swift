import Catalog
import Crypto
import Foundation
import ProvenantCore

/// Who installed a file.
struct FileOwner: Sendable {
    var source: PackageSource
    /// `name` (dpkg, apk) or `name version` (Python), as reports show it.
    var shown: String
    /// The database file that lists its files, for messages about them as a whole.
    var origin: String
}

/// The digest a package database records, kept as written: dpkg compares md5 text, so `newconffile`
/// (a conffile unpacked but not yet configured) never matches, as in `dpkg --verify`.
struct ExpectedDigest: Sendable {
    var algorithm: ProvenantCore.Digest.Algorithm
    var text: String
}

/// One installed path to look at.
struct CheckItem: Sendable {
    /// Index of its directory in `CheckPlan.dirs`.
    var dir: Int
    var name: String
    /// The path as the database names it (dpkg: the `.list` line), absolute inside the root.
    var shown: String
    /// nil: only its presence is checked (a directory, a link, a file without a recorded digest).
    var expected: ExpectedDigest?
    var owner: Int
    var conffile: Bool
    /// false: claimed but not checked at all (a RECORD row without a hash, such as a `.pyc` that need not exist).
    var presence: Bool = true
    /// apk records a symbolic link's SHA-1 over its target text; such a link is not a changed file type.
    var linkDigest: Bool = false
}

/// Everything the databases claim, grouped by directory so each directory is opened once.
struct CheckPlan: Sendable {
    var dirs: [String] = []
    private var dirIndex: [String: Int] = [:]
    var items: [CheckItem] = []
    var owners: [FileOwner] = []
    var notChecked: [Diagnostic] = []
    var diagnostics: [Diagnostic] = []
    var packages: [PackageSource: Int] = [:]

    /// A package whose files follow; `counted` is false for one whose files are only claimed, not checked.
    mutating func owner(_ source: PackageSource, _ shown: String, origin: String, counted: Bool = true) -> Int {
        owners.append(FileOwner(source: source, shown: shown, origin: origin))
        if counted { packages[source, default: 0] += 1 }
        return owners.count - 1
    }

    /// Adds the installed `path` (absolute or relative, taken from the root); a path that climbs above
    /// the root is refused, never read. Returns false when it was refused.
    @discardableResult
    mutating func add(_ path: String, shown: String, expected: ExpectedDigest?, owner: Int, conffile: Bool = false,
                      presence: Bool = true, linkDigest: Bool = false, origin: Location) -> Bool {
        var rel = Substring(path)
        while rel.hasPrefix("/") { rel = rel.dropFirst() }
        let resolved: String
        do { resolved = try RootPath.resolve(String(rel)) } catch {
            notChecked.append(Diagnostic(origin, "'\(path)' leaves the root; not read", unscanned: .input))
            return false
        }
        // The root itself is there by definition.
        guard !resolved.isEmpty else { return true }
        let dir = PathText.parent(resolved), name = PathText.lastComponent(resolved)
        let d: Int
        if let known = dirIndex[dir == "/" ? "" : dir] { d = known } else {
            d = dirs.count
            dirs.append(dir == "/" ? "" : dir)
            dirIndex[dirs[d]] = d
        }
        items.append(CheckItem(dir: d, name: name, shown: shown, expected: expected, owner: owner, conffile: conffile,
                               presence: presence, linkDigest: linkDigest))
        return true
    }
}

/// What was found at one path.
enum CheckOutcome: Sendable {
    /// There, and its digest matches (`hashed`), or only its presence was asked. `regular` says whether a
    /// regular file stood there.
    case present(hashed: Bool, regular: Bool)
    /// Gone; `reason` is the system's word when it was not simply absent (`Not a directory`).
    case missing(reason: String?)
    /// Not a regular file where one was installed, or a digest that differs. `digest` is true (differs),
    /// false (matches) or nil (could not be computed, with `reason`).
    case modified(typeChanged: Bool, differs: Bool?, reason: String?)
    /// Could not be looked at: never reported as clean.
    case notChecked(String)
    /// Claimed only; not looked at.
    case skipped
}

/// Looks at every item of a plan on `width` workers. Items are claimed in small runs in directory
/// order, so each worker opens a directory once per run and large files spread over the workers.
struct FileChecker: Sendable {
    let rooted: RootedDirectory
    let plan: CheckPlan
    let width: Int

    /// Bytes read per `read(2)` while hashing: large files stream through this, never whole.
    static let chunk = 256 << 10

    struct Result: Sendable {
        var outcomes: [CheckOutcome]
        /// The real path (links resolved inside the root) of each directory that could be opened.
        var canonicalDirs: [String?]
    }

    func run() -> Result {
        let order = plan.items.indices.sorted { (plan.items[$0].dir, $0) < (plan.items[$1].dir, $1) }
        let claims = Parallel.Claims(count: order.count, chunk: 64)
        let parts = Parallel.map(width: width) { _ in
            var worker = Worker(rooted: rooted, plan: plan)
            var done: [(Int, CheckOutcome)] = []
            while let r = claims.claim() {
                for k in r { done.append((order[k], worker.check(plan.items[order[k]]))) }
            }
            worker.finish()
            return (done, worker.canonical)
        }
        var outcomes = [CheckOutcome](repeating: .skipped, count: plan.items.count)
        var canonical = [String?](repeating: nil, count: plan.dirs.count)
        for (done, dirs) in parts {
            for (i, o) in done { outcomes[i] = o }
            for (d, c) in dirs { canonical[d] = c }
        }
        return Result(outcomes: outcomes, canonicalDirs: canonical)
    }

    /// One worker's open directory and read buffer.
    struct Worker {
        let rooted: RootedDirectory
        let plan: CheckPlan
        var dir = -1
        var dirFD: Int32 = -1
        var dirFailure: CheckOutcome?
        var canonical: [Int: String] = [:]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileChecker.chunk, alignment: 64)

        init(rooted: RootedDirectory, plan: CheckPlan) { self.rooted = rooted; self.plan = plan }

        mutating func finish() {
            if dirFD >= 0 { close(dirFD) }
            buffer.deallocate()
        }

        mutating func check(_ item: CheckItem) -> CheckOutcome {
            if item.dir != dir { enter(item.dir) }
            guard item.presence else { return .skipped }
            if let dirFailure { return dirFailure }
            let rel = plan.dirs[item.dir].isEmpty ? item.name : plan.dirs[item.dir] + "/" + item.name
            let (st, err) = RootedDirectory.entryStatus(item.name, in: dirFD)
            guard let st else {
                if err == ENOENT { return .missing(reason: nil) }
                if err == EACCES { return .notChecked("'\(item.shown)' cannot be looked at: \(String(cString: strerror(err)))") }
                return .missing(reason: String(cString: strerror(err)))
            }
            let kind = st.st_mode & S_IFMT
            guard let expected = item.expected else { return .present(hashed: false, regular: kind == S_IFREG) }
            if item.linkDigest, kind == S_IFLNK {
                guard let target = RootedDirectory.linkTarget(item.name, in: dirFD) else {
                    return .notChecked("'\(item.shown)': its link target cannot be read")
                }
                let differs = FileChecker.hex(of: Array(target.utf8), expected.algorithm) != expected.text
                return differs ? .modified(typeChanged: false, differs: true, reason: nil) : .present(hashed: true, regular: false)
            }
            let typeChanged = kind != S_IFREG
            var differs: Bool?
            var reason: String?
            if kind == S_IFREG || kind == S_IFLNK {
                // A link is followed inside the root only (absolute targets start again at the root).
                do {
                    let fd = try rooted.open(item.name, in: dirFD, fullPath: rel)
                    defer { close(fd) }
                    if let hex = FileChecker.hexDigest(fd: fd, expected.algorithm, buffer: buffer) {
                        differs = hex != expected.text
                    } else {
                        reason = "read failed: \(String(cString: strerror(errno)))"
                    }
                } catch {
                    reason = error.description
                }
            } else {
                reason = "a \(FileChecker.kindName(kind)) where its package installed a regular file"
            }
            if typeChanged || differs == true { return .modified(typeChanged: typeChanged, differs: differs, reason: reason) }
            if differs == nil { return .notChecked("'\(item.shown)': \(reason ?? "its digest could not be computed")") }
            return .present(hashed: true, regular: true)
        }

        /// Opens directory `d`, or remembers why every path in it is missing or cannot be looked at.
        mutating func enter(_ d: Int) {
            if dirFD >= 0 { close(dirFD); dirFD = -1 }
            dir = d
            dirFailure = nil
            do {
                let (fd, real) = try rooted.openDirectoryResolved(plan.dirs[d])
                dirFD = fd
                canonical[d] = real
            } catch {
                dirFailure = FileChecker.failure(opening: plan.dirs[d], error, rooted: rooted)
            }
        }
    }

    /// Why a directory could not be opened, in `dpkg --verify`'s terms: a component that is absent makes
    /// every path below it missing; one that is not a directory makes them missing with `Not a
    /// directory`; a link that leaves the root, or a directory that cannot be read, leaves them unchecked.
    static func failure(opening dir: String, _ error: FileAccessError, rooted: RootedDirectory) -> CheckOutcome {
        switch error {
        case .notFound, .notRegularFile:
            // Find the first component that is not a directory.
            var prefix = ""
            for c in dir.split(separator: "/") {
                let next = prefix.isEmpty ? String(c) : prefix + "/" + c
                if let opened = try? rooted.openDirectoryResolved(next) { close(opened.fd); prefix = next; continue }
                guard let parent = try? rooted.openDirectoryResolved(prefix) else { break }
                let parentFD = parent.fd
                defer { close(parentFD) }
                guard let st = RootedDirectory.entryStatus(String(c), in: parentFD).status else { return .missing(reason: nil) }
                if st.st_mode & S_IFMT == S_IFLNK {
                    // A link to a file is not a directory; a dangling one is nothing.
                    return (try? rooted.canonicalPath(next)) != nil ? .missing(reason: "Not a directory") : .missing(reason: nil)
                }
                return .missing(reason: "Not a directory")
            }
            return .missing(reason: nil)
        case .tooManyLinks:
            return .missing(reason: "Too many levels of symbolic links")
        default:
            return .notChecked(error.description)
        }
    }

    static func kindName(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: "directory"
        case S_IFIFO: "FIFO"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFSOCK: "socket"
        case S_IFLNK: "symbolic link"
        default: "special file"
        }
    }

    /// The lower-case hex digest of everything `fd` holds, read in `buffer`-sized chunks; nil when a read fails.
    static func hexDigest(fd: Int32, _ algorithm: ProvenantCore.Digest.Algorithm, buffer: UnsafeMutableRawBufferPointer) -> String? {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        switch algorithm {
        case .md5: var h = Insecure.MD5(); return stream(fd, &h, buffer)
        case .sha1: var h = Insecure.SHA1(); return stream(fd, &h, buffer)
        case .sha256: var h = SHA256(); return stream(fd, &h, buffer)
        case .sha384: var h = SHA384(); return stream(fd, &h, buffer)
        case .sha512: var h = SHA512(); return stream(fd, &h, buffer)
        }
    }

    private static func stream<H: HashFunction>(_ fd: Int32, _ h: inout H, _ buffer: UnsafeMutableRawBufferPointer) -> String? {
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            h.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
        return Hex.encode(h.finalize())
    }

    static func hex(of bytes: [UInt8], _ algorithm: ProvenantCore.Digest.Algorithm) -> String {
        switch algorithm {
        case .md5: Hex.encode(Insecure.MD5.hash(data: bytes))
        case .sha1: Hex.encode(Insecure.SHA1.hash(data: bytes))
        case .sha256: Hex.encode(SHA256.hash(data: bytes))
        case .sha384: Hex.encode(SHA384.hash(data: bytes))
        case .sha512: Hex.encode(SHA512.hash(data: bytes))
        }
    }
}
