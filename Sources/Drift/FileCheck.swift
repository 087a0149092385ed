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
                      presence: Bool = true, linkDigest: Bool = false, origin: @autoclosure () -> Location) -> Bool {
        guard let place = Self.place(path) else {
            notChecked.append(Diagnostic(origin(), "'\(path)' leaves the root; not read", unscanned: .input))
            return false
        }
        // The root itself is there by definition.
        guard let (dir, name) = place else { return true }
        append(dir: dir, name: name, shown: shown, expected: expected, owner: owner, conffile: conffile, presence: presence, linkDigest: linkDigest)
        return true
    }

    /// Adds a path already split by `place`.
    mutating func append(dir: String, name: String, shown: String, expected: ExpectedDigest?, owner: Int, conffile: Bool = false,
                         presence: Bool = true, linkDigest: Bool = false) {
        let d: Int
        if let known = dirIndex[dir] { d = known } else {
            d = dirs.count
            dirs.append(dir)
            dirIndex[dir] = d
        }
        items.append(CheckItem(dir: d, name: name, shown: shown, expected: expected, owner: owner, conffile: conffile,
                               presence: presence, linkDigest: linkDigest))
    }

    /// `item`'s path relative to the root.
    func path(of item: CheckItem) -> String { dirs[item.dir].isEmpty ? item.name : dirs[item.dir] + "/" + item.name }

    /// `path` (absolute or relative, taken from the root) as its directory and name relative to the root;
    /// `.some(nil)` for the root itself, nil when it climbs above the root. Safe to call on any thread.
    static func place(_ path: String) -> (dir: String, name: String)?? {
        var rel = Substring(path)
        while rel.hasPrefix("/") { rel = rel.dropFirst() }
        let resolved: String
        if let plain = plain(rel) { resolved = plain } else {
            do { resolved = try RootPath.resolve(String(rel)) } catch { return nil }
        }
        guard !resolved.isEmpty else { return .some(nil) }
        let slash = resolved.utf8.lastIndex(of: UInt8(ascii: "/"))
        let dir = slash.map { String(resolved[..<$0]) } ?? ""
        let name = slash.map { String(resolved[resolved.utf8.index(after: $0)...]) } ?? resolved
        return (dir, name)
    }
}

