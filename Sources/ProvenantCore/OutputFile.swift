#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes output to a path without ever replacing something that is not a regular file.
///
/// - A new path, or an existing regular file, is written to a temporary file beside it
///   (created `O_EXCL|O_NOFOLLOW`, mode 0600) and renamed into place, so a failed run never
///   leaves half an output. A replaced file keeps its permission bits; a new one gets 0644
///   less the umask.
/// - Anything else that already exists (a character device such as `/dev/null`, a FIFO, a
///   socket, a terminal) is opened and written as it is, never unlinked or renamed over.
/// - A symbolic link to a device, FIFO or socket is written through; a link to a regular file is
///   refused, so a link planted where the output goes cannot send it somewhere else.
/// - `/dev/stdout` and `/dev/stderr` (and their `/proc/self/fd` names) write to the stream itself.
public final class OutputFile {
    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public let path: String
    private let fd: Int32
    /// Set when writing to a temporary file that is renamed onto `path` on commit.
    private let temporary: String?
    private var failure: String?
    private var finished = false

    public init(_ path: String) throws(Failure) {
        self.path = path
        // The process's own streams, by any of their names: written through the descriptor we hold,
        // so `-o /dev/stdout >> log` appends to the log instead of replacing it.
        if let fd = Self.standardStream(path) {
            let copy = dup(fd)
            guard copy >= 0 else { throw Failure(path: path, reason: Self.errorText()) }
            self.fd = copy
            self.temporary = nil
            return
        }
        var st = stat()
        // The mode of the regular file being replaced, kept for the new one.
        var existingMode: mode_t?
        if lstat(path, &st) == 0 {
            let kind = st.st_mode & S_IFMT
            if kind == S_IFDIR { throw Failure(path: path, reason: "is a directory") }
            if kind != S_IFREG {
                var target = stat()
                guard stat(path, &target) == 0 else { throw Failure(path: path, reason: "is a symbolic link that leads nowhere (\(Self.errorText()))") }
                if kind == S_IFLNK {
                    let targetKind = target.st_mode & S_IFMT
                    // A link to a file (one checked into a scanned repository, say) would make the output
                    // land wherever it points: refused. A link to a device or FIFO is written through.
                    if targetKind == S_IFREG { throw Failure(path: path, reason: "is a symbolic link to a file; name the file itself") }
                    if targetKind == S_IFDIR { throw Failure(path: path, reason: "is a symbolic link to a directory") }
                }
                // Devices, FIFOs and sockets are written in place; O_TRUNC is meaningless for them.
                let fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
                guard fd >= 0 else { throw Failure(path: path, reason: Self.errorText()) }
                var opened = stat()
                // Opened what was checked, not a regular file swapped in since.
                guard fstat(fd, &opened) == 0, opened.st_mode & S_IFMT != S_IFREG else {
                    close(fd); throw Failure(path: path, reason: "changed while being opened")
                }
                self.fd = fd
                self.temporary = nil
                return
            }
            existingMode = st.st_mode & 0o7777
        } else if errno != ENOENT {
            throw Failure(path: path, reason: Self.errorText())
        }
        let dir = Self.directory(of: path)
        var made: (Int32, String)?
        for _ in 0..<16 {
            let name = dir + "/." + Self.baseName(of: path) + ".tmp-" + Self.randomSuffix()
            let fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { made = (fd, name); break }
            if errno != EEXIST { throw Failure(path: path, reason: "cannot create a temporary file beside it: \(Self.errorText())") }
        }
        guard let (fd, name) = made else { throw Failure(path: path, reason: "cannot create a temporary file beside it") }
        let mode: mode_t
        if let existingMode { mode = existingMode } else {
            let mask = umask(0); umask(mask)
            mode = 0o644 & ~mask
        }
        fchmod(fd, mode)
        self.fd = fd
        self.temporary = name
    }

    /// Appends bytes; the first failure is kept and reported by `commit`.
    public func write(_ bytes: [UInt8]) {
        guard failure == nil else { return }
        failure = Self.writeAll(fd, bytes)
    }

    /// Closes the file and, for a temporary, renames it into place. On failure nothing is left behind.
    public func commit() throws(Failure) {
        guard !finished else { return }
        finished = true
        var failure = self.failure
        if close(fd) != 0, failure == nil { failure = Self.errorText() }
        if let temporary {
            if failure == nil, rename(temporary, path) != 0 { failure = "cannot move output into place: \(Self.errorText())" }
            if failure != nil { unlink(temporary) }
        }
        if let failure { throw Failure(path: path, reason: failure) }
    }

    /// Closes without publishing: a temporary is removed, a device is left as it was.
    public func discard() {
        guard !finished else { return }
        finished = true
        close(fd)
        if let temporary { unlink(temporary) }
    }

    /// An output neither committed nor discarded (a thrown error) leaves nothing behind.
    deinit { discard() }

    /// Writes every byte through partial writes and interruptions; the reason when it fails.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { buf -> String? in
            var done = 0
            while done < buf.count {
                let n = systemWrite(fd, buf.baseAddress.map { $0 + done }, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errorText()
                }
                done += n
            }
            return nil
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// 1 or 2 when `path` names standard output or standard error.
    private static func standardStream(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout", "/proc/self/fd/1", "/dev/fd/1": return STDOUT_FILENO
        case "/dev/stderr", "/proc/self/fd/2", "/dev/fd/2": return STDERR_FILENO
        default: return nil
        }
    }

    private static func randomSuffix() -> String {
        var g = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<12).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
    }
}

/// The system call, named apart from `OutputFile.write` so that the method does not shadow it.
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int { write(fd, p, n) }
