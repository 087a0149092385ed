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
            try body { FileHandle.standardOutput.write(Data($0)) }
            return
        }
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: nil), let fh = FileHandle(forWritingAtPath: tmp) else {
            fail("error: \(path): cannot write output: \(String(cString: strerror(errno)))")
        }
        do {
            try body { fh.write(Data($0)) }
            try fh.close()
            if rename(tmp, path) != 0 { throw InputError("cannot move output into place: \(String(cString: strerror(errno)))") }
        } catch {
            unlink(tmp)
            fail("error: \(path): cannot write output: \(error)")
        }
    }
}