extension CheckPlan {
    /// `rel` as it is when it needs no resolving (nearly every database path): no empty, `.` or `..`
    /// component and no trailing slash; nil otherwise, for `RootPath.resolve`.
    static func plain(_ rel: Substring) -> String? {
        guard !rel.isEmpty else { return "" }
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var length = 0, dots = 0
        for b in rel.utf8 {
            if b == slash {
                // An empty component, or `.` or `..`.
                if length == 0 || (dots == length && length <= 2) { return nil }
                length = 0; dots = 0
            } else {
                length += 1
                if b == dot { dots += 1 }
            }
        }
        if length == 0 || (dots == length && length <= 2) { return nil }
        return String(rel)
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
    /// Files larger than this are not hashed, and are NOT CHECKED: a huge (or sparse) file listed by a
    /// package would otherwise hold the run for as long as reading it takes.
    var maxFileSize = VerifyFiles.defaultMaxFileSize

    /// Bytes read per `read(2)` while hashing: large files stream through this, never whole.
    static let chunk = 256 << 10

    struct Result: Sendable {
        var outcomes: [CheckOutcome]
        /// The real path (links resolved inside the root) of each directory that could be opened.
        var canonicalDirs: [String?]
    }

    /// A file whose md5 the lanes compute, while it is open.
    struct LaneJob {
        var fd: Int32
        var typeChanged: Bool
    }

    /// One worker's files in the lanes: each is closed and given its outcome when its digest is done.
    struct LaneQueue {
        let lanes: MD5LaneHasher
        let plan: CheckPlan
        var jobs: [Int: LaneJob] = [:]
        var done: [(Int, CheckOutcome)] = []

        init(lanes: MD5LaneHasher, plan: CheckPlan) { self.lanes = lanes; self.plan = plan }

        /// Hashes item `item`'s open `fd` in a lane, waiting for one to free first.
        mutating func add(_ item: Int, fd: Int32, typeChanged: Bool, size: Int) {
            while !lanes.hasFreeLane { collect() }
            jobs[item] = LaneJob(fd: fd, typeChanged: typeChanged)
            lanes.start(fd: fd, tag: item, limit: size)
        }

        mutating func drain() { while !lanes.isIdle { collect() } }

        private mutating func collect() {
            for d in lanes.run() {
                guard let job = jobs.removeValue(forKey: d.tag) else { continue }
                close(job.fd)
                done.append((d.tag, FileChecker.outcome(plan.items[d.tag], typeChanged: job.typeChanged, hex: d.hex, error: d.error)))
            }
        }
    }

    /// A file left for the second pass: larger than `FileChecker.laterSize`, hashed largest first so
    /// the lanes stay full to the end.
    struct LaterJob: Sendable {
        var item: Int
        var size: Int
        var typeChanged: Bool
        /// The file the walk found, so the second pass can tell it reopened the same one.
        var identity: FileIdentity
    }

    /// Device, inode, size and change times: a file swapped or rewritten between the walk and the
    /// second pass differs in one of them.
    struct FileIdentity: Sendable, Equatable {
        var dev: UInt64, ino: UInt64, size: Int64, mtime: Int, mtimeNS: Int, ctime: Int, ctimeNS: Int
        init(_ st: stat) {
            dev = UInt64(st.st_dev); ino = UInt64(st.st_ino); size = Int64(st.st_size)
            mtime = st.st_mtim.tv_sec; mtimeNS = st.st_mtim.tv_nsec; ctime = st.st_ctim.tv_sec; ctimeNS = st.st_ctim.tv_nsec
        }
    }

    /// md5 files at least this large wait for the second pass.
    static let laterSize = 1 << 20
    /// Files at least this large are hashed as one stream, not in a lane.
    static let scalarSize = 256 << 20

    func run() -> Result {
        // By directory path, so neighbouring directories share their ancestors on a worker's chain.
        var rank = [Int](repeating: 0, count: plan.dirs.count)
        for (r, d) in plan.dirs.indices.sorted(by: { plan.dirs[$0].utf8.lexicographicallyPrecedes(plan.dirs[$1].utf8) }).enumerated() { rank[d] = r }
        let order = plan.items.indices.sorted { (rank[plan.items[$0].dir], $0) < (rank[plan.items[$1].dir], $1) }
        let claims = Parallel.Claims(count: order.count, chunk: 64)
        let parts = Parallel.map(width: width) { _ in
            var worker = Worker(rooted: rooted, plan: plan, maxFileSize: maxFileSize)
            var queue = LaneQueue(lanes: MD5LaneHasher(), plan: plan)
            var later: [LaterJob] = []
            while let r = claims.claim() {
                for k in r {
                    let i = order[k]
                    switch worker.check(plan.items[i], lanes: true) {
                    case .done(let o):
                        queue.done.append((i, o))
                    case .md5(let fd, let size, let typeChanged):
                        if size >= FileChecker.laterSize {
                            var st = stat()
                            if fstat(fd, &st) == 0 {
                                close(fd)
                                later.append(LaterJob(item: i, size: size, typeChanged: typeChanged, identity: FileIdentity(st)))
                                continue
                            }
                        }
                        queue.add(i, fd: fd, typeChanged: typeChanged, size: size)
                    }
                }
            }
            queue.drain()
            worker.finish()
            return (queue.done, worker.canonical, later)
        }
        var outcomes = [CheckOutcome](repeating: .skipped, count: plan.items.count)
        var canonical = [String?](repeating: nil, count: plan.dirs.count)
        var later: [LaterJob] = []
        for (done, dirs, big) in parts {
            for (i, o) in done { outcomes[i] = o }
            for (d, c) in dirs { canonical[d] = c }
            later += big
        }
        // The large files, largest first, each opened again from the root.
        let largest = later.sorted { ($0.size, $1.item) > ($1.size, $0.item) }
        let bigClaims = Parallel.Claims(count: largest.count, chunk: 1)
        let bigParts = Parallel.map(width: width) { _ in
            var queue = LaneQueue(lanes: MD5LaneHasher(readSize: FileChecker.chunk), plan: plan)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileChecker.chunk, alignment: 64)
            defer { buffer.deallocate() }
            while let r = bigClaims.claim() {
                for k in r {
                    let job = largest[k], item = plan.items[job.item]
                    let fd: Int32
                    do throws(FileAccessError) { fd = try rooted.open(plan.path(of: item)) } catch {
                        queue.done.append((job.item, FileChecker.outcome(item, typeChanged: job.typeChanged, reason: error.description)))
                        continue
                    }
                    // Reopened by path: only the very file the walk found is hashed. Another one (swapped
                    // in, rewritten) is not checked, never taken for the one the walk saw.
                    var now = stat()
                    guard fstat(fd, &now) == 0, FileIdentity(now) == job.identity else {
                        close(fd)
                        queue.done.append((job.item, .notChecked("'\(item.shown)' changed while it was being checked; run again")))
                        continue
                    }
                    _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
                    if job.size >= FileChecker.scalarSize {
                        // One lane alone runs at an eighth of the vector's rate, half a scalar stream's:
                        // a huge file (a sparse one of gigabytes) is hashed on its own.
                        defer { close(fd) }
                        let hex = FileChecker.hexDigest(fd: fd, .md5, buffer: buffer, limit: job.size)
                        queue.done.append((job.item, FileChecker.outcome(item, typeChanged: job.typeChanged, hex: hex, error: hex == nil ? errno : 0)))
                        continue
                    }
                    queue.add(job.item, fd: fd, typeChanged: job.typeChanged, size: job.size)
                }
            }
            queue.drain()
            return queue.done
        }
        for done in bigParts { for (i, o) in done { outcomes[i] = o } }
        return Result(outcomes: outcomes, canonicalDirs: canonical)
    }

