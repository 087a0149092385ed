#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file the operator names on the command line (a VEX document, a baseline, a key, an SBOM), read
/// whole and never past a limit.
///
/// - A regular file larger than `limit` is refused before anything is read.
/// - A pipe, a FIFO or a character device (`<(…)`, `/dev/stdin`) is read as a stream: process
///   substitution keeps working, and reading stops with an error one byte past `limit`, so
///   `/dev/zero` or an endless pipe cannot grow the run without bound.
/// - A directory, a socket or a block device is refused.
public enum NamedInputFile {
    /// `what` names the file in errors ("VEX document", "key"); the path is redacted there.
    /// `regularOnly`: the file must be a regular file (a config the run looks up itself, or a file
    /// read a second time, which must still be the regular file it was); it is opened without
    /// blocking, so a FIFO in its place is refused instead of hanging the run.
    public static func read(_ path: String, limit: Int, what: String = "file", regularOnly: Bool = false) throws(InputError) -> [UInt8] {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0)) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw failure(path, what, errorText()) }
        defer { close(fd) }
        return try read(fd: fd, path: path, limit: limit, what: what, regularOnly: regularOnly)
    }

    /// Reads the open file `fd` whole, as `read(_:limit:what:regularOnly:)` does; `path` only names
    /// it in errors. The caller opened it (with `O_NONBLOCK` when `regularOnly`) and closes it.
    public static func read(fd: Int32, path: String, limit: Int, what: String = "file", regularOnly: Bool = false) throws(InputError) -> [UInt8] {
        func fail(_ why: String) -> InputError { failure(path, what, why) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail(errorText()) }
        let kind = st.st_mode & S_IFMT
        switch kind {
        case S_IFREG:
            // A size read from the filesystem is checked before it sizes a buffer.
            guard st.st_size >= 0, st.st_size <= Int64(limit) else { throw fail("\(st.st_size) bytes, over the \(describe(limit)) this file may have") }
        case S_IFIFO, S_IFCHR:
            if regularOnly { throw fail("not a regular file") }
        case S_IFDIR:
            throw fail("a directory, not a file")
        default:
            throw fail("not a regular file, pipe or character device")
        }
        var out: [UInt8] = []
        if kind == S_IFREG { out.reserveCapacity(Int(st.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(errorText())
            }
            if n == 0 { break }
            // A stream, or a regular file that grew while being read, stops one byte past the limit.
            guard n <= limit - out.count else { throw fail("more than the \(describe(limit)) this file may have") }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    static func failure(_ path: String, _ what: String, _ why: String) -> InputError {
        InputError("cannot read \(what): \(why)", at: Location(Redactor.redact(path)))
    }

    /// `limit` in the largest whole unit: "64 KiB", "16 MiB".
    static func describe(_ limit: Int) -> String {
        if limit >= 1 << 30, limit % (1 << 30) == 0 { return "\(limit >> 30) GiB" }
        if limit >= 1 << 20, limit % (1 << 20) == 0 { return "\(limit >> 20) MiB" }
        if limit >= 1 << 10, limit % (1 << 10) == 0 { return "\(limit >> 10) KiB" }
        return "\(limit) bytes"
    }

    static func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(fd, buffer, count)
        #elseif canImport(Musl)
        Musl.read(fd, buffer, count)
        #else
        Darwin.read(fd, buffer, count)
        #endif
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
