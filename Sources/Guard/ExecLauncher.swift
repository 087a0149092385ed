import CGuardSys
import Crypto
import Foundation
import Permissions
import ProvenantCore

/// `--proxy HOST:PORT`: where the guard's egress proxy listens.
public struct ProxyAddress: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// `host:port`, `[v6]:port`; nil for anything else.
    public static func parse(_ s: String) -> ProxyAddress? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        let host = String(s[..<colon])
        if host.hasPrefix("[") { guard host.hasSuffix("]"), host.count > 2, !host.dropFirst().dropLast().contains("]") else { return nil } }
        else if host.isEmpty || host.contains(":") { return nil }
        guard host.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f && !"/@?#\"'\\".unicodeScalars.contains($0) }) else { return nil }
        return ProxyAddress(host: host, port: port)
    }
    public var url: String { "http://\(host):\(port)" }
}

/// What to run and under which rules.
public struct ExecRequest: Sendable {
    public var manifest: AgentManifest
    public var environment: ExecEnvironment
    public var argv: [String]
    public var proxy: ProxyAddress?
    public var allowUnconfined: Bool
    /// Runs with `--proxy` on a kernel whose Landlock cannot limit TCP (ABI below 4).
    public var allowUnlimitedTCP: Bool
    public init(manifest: AgentManifest, environment: ExecEnvironment, argv: [String], proxy: ProxyAddress?, allowUnconfined: Bool, allowUnlimitedTCP: Bool = false) {
        self.manifest = manifest; self.environment = environment; self.argv = argv; self.proxy = proxy; self.allowUnconfined = allowUnconfined
        self.allowUnlimitedTCP = allowUnlimitedTCP
    }
}

/// The launcher: decides, confines the calling thread and replaces the process with the command.
///
/// Time of check and time of use: the command (and the script an interpreter runs) is opened once;
/// its digest is computed through that descriptor, the Landlock execute rule is added on it, and the
/// kernel executes it through it (`execveat(fd, "", AT_EMPTY_PATH)`; an interpreter is handed
/// `/proc/self/fd/N` for the script). Renaming or replacing the path after the check therefore changes
/// nothing. A script whose digest is declared goes further: it is copied into a sealed memfd, hashed as
/// copied, and the interpreter (the one on the command line, or the one its `#!` line names, which the
/// launcher then runs itself) reads the copy, so not even a write into the same file can change what
/// runs. What remains: a binary with a declared digest is hashed in place, and a writer of that very
/// file could change it between the hash and execve (execve makes it read-only only once it runs);
/// declare binaries in read-only locations (an image layer, a read-only mount).
/// A script run this way sees `$0` (or `sys.argv[0]`) as `/proc/self/fd/N` or `/dev/fd/N`, not its path.
public enum ExecLauncher {
    /// Why the command did not run: the exit status and the one line for standard error.
    public struct Failure: Error, Sendable {
        public var code: Int32
        public var message: String
    }

    /// Executables for the loader, the shells and the tools scripts call: read and execute. Distribution
    /// files, no secrets; `/usr/local` and `/opt` are not included and go in `filesystem.read` when needed.
    public static let systemExecutable = ["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libexec"]
    /// Read only: what the loader, libc's name service, TLS and locales read. A short list of /etc, not
    /// /etc itself (it holds shadow, keys and credentials); /proc for a process's own status (other
    /// processes' secrets there are behind ptrace checks, which Landlock tightens).
    public static let systemRead = [
        "/usr/share", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
        "/etc/hosts", "/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/localtime",
        "/etc/ssl/certs", "/etc/ssl/openssl.cnf", "/etc/ca-certificates", "/etc/mime.types", "/proc",
    ]
    /// Devices every program may use: the sinks and sources of nothing and randomness, and the terminal.
    public static let devices: [(String, UInt64)] = [
        ("/dev/null", Landlock.readFile | Landlock.writeFile | Landlock.truncate), ("/dev/zero", Landlock.readFile),
        ("/dev/full", Landlock.readFile | Landlock.writeFile), ("/dev/random", Landlock.readFile), ("/dev/urandom", Landlock.readFile),
        ("/dev/tty", Landlock.readFile | Landlock.writeFile),
    ]