    /// The outcome for a file that stood where its package installed a regular file (`typeChanged`:
    /// a link to one) once its digest was computed (`hex`) or could not be (`error`, or `reason`).
    static func outcome(_ item: CheckItem, typeChanged: Bool, hex: String? = nil, error: Int32 = 0, reason: String? = nil) -> CheckOutcome {
        var differs: Bool?
        var why = reason
        if let hex, let expected = item.expected { differs = hex != expected.text }
        else if why == nil, error == EFBIG { why = "it gave more bytes than its size said (it changed while being checked, or is not a plain file); not hashed" }
        else if why == nil { why = "read failed: \(String(cString: strerror(error)))" }
        if typeChanged || differs == true { return .modified(typeChanged: typeChanged, differs: differs, reason: why) }
        if differs == nil { return .notChecked("'\(item.shown)': \(why ?? "its digest could not be computed")") }
        return .present(hashed: true, regular: true)
    }

    /// One worker's open directories and read buffer.
    struct Worker {
        let rooted: RootedDirectory
        let plan: CheckPlan
        var dir = -1
        var dirFD: Int32 = -1
        var dirFailure: CheckOutcome?
        var chain: DirectoryChain
        var canonical: [Int: String] = [:]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileChecker.chunk, alignment: 64)
        let maxFileSize: Int

        init(rooted: RootedDirectory, plan: CheckPlan, maxFileSize: Int) {
            self.rooted = rooted; self.plan = plan; self.maxFileSize = maxFileSize; chain = DirectoryChain(rooted: rooted)
        }

