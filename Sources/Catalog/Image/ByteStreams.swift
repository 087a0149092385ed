import Crypto
import Foundation
import Synchronization
import ProvenantCore
import CZstd
#if canImport(CZlib)
import CZlib
#elseif canImport(zlib)
import zlib
#endif

/// Bytes read front to back, a chunk at a time: how an image's blobs are read, so a layer of any size
/// is never held whole. `read` returns 0 only at the end.
public protocol ByteStream: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int
    /// Passes over up to `count` bytes; the count passed, fewer only at the end. A stream that holds
    /// the bytes already (a prefetched chunk) steps over them instead of copying them out.
    func skip(_ count: Int) throws(ImageError) -> Int
}

/// `Array.withUnsafeMutableBytes` for a body with a typed error (the standard one rethrows `any Error`).
func withBytes(_ a: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(ImageError) -> Int) throws(ImageError) -> Int {
    var failure: ImageError?
    let n = a.withUnsafeMutableBytes { b -> Int in
        do throws(ImageError) { return try body(b) } catch { failure = error; return 0 }
    }
    if let failure { throw failure }
    return n
}

extension ByteStream {
    public func skip(_ count: Int) throws(ImageError) -> Int {
        guard count > 0 else { return 0 }
        let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: min(count, 256 << 10), alignment: 16)
        defer { sink.deallocate() }
        var done = 0
        while done < count {
            let got = try readFully(into: UnsafeMutableRawBufferPointer(rebasing: sink[..<min(count - done, sink.count)]))
            if got == 0 { break }
            done += got
        }
        return done
    }

    /// Reads until `buffer` is full or the stream ends; the count read.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Every remaining byte, refusing more than `limit`: for manifests and configs.
    func readAll(limit: Int, name: String) throws(ImageError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = try withBytes(&chunk) { (b) throws(ImageError) -> Int in try read(into: b) }
            if n == 0 { return out }
            guard out.count + n <= limit else { throw ImageError(name, "is larger than \(limit >> 10) KiB; not read") }
            out += chunk[0..<n]
        }
    }
}

/// `length` bytes of an open file from `offset`, read with `pread` so several streams can share the fd.
public final class FileRangeStream: ByteStream {
    let fd: Int32
    var offset: Int
    var remaining: Int
    let name: String

    public init(fd: Int32, offset: Int, length: Int, name: String) {
        self.fd = fd; self.offset = offset; remaining = length; self.name = name
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let want = min(buffer.count, remaining)
        guard want > 0 else { return 0 }
        while true {
            let n = pread(fd, buffer.baseAddress!, want, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageError(name, "cannot be read: \(String(cString: strerror(errno)))")
            }
            // The file is shorter than its entry said: truncated under us.
            if n == 0 { throw ImageError(name, "ends \(remaining) bytes early (truncated)") }
            offset += n; remaining -= n
            return n
        }
    }
}

/// Bytes already in memory (a blob fetched whole, a test's layer).
public final class MemoryStream: ByteStream {
    let bytes: [UInt8]
    var at = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let n = min(buffer.count, bytes.count - at)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[at..<(at + n)])) }
        at += n
        return n
    }
}

/// Passes bytes through while hashing them; at the end the SHA-256 must be `expected`, and the byte
/// count `expectedSize` when one is given, or the read fails: a blob is never trusted for its name.
public final class DigestingStream: ByteStream {
    let inner: ByteStream
    var hasher = SHA256()
    var count = 0
    let expected: String
    let expectedSize: Int?
    let name: String
    var verified = false

    /// `expected` is `sha256:<hex>`; any other algorithm is refused before a byte is read.
    public init(_ inner: ByteStream, expected: String, size: Int? = nil, name: String) throws(ImageError) {
        try ImageDigest.requireSHA256(expected, name: name)
        self.inner = inner; self.expected = expected; expectedSize = size; self.name = name
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let n = try inner.read(into: buffer)
        if n > 0 {
            try take(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            return n
        }
        try finish()
        return 0
    }

    /// Reads to the end without handing the bytes on, for a check that only needs the digest: from a
    /// prefetching stream the chunks are hashed where they lie. Checked as `read` checks them at the
    /// end. False when `stop` said so before a chunk; nothing was then verified. A lending stream (a
    /// prefetching or a mapped one) hands its chunks over in place.
    public func drain(until stop: () -> Bool) throws(ImageError) -> Bool {
        if let lender = inner as? LendingStream {
            while !stop() {
                if try lender.lend({ (b) throws(ImageError) in try take(b) }) == 0 { try finish(); return true }
            }
            return false
        }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: PrefetchingStream.chunk, alignment: 64)
        defer { scratch.deallocate() }
        while !stop() {
            if try read(into: scratch) == 0 { return true }
        }
        return false
    }

