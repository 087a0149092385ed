import Foundation
import ProvenantCore

/// Feeds `MD5Lanes` from up to eight messages at a time, each either bytes in memory or an open file
/// read in chunks, and starts the next message in a lane as soon as its last one is done. One per
/// worker thread: it is not `Sendable`, and it owns its buffers.
final class MD5LaneHasher {
    /// A message that has been hashed: its caller's tag, and its lower-case hex digest, or nil with the
    /// `errno` of the read that failed.
    struct Done {
        var tag: Int
        var hex: String?
        var error: Int32
    }

    private struct Lane {
        var tag = -1
        var fd: Int32 = -1
        /// Unconsumed bytes: in the caller's memory, or in this lane's read buffer.
        var current: UnsafeRawPointer?
        var left = 0
        /// Bytes already compressed, for the length MD5 appends (modulo 2^64, as RFC 1321 says).
        var total: UInt64 = 0
        var ended = false
        /// Padding blocks built and not yet compressed (1 or 2), once the message has ended.
        var padBlocks = 0
        var padNext = 0
        var error: Int32 = 0
        /// Bytes read from the file so far, and the most it may give (its size when opened): a file
        /// that gives more (growing, or one whose size says nothing, such as a procfs file) is cut off
        /// with EFBIG instead of read without end.
        var readBytes = 0
        var limit = Int.max
    }

    let readSize: Int
    // Behind pointers rather than in stored properties: a class's stored properties pay a dynamic
    // exclusivity check on every access, which cost more than the hashing itself.
    private let state: UnsafeMutablePointer<MD5Lanes>
    private let lanes: UnsafeMutablePointer<Lane>
    private var active = 0
    /// Per lane: a read buffer of `readSize` bytes, then 128 bytes of padding.
    private let storage: UnsafeMutableRawPointer
    private let words: UnsafeMutablePointer<MD5Lanes.Vector>
    private let zero: UnsafeMutableRawPointer

    init(readSize: Int = 64 << 10) {
        self.readSize = readSize
        state = .allocate(capacity: 1)
        state.initialize(to: MD5Lanes())
        lanes = .allocate(capacity: MD5Lanes.width)
        lanes.initialize(repeating: Lane(), count: MD5Lanes.width)
        storage = .allocate(byteCount: (readSize + 128) * MD5Lanes.width, alignment: 64)
        words = .allocate(capacity: 16)
        zero = .allocate(byteCount: 64, alignment: 64)
        zero.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
    }

    deinit {
        state.deallocate()
        lanes.deinitialize(count: MD5Lanes.width)
        lanes.deallocate()
        storage.deallocate()
        words.deallocate()
        zero.deallocate()
    }

    var hasFreeLane: Bool { active < MD5Lanes.width }
    var isIdle: Bool { active == 0 }

    /// Starts hashing `bytes`, which must stay valid until its `Done` is returned.
    func start(memory bytes: UnsafeRawBufferPointer, tag: Int) {
        let j = freeLane()
        lanes[j] = Lane(tag: tag, current: bytes.baseAddress ?? UnsafeRawPointer(zero), left: bytes.count, ended: true)
        begin(j)
    }

    /// Starts hashing what `fd` holds from its offset on; the caller closes it after its `Done`.
    func start(fd: Int32, tag: Int, limit: Int = .max) {
        let j = freeLane()
        lanes[j] = Lane(tag: tag, fd: fd, current: UnsafeRawPointer(buffer(j)), left: 0, limit: limit)
        begin(j)
    }

    /// Compresses blocks until at least one message is done, and returns those that are. Returns
    /// nothing when no lane is busy.
    func run() -> [Done] {
        var busy = active
        defer { active = busy }
        let scalars = UnsafeMutableRawPointer(words).assumingMemoryBound(to: UInt32.self)
        while busy > 0 {
            // Bit j: lane j compresses its last block in this step.
            var finishing: UInt32 = 0
            for j in 0..<MD5Lanes.width {
                var block = UnsafeRawPointer(zero)
                if lanes[j].tag >= 0 {
                    if let b = nextBlock(j) {
                        block = b
                        if lanes[j].padBlocks > 0, lanes[j].padNext == lanes[j].padBlocks { finishing |= 1 << j }
                    } else {
                        finishing |= 1 << j  // a read failed
                    }
                }
                for n in 0..<16 {
                    scalars[n &* MD5Lanes.width &+ j] = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: n &* 4, as: UInt32.self))
                }
            }
            state.pointee.compress(words)
            guard finishing != 0 else { continue }
            var done: [Done] = []
            for j in 0..<MD5Lanes.width where finishing & (1 << j) != 0 {
                let lane = lanes[j]
                done.append(Done(tag: lane.tag, hex: lane.error == 0 ? Hex.encode(state.pointee.digest(lane: j)) : nil, error: lane.error))
                lanes[j] = Lane()
                busy -= 1
            }
            return done
        }
        return []
    }

    private func freeLane() -> Int {
        for j in 0..<MD5Lanes.width where lanes[j].tag < 0 { return j }
        preconditionFailure("no free MD5 lane")
    }

    private func begin(_ j: Int) {
        state.pointee.reset(lane: j)
        active += 1
    }

    private func buffer(_ j: Int) -> UnsafeMutableRawPointer { storage + j * (readSize + 128) }

    /// The next 64 bytes lane `j` compresses; nil when its read failed (its `error` says why).
    private func nextBlock(_ j: Int) -> UnsafeRawPointer? {
        if lanes[j].padBlocks > 0 {
            let p = buffer(j) + readSize + lanes[j].padNext * 64
            lanes[j].padNext += 1
            return UnsafeRawPointer(p)
        }
        if lanes[j].left < 64, !lanes[j].ended { refill(j) }
        if lanes[j].error != 0 { return nil }
        if lanes[j].left >= 64, let p = lanes[j].current {
            lanes[j].current = p + 64
            lanes[j].left -= 64
            lanes[j].total &+= 64
            return p
        }
        // The message ends here: its last bytes, 0x80, zeros, and its length in bits.
        let pad = buffer(j) + readSize
        let n = lanes[j].left
        pad.initializeMemory(as: UInt8.self, repeating: 0, count: 128)
        if n > 0, let p = lanes[j].current { pad.copyMemory(from: p, byteCount: n) }
        pad.storeBytes(of: 0x80, toByteOffset: n, as: UInt8.self)
        let blocks = n < 56 ? 1 : 2
        let bits = (lanes[j].total &+ UInt64(n)) &* 8
        pad.storeBytes(of: bits.littleEndian, toByteOffset: blocks * 64 - 8, as: UInt64.self)
        lanes[j].padBlocks = blocks
        lanes[j].padNext = 1
        lanes[j].left = 0
        return UnsafeRawPointer(pad)
    }

    /// Reads more of lane `j`'s file behind the bytes it has left, until it holds a block or the file ends.
    private func refill(_ j: Int) {
        let base = buffer(j)
        let left = lanes[j].left
        if left > 0, let p = lanes[j].current, p != UnsafeRawPointer(base) { base.copyMemory(from: p, byteCount: left) }
        var have = left
        while have < 64 {
            let n = read(lanes[j].fd, base + have, readSize - have)
            if n < 0 {
                if errno == EINTR { continue }
                lanes[j].error = errno
                break
            }
            if n == 0 { lanes[j].ended = true; break }
            lanes[j].readBytes += n
            if lanes[j].readBytes > lanes[j].limit { lanes[j].error = EFBIG; break }
            have += n
        }
        lanes[j].current = UnsafeRawPointer(base)
        lanes[j].left = have
    }
}