        mutating func finish() {
            chain.close()
            buffer.deallocate()
        }

        /// What `check` found: an outcome, or an open file whose md5 the caller's lanes compute.
        enum Step {
            case done(CheckOutcome)
            case md5(fd: Int32, size: Int, typeChanged: Bool)
        }

        /// With `lanes`, a regular file (or a link to one) whose recorded digest is md5 is returned
        /// open, for `MD5LaneHasher`; everything else is checked here.
        mutating func check(_ item: CheckItem, lanes: Bool) -> Step {
            if item.dir != dir { enter(item.dir) }
            guard item.presence else { return .done(.skipped) }
            if let dirFailure { return .done(dirFailure) }
            let rel = plan.path(of: item)
            let (st, err) = RootedDirectory.entryStatus(item.name, in: dirFD)
            guard let st else {
                if err == ENOENT { return .done(.missing(reason: nil)) }
                if err == EACCES { return .done(.notChecked("'\(item.shown)' cannot be looked at: \(String(cString: strerror(err)))")) }
                return .done(.missing(reason: String(cString: strerror(err))))
            }
            let kind = st.st_mode & S_IFMT
            guard let expected = item.expected else { return .done(.present(hashed: false, regular: kind == S_IFREG)) }
            if item.linkDigest, kind == S_IFLNK {
                guard let target = RootedDirectory.linkTarget(item.name, in: dirFD) else {
                    return .done(.notChecked("'\(item.shown)': its link target cannot be read"))
                }
                // apk records SHA-1 for links; any other algorithm cannot match.
                let differs = expected.algorithm != .sha1 || FileDigest.sha1(Array(target.utf8)).value != expected.text
                return .done(differs ? .modified(typeChanged: false, differs: true, reason: nil) : .present(hashed: true, regular: false))
            }
            // apk installed a link here: anything else, a file holding the old target text included, is
            // another kind of file (found by review).
            if item.linkDigest {
                return .done(FileChecker.outcome(item, typeChanged: true, reason: "a \(FileChecker.kindName(kind)) where its package installed a symbolic link"))
            }
            let typeChanged = kind != S_IFREG
            guard kind == S_IFREG || kind == S_IFLNK else {
                return .done(FileChecker.outcome(item, typeChanged: true, reason: "a \(FileChecker.kindName(kind)) where its package installed a regular file"))
            }
            // A link is followed inside the root only (absolute targets start again at the root).
            let fd: Int32
            do { fd = try rooted.open(item.name, in: dirFD, fullPath: rel) } catch {
                return .done(FileChecker.outcome(item, typeChanged: typeChanged, reason: error.description))
            }
            var opened = stat()
            let statted = fstat(fd, &opened) == 0
            if statted, Int(opened.st_size) > maxFileSize {
                close(fd)
                return .done(FileChecker.outcome(item, typeChanged: typeChanged,
                                                 reason: "\(opened.st_size) bytes, over the \(FileChecker.sizeText(maxFileSize)) hashed per file (--max-file-size); not hashed"))
            }
            if lanes, expected.algorithm == .md5, statted {
                _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
                return .md5(fd: fd, size: Int(opened.st_size), typeChanged: typeChanged)
            }
            defer { close(fd) }
            if let hex = FileChecker.hexDigest(fd: fd, expected.algorithm, buffer: buffer, limit: statted ? Int(opened.st_size) : maxFileSize) {
                return .done(FileChecker.outcome(item, typeChanged: typeChanged, hex: hex))
            }
            return .done(FileChecker.outcome(item, typeChanged: typeChanged, error: errno))
        }