    private func take(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        hasher.update(bufferPointer: bytes)
        count += bytes.count
        if let s = expectedSize, count > s { throw ImageError(name, "is longer than the \(s) bytes its descriptor gives") }
    }

    private func finish() throws(ImageError) {
        guard !verified else { return }
        if let s = expectedSize, count != s { throw ImageError(name, "is \(count) bytes, not the \(s) its descriptor gives (truncated?)") }
        let got = "sha256:" + Hex.encode(hasher.finalize())
        guard got == expected else { throw ImageError(name, "has digest \(got), not the \(expected) it is named by") }
        verified = true
    }
}

/// What one image may inflate in all, shared by its layers, against decompression bombs.
public final class InflatedBytes {
    let shared: SharedInflateBudget
    public init(limit: Int) { shared = SharedInflateBudget(limit: limit) }
    init(shared: SharedInflateBudget) { self.shared = shared }
    func take(_ n: Int, _ name: String, ratioLimited: Bool = false) throws(ImageError) {
        switch shared.take(n, ratioLimited: ratioLimited) {
        case nil: return
        case .limit:
            throw ImageError(name, "inflates past the image's budget of \(shared.limit >> 20) MiB; stopped (decompression bomb?)")
        case .ratio:
            throw ImageError(name, "inflates to more than \(SharedInflateBudget.maxRatio) times its compressed size, past a first \(SharedInflateBudget.ratioAllowance >> 20) MiB; stopped (decompression bomb?)")
        }
    }
    func fed(_ n: Int) { shared.fed(n) }
}

/// A gzip stream (all its members, as `gzip -d` reads them) inflated as it is read.
public final class GzipStream: ByteStream {
    let inner: ByteStream
    var z = z_stream()
    /// Compressed bytes read ahead; allocated once so zlib's `next_in` into it stays valid.
    let input: UnsafeMutableRawBufferPointer
    var inputEnd = false
    var finished = false
    let name: String
    let budget: InflatedBytes

    /// What a gzip stream carries that no decompressor writes out, kept for the secret scan when asked
    /// (`keepingHidden`): each member's header fields (FEXTRA, FNAME, FCOMMENT), and what follows the
    /// last member from its first byte that is not zero. At most `keepingHidden` bytes in all.
    public struct Hidden: Sendable {
        /// Every member's header fields, a line break between members (a stream may have thousands).
        public var headers: CappedBytes
        /// What follows the last member: the room the headers left (they all come before it).
        public var trailing: CappedBytes?
    }
    /// Each header field read whole up to this many bytes (FEXTRA cannot be longer).
    static let headerFieldKept = 1 << 20
    private let header: UnsafeMutablePointer<gz_header>?
    private var headerTaken = false
    private let hiddenState: Mutex<Hidden>
    private let trailingKept: Int
    /// What was kept, once the stream has been read to its end.
    public var hidden: Hidden { hiddenState.withLock { $0 } }

    public init(_ inner: ByteStream, name: String, budget: InflatedBytes, keepingHidden: Int? = nil) throws(ImageError) {
        self.inner = inner; self.name = name; self.budget = budget
        trailingKept = keepingHidden ?? 0
        hiddenState = Mutex(Hidden(headers: CappedBytes(cap: keepingHidden ?? 0)))
        input = .allocate(byteCount: 128 << 10, alignment: 16)
        guard inflateInit2_(&z, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            input.deallocate()
            throw ImageError(name, "zlib could not start")
        }
        if keepingHidden != nil {
            let h = UnsafeMutablePointer<gz_header>.allocate(capacity: 1)
            h.initialize(to: gz_header())
            fields = (.allocate(capacity: 65536), .allocate(capacity: Self.headerFieldKept), .allocate(capacity: Self.headerFieldKept))
            header = h
            armHeader()
        } else {
            header = nil
            fields = nil
        }
    }
    /// The buffers zlib writes a member's FEXTRA, FNAME and FCOMMENT into; it sets a field's pointer
    /// in `header` to nil when the member has no such field, so they are kept here and handed back
    /// for each member.
    private let fields: (extra: UnsafeMutablePointer<UInt8>, name: UnsafeMutablePointer<UInt8>, comment: UnsafeMutablePointer<UInt8>)?
    deinit {
        inflateEnd(&z); input.deallocate()
        if let f = fields { f.extra.deallocate(); f.name.deallocate(); f.comment.deallocate() }
        header?.deallocate()
    }

