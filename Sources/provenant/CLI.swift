import ProvenantCore
import Foundation

enum CLI {
    /// Warnings and errors quote input: whatever reaches the terminal goes through the redactor and has
    /// its control characters escaped. A token in a path given on the command line (`--manifest
    /// /run/ghp_….yaml`) was printed whole by every command but `secrets scan` (found by helper-165).
    static func stderr(_ s: String) { FileHandle.standardError.write(Data((Redactor.escapeControlsPerLine(Redactor.redact(s)) + "\n").utf8)) }

    /// Input errors exit 2, as usage errors do.
    static func fail(_ message: String) -> Never {
        stderr(message)
        exit(2)
    }

    /// Hands `body` a chunk writer for stdout or for `path`. A regular file (or a new path) is written
    /// beside its final name and renamed into place, so a failed run never leaves a half-written SBOM;
    /// a device, FIFO or socket is written as it is and never replaced (see `OutputFile`).
    static func withOutput(_ path: String?, _ body: (([UInt8]) -> Void) throws -> Void) throws {
        guard let path, path != "-" else {
            try body { if let e = writeAll(STDOUT_FILENO, $0) { fail("error: cannot write to standard output: \(e)") } }
            return
        }
        let out: OutputFile
        do { out = try OutputFile(path) } catch { fail("error: \(error.path): cannot write output: \(error.reason)") }
        do {
            try body { chunk in out.write(chunk) }
        } catch {
            out.discard()
            fail("error: \(path): cannot write output: \(error)")
        }
        do { try out.commit() } catch { fail("error: \(error.path): cannot write output: \(error.reason)") }
    }

    /// Writes every byte straight from the buffer, through partial writes and interruptions;
    /// the reason when the write fails.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? { OutputFile.writeAll(fd, bytes) }
}