        /// Opens directory `d`, or remembers why every path in it is missing or cannot be looked at.
        mutating func enter(_ d: Int) {
            dir = d
            dirFD = -1
            dirFailure = nil
            do {
                let (fd, real) = try chain.enter(plan.dirs[d])
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

    static func sizeText(_ n: Int) -> String {
        n >= 1 << 30 && n % (1 << 30) == 0 ? "\(n >> 30) GiB" : n >= 1 << 20 && n % (1 << 20) == 0 ? "\(n >> 20) MiB" : "\(n) bytes"
    }

    static func kindName(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: "directory"
        case S_IFIFO: "FIFO"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFSOCK: "socket"
        case S_IFLNK: "symbolic link"
        case S_IFREG: "regular file"
        default: "special file"
        }
    }

    /// The lower-case hex digest of everything `fd` holds, read in `buffer`-sized chunks; nil when a read fails.
    /// `limit`: the most bytes the file may give (its size when opened); more is EFBIG, and nil.
    static func hexDigest(fd: Int32, _ algorithm: ProvenantCore.Digest.Algorithm, buffer: UnsafeMutableRawBufferPointer, limit: Int) -> String? {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        switch algorithm {
        case .md5: var h = Insecure.MD5(); return stream(fd, &h, buffer, limit)
        case .sha1: var h = Insecure.SHA1(); return stream(fd, &h, buffer, limit)
        case .sha256: var h = SHA256(); return stream(fd, &h, buffer, limit)
        case .sha384: var h = SHA384(); return stream(fd, &h, buffer, limit)
        case .sha512: var h = SHA512(); return stream(fd, &h, buffer, limit)
        }
    }

    private static func stream<H: HashFunction>(_ fd: Int32, _ h: inout H, _ buffer: UnsafeMutableRawBufferPointer, _ limit: Int) -> String? {
        var total = 0
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            total += n
            if total > limit { errno = EFBIG; return nil }
            h.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
        return Hex.encode(h.finalize())
    }
}

/// The directories from the root down to the one entered last, each open and with its real path, so
/// entering a neighbouring directory opens only the components that differ. Each component is opened
/// from its parent without following a link; a link, or anything that is not a plain directory, is
/// handed to the root-scoped reader, which resolves it inside the root (or says why it cannot).
struct DirectoryChain {
    let rooted: RootedDirectory
    private var links: [(path: String, fd: Int32, canonical: String)] = []

    init(rooted: RootedDirectory) { self.rooted = rooted }

    /// Opens `path` (relative to the root, without `.` or `..`); the descriptor stays the chain's.
    mutating func enter(_ path: String) throws(FileAccessError) -> (fd: Int32, canonical: String) {
        while let last = links.last, !Self.isAncestor(last.path, of: path) {
            Foundation.close(last.fd)
            links.removeLast()
        }
        if links.isEmpty { links.append(("", try rooted.openDirectory(""), "")) }
        let done = links[links.count - 1].path
        let rest = done.isEmpty ? Substring(path) : path.dropFirst(done.count + 1)
        for component in rest.split(separator: "/") {
            let parent = links[links.count - 1]
            let name = String(component)
            let next = parent.path.isEmpty ? name : parent.path + "/" + name
            if let fd = try? RootedDirectory.openSubdirectory(name, in: parent.fd, fullPath: next) {
                links.append((next, fd, parent.canonical.isEmpty ? name : parent.canonical + "/" + name))
            } else {
                let (fd, real) = try rooted.openDirectoryResolved(next)
                links.append((next, fd, real))
            }
        }
        let last = links[links.count - 1]
        return (last.fd, last.canonical)
    }

    mutating func close() {
        for link in links { Foundation.close(link.fd) }
        links = []
    }

    /// Whether `ancestor` is `path` or one of the directories above it ("" is the root).
    static func isAncestor(_ ancestor: String, of path: String) -> Bool {
        if ancestor.isEmpty { return true }
        let a = ancestor.utf8, p = path.utf8
        guard p.starts(with: a) else { return false }
        return p.count == a.count || p[p.index(p.startIndex, offsetBy: a.count)] == UInt8(ascii: "/")
    }
}