    /// Asks zlib for the next member's header fields.
    private func armHeader() {
        guard let h = header, let f = fields else { return }
        h.pointee = gz_header()
        h.pointee.extra = f.extra; h.pointee.extra_max = 65536
        f.name[0] = 0; f.comment[0] = 0
        h.pointee.name = f.name; h.pointee.name_max = UInt32(Self.headerFieldKept)
        h.pointee.comment = f.comment; h.pointee.comm_max = UInt32(Self.headerFieldKept)
        headerTaken = false
        _ = inflateGetHeader(&z, h)
    }

    /// Keeps the header fields of the member being read, once zlib has read them all.
    private func takeHeader() {
        guard let h = header, !headerTaken, h.pointee.done == 1 else { return }
        headerTaken = true
        // All that is kept of one stream counts against one cap: ten thousand members with a 1 MiB
        // comment each are ten thousand headers. Each field is a part of its own.
        hiddenState.withLock { s in
            if h.pointee.extra != nil, h.pointee.extra_len > 0 {
                let n = Int(min(h.pointee.extra_len, h.pointee.extra_max))
                s.headers.appendPart(UnsafeBufferPointer(start: h.pointee.extra, count: n))
                if h.pointee.extra_len > h.pointee.extra_max { s.headers.markCut() }
            }
            for field in [h.pointee.name, h.pointee.comment] {
                guard let field else { continue }
                let b = UnsafeBufferPointer(start: field, count: Self.headerFieldKept)
                let end = b.firstIndex(of: 0) ?? b.count
                s.headers.appendPart(b[..<end])
                // Full without its NUL: zlib kept only the first part of a longer field.
                if end == b.count { s.headers.markCut() }
            }
        }
    }

    /// Keeps what follows the last member, from its first byte that is not zero (padding).
    private func keepTrailing(_ b: UnsafeRawBufferPointer) {
        guard trailingKept > 0, b.count > 0 else { return }
        hiddenState.withLock { s in
            if var trailing = s.trailing {
                trailing.append(b)
                s.trailing = trailing
            } else if let first = b.firstIndex(where: { $0 != 0 }) {
                var trailing = CappedBytes(cap: s.headers.room)
                trailing.append(b[first...])
                s.trailing = trailing
            }
        }
    }

    /// Reads more input until at least `want` bytes are waiting or the input ends; bytes still waiting
    /// are first moved to the front of the buffer.
    private func refill(atLeast want: Int = 1) throws(ImageError) {
        let base = input.baseAddress!
        while Int(z.avail_in) < want, !inputEnd {
            let have = Int(z.avail_in)
            if have > 0, UnsafeMutableRawPointer(z.next_in) != base { memmove(base, z.next_in, have) }
            let n = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: input[have...]))
            if n == 0 { inputEnd = true }
            z.next_in = base.assumingMemoryBound(to: UInt8.self)
            z.avail_in = UInt32(have + n)
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard !finished, buffer.count > 0 else { return 0 }
        let room = min(buffer.count, Int(UInt32.max))
        while true {
            try refill()
            z.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            z.avail_out = UInt32(room)
            let rc = inflate(&z, Z_NO_FLUSH)
            let produced = room - Int(z.avail_out)
            if header != nil { takeHeader() }
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { try budget.take(produced, name); return produced }
                if inputEnd && z.avail_in == 0 { throw ImageError(name, "ends inside its gzip stream (truncated layer)") }
            case Z_STREAM_END:
                // Another member may follow; anything else after the end is ignored, as gzip ignores padding.
                // Its two magic bytes are both needed to tell, even when the first is the buffer's last byte.
                try refill(atLeast: 2)
                if z.avail_in >= 2, z.next_in[0] == 0x1f, z.next_in[1] == 0x8b {
                    guard inflateReset(&z) == Z_OK else { throw ImageError(name, "zlib could not restart") }
                    armHeader()
                } else {
                    finished = true
                    keepTrailing(UnsafeRawBufferPointer(start: z.next_in, count: Int(z.avail_in)))
                    // Drain the rest so a digest over the compressed bytes sees all of them.
                    let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
                    defer { sink.deallocate() }
                    while true {
                        let n = try inner.read(into: sink)
                        if n == 0 { break }
                        keepTrailing(UnsafeRawBufferPointer(rebasing: sink[..<n]))
                    }
                }
                if produced > 0 { try budget.take(produced, name); return produced }
                if finished { return 0 }
            default:
                throw ImageError(name, "has damaged gzip data (zlib error \(rc))")
            }
        }
    }
}

