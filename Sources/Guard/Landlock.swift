import CGuardSys
import Foundation
import ProvenantCore

/// Landlock (Documentation/userspace-api/landlock.rst): an unprivileged, stackable sandbox of file and
/// TCP access that a process imposes on itself and everything it executes.
public enum Landlock {
    // Filesystem access rights, and the ABI that introduced each beyond the first.
    public static let execute: UInt64 = 1 << 0
    public static let writeFile: UInt64 = 1 << 1
    public static let readFile: UInt64 = 1 << 2
    public static let readDir: UInt64 = 1 << 3
    public static let removeDir: UInt64 = 1 << 4
    public static let removeFile: UInt64 = 1 << 5
    public static let makeChar: UInt64 = 1 << 6
    public static let makeDir: UInt64 = 1 << 7
    public static let makeReg: UInt64 = 1 << 8
    public static let makeSock: UInt64 = 1 << 9
    public static let makeFifo: UInt64 = 1 << 10
    public static let makeBlock: UInt64 = 1 << 11
    public static let makeSym: UInt64 = 1 << 12
    public static let refer: UInt64 = 1 << 13     // ABI 2
    public static let truncate: UInt64 = 1 << 14  // ABI 3
    public static let ioctlDev: UInt64 = 1 << 15  // ABI 5
    // TCP (ABI 4).
    public static let bindTCP: UInt64 = 1 << 0
    public static let connectTCP: UInt64 = 1 << 1
    // Scopes (ABI 6): abstract UNIX sockets and signals outside the sandbox.
    public static let scopeAbstractUnixSocket: UInt64 = 1 << 0
    public static let scopeSignal: UInt64 = 1 << 1

    /// The only rights a rule on a file (not a directory) may carry.
    public static let fileRights = execute | writeFile | readFile | truncate | ioctlDev
    public static let read = readFile | readDir
    /// Creating, removing and renaming within, besides writing. Not device nodes, and not execute:
    /// what the agent writes it cannot run directly.
    public static let write = read | writeFile | removeDir | removeFile | makeDir | makeReg | makeSym | makeFifo | makeSock | refer | truncate

    /// Every filesystem right the ABI knows: all of them are handled, so anything not granted is denied.
    public static func handledFilesystem(abi: Int) -> UInt64 {
        switch abi {
        case ..<1: return 0
        case 1: return (1 << 13) - 1
        case 2: return (1 << 14) - 1
        case 3, 4: return (1 << 15) - 1
        default: return (1 << 16) - 1
        }
    }

    /// The kernel's Landlock ABI version; the error when Landlock is missing or disabled.
    public static func abi() -> Result<Int, ConfinementError> {
        #if DEBUG
        // Lets the tests see the refusal on a kernel that has Landlock; a debug build only, and it can
        // only make the launcher refuse (or, with --allow-unconfined, which already says so, not confine).
        if ProcessInfo.processInfo.environment["PROVENANT_GUARD_TEST_NO_LANDLOCK"] == "1" {
            return .failure(ConfinementError("landlock_create_ruleset", errno: ENOSYS))
        }
        let v = cgs_landlock_abi()
        // Pretends an older kernel, for the refusals an older ABI brings; a debug build only, and a
        // lower ABI only ever handles fewer rights.
        if v > 0, let older = ProcessInfo.processInfo.environment["PROVENANT_GUARD_TEST_LANDLOCK_ABI"].flatMap({ Int32($0) }), older > 0 {
            return .success(Int(min(v, older)))
        }
        #else
        let v = cgs_landlock_abi()
        #endif
        return v > 0 ? .success(Int(v)) : .failure(ConfinementError("landlock_create_ruleset", errno: -v))
    }

    /// What the sandbox will allow, decided before any of it is applied.
    public struct Ruleset: Sendable, Equatable {
        public struct PathRule: Sendable, Equatable {
            public var path: String; public var access: UInt64
            public init(_ path: String, _ access: UInt64) { self.path = path; self.access = access }
        }
        public var abi: Int
        public var paths: [PathRule] = []
        /// TCP ports connect(2) may reach; nil leaves TCP connects unrestricted.
        public var connectPorts: [Int]?
        public init(abi: Int) { self.abi = abi }

