import Foundation
import ProvenantCore

/// A read or write of a stream that failed, with the reason the system gave.
public struct StreamIOError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Reads a file descriptor ahead on a thread of its own, so the kernel's copy of the next blocks
/// overlaps the scan of this one. At most `depth` blocks' worth of bytes wait (a pipe gives shorter
/// blocks than a file), so memory stays bounded however fast the input is.
public final class ReadAhead: @unchecked Sendable {
    private let fd: Int32
    private let blockSize: Int
    private let depth: Int
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var blocks: [[UInt8]] = []
    private var offset = 0
    private var queued = 0
    private var ended = false
    private var failure: StreamIOError?
    private var stopped = false

    private let name: String

    /// `name` says what `fd` is in errors: "standard input", say.
    public init(fd: Int32, name: String, blockSize: Int = 1 << 20, depth: Int = 8) {
        self.fd = fd
        self.name = name
        self.blockSize = max(1 << 12, blockSize)
        self.depth = max(1, depth)
        let thread = Thread { [self] in self.fill() }
        thread.name = "provenant-read-ahead"
        thread.start()
    }

    deinit { stop() }

    /// Stops the reading thread (it ends at its next block); the bytes not consumed are dropped.
    public func stop() {
        condition.lock(); stopped = true; condition.broadcast(); condition.unlock()
    }

    private func fill() {
        while true {
            var failed: StreamIOError?
            let block = [UInt8](unsafeUninitializedCapacity: blockSize) { raw, count in
                count = 0
                while true {
                    let n = Foundation.read(fd, raw.baseAddress!, blockSize)
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 { failed = StreamIOError(description: "cannot read \(name): \(String(cString: strerror(errno)))") } else { count = n }
                    return
                }
            }
            condition.lock()
            while queued >= depth * blockSize && !stopped { condition.wait() }
            if stopped { condition.unlock(); return }
            if let failed { failure = failed; ended = true }
            else if block.isEmpty { ended = true }
            else {
                // A pipe gives short reads: keep a short block at its own size, not the whole read buffer,
                // so the bound on queued bytes is also a bound on memory.
                let kept = block.count < blockSize / 2 ? Array(block[0..<block.count]) : block
                blocks.append(kept); queued += kept.count
            }
            let done = ended
            condition.broadcast()
            condition.unlock()
            if done { return }
        }
    }

    /// Appends up to `max` bytes to `buffer` and returns how many: 0 only at the end of the input;
    /// -1 when `idleAfter` seconds passed with nothing to hand out (`ChunkedScan`'s idle signal).
    /// A read error is thrown once the bytes read before it have been handed out.
    public func read(into buffer: inout [UInt8], max: Int, idleAfter: TimeInterval? = nil) throws(StreamIOError) -> Int {
        guard max > 0 else { return 0 }
        condition.lock()
        defer { condition.unlock() }
        let deadline = idleAfter.map { Date(timeIntervalSinceNow: $0) }
        while blocks.isEmpty && !ended {
            if let deadline {
                if !condition.wait(until: deadline), blocks.isEmpty, !ended { return -1 }
            } else {
                condition.wait()
            }
        }
        guard let first = blocks.first else {
            if let failure { throw failure }
            return 0
        }
        let take = Swift.min(max, first.count - offset)
        buffer.append(contentsOf: first[offset..<(offset + take)])
        offset += take
        queued -= take
        if offset == first.count {
            blocks.removeFirst()
            offset = 0
            condition.broadcast()
        }
        return take
    }
}

/// Writes to a file descriptor on a thread of its own, so the kernel's copy of one output overlaps the
/// production of the next. At most `depth` outputs wait; `write` blocks beyond that, and throws the
/// first write error as soon as it is known.
public final class WriteBehind: @unchecked Sendable {
    private let fd: Int32
    private let depth: Int
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [[UInt8]] = []
    private var closed = false
    private var finished = false
    private var failure: StreamIOError?

    private let name: String

    /// `name` says what `fd` is in errors: "standard output", say.
    public init(fd: Int32, name: String, depth: Int = 4) {
        self.fd = fd
        self.name = name
        self.depth = max(1, depth)
        let thread = Thread { [self] in self.drain() }
        thread.name = "provenant-write-behind"
        thread.start()
    }

    private func drain() {
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            if queue.isEmpty { finished = true; condition.broadcast(); condition.unlock(); return }
            let next = queue.removeFirst()
            let failed = failure != nil
            condition.unlock()
            var error: StreamIOError?
            if !failed {
                next.withUnsafeBytes { raw in
                    var at = 0
                    while at < raw.count {
                        let n = Foundation.write(fd, raw.baseAddress! + at, raw.count - at)
                        if n < 0 && errno == EINTR { continue }
                        if n <= 0 { error = StreamIOError(description: "cannot write \(name): \(String(cString: strerror(errno)))"); return }
                        at += n
                    }
                }
            }
            condition.lock()
            if let error, failure == nil { failure = error }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Queues `bytes`; throws the first write error seen so far.
    public func write(_ bytes: [UInt8]) throws(StreamIOError) {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= depth && failure == nil { condition.wait() }
        if let failure { throw failure }
        if !bytes.isEmpty { queue.append(bytes) }
        condition.broadcast()
    }

    /// Waits until everything queued is written, and throws the first write error.
    public func finish() throws(StreamIOError) {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
        while !finished { condition.wait() }
        if let failure { throw failure }
    }
}