/// A zstd stream (all its frames) decompressed as it is read.
public final class ZstdStream: ByteStream {
    let inner: ByteStream
    let ds: OpaquePointer
    let input: UnsafeMutableRawBufferPointer
    var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    var inputEnd = false
    var sawData = false
    /// zstd's hint from the last call that made progress: zero when a frame had just ended.
    var lastHint = 1
    let name: String
    let budget: InflatedBytes

    /// Skippable frames (magic 0x184D2A5?), which every decoder passes over: kept for the secret scan
    /// when it asks (`keepingHidden`), at most that many bytes of all of them, each with whether more
    /// of it was left.
    private let skippableKept: Int?
    private let skippedState: Mutex<CappedBytes>
    /// The skippable frames read, a line break between frames, once the stream has been read to its
    /// end; and whether any was not kept whole.
    public var skippableFrames: CappedBytes { skippedState.withLock { $0 } }
    /// Whether the next byte of input starts a frame (at the start, and after a frame ends).
    private var atFrameStart = true

    /// What the stream is, in the message that says it was cut short: a layer, or a file a secret scan opened.
    let whole: String

    public init(_ inner: ByteStream, name: String, budget: InflatedBytes, keepingHidden: Int? = nil, whole: String = "layer") throws(ImageError) {
        self.whole = whole
        skippableKept = keepingHidden
        skippedState = Mutex(CappedBytes(cap: keepingHidden ?? 0))
        guard let ds = ZSTD_createDStream() else { throw ImageError(name, "zstd could not start") }
        // Frames asking for windows beyond 128 MiB are refused (zstd's own default limit).
        _ = ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 27)
        self.ds = ds
        self.inner = inner; self.name = name; self.budget = budget
        input = .allocate(byteCount: ZSTD_DStreamInSize(), alignment: 16)
        inBuffer.src = UnsafeRawPointer(input.baseAddress)
    }
    deinit { ZSTD_freeDStream(ds); input.deallocate() }

    /// Moves the unread input to the front of the buffer and reads until `want` bytes wait or the
    /// input ends.
    private func fill(atLeast want: Int) throws(ImageError) {
        let base = input.baseAddress!
        let have = inBuffer.size - inBuffer.pos
        if have > 0, inBuffer.pos > 0 { memmove(base, base + inBuffer.pos, have) }
        inBuffer.size = have; inBuffer.pos = 0
        while inBuffer.size < want, !inputEnd {
            let n = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: input[inBuffer.size...]))
            if n == 0 { inputEnd = true } else { sawData = true; budget.fed(n); inBuffer.size += n }
        }
    }

    /// At a frame's start: reads the skippable frames that come next, keeping what is asked of each.
    private func readSkippableFrames() throws(ImageError) {
        while true {
            if inBuffer.size - inBuffer.pos < 8 { try fill(atLeast: 8) }
            // Fewer than 8 bytes left: zstd judges them.
            guard inBuffer.size - inBuffer.pos >= 8 else { return }
            let p = input.baseAddress!.assumingMemoryBound(to: UInt8.self) + inBuffer.pos
            func le32(_ at: Int) -> UInt32 { UInt32(p[at]) | UInt32(p[at + 1]) << 8 | UInt32(p[at + 2]) << 16 | UInt32(p[at + 3]) << 24 }
            guard le32(0) & 0xFFFF_FFF0 == 0x184D_2A50 else { atFrameStart = false; return }
            var left = Int(le32(4))
            inBuffer.pos += 8
            var first = true
            while left > 0 {
                if inBuffer.pos == inBuffer.size {
                    try fill(atLeast: 1)
                    guard inBuffer.size > 0 else { throw ImageError(name, "ends inside a zstd skippable frame (truncated \(whole))") }
                }
                let take = min(left, inBuffer.size - inBuffer.pos)
                // A frame is one part, read in chunks; the line break before it counts against the cap.
                let chunk = UnsafeRawBufferPointer(start: input.baseAddress! + inBuffer.pos, count: take)
                skippedState.withLock { s in if first { s.appendPart(chunk) } else { s.append(chunk) } }
                first = false
                inBuffer.pos += take; left -= take
            }
            lastHint = 0
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            if skippableKept != nil, atFrameStart { try readSkippableFrames() }
            if inBuffer.pos == inBuffer.size && !inputEnd {
                let n = try inner.read(into: input)
                if n == 0 { inputEnd = true } else { sawData = true; budget.fed(n) }
                inBuffer.size = n
                inBuffer.pos = 0
            }
            var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            let before = inBuffer.pos
            let rc = ZSTD_decompressStream(ds, &out, &inBuffer)
            if ZSTD_isError(rc) != 0 {
                throw ImageError(name, "has damaged zstd data: \(String(cString: ZSTD_getErrorName(rc)))")
            }
            if out.pos > 0 || inBuffer.pos > before { lastHint = rc; if rc == 0 { atFrameStart = true } }
            if out.pos > 0 { try budget.take(out.pos, name, ratioLimited: true); return out.pos }
            if inputEnd && inBuffer.pos == inBuffer.size {
                // A zero hint from the last call that made progress means the last frame was complete.
                if lastHint != 0 || !sawData { throw ImageError(name, "ends inside its zstd stream (truncated \(whole))") }
                return 0
            }
        }
    }
}

