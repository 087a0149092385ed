import Foundation
import ProvenantCore
import Synchronization

/// The digest checks of an image's local layers, run beside the reading of their entries.
///
/// A layer in a local file (an archive or a layout) is hashed by a thread of its own that reads the
/// file's range again through the page cache, instead of in the stream its tar entries are read from.
/// Hashing is the slowest step of reading a large layer (SHA-256 runs at about 1.2 GB/s here), so the
/// entries are read, and the root filesystem catalogued, while the hash is still running; the reader
/// hands nothing out until every check has passed (`ImageReader.read(_:budget:during:)`).
///
/// The file is read twice, so a write between the two reads would let the hashed bytes differ from
/// the parsed ones. A layer is read this way only while its file is held (`hold`): a read lease is
/// taken on it first (Linux `F_SETLEASE`), which the kernel grants only while nobody has the file open
/// for writing (a writable shared mapping included) and breaks when anyone opens it for writing or
/// truncates it; the check fails unless the lease is still whole at the end. A file that cannot be
/// leased (another owner's, open for writing, not on a local filesystem, too many files held) is
/// hashed inline instead, in the stream its entries are read from. The file's identity, size,
/// modification and change times are compared too.
final class LayerDigestChecks: @unchecked Sendable {
    /// A file held for a check: leased, and stamped once the lease was granted, before any read.
    struct Hold {
        let owner: SharedDescriptor
        let before: FileStamp
    }
    struct Job {
        let layer: Int
        let hold: Hold
        let offset: Int
        let length: Int
        let expected: String
        let expectedSize: Int?
        let name: String
    }
    private struct State {
        /// In the order they were added, which is the order they are hashed in.
        var jobs: [Job] = []
        var next = 0
        /// By layer, once run.
        var results: [Int: Outcome] = [:]
        var nanoseconds: [Int: UInt64] = [:]
        var waiters: [Int: [CheckedContinuation<Outcome, Never>]] = [:]
        var workers = 0
        /// Layers above this one are no longer checked (the read stopped at it).
        var stoppedAbove = Int.max
        /// Each file asked for (by descriptor) and its hold, nil when it could not be held. A file is
        /// leased once for the whole read, never again: a lease broken and given up stays broken.
        var holds: [ObjectIdentifier: Hold?] = [:]
        /// Leases asked of the kernel: at most one per file.
        var leasesTaken = 0
    }
    /// A check that was stopped is not a failure to report: the read that stopped it fails anyway.
    enum Outcome: Sendable { case passed, failed(ImageError), stopped }
    private let state = Mutex(State())
    /// Set once the reader has read everything and waits for the checks: a core is then free for a
    /// large layer's read-ahead (`MappedRangeStream`'s hand-off).
    private let readerWaiting = Atomic<Bool>(false)
    /// Bytes the checks hashed straight from mappings of their files (`MappedRangeStream`).
    let bytesMapped = Atomic<Int>(0)
    /// Threads hashing at once; further checks wait their turn, in the order they were added.
    let width: Int
    static let chunk = 1 << 20
    /// Layers longer than this are read ahead on a thread of their own while they are hashed, in
    /// chunks small enough that the read-ahead adds less memory than the chunk it replaced.
    static let prefetchAbove = 4 << 20
    static let readAheadChunk = 256 << 10

    /// Files held at once at most: each stays open until the checks end (an OCI layout has a file per
    /// layer); past this, layers are hashed inline.
    static let maxHeld = 64

    /// Whether a mapped check may hand its rest to a read-ahead thread once the reader waits (tests
    /// turn it off to see every window mapped).
    let handsOff: Bool

    init(width: Int, handsOff: Bool = true) { self.width = max(1, width); self.handsOff = handsOff }

    /// Holds `stream`'s file for a check of its range: takes the read lease, then the stamp. Nil when
    /// the file cannot be held; the layer must then be hashed inline. Called before any read of it.
    func hold(_ stream: SharedRangeStream) -> Hold? {
        let id = ObjectIdentifier(stream.owner)
        return state.withLock { s -> Hold? in
            if let known = s.holds[id] { return known }
            var hold: Hold?
            if s.holds.count < Self.maxHeld, LeasedFilesystem.allows(stream.owner.fd) {
                s.leasesTaken += 1
                if ReadLease.take(stream.owner.fd), let before = FileStamp(stream.owner.fd) { hold = Hold(owner: stream.owner, before: before) }
            }
            s.holds[id] = .some(hold)
            return hold
        }
    }