    /// The Landlock rules for `manifest`: the declared reads (with execute: a file one may read one can
    /// run through an interpreter anyway) and writes (without execute), the declared secret files, the
    /// command and script, and the system paths above. TCP connects: only the proxy's port with
    /// `--proxy`; else the TCP ports the egress entries declare (and 53 with `dns: true`), unless an entry
    /// declares none, which allows every port. Landlock sees ports, not addresses: the port of the
    /// proxy on any host is reachable, which is why the proxy, not this rule, decides destinations.
    /// `scripts`: files an interpreter only reads (`bash build.sh`), granted reading, never execute: on
    /// the script's inode, execute let the command overwrite a script in its write path with a binary
    /// and run it (found by helper-208). A file `env` runs is among `executables`, as the command is.
    public static func ruleset(abi: Int, manifest: AgentManifest, executables: [String], scripts: [String] = [], proxy: ProxyAddress?) -> Landlock.Ruleset {
        var r = Landlock.Ruleset(abi: abi)
        for p in systemExecutable { r.paths.append(.init(p, Landlock.read | Landlock.execute)) }
        for p in systemRead { r.paths.append(.init(p, Landlock.read)) }
        for (p, a) in devices { r.paths.append(.init(p, a)) }
        // Landlock's rights add up down a tree: a read path holding a write path (or lying within one)
        // would let the command run what it wrote there. Such a read path is granted without execute, so
        // `filesystem.write` never grants execute (found by helper-146).
        for p in manifest.read { r.paths.append(.init(p, overlapsWrite(p, manifest.write) ? Landlock.read : Landlock.read | Landlock.execute)) }
        for p in manifest.write { r.paths.append(.init(p, Landlock.write)) }
        for p in manifest.secrets.compactMap(\.file) { r.paths.append(.init(p, Landlock.readFile)) }
        for p in executables { r.paths.append(.init(p, Landlock.readFile | Landlock.execute)) }
        for p in scripts where !executables.contains(p) { r.paths.append(.init(p, Landlock.readFile)) }
        if let proxy {
            r.connectPorts = [proxy.port]
        } else {
            let tcp = manifest.egress.filter { $0.proto == "TCP" }
            if !tcp.contains(where: { $0.ports.isEmpty }) {
                r.connectPorts = Array(Set(tcp.flatMap(\.ports) + (manifest.dns ? [53] : []))).sorted()
            }
        }
        return r
    }

    /// Whether `path` holds, or lies within, one of `writes`, as written or as resolved.
    static func overlapsWrite(_ path: String, _ writes: [String]) -> Bool {
        let ws = writes.flatMap(Landlock.spellings)
        return Landlock.spellings(path).contains { p in ws.contains { w in Landlock.isWithin(p, w) || Landlock.isWithin(w, p) } }
    }

    /// HOME's files and folders that shells, Python, Node, git and package tools read code or
    /// configuration from.
    static let homeCodeFiles = [".local", ".config", ".zshenv", ".zshrc", ".zprofile", ".zlogin", ".bashrc", ".bash_profile", ".bash_login",
                                ".profile", ".node_modules", ".node_libraries", ".gitconfig", ".npmrc", ".yarnrc", ".pip", ".pydistutils.cfg",
                                ".ssh", ".cargo/config", ".cargo/config.toml", ".m2/settings.xml"]