/// How a layer's bytes are compressed, from its media type, or from its first bytes when the type
/// does not say (Docker's archives name every layer `.tar`).
public enum LayerCompression: String, Sendable {
    case none, gzip, zstd

    public static func sniff(_ head: ArraySlice<UInt8>) -> LayerCompression {
        let h = Array(head.prefix(4))
        if h.count >= 2, h[0] == 0x1f, h[1] == 0x8b { return .gzip }
        if h.count == 4, h == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        return .none
    }
}

/// A stream whose first bytes were read to sniff its format, then handed back in front of the rest.
final class PeekedStream: ByteStream {
    let inner: ByteStream
    var head: [UInt8]
    var at = 0
    init(_ inner: ByteStream, head: [UInt8]) { self.inner = inner; self.head = head }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        if at < head.count {
            let n = min(buffer.count, head.count - at)
            head.withUnsafeBytes { src in buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[at..<(at + n)])) }
            at += n
            return n
        }
        return try inner.read(into: buffer)
    }
    func skip(_ count: Int) throws(ImageError) -> Int {
        guard count > 0 else { return 0 }
        let fromHead = min(count, head.count - at)
        at += fromHead
        return fromHead == count ? count : try fromHead + inner.skip(count - fromHead)
    }
}

/// Reads its inner stream on a thread of its own, a few chunks ahead, so that hashing and
/// decompressing a layer run on one core while its tar entries are read on another. An error of the
/// inner stream (a digest mismatch at the end, say) reaches the reader in place of the chunk it
/// interrupted: up to a chunk early, never late, and no byte after it is delivered.
/// Dropping the stream early stops the thread.
///
/// The chunks are a fixed set of buffers handed back and forth, not fresh arrays: a new megabyte per
/// chunk cost a page fault per 4 KiB, a third of the time of reading a 1 GiB layer. Skipped bytes (the
/// files no extractor wants) are stepped over in the chunk, not copied out.
public final class PrefetchingStream: ByteStream {
    /// What the reading thread and the reader share; the thread holds this, not the stream, so the
    /// stream's end (its deinit) can tell the thread to stop. It owns the buffers, freed when both
    /// sides have let go of it.
    private final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        /// Filled chunks in order, with the count of bytes each holds.
        var ready: [(buffer: UnsafeMutableRawBufferPointer, count: Int)] = []
        /// Chunks the reader has finished with, for the thread to fill again.
        var free: [UnsafeMutableRawBufferPointer] = []
        var all: [UnsafeMutableRawBufferPointer] = []
        var failure: ImageError?
        var finished = false
        var cancelled = false
        deinit { for b in all { b.deallocate() } }
    }
    private let shared = Shared()
    /// The chunk being read, and how far; nil before the first and after each is used up.
    private var current: (buffer: UnsafeMutableRawBufferPointer, count: Int)?
    private var at = 0
    public static let chunk = 1 << 20
    public static let depth = 4

    /// `depth` chunks of `chunk` bytes may wait ahead of the reader.
    public init(_ inner: ByteStream, chunk: Int = PrefetchingStream.chunk, depth: Int = PrefetchingStream.depth) {
        let shared = self.shared
        // One chunk more than can wait, for the one being read.
        for _ in 0..<(max(1, depth) + 1) {
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, chunk), alignment: 64)
            shared.all.append(b); shared.free.append(b)
        }
        nonisolated(unsafe) let source = inner
        let thread = Thread { Self.produce(source, shared) }
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        shared.condition.lock(); shared.cancelled = true; shared.condition.broadcast(); shared.condition.unlock()
    }

    private static func produce(_ inner: ByteStream, _ s: Shared) {
        while true {
            s.condition.lock()
            while s.free.isEmpty && !s.cancelled { s.condition.wait() }
            let stop = s.cancelled
            let buffer = stop ? nil : s.free.removeLast()
            s.condition.unlock()
            guard let buffer else { return }
            var n = 0
            var failure: ImageError?
            do { n = try inner.readFully(into: buffer) } catch { failure = error }
            s.condition.lock()
            if n > 0 { s.ready.append((buffer, n)) } else { s.free.append(buffer) }
            if failure != nil || n < buffer.count { s.failure = failure; s.finished = true }
            let done = s.finished
            s.condition.broadcast()
            s.condition.unlock()
            if done { return }
        }
    }

    /// Makes `current` a chunk with bytes left, handing the used-up one back; false at the end.
    private func advance() throws(ImageError) -> Bool {
        if let c = current, at < c.count { return true }
        let s = shared
        s.condition.lock()
        if let c = current { s.free.append(c.buffer); current = nil; s.condition.broadcast() }
        while s.ready.isEmpty && !s.finished { s.condition.wait() }
        if s.ready.isEmpty {
            let f = s.failure
            s.condition.unlock()
            if let f { throw f }
            return false
        }
        current = s.ready.removeFirst()
        at = 0
        s.condition.unlock()
        return true
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard buffer.count > 0, try advance(), let c = current else { return 0 }
        let n = min(buffer.count, c.count - at)
        buffer.baseAddress!.copyMemory(from: c.buffer.baseAddress! + at, byteCount: n)
        at += n
        return n
    }

    /// Hands the rest of the current chunk to `body` where it lies, without copying it out (a digest
    /// check's hash reads it in place); the count handed over, 0 only at the end.
    public func lend(_ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) -> Int {
        guard try advance(), let c = current else { return 0 }
        let n = c.count - at
        try body(UnsafeRawBufferPointer(rebasing: c.buffer[at..<c.count]))
        at = c.count
        return n
    }

    public func skip(_ count: Int) throws(ImageError) -> Int {
        var done = 0
        while done < count, try advance(), let c = current {
            let n = min(count - done, c.count - at)
            at += n; done += n
        }
        return done
    }
}

