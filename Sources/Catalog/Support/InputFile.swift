import Foundation
import ProvenantCore

/// A file the user names on the command line (a policy, a config), read whole. Opened non-blocking
/// and checked to be a regular file before any read, so a FIFO or device in its place is refused
/// instead of hanging the run, and refused when larger than `limit`.
public enum InputFile {
    public static func read(_ path: String, limit: Int) throws(FileAccessError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .notFound(path) }
            throw .unreadable(path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        return try read(fd: fd, path: path, limit: limit)
    }

    /// Reads the open file `fd` whole, after checking it is a regular file within `limit`.
    public static func read(fd: Int32, path: String, limit: Int) throws(FileAccessError) -> [UInt8] {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(path) }
        guard st.st_size <= limit else { throw .tooLarge(path, size: Int(st.st_size), limit: limit) }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < out.count {
            let n = out.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; throw .unreadable(path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            done += n
        }
        out.removeLast(out.count - done)
        return out
    }
}