    /// Starts checking the range of `stream`'s file, held by `hold`, as layer `layer`'s bytes against
    /// `expected` (and its length against `expectedSize`).
    func add(layer: Int, _ stream: SharedRangeStream, _ hold: Hold, expected: String, expectedSize: Int?, name: String) throws(ImageError) {
        try ImageDigest.requireSHA256(expected, name: name)
        let job = Job(layer: layer, hold: hold, offset: stream.range.offset, length: stream.range.remaining,
                      expected: expected, expectedSize: expectedSize, name: name)
        let spawn = state.withLock { s -> Bool in
            s.jobs.append(job)
            let spawn = s.workers < width
            if spawn { s.workers += 1 }
            return spawn
        }
        if spawn {
            let thread = Thread { [self] in work() }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func work() {
        while true {
            let taken = state.withLock { s -> Job? in
                guard s.next < s.jobs.count else { s.workers -= 1; return nil }
                s.next += 1
                return s.jobs[s.next - 1]
            }
            guard let job = taken else { return }
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = hash(job)
            let ns = DispatchTime.now().uptimeNanoseconds - start
            let waiting = state.withLock { s -> [CheckedContinuation<Outcome, Never>] in
                s.results[job.layer] = outcome; s.nanoseconds[job.layer] = ns
                return s.waiters.removeValue(forKey: job.layer) ?? []
            }
            for w in waiting { w.resume(returning: outcome) }
        }
    }

    /// Hashes the job's range, read afresh from its file, through the same digest stream an inline
    /// check uses: whether it has its digest and length.
    private func hash(_ job: Job) -> Outcome {
        do throws(ImageError) {
            // Holding the descriptor's owner: a read-ahead thread may outlive these checks by a chunk.
            var source: ByteStream = SharedRangeStream(job.hold.owner, offset: job.offset, length: job.length, name: job.name)
            if job.length > Self.prefetchAbove {
                if MappedRangeStream.usable(job.hold.owner.fd) {
                    // A large layer is hashed where it lies in the page cache, a mapped window at a
                    // time, with no copy at all; each window only while the file is still held.
                    // Once the reader only waits for the checks, the rest is read ahead on its core.
                    source = MappedRangeStream(job.hold.owner, offset: job.offset, length: job.length, name: job.name,
                                               check: { end in Self.stillHeld(job, through: end) },
                                               handOff: { [self] in handsOff && readerWaiting.load(ordering: .relaxed) })
                } else {
                    // Else it is read on a second thread, so the copy out of the page cache (a fifth
                    // of the time of hashing straight from `pread`) is not on the hashing thread; the
                    // chunks are hashed where they lie. Two chunks ahead: reading outruns hashing.
                    source = PrefetchingStream(source, chunk: Self.readAheadChunk, depth: 2)
                }
            }
            let stream = try DigestingStream(source, expected: job.expected, size: job.expectedSize, name: job.name)
            defer { if let mapped = source as? MappedRangeStream { bytesMapped.add(mapped.mappedBytes, ordering: .relaxed) } }
            return try stream.drain(until: { state.withLock { job.layer > $0.stoppedAbove } }) ? .passed : .stopped
        } catch {
            return .failed(error)
        }
    }

    /// Nil when `job`'s file is held as it was when the check was added (and reaches `end`, when one
    /// is given): what a check's result needs at its end, and a mapped window before it is read
    /// (`MappedRangeStream`).
    static func stillHeld(_ job: Job, through end: Int? = nil) -> ImageError? {
        guard let now = FileStamp(job.hold.owner.fd), now == job.hold.before else {
            return ImageError(job.name, "changed while it was read (its file's size or change time moved); not trusted")
        }
        guard ReadLease.held(job.hold.owner.fd) else {
            return ImageError(job.name, "was opened for writing while it was read (its file's lease was broken); not trusted")
        }
        if let end, Int64(end) > now.size { return ImageError(job.name, "ends \(Int64(end) - now.size) bytes early (truncated)") }
        return nil
    }

    /// The outcome of layer `layer`'s check once it has run (passed when it has none). It passes when
    /// the layer's bytes have their digest and its file did not change since the check was added.
    func outcome(layer: Int) async -> Outcome {
        guard let job = state.withLock({ s in s.jobs.first { $0.layer == layer } }) else { return .passed }
        let hashed: Outcome = await withCheckedContinuation { c in
            let done = state.withLock { s -> Outcome? in
                if let r = s.results[layer] { return r }
                s.waiters[layer, default: []].append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
        guard case .passed = hashed else { return hashed }
        return Self.stillHeld(job).map { .failed($0) } ?? .passed
    }

    /// The lowest layer up to `last` whose check failed, waiting for each; stopped checks are passed
    /// over (the read that stopped them throws its own error).
    func firstFailure(upTo last: Int = .max) async -> ImageError? {
        let layers = state.withLock { s in s.jobs.map(\.layer).filter { $0 <= last }.sorted() }
        for l in layers { if case .failed(let e) = await outcome(layer: l) { return e } }
        return nil
    }

    /// Whether every check ran to its end and passed: what a result may be handed out on.
    func allPassed() async -> ImageError? {
        readerWaiting.store(true, ordering: .relaxed)
        let layers = state.withLock { s in s.jobs.map(\.layer).sorted() }
        for l in layers {
            switch await outcome(layer: l) {
            case .passed: continue
            case .failed(let e): return e
            case .stopped: return ImageError("layer \(l)", "was not checked against its digest: the read stopped first")
            }
        }
        return nil
    }

    /// Stops checking the layers above `layer`: a check that has not started is not run, and one that
    /// is running stops at its next chunk, each failing as not checked.
    func stop(above layer: Int) {
        let waiting = state.withLock { s -> [CheckedContinuation<Outcome, Never>] in
            s.stoppedAbove = min(s.stoppedAbove, layer)
            // Those not started are moved behind the cursor, so no thread takes them.
            let started = Array(s.jobs[..<s.next]), pending = s.jobs[s.next...]
            let dropped = pending.filter { $0.layer > s.stoppedAbove }
            s.jobs = started + dropped + pending.filter { $0.layer <= s.stoppedAbove }
            s.next += dropped.count
            var waiting: [CheckedContinuation<Outcome, Never>] = []
            for j in dropped { s.results[j.layer] = .stopped; waiting += s.waiters.removeValue(forKey: j.layer) ?? [] }
            return waiting
        }
        for w in waiting { w.resume(returning: .stopped) }
    }

    /// Leases asked of the kernel so far.
    var leasesTaken: Int { state.withLock { $0.leasesTaken } }

    /// Each check's hashing time, for `PROVENANT_TIMINGS`.
    var timings: [(name: String, nanoseconds: UInt64)] {
        state.withLock { s in s.jobs.map { ("hash " + $0.name, s.nanoseconds[$0.layer] ?? 0) } }
    }
}

/// The filesystems on which a read lease sees every write: local ones, whose every write to a file
/// goes through this kernel's own open files. On FUSE (virtiofs, sshfs, bindfs) and network
/// filesystems the server can change the bytes, or hand two readers different ones, without an open
/// here; on overlayfs the upper and lower files can be written around the overlay. A review showed
/// both give a lease that a write never breaks, so files there are hashed inline.
enum LeasedFilesystem {
    /// `statfs` magic numbers (<linux/magic.h>): ext2/3/4, xfs, btrfs, tmpfs, f2fs.
    static let local: Set<Int> = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0xF2F5_2010]

    /// glibc's `fstatfs`, looked up (the Glibc module leaves out <sys/statfs.h>); only the first
    /// field of its `struct statfs` is read: `f_type`, a `long` on 64-bit Linux.
    private typealias FStatFS = @convention(c) (Int32, UnsafeMutableRawPointer) -> Int32
    private static let fstatfs = SystemLibrary.symbol("fstatfs", as: FStatFS.self)

    static func allows(_ fd: Int32) -> Bool {
        guard let t = type(fd) else { return false }
        return allows(type: t)
    }

    /// The `statfs` magic number of the filesystem `fd`'s file is on; nil when it cannot be told.
    static func type(_ fd: Int32) -> Int? {
        guard let fstatfs, MemoryLayout<Int>.size == 8 else { return nil }
        // `struct statfs` is 120 bytes on 64-bit Linux; the buffer leaves room.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
        guard fstatfs(fd, buffer) == 0 else { return nil }
        return buffer.load(as: Int.self)
    }

    /// tmpfs, on which a hole in a file becomes a page of memory when a mapping of it is read.
    static let tmpfs = 0x0102_1994

    static func allows(type: Int) -> Bool { local.contains(type) }
}

/// A read lease (Linux `fcntl` `F_SETLEASE`, `F_RDLCK`) on a file open read-only.
enum ReadLease {
    // <fcntl.h> values, which the Glibc module does not bring in (they are `_GNU_SOURCE` only).
    static let setLease: Int32 = 1024, getLease: Int32 = 1025
    /// The kernel tells the holder of a lease that is being broken with SIGIO, whose default action
    /// ends the process; the holder here learns of it by asking (`held`), so the signal is ignored.
    private static let ignoreSignal: Void = { _ = signal(SIGIO, SIG_IGN) }()

    /// Takes the lease: granted only when nobody has the file open for writing and the caller owns
    /// it (or holds CAP_LEASE), on a filesystem that has leases.
    static func take(_ fd: Int32) -> Bool {
        #if os(Linux)
        _ = ignoreSignal
        return fcntl(fd, setLease, Int32(F_RDLCK)) == 0
        #else
        return false
        #endif
    }

    /// Whether the lease is still whole: not broken, nor being broken, by an open for writing or a
    /// truncation since it was taken.
    static func held(_ fd: Int32) -> Bool {
        #if os(Linux)
        return fcntl(fd, getLease) == Int32(F_RDLCK)
        #else
        return false
        #endif
    }
}

/// What moves when a file is written: its identity, size, and modification and change times.
struct FileStamp: Equatable {
    let device: UInt64, inode: UInt64, size: Int64
    let modified: (Int, Int), changed: (Int, Int)

    init?(_ fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        modified = (Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec))
        changed = (Int(st.st_ctim.tv_sec), Int(st.st_ctim.tv_nsec))
    }

    static func == (a: FileStamp, b: FileStamp) -> Bool {
        a.device == b.device && a.inode == b.inode && a.size == b.size && a.modified == b.modified && a.changed == b.changed
    }
}
