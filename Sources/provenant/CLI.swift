import ProvenantCore
import Foundation

enum CLI {
    static func stderr(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    /// Input errors exit 2, as usage errors do.
    static func fail(_ message: String) -> Never {
        stderr(message)
        exit(2)
    }

    /// Hands `body` a chunk writer for stdout or for `path`. A file is written beside its final
    /// name and renamed into place, so a failed run never leaves a half-written SBOM.
    static func withOutput(_ path: String?, _ body: (([UInt8]) -> Void) throws -> Void) throws {
        guard let path, path != "-" else {
            try body { if let e = writeAll(STDOUT_FILENO, $0) { fail("error: cannot write to standard output: \(e)") } }
            return
        }
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fail("error: \(path): cannot write output: \(String(cString: strerror(errno)))") }
        var failure: String?
        do {
            try body { chunk in if failure == nil { failure = writeAll(fd, chunk) } }
            if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
            if let failure { throw InputError(failure) }
            if rename(tmp, path) != 0 { throw InputError("cannot move output into place: \(String(cString: strerror(errno)))") }
        } catch {
            unlink(tmp)
            fail("error: \(path): cannot write output: \(error)")
        }
    }

    /// Writes every byte straight from the buffer, through partial writes and interruptions;
    /// the reason when the write fails.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { buf -> String? in
            var done = 0
            while done < buf.count {
                let n = write(fd, buf.baseAddress.map { $0 + done }, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                done += n
            }
            return nil
        }
    }
}
