import Foundation
import ProvenantCore

/// A stream that can hand its bytes to a reader where they lie, without copying them out: what a
/// digest check drains (`DigestingStream.drain(until:)`).
protocol LendingStream: ByteStream {
    /// Hands the next bytes to `body` in place; the count handed over, 0 only at the end.
    func lend(_ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) -> Int
}

extension PrefetchingStream: LendingStream {}

/// A range of a held file, handed out where it lies in the page cache: mapped one window at a time,
/// so a layer's digest check hashes it without the copy `pread` makes, and memory holds one window of
/// it, never the layer.
///
/// Reading a mapping past its file's end raises SIGBUS, which would end the run. So a window is mapped
/// only after `check` has said, for that window's end, that the file is still held as it was: its
/// read lease whole and its size, times and identity unchanged (`LayerDigestChecks`), and its pages
/// are read in by `MADV_POPULATE_READ`, which reports a page that cannot be read as an error. Under
/// the lease the kernel makes anyone who truncates the file, or opens it for writing, wait for the
/// lease-break time first; a window is hashed in milliseconds, and mapping is used only when that time
/// is at least `minimumBreakSeconds`, and not on tmpfs (`usable`). What is left: a run stopped (a
/// debugger, SIGSTOP, a frozen cgroup) for longer than the break time inside one window, while someone
/// with write access truncates the file, or a page reclaimed between its read-in and its hash whose
/// second read fails, ends with SIGBUS instead of an error.
///
/// Hashing from a mapping reads memory the hash meets cold, which is slower than hashing a buffer
/// another core has just filled (`PrefetchingStream`); the copy only pays when that core is idle. So
/// once `handOff` says the reader has nothing left to do but wait, the rest of the range is read ahead
/// on a thread of its own instead.
final class MappedRangeStream: LendingStream {
    let owner: SharedDescriptor
    private var offset: Int
    private var remaining: Int
    let name: String
    /// Run before each window with the file offset the window ends at; an error stops the read.
    private let check: (Int) -> ImageError?
    /// Asked before each window: true to read the rest through a prefetching stream.
    private let handOff: () -> Bool
    /// The rest of the range, once handed off.
    private var rest: PrefetchingStream?
    /// Bytes handed out from mappings, before any hand-off.
    private(set) var mappedBytes = 0
    static let window = 4 << 20
    static let minimumBreakSeconds = 5
    private static let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    /// Linux's `MADV_POPULATE_READ` (5.14), which the Glibc module does not bring in.
    static let populateRead: Int32 = 22

    /// Whether the kernel makes a truncation wait long enough for a window to be hashed first
    /// (`/proc/sys/fs/lease-break-time`, in seconds; 45 by default).
    static let breakTimeAllows: Bool = {
        guard let text = try? String(contentsOfFile: "/proc/sys/fs/lease-break-time", encoding: .utf8),
              let seconds = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
        return seconds >= minimumBreakSeconds
    }()

    /// Whether this kernel's `MADV_POPULATE_READ` fails on a page it cannot read: from Linux 6.9. From
    /// 5.14, where it came, until then, a page whose read fails with EIO was retried without end (fixed
    /// upstream by 631426ba1d45), so an unreadable sector would stall the run where `pread` fails.
    static let kernelAllows: Bool = {
        var name = utsname()
        guard uname(&name) == 0 else { return false }
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return kernel(release, atLeast: (6, 9))
    }()

    /// Whether a kernel release string (`6.18.44-fc-v1300`) names at least `version`.
    static func kernel(_ release: String, atLeast version: (Int, Int)) -> Bool {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return (parts[0], parts[1]) >= version
    }

    /// Whether the file open at `fd` (held under a lease) may be read through mappings: the kernel and
    /// its break time allow it, and the file is not on tmpfs, where reading a mapping of a hole
    /// allocates memory (`pread` reads it as zeros without).
    static func usable(_ fd: Int32) -> Bool {
        kernelAllows && breakTimeAllows && LeasedFilesystem.type(fd).map { $0 != LeasedFilesystem.tmpfs } == true
    }

    /// The advice each window is read in with: `populateRead`, or, in tests, one the kernel refuses.
    private let advice: Int32

    init(_ owner: SharedDescriptor, offset: Int, length: Int, name: String,
         check: @escaping (Int) -> ImageError?, handOff: @escaping () -> Bool = { false },
         advice: Int32 = MappedRangeStream.populateRead) {
        self.owner = owner; self.offset = max(0, offset); remaining = max(0, length); self.name = name
        self.check = check; self.handOff = handOff; self.advice = advice
    }

    func lend(_ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) -> Int {
        if let rest = rest ?? handingOff() { return try rest.lend(body) }
        if let n = try mapNext(upTo: Self.window, body) { return n }
        return try handOffNow().lend(body)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        if let rest = rest ?? handingOff() { return try rest.read(into: buffer) }
        let copied = try mapNext(upTo: buffer.count) { (bytes) throws(ImageError) in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        if let copied { return copied }
        return try handOffNow().read(into: buffer)
    }

    /// The read-ahead stream over the rest of the range, started when `handOff` says so.
    private func handingOff() -> PrefetchingStream? {
        guard remaining > 0, handOff() else { return nil }
        return handOffNow()
    }

    private func handOffNow() -> PrefetchingStream {
        let stream = PrefetchingStream(SharedRangeStream(owner, offset: offset, length: remaining, name: name),
                                       chunk: LayerDigestChecks.readAheadChunk, depth: 2)
        rest = stream
        remaining = 0
        return stream
    }

    /// Maps the next window, of at most `limit` bytes, after `check` allowed it, and hands it to `body`;
    /// the count handed. Nil when the window could not be mapped and read in for a reason other than an
    /// unreadable page: the caller then reads the rest from `handOffNow()`.
    private func mapNext(upTo limit: Int, _ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) -> Int? {
        guard remaining > 0, limit > 0 else { return 0 }
        let lead = offset % Self.pageSize
        let n = min(remaining, limit, Self.window - lead)
        let (end, overflow) = offset.addingReportingOverflow(n)
        guard !overflow else { throw ImageError(name, "lies past the largest file offset") }
        if let problem = check(end) { throw problem }
        let length = lead + n
        guard let mapped = mmap(nil, length, PROT_READ, MAP_SHARED, owner.fd, off_t(offset - lead)), mapped != MAP_FAILED else {
            // No mapping (out of address space, a filesystem without mmap): the rest is read instead.
            return nil
        }
        defer { munmap(mapped, length) }
        // Every page is read in before the hash touches it, by a call that answers a failure (an I/O
        // error, a page past the file's end, a full tmpfs) with an error, where a touch would raise
        // SIGBUS. `MAP_POPULATE` would ignore such a failure.
        if madvise(mapped, length, advice) != 0 {
            let e = errno
            if e == EFAULT || e == EIO {
                throw ImageError(name, "cannot be read: a page of it could not be read in (an I/O error, or the file shrank)")
            }
            // A kernel before Linux 5.14 has no MADV_POPULATE_READ (EINVAL), or memory ran short: the
            // rest is read with `pread`, which fails with an error, never a signal.
            return nil
        }
        try body(UnsafeRawBufferPointer(start: mapped + lead, count: n))
        offset = end; remaining -= n; mappedBytes += n
        return n
    }
}