        /// Why TCP connects are not limited, when they are not.
        public var tcpNote: String? {
            if abi < 4 { return "Landlock ABI \(abi) cannot limit TCP (needs 4)" }
            return connectPorts == nil ? "TCP connects are not limited: an egress entry allows every port" : nil
        }
    }

    /// Applies `ruleset` to the calling thread (and what it executes). No_new_privs must already be set.
    /// Paths that do not exist are skipped: a rule can only grant, so a missing one grants nothing.
    /// `fds` are descriptors already open for some paths (the command and script the launcher will
    /// execute), so the rule lands on the very file that runs, not on whatever the path names now.
    public static func restrict(_ ruleset: Ruleset, fds: [String: Int32] = [:]) throws(ConfinementError) {
        let fs = handledFilesystem(abi: ruleset.abi)
        // Connects only. Binding is left alone: the manifest declares no listening ports, an agent that
        // serves (a collector's receiver) must keep binding, and a bind sends nothing out.
        let net = ruleset.abi >= 4 && ruleset.connectPorts != nil ? connectTCP : 0
        let scoped = ruleset.abi >= 6 ? scopeAbstractUnixSocket | scopeSignal : 0
        let rs = cgs_landlock_create_ruleset(fs, net, scoped)
        guard rs >= 0 else { throw ConfinementError("landlock_create_ruleset", errno: -rs) }
        defer { close(rs) }
        // Where a link could be made by the agent (what it may write) or by another user: a link met
        // there is not followed (found by helper-81: a confined agent made `ws/models -> /private`, and
        // its next launch granted `/private` to the rule on ws/models).
        let agentWritable = ruleset.paths.filter { $0.access & makeSym != 0 }.flatMap { spellings($0.path) }
        for rule in ruleset.paths {
            let fd: Int32
            var opened = false
            if let given = fds[rule.path] { fd = given } else {
                guard let found = try openFollowingTrustedLinks(rule.path, agentWritable: agentWritable) else { continue }
                fd = found
                opened = true
            }
            defer { if opened { close(fd) } }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw ConfinementError("stat \(rule.path)", errno: errno) }
            let isDir = st.st_mode & S_IFMT == S_IFDIR
            let access = rule.access & fs & (isDir ? ~0 : fileRights)
            guard access != 0 else { continue }
            let r = cgs_landlock_add_path_rule(rs, fd, access)
            guard r == 0 else { throw ConfinementError("landlock_add_rule \(rule.path)", errno: -r) }
        }
        if net != 0 {
            for port in ruleset.connectPorts ?? [] {
                let r = cgs_landlock_add_port_rule(rs, UInt64(port), connectTCP)
                guard r == 0 else { throw ConfinementError("landlock_add_rule tcp port \(port)", errno: -r) }
            }
        }
        let r = cgs_landlock_restrict_self(rs)
        guard r == 0 else { throw ConfinementError("landlock_restrict_self", errno: -r) }
    }

    /// `p` as written and as the kernel has it: what a path comparison must try both of. A path that
    /// does not exist yet is resolved through its deepest existing ancestor: `/ws/bin` not yet made,
    /// with `/ws` a link to a write path, is already inside it (found by helper-209).
    static func spellings(_ p: String) -> [String] {
        if let r = realPath(p) { return r == p ? [p] : [p, r] }
        var head = p, tail: [Substring] = []
        while let slash = head.lastIndex(of: "/"), slash > head.startIndex {
            tail.insert(head[head.index(after: slash)...], at: 0)
            head = String(head[..<slash])
            if let r = realPath(head) {
                let joined = (r.hasSuffix("/") ? r : r + "/") + tail.joined(separator: "/")
                return joined == p ? [p] : [p, joined]
            }
        }
        return [p]
    }

    static func realPath(_ p: String) -> String? { PathText.real(p) }

    /// Whether a component of the absolute path `p` is a symbolic link that does not resolve.
    static func hasDanglingLink(_ p: String) -> Bool {
        var prefix = ""
        for c in p.split(separator: "/") {
            prefix += "/" + c
            var st = stat()
            guard lstat(prefix, &st) == 0 else { return false }
            if st.st_mode & S_IFMT == S_IFLNK, realPath(prefix) == nil { return true }
        }
        return false
    }

    /// Whether `path` is `root` or below it, as text.
    static func isWithin(_ path: String, _ root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// An `O_PATH` descriptor of what `path` names for a rule, or nil when it does not exist. The path
    /// is walked a name at a time (`O_NOFOLLOW`, relative to the directory before): a symbolic link is
    /// followed only when it lies outside everything the agent may write and in a directory that only
    /// root may write, as `/etc/localtime` and a usrmerge `/bin` do. Any other link is an error, never
    /// followed: the rule would land on wherever the link's maker chose.
    static func openFollowingTrustedLinks(_ path: String, agentWritable: [String]) throws(ConfinementError) -> Int32? {
        guard path.hasPrefix("/") else { return nil }
        var pending = path.split(separator: "/").map(String.init)
        var dirFD = open("/", cgs_o_path | O_CLOEXEC | O_DIRECTORY)
        guard dirFD >= 0 else { throw ConfinementError("open /", errno: errno) }
        var dirPath = ""
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." || name.isEmpty { continue }
            if name == ".." {
                let up = openat(dirFD, "..", cgs_o_path | O_CLOEXEC | O_DIRECTORY)
                close(dirFD)
                guard up >= 0 else { return nil }
                dirFD = up
                dirPath = dirPath.isEmpty ? "" : String(dirPath[..<(dirPath.lastIndex(of: "/") ?? dirPath.startIndex)])
                continue
            }
            let fd = openat(dirFD, name, cgs_o_path | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { close(dirFD); return nil }
            var st = stat()
            guard fstat(fd, &st) == 0 else { close(fd); close(dirFD); throw ConfinementError("stat \(path)", errno: errno) }
            let here = dirPath + "/" + name
            if st.st_mode & S_IFMT == S_IFLNK {
                defer { close(fd) }
                links += 1
                // A directory only root may write, a root-owned sticky one (where others cannot replace
                // root's link) holding a link of root's, or one on a read-only mount: a Kubernetes
                // Secret or ConfigMap volume is a read-only tmpfs of mode 1777 whose keys are links
                // into `..data` (found by review: declaring such a file refused every launch).
                var dirStat = stat()
                var vfs = statvfs()
                let readOnlyMount = fstatvfs(dirFD, &vfs) == 0 && vfs.f_flag & UInt(ST_RDONLY) != 0
                let rootDir = fstat(dirFD, &dirStat) == 0 && dirStat.st_uid == 0
                    && (dirStat.st_mode & 0o022 == 0 || (dirStat.st_mode & S_ISVTX != 0 && st.st_uid == 0))
                // A root-only directory's link may lead anywhere; a sticky or read-only one's only
                // beneath itself (kubelet's `key -> ..data/key`), since another agent running as root,
                // or another mount of the same files, may have put it there (found by review).
                let rootOnly = fstat(dirFD, &dirStat) == 0 && dirStat.st_uid == 0 && dirStat.st_mode & 0o022 == 0 && st.st_uid == 0
                let trustedDir = readOnlyMount || rootDir
                guard trustedDir, st.st_uid == 0 || readOnlyMount, !agentWritable.contains(where: { isWithin(here, $0) }), links <= 40 else {
                    close(dirFD)
                    throw ConfinementError("\(path) leads through the symbolic link \(here), which the agent or another user could have made; not followed (name the real path in the manifest)", errno: 0)
                }
                var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(fd, "", &buf, buf.count - 1)
                guard n > 0 else { close(dirFD); throw ConfinementError("readlink \(here)", errno: errno) }
                buf[n] = 0
                let target = String(cString: buf)
                if !rootOnly {
                    let parts = target.split(separator: "/")
                    guard !target.hasPrefix("/"), !parts.contains("..") else {
                        close(dirFD)
                        throw ConfinementError("\(path) leads through the symbolic link \(here) to \(target), outside its directory, which others may write; not followed (name the real path in the manifest)", errno: 0)
                    }
                }
                pending = target.split(separator: "/").map(String.init) + pending
                if target.hasPrefix("/") {
                    close(dirFD)
                    dirFD = open("/", cgs_o_path | O_CLOEXEC | O_DIRECTORY)
                    guard dirFD >= 0 else { throw ConfinementError("open /", errno: errno) }
                    dirPath = ""
                }
                continue
            }
            close(dirFD)
            if pending.isEmpty { return fd }
            guard st.st_mode & S_IFMT == S_IFDIR else { close(fd); return nil }
            dirFD = fd
            dirPath = here
        }
        return dirFD
    }
}