    /// The entries of a PATH that are absolute and outside every declared write path, compared as the
    /// kernel resolves them too: `/ws/bin` kept beside a write path `/data/ws` that `/ws` links to let a
    /// bare command name run a file the agent wrote (found by helper-208).
    /// An entry with `.` or `..` components is dropped (the kernel resolves `..` after a link, the
    /// comparison would before), as is one below a link that leads nowhere yet: what it names could
    /// be made inside a write path later (both found by helper-210).
    static func safePath(_ path: String, write: [String]) -> [String] {
        let ws = write.flatMap(Landlock.spellings)
        return path.split(separator: ":", omittingEmptySubsequences: false).map(String.init).filter { e in
            guard e.hasPrefix("/"), !e.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }), !Landlock.hasDanglingLink(e) else { return false }
            return !Landlock.spellings(e).contains { p in ws.contains { Landlock.isWithin(p, $0) } }
        }
    }

    /// The file `command` names: a path (relative to the working directory) when it has a `/`, else the
    /// first executable regular file of that name on `searchPath`, as execvp looks.
    public static func resolve(_ command: String, searchPath: String?) -> String? {
        func executable(_ p: String) -> Bool {
            var st = stat()
            return stat(p, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && access(p, X_OK) == 0
        }
        if command.contains("/") { return executable(command) ? absolute(command) : nil }
        guard !command.isEmpty else { return nil }
        for dir in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false) {
            let p = (dir.isEmpty ? "." : String(dir)) + "/" + command
            if executable(p) { return absolute(p) }
        }
        return nil
    }

    static func absolute(_ p: String) -> String {
        let full = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
        return URL(fileURLWithPath: full).standardized.path
    }

    static func realPath(_ p: String) -> String? { Landlock.realPath(p) }

    /// The path of the file behind `fd`, as the kernel has it (`/proc/self/fd/N`): the file that was
    /// opened, whatever the path it was opened by has become since.
    static func openedPath(_ fd: Int32) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/fd/\(fd)", &buf, buf.count - 1)
        guard n > 0, buf[0] == CChar(UInt8(ascii: "/")) else { return nil }
        buf[n] = 0
        let p = String(cString: buf)
        return p.hasSuffix(" (deleted)") ? nil : p
    }

    /// Why the interpreter behind `fd` (at `path`, its real path) is not to be trusted to be the
    /// interpreter its name says, or nil: it and every directory above it must be owned by root and
    /// writable by no group or other user, as /usr/bin/bash is and a copy in a workspace is not.
    static func untrustedInterpreter(_ path: String, fd: Int32?) -> String? {
        var st = stat()
        let ok = fd.map { fstat($0, &st) == 0 } ?? (stat(path, &st) == 0)
        guard ok else { return "\(path) cannot be examined" }
        if st.st_uid != 0 || st.st_mode & 0o022 != 0 { return "\(path) is not owned by root or is writable by others" }
        var dir = PathText.parent(path)
        while true {
            guard stat(dir, &st) == 0 else { return "\(dir) cannot be examined" }
            if st.st_uid != 0 || st.st_mode & 0o022 != 0 { return "\(dir), above \(path), is not owned by root or is writable by others" }
            if dir == "/" || dir.isEmpty { return nil }
            dir = PathText.parent(dir)
        }
    }


    /// Why Node's global module folders under `home` could hand a command code the manifest does not
    /// declare, or nil. `.node_modules` or `.node_libraries` there at all refuses: what is inside it, or
    /// where a link to it leads (`/var`, whose `tmp` anyone writes), is not the manifest's to vouch for,
    /// and Node reads these folders for no current use. A HOME that anyone may write refuses too: the
    /// folders could appear while the command runs (both found by review).
    static func writableNodeFolder(home: [UInt8]?) -> String? {
        guard let home, !home.isEmpty else { return nil }
        let shownHome = String(decoding: home, as: UTF8.self)
        for name in [".node_modules", ".node_libraries"] {
            // As bytes, as Node joins them (a relative HOME is relative to the working directory, here too).
            let bytes = home + (home.last == UInt8(ascii: "/") ? [] : [UInt8(ascii: "/")]) + Array(name.utf8)
            var st = stat()
            let found = (bytes + [0]).withUnsafeBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { lstat($0, &st) }
            } == 0
            if found {
                return "\(String(decoding: bytes, as: UTF8.self)) exists, and Node's require loads modules from it that the manifest does not declare (remove it)"
            }
        }
        // Someone other than this user (or root) who may write HOME could make the folders while the
        // command runs: HOME must be this user's or root's, writable by no group or other (found by review).
        var st = stat()
        let path = String(decoding: home, as: UTF8.self)
        guard stat(path, &st) == 0 else { return nil }
        if st.st_mode & 0o022 != 0 || (st.st_uid != 0 && st.st_uid != geteuid()) {
            return "HOME (\(shownHome)) may be written by another user or group, so a .node_modules Node's require would load from could appear there; set HOME to a directory only this user can write"
        }
        return nil
    }

    /// SHA-256 of the file behind `fd`, read from its start with pread (the offset is left alone).
    static func sha256(_ fd: Int32) -> String? {
        var h = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var off: off_t = 0
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            h.update(data: buf[..<n])
            off += off_t(n)
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Scripts larger than this are hashed in place rather than copied into memory.
    static let sealedCopyLimit = 64 << 20

    /// A sealed in-memory copy (memfd) of the file behind `fd`, and the SHA-256 of exactly the bytes
    /// copied: an interpreter reading the copy reads what was checked, whatever happens to the file.
    /// nil when the copy cannot be made (the caller then hashes the file in place).
    static func sealedCopy(_ fd: Int32) -> (fd: Int32, sha256: String)? {
        let m = cgs_memfd_create_sealable("provenant-script")
        guard m >= 0 else { return nil }
        var h = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var off: off_t = 0
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0, off + off_t(n) <= sealedCopyLimit else { close(m); return nil }
            if n == 0 { break }
            var done = 0
            while done < n {
                let w = buf.withUnsafeBytes { write(m, $0.baseAddress! + done, n - done) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { close(m); return nil }
                done += w
            }
            h.update(data: buf[..<n])
            off += off_t(n)
        }
        guard cgs_memfd_seal(m) == 0 else { close(m); return nil }
        return (m, h.finalize().map { String(format: "%02x", $0) }.joined())
    }

    struct Shebang: Equatable { var interpreter: String; var argument: String? }

    /// The `#!` line as the kernel reads it (binfmt_script): within the first 256 bytes, the
    /// interpreter up to the first blank, and the rest of the line, trimmed, as one optional argument.
    static func shebang(_ fd: Int32) -> (interpreter: String, argument: String?)? {
        var b = [UInt8](repeating: 0, count: 256)
        let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 2, b[0] == 0x23, b[1] == 0x21 else { return nil }
        let line = b[2..<n].prefix { $0 != 0x0a }
        func blank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        let rest = line.drop(while: blank)
        let interp = rest.prefix { !blank($0) }
        guard !interp.isEmpty, !interp.contains(0), let path = String(validating: interp, as: UTF8.self) else { return nil }
        var arg = Array(rest.dropFirst(interp.count).drop(while: blank))
        while let last = arg.last, blank(last) { arg.removeLast() }
        guard !arg.contains(0) else { return nil }
        return (path, arg.isEmpty ? nil : String(decoding: arg, as: UTF8.self))
    }

    static func startsWithShebang(_ fd: Int32) -> Bool { starts(fd, with: [0x23, 0x21]) }

    /// Whether the file behind `fd` begins with `magic` (read at offset 0, the descriptor's own offset
    /// untouched).
    static func starts(_ fd: Int32, with magic: [UInt8]) -> Bool {
        var b = [UInt8](repeating: 0, count: magic.count)
        return b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, magic.count, 0) } == magic.count && b == magic
    }

    static func startsWithELF(_ fd: Int32) -> Bool { starts(fd, with: [0x7f, 0x45, 0x4c, 0x46]) }

    static func keepAcrossExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) }
    }

    /// Opens for hashing and executing; an execute-only file (no read permission) is opened O_PATH,
    /// which executes but cannot be hashed.
    static func openForExec(_ p: String) -> Int32 {
        let fd = open(p, O_RDONLY | O_CLOEXEC)
        return fd >= 0 || errno != EACCES ? fd : open(p, cgs_o_path | O_CLOEXEC)
    }

    /// Decides, confines and executes. Returns only when the command does not run: refused (126),
    /// not found (127), or failed to execute. `record` receives the audit record of every decision;
    /// `notice` the warnings a person should see (running unconfined).
    /// Everything from the capability drop to execveat runs on the calling thread, without suspension:
    /// capabilities, no_new_privs and Landlock domains belong to the thread that sets them, and execve
    /// makes that thread's the process's.
    public static func launch(_ request: ExecRequest, scrub: EnvironmentScrub, record: (ExecAuditRecord) -> Void, notice: (String) -> Void) -> Failure {
        var audit = ExecAuditRecord(command: request.argv, environment: request.environment)
        func refuse(_ reason: String, code: Int32 = 126) -> Failure {
            audit.decision = "refuse"
            audit.reason = reason
            record(audit)
            // Redacted as the audit record is: a token in a command word is not copied to standard error.
            return Failure(code: code, message: "refused: \(Redactor.redact(reason))")
        }
        var argv = request.argv
        guard let command = argv.first else { return refuse("no command", code: 2) }
        let inherited = EnvironmentScrub.current()
        // Commands are looked up on the PATH the command will get (see below), without the entries it may write.
        let searchPath = inherited.lazy.compactMap { e -> String? in
            e.starts(with: Array("PATH=".utf8)) ? String(decoding: e.dropFirst(5), as: UTF8.self) : nil
        }.first.flatMap { p -> String? in
            let kept = Self.safePath(p, write: request.manifest.write)
            return kept.isEmpty ? "/usr/local/bin:/usr/bin:/bin" : kept.joined(separator: ":")
        }
        guard let program = resolve(command, searchPath: searchPath) else {
            return refuse("'\(command)' is not an executable file\(command.contains("/") ? "" : " on PATH")", code: 127)
        }
        audit.program = program
        let programFD = openForExec(program)
        guard programFD >= 0 else { return refuse("cannot open \(program): \(String(cString: strerror(errno)))") }
        // The real path of what was opened, not of what the path names now or named before.
        guard let real = openedPath(programFD) else { return refuse("cannot tell which file \(program) is") }

        // The script, its descriptor (to hash and run), and its index in argv when an interpreter runs it.
        var names = [PathText.lastComponent(command)]
        if PathText.lastComponent(real) != names[0] { names.append(PathText.lastComponent(real)) }
        var script: ExecPolicy.Script
        var scriptFD: Int32? = programFD
        var scriptArgument: (index: Int, path: String, fd: Int32)?
        var envInterpreters: [Int] = []
        let reference = ScriptReference.of(argv, names: names, interpreters: &envInterpreters)
        // An interpreter is trusted to be one only where no one but root could have put it: a copy of
        // `id` named bash in a workspace is not bash, whatever its name.
        if names.contains(where: ScriptReference.isInterpreter) {
            if let why = untrustedInterpreter(real, fd: programFD) { return refuse("'\(command)' is not a trusted interpreter: \(why)") }
            for k in envInterpreters {
                let word = argv[k]
                guard let found = word.contains("/") ? absolute(word) : resolve(word, searchPath: searchPath), let path = realPath(found) else {
                    return refuse("'\(word)' is not an executable file\(word.contains("/") ? "" : " on PATH")", code: 127)
                }
                if let why = untrustedInterpreter(path, fd: nil) { return refuse("'\(word)' is not a trusted interpreter: \(why)") }
                if let why = ScriptReference.mismatch(typed: PathText.lastComponent(word), real: PathText.lastComponent(path)) { return refuse(why) }
            }
        }
        switch reference {
        case .command:
            script = .init(name: names[0], paths: [real], realName: names.last)
        case .inline(let how):
            // The interpreter stands for its inline code: declaring it allows what it is given. Its name,
            // not a link's: `deploy.sh -c CODE` through a link named after a declared script to `sh` ran
            // inline code as that script (helper-136). It was checked to be one only root could have put
            // there, so the name it is run by (`sh` for dash) stands, with no second name to hold it to.
            audit.inline = how
            let interpreter = names.first(where: ScriptReference.isInterpreter) ?? names[0]
            script = .init(name: interpreter, paths: [real])
        case .refused(let why):
            return refuse(why)
        case .file(let index, let searchPATH):
            let written = argv[index]
            guard let path = searchPATH ? resolve(written, searchPath: searchPath) : absolute(written) else {
                return refuse("'\(written)' is not an executable file on PATH", code: 127)
            }
            let fd = searchPATH ? openForExec(path) : open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return refuse("cannot open the script \(path): \(String(cString: strerror(errno)))") }
            guard let opened = openedPath(fd) else { return refuse("cannot tell which file the script \(path) is") }
            script = .init(name: PathText.lastComponent(written), paths: [opened], realName: PathText.lastComponent(opened))
            scriptFD = fd
            scriptArgument = (index, path, fd)
        }
        audit.script = script.name

        // A script whose digest is declared runs from a sealed copy of the bytes that were hashed, when
        // it is read by an interpreter: one named on the command line, or the `#!` line's (a `#!` script
        // env looks up too: env then executes the copy, and the kernel hands the interpreter the copy;
        // hashed in place, a writer flipping the file between the hash and the interpreter's read ran
        // its own code under the pin, found by helper-165). A binary is hashed in place and executed
        // through the same descriptor.
        let policy = ExecPolicy(manifest: request.manifest)
        var sealed: Int32?
        if policy.wantsDigest(script), let fd = scriptFD {
            let interpreted: Bool
            switch reference {
            // A file found on PATH without `#!` and not a binary is still read by a shell: execvp
            // retries it with /bin/sh, which read the live file after the hash (found by helper-208).
            case .file(_, let searchPATH): interpreted = !searchPATH || startsWithShebang(fd) || !startsWithELF(fd)
            case .command: interpreted = startsWithShebang(fd)
            default: interpreted = false
            }
            // Always a sealed copy: in-place hashing of scripts "only root could change" was tried
            // and given up, since agents run as root and a bind mount or another agent's write path
            // reaches the same file (found by two reviews). Node cannot run a pinned script from the
            // copy, and Python does not find modules beside it: see the README.
            if interpreted, let copy = sealedCopy(fd) {
                sealed = copy.fd
                script.sha256 = copy.sha256
            } else {
                script.sha256 = sha256(fd)
                if interpreted {
                    // Said, not silent: the interpreter reads the file itself after this hash.
                    let said = "\(script.name) is hashed in place, not run from a sealed copy (over \(sealedCopyLimit >> 20) MiB, or the copy failed): a writer could change it between the hash and the interpreter's read"
                    audit.notes.append(said)
                    notice("warning: \(Redactor.redact(said))")
                }
            }
            audit.sha256 = script.sha256
        }
        let decision = policy.decide(script, in: request.environment)
        audit.declaredAs = decision.declaredAs
        guard decision.allowed else { return refuse(audit.inline.map { "\($0): " + decision.reason } ?? decision.reason) }
        audit.reason = decision.reason

        // Execute through the descriptors that were checked.
        var executables = [program], scripts: [String] = []
        var fds = [program: programFD]
        var execFD = programFD
        if let s = scriptArgument {
            let runFrom = sealed ?? s.fd
            keepAcrossExec(runFrom)
            argv[s.index] = "/proc/self/fd/\(runFrom)"
            // A file env runs is executed, as the command itself is; one an interpreter reads is
            // only read (found by helper-208 and helper-210).
            let executedByEnv = names.contains("env") && (envInterpreters.last.map { PathText.lastComponent(argv[$0]) == "env" } ?? true)
            if executedByEnv { executables.append(s.path) } else { scripts.append(s.path) }
            fds[s.path] = s.fd
        } else if let sealed {
            // Do what the kernel does with a `#!` script, on the sealed copy.
            guard let line = shebang(sealed) else { return refuse("\(program) has no interpreter on its #! line") }
            let interpreter = absolute(line.interpreter)
            let fd = openForExec(interpreter)
            guard fd >= 0 else { return refuse("cannot open \(interpreter), the interpreter of \(program): \(String(cString: strerror(errno)))") }
            // The launcher runs the interpreter itself, so it is held to what the kernel and Landlock
            // would hold it to: never from a path the agent writes, and only where no one but root could
            // have put it. An agent-written binary ran under the pinned script's approval (helper-126).
            // The path of what was opened, not of the name again: a link swapped between the open and
            // this check would otherwise vouch for another file (found by review).
            // A file whose path the kernel cannot give (deleted since) is refused, not looked up by name.
            guard let realInterpreter = openedPath(fd) else {
                close(fd)
                return refuse("cannot tell which file \(interpreter), the interpreter of \(program), is")
            }
            if let w = request.manifest.write.first(where: { Landlock.isWithin(realInterpreter, $0) || Landlock.isWithin(interpreter, $0) }) {
                close(fd)
                return refuse("\(interpreter), the interpreter of \(program), lies under \(w), which the agent may write")
            }
            if let why = untrustedInterpreter(realInterpreter, fd: fd) {
                close(fd)
                return refuse("\(interpreter), the interpreter of \(program), is not a trusted interpreter: \(why)")
            }
            keepAcrossExec(sealed)
            argv = [line.interpreter] + (line.argument.map { [$0] } ?? []) + ["/proc/self/fd/\(sealed)"] + argv.dropFirst()
            // The script's own file is only read from now on (the copy is what runs), so it keeps no
            // execute: from a write path the command could otherwise overwrite it and run what it wrote.
            executables = [interpreter]
            scripts.append(program)
            fds[interpreter] = fd
            execFD = fd
            audit.notes.append("runs a sealed copy of \(program) through \(interpreter)")
        } else if startsWithShebang(programFD) {
            // A `#!` script executed through its descriptor is handed to its interpreter as /dev/fd/N,
            // which must stay open across exec.
            keepAcrossExec(programFD)
        }

        var env = scrub.scrub(inherited)
        audit.removedEnvironment = env.removed
        // Python runs the `.pth` files and `usercustomize` of the user's site-packages, found through
        // HOME, before the script: code from wherever HOME points, a writable directory included. The
        // scrub removed every other PYTHON* setting that loads code; this one turns that one off.
        env.kept.append(Array("\(EnvironmentScrub.noUserSite)=1".utf8))
        // PATH entries the command may write, or that are relative (the working directory), are
        // dropped: a link planted there (`hostname -> /usr/bin/bash`) is run by any pinned script
        // that names the command bare (found by helper-81).
        if let i = env.kept.firstIndex(where: { $0.starts(with: Array("PATH=".utf8)) }) {
            let entries = String(decoding: env.kept[i].dropFirst(5), as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let kept = Self.safePath(entries.joined(separator: ":"), write: request.manifest.write)
            if kept.count != entries.count {
                // None left is not an empty PATH, which shells read as the working directory.
                env.kept[i] = Array(("PATH=" + (kept.isEmpty ? "/usr/local/bin:/usr/bin:/bin" : kept.joined(separator: ":"))).utf8)
                audit.notes.append("PATH entries the command may write or that are relative were dropped: \(entries.count - kept.count)")
            }
        }
        // Node has no such switch: `require` searches HOME's .node_modules and .node_libraries after the
        // script's own node_modules, for any node the command runs (a shell script's included). Where
        // either exists and someone other than root could have written it, or the command may write it,
        // a pinned script could load modules the manifest never saw: refused, whatever the command.
        if let why = writableNodeFolder(home: EnvironmentScrub.value(of: "HOME", in: env.kept)) {
            return refuse(why)
        }
        // Nor may the command write HOME itself or its dot-files: zsh reads ~/.zshenv, Python the user
        // site under ~/.local, git ~/.gitconfig and ~/.config, before any pinned script (found by review).
        // HOME unset is the password database's home to zsh and Python; a link is where it leads (found by review).
        let homeText = EnvironmentScrub.value(of: "HOME", in: env.kept).map { String(decoding: $0, as: UTF8.self) }
            ?? getpwuid(geteuid()).flatMap { $0.pointee.pw_dir.map { String(cString: $0) } }
        if let text = homeText, !text.isEmpty, absolute(text) != "/" {
            let homes = [absolute(text)] + (Landlock.realPath(text).map { [$0] } ?? [])
            let writes = request.manifest.write.flatMap(Landlock.spellings)
            for home in homes {
            for w in writes {
                let inside = Landlock.isWithin(home, w)
                // The dot-files code and configuration are read from, not caches (`~/.cache/pip`, `~/.npm`).
                let dotted = Self.homeCodeFiles.contains { Landlock.isWithin(home + "/" + $0, w) || Landlock.isWithin(w, home + "/" + $0) }
                if inside || dotted {
                    return refuse("HOME (\(home)) \(inside ? "is inside" : "holds") the write path \(w): shells, Python, Node and git read code and configuration from HOME's dot-files, which the command could then write; set HOME elsewhere or declare a narrower write path")
                }
            }
            }
        }
        if let proxy = request.proxy {
            // All HTTP(S) goes to the proxy: no variable may send some of it around.
            let replaced: Set<String> = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"]
            env.kept.removeAll { e in replaced.contains(String(decoding: e.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self)) }
            for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] { env.kept.append(Array("\(name)=\(proxy.url)".utf8)) }
        }

        // The system's own programs and libraries keep execute, so no write path may reach them.
        for w in request.manifest.write {
            if let sys = Self.systemExecutable.first(where: { Self.overlapsWrite($0, [w]) }) {
                return refuse("the write path \(w) \(Landlock.isWithin(sys, w) ? "holds" : "lies within") \(sys), whose programs the command may run: what it wrote there it could run; declare a narrower write path")
            }
        }
        // The command's own file keeps execute (its rule is on its inode), so from inside a write path
        // the command could overwrite it in place and run what it wrote. Said, not refused: a runner's
        // scripts often live in its writable workspace. A pinned `#!` script is not among them: its
        // sealed copy runs, and its file is only read.
        for e in executables where Self.overlapsWrite(e, request.manifest.write) {
            let said = "\(e) lies in a write path and keeps execute: the command could overwrite that file and run what it wrote"
            audit.notes.append(said)
            notice("warning: \(Redactor.redact(said)) (keep programs outside the write paths)")
        }
        let unexecutable = request.manifest.read.filter { Self.overlapsWrite($0, request.manifest.write) }
        if !unexecutable.isEmpty {
            let said = "read paths that hold or lie within a write path are granted without execute: \(unexecutable.joined(separator: ", "))"
            audit.notes.append(said)
            // Said where the user looks too: programs there now fail with EACCES (helper-149).
            notice("warning: \(Redactor.redact(said)) (Landlock cannot take execute from the write path alone; declare read paths beside the write paths to run programs from them)")
        }
        guard let declared = Capabilities.mask(request.manifest.capabilities) else { return refuse("the manifest names an unknown capability") }
        var ruleset: Landlock.Ruleset?
        switch Landlock.abi() {
        case .success(let abi):
            let r = Self.ruleset(abi: abi, manifest: request.manifest, executables: executables, scripts: scripts, proxy: request.proxy)
            ruleset = r
            audit.confinement = "landlock ABI \(abi)"
            if let n = r.tcpNote { audit.notes.append(n) }
            // TCP limits this kernel cannot apply: the command could connect anywhere while the run
            // said it was confined, and only the audit record said otherwise (found by helper-208).
            // With --proxy the run relies on them (the proxy's egress policy and leak check are what
            // it is for), so it is refused unless --allow-unlimited-tcp; without, it is said on stderr.
            if abi < 4, r.connectPorts != nil {
                let why = "Landlock ABI \(abi) cannot limit TCP connects (that needs ABI 4, Linux 6.7), so \(request.proxy != nil ? "the command could connect around the proxy" : "the manifest's egress ports are not enforced by the kernel")"
                if request.proxy != nil {
                    guard request.allowUnlimitedTCP else { return refuse("\(why); refusing to run with --proxy unless --allow-unlimited-tcp") }
                    audit.confinement = "landlock ABI \(abi), TCP not limited by --allow-unlimited-tcp"
                    notice("warning: \(why): running WITHOUT TCP LIMITS by --allow-unlimited-tcp (file limits still apply)")
                } else {
                    notice("warning: \(why) (file limits apply)")
                }
            }
        case .failure(let e):
            let why = "Landlock is not available in this kernel (\(e))"
            guard request.allowUnconfined else { return refuse("\(why); refusing to run unconfined without --allow-unconfined") }
            audit.confinement = "unconfined: \(why)"
            notice("warning: \(why): running UNCONFINED by --allow-unconfined (no file or TCP limits; capabilities, no_new_privs and the environment scrub still apply)")
        }

        do throws(ConfinementError) {
            let caps = try Capabilities.confine(to: declared)
            audit.capabilities = Capabilities.names(in: caps.kept)
            if caps.boundingKept != 0 {
                // Said, not hidden: the sets that matter are empty of them and no_new_privs keeps them so.
                audit.notes.append("without CAP_SETPCAP the bounding set keeps \(Capabilities.names(in: caps.boundingKept).joined(separator: ", ")); no_new_privs stops them being regained")
            }
            let r = cgs_set_no_new_privs()
            guard r == 0 else { throw ConfinementError("PR_SET_NO_NEW_PRIVS", errno: -r) }
            // The terminal the command inherits is open before Landlock, so its device-ioctl rule does
            // not cover it: TIOCSTI pushed `touch …` into the caller's shell, which ran it unconfined
            // after the command exited (found by helper-116). A seccomp filter refuses that ioctl. It
            // also refuses an executable memfd: Landlock judges paths, and a memfd has none, so a
            // program the command wrote into one ran though no path it could write may execute.
            let s = cgs_install_syscall_filter()
            guard s == 0 else { throw ConfinementError("seccomp filter (TIOCSTI, executable memfds)", errno: -s) }
            if let ruleset { try Landlock.restrict(ruleset, fds: fds) }
        } catch {
            return refuse("confinement failed, not running the command: \(error)")
        }

        audit.decision = "allow"
        record(audit)
        let r = execute(execFD, argv: argv, environment: env.kept)
        audit.notes.append("execveat failed: \(String(cString: strerror(-r)))")
        return refuse("cannot execute \(program): \(String(cString: strerror(-r)))", code: r == -ENOENT ? 127 : 126)
    }

    /// execveat(fd, "", argv, envp, AT_EMPTY_PATH); returns -errno, only on failure.
    static func execute(_ fd: Int32, argv: [String], environment: [[UInt8]]) -> Int32 {
        func cStrings(_ items: [[UInt8]]) -> [UnsafeMutablePointer<CChar>?] {
            items.map { bytes in
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
                for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
                p[bytes.count] = 0
                return p
            } + [nil]
        }
        let cArgv = cStrings(argv.map { Array($0.utf8) }), cEnv = cStrings(environment)
        defer { for p in cArgv + cEnv { p?.deallocate() } }
        return cArgv.withUnsafeBufferPointer { a in
            cEnv.withUnsafeBufferPointer { e in cgs_execveat(fd, "", a.baseAddress, e.baseAddress, cgs_at_empty_path) }
        }
    }
}
