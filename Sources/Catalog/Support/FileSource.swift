import Crypto
import Foundation
import ProvenantCore

/// What every read of a scan goes through, whatever the target is: a directory on disk
/// (`RootedDirectory`) or an image's squashed root filesystem (`ImageFileSource`). Paths are relative to
/// the target's root and resolved inside it only.
public protocol FileSource: Sendable {
    /// The bytes of the regular file at `path`, refusing files larger than `limit`.
    func read(_ path: String, limit: Int) throws(FileAccessError) -> [UInt8]
    /// `read` by the extraction job whose own file `path` is. An image keeps some files for their own
    /// jobs alone, frees them once those are done, and refuses them to every other read.
    func readOwnFile(_ path: String, limit: Int) throws(FileAccessError) -> [UInt8]
    /// The reading job's own file at `path` for positioned reads (ELF sections) instead of one whole load.
    func randomAccess(_ path: String) throws(FileAccessError) -> RandomAccessFile
    /// The one path under which the file at `path` is known once links and `..` are resolved.
    func canonicalPath(_ path: String) throws(FileAccessError) -> String
    /// The names this source's lookups may walk through symbolic links, shared across the scan.
    var linkNames: LinkNameBudget { get }
}

extension FileSource {
    public func readOwnFile(_ path: String, limit: Int) throws(FileAccessError) -> [UInt8] { try read(path, limit: limit) }
}

extension RootedDirectory: FileSource {
    public func randomAccess(_ path: String) throws(FileAccessError) -> RandomAccessFile {
        let fh = try handle(path)
        guard let size = try? fh.seekToEnd() else { throw .unreadable(path, reason: "cannot seek") }
        return RandomAccessFile(handle: fh, size: size)
    }
}

/// Positioned reads over a file on disk or bytes in memory. Every offset and size comes from the file
/// itself, so each read is checked against its length first: an offset past the end (or past
/// Int64.max, which FileHandle would trap on) is a failed read, not a crash.
public final class RandomAccessFile: @unchecked Sendable {
    enum Storage { case handle(FileHandle), bytes([UInt8]) }
    let storage: Storage
    public let size: UInt64

    init(handle: FileHandle, size: UInt64) { storage = .handle(handle); self.size = size }
    public init(bytes: [UInt8]) { storage = .bytes(bytes); size = UInt64(bytes.count) }
    deinit { if case .handle(let fh) = storage { try? fh.close() } }

    public func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
        guard count >= 0, count < 64 << 20 else { return nil }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= size else { return nil }
        switch storage {
        case .bytes(let b): return Array(b[Int(offset)..<Int(end)])
        case .handle(let fh):
            do {
                try fh.seek(toOffset: offset)
                guard let d = try fh.read(upToCount: count), d.count == count else { return nil }
                return [UInt8](d)
            } catch { return nil }
        }
    }

    /// SHA-256 of the whole file, streamed.
    public func sha256() throws -> ProvenantCore.Digest {
        switch storage {
        case .bytes(let b): return FileDigest.sha256(b)
        case .handle(let fh):
            try fh.seek(toOffset: 0)
            var h = SHA256()
            while let chunk = try fh.read(upToCount: 1 << 20), !chunk.isEmpty { h.update(data: chunk) }
            return ProvenantCore.Digest(.sha256, Hex.encode(h.finalize()))
        }
    }
}