/// A range of a file read through a small buffer, whose skipped bytes are stepped over by offset and
/// never read: the entries of a local uncompressed layer, whose every byte a `LayerDigestChecks`
/// thread reads and hashes on its own. Skipping past the file's real end is not noticed here; the next
/// read, or that check, finds it.
final class SeekingRangeStream: ByteStream {
    let owner: SharedDescriptor
    /// What is left of the range: reads go through it, and a skip past the window moves it on.
    private let range: FileRangeStream
    private let buffer: UnsafeMutableRawBufferPointer
    private var at = 0, filled = 0
    static let window = 64 << 10

    init(_ stream: SharedRangeStream) {
        owner = stream.owner
        range = FileRangeStream(fd: owner.fd, offset: stream.range.offset, length: stream.range.remaining, name: stream.range.name)
        buffer = .allocate(byteCount: Self.window, alignment: 64)
    }
    deinit { buffer.deallocate() }

    func read(into out: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard out.count > 0 else { return 0 }
        if at == filled {
            // A large read goes straight to its destination; a small one refills the window.
            if out.count >= Self.window { return try range.read(into: out) }
            at = 0; filled = 0
            filled = try range.read(into: buffer)
            if filled == 0 { return 0 }
        }
        let n = min(out.count, filled - at)
        out.baseAddress!.copyMemory(from: buffer.baseAddress! + at, byteCount: n)
        at += n
        return n
    }

    func skip(_ count: Int) throws(ImageError) -> Int {
        guard count > 0 else { return 0 }
        let buffered = min(count, filled - at)
        at += buffered
        let stepped = min(count - buffered, range.remaining)
        range.offset += stepped; range.remaining -= stepped
        return buffered + stepped
    }
}
