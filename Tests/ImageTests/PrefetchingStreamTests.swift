@testable import Catalog
import Foundation
import ProvenantCore
import Synchronization
import Testing
import TestSupport

/// The prefetching stream (a thread reading ahead into a fixed pool of buffers) and the streams over it:
/// every byte arrives once and in order however reads and skips are mixed, an inner error reaches the
/// reader and stays, a digest mismatch fails whether its byte was read or skipped, a truncated tar is
/// found where it was before, and a stream dropped mid-way lets its thread and inner stream go.
/// (First written as probes by a reviewer of the buffer pool and copy-free skip.)
@Suite struct PrefetchingStreamTests {
    static let chunk = PrefetchingStream.chunk

    final class Flag: Sendable {
        let m = Mutex(false)
        func set() { m.withLock { $0 = true } }
        var isSet: Bool { m.withLock { $0 } }
        /// Polls for up to `seconds`.
        func wait(_ seconds: Double = 5) -> Bool {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end { if isSet { return true }; usleep(2000) }
            return isSet
        }
    }

    /// `data` in reads of random sizes; throws once `failAt` is reached (after every byte before it).
    final class Choppy: ByteStream {
        let data: [UInt8]
        var at = 0
        var rng: SplitMix
        let failAt: Int?
        let gone: Flag?
        init(_ data: [UInt8], seed: UInt64, failAt: Int? = nil, gone: Flag? = nil) {
            self.data = data; rng = SplitMix(state: seed); self.failAt = failAt; self.gone = gone
        }
        deinit { gone?.set() }
        func next() -> Int { Int(rng.next() >> 33) }
        func read(into b: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
            if let f = failAt, at >= f { throw ImageError("inner", "fails at byte \(f)") }
            var n = min(b.count, data.count - at, 1 + next() % 300_000)
            if let f = failAt { n = min(n, f - at) }
            guard n > 0 else { return 0 }
            data.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress! + at, byteCount: n) }
            at += n
            return n
        }
    }

    /// Never ends; counts the bytes handed out.
    final class Counter: Sendable {
        let m = Mutex(0)
        var value: Int { m.withLock { $0 } }
    }
    final class Endless: ByteStream {
        let served = Counter()
        let gone: Flag
        init(gone: Flag) { self.gone = gone }
        deinit { gone.set() }
        func read(into b: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
            memset(b.baseAddress!, 0x41, b.count)
            served.m.withLock { $0 += b.count }
            return b.count
        }
    }

    /// The first read blocks until `release` is signalled.
    final class Blocking: ByteStream {
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        var first = true
        var left = 3 << 20
        let gone: Flag
        init(gone: Flag) { self.gone = gone }
        deinit { gone.set() }
        func read(into b: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
            if first { first = false; entered.signal(); release.wait() }
            let n = min(b.count, left)
            memset(b.baseAddress!, 0x42, n)
            left -= n
            return n
        }
    }

    /// `n` pseudo-random bytes, filled eight at a time (a byte-at-a-time loop is slow in a debug build).
    static func random(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix(state: seed)
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { b in
            var at = 0
            while at < n {
                withUnsafeBytes(of: rng.next()) { w in
                    let k = min(8, n - at)
                    (b.baseAddress! + at).copyMemory(from: w.baseAddress!, byteCount: k)
                    at += k
                }
            }
        }
        return out
    }

    struct Outcome { var consumed = 0; var error: ImageError?; var problems: [String] = [] }

    /// Reads `s` to its end (or first error) by a random mix of reads and skips of random sizes, checking
    /// every byte read against `expect` at its offset, that fewer bytes come back only at the end, and
    /// that the end (or the error) is sticky.
    static func drive(_ s: ByteStream, _ expect: [UInt8], seed: UInt64, skipOnly: Bool = false) -> Outcome {
        var o = Outcome()
        var rng = SplitMix(state: seed)
        func r() -> Int { Int(rng.next() >> 1) }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 3 << 20, alignment: 16)
        defer { buf.deallocate() }
        let sizes = [0, 1, 511, 512, 4096, chunk - 1, chunk, chunk + 1]
        do throws(ImageError) {
            while true {
                let want = r() % 3 == 0 ? sizes[r() % sizes.count] : r() % (3 << 20)
                let got: Int
                if skipOnly || r() % 2 == 0 {
                    got = try s.skip(want)
                } else {
                    got = try s.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[..<want]))
                    if got > 0 {
                        let same = o.consumed + got <= expect.count
                            && expect.withUnsafeBytes { memcmp(buf.baseAddress!, $0.baseAddress! + o.consumed, got) == 0 }
                        if !same {
                            o.problems.append("bytes at \(o.consumed)..<\(o.consumed + got) differ")
                        }
                    }
                }
                if got > want { o.problems.append("returned \(got) for \(want)") }
                o.consumed += got
                if want > 0 && got == 0 { break }
                // skip may return fewer only at the end; read may return fewer any time.
                if skipOnly && got < want { break }
            }
            // The end is sticky.
            for _ in 0..<2 {
                if try s.skip(5) != 0 { o.problems.append("skip after the end returned bytes") }
                if try s.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[..<100])) != 0 { o.problems.append("read after the end returned bytes") }
                if try s.skip(0) != 0 { o.problems.append("skip(0) returned bytes") }
                if try s.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[..<0])) != 0 { o.problems.append("empty read returned bytes") }
            }
        } catch {
            o.error = error
            // The error is sticky, for reads and skips alike.
            do { _ = try s.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[..<10])); o.problems.append("read after the error did not throw") } catch {}
            do { _ = try s.skip(10); o.problems.append("skip after the error did not throw") } catch {}
        }
        return o
    }

    // MARK: PrefetchingStream: order, loss, short chunks, zero length, skip past the end

    @Test func prefetchDeliversEveryByteInOrder() {
        let sizes = [0, 1, 511, Self.chunk - 1, Self.chunk, Self.chunk + 1, 5 * Self.chunk, 5 * Self.chunk + 7, 9 * Self.chunk + 12345]
        for n in sizes {
            let data = Self.random(n, seed: UInt64(n) + 3)
            for seed in UInt64(1)...4 {
                for (label, s) in [("single", PrefetchingStream(Choppy(data, seed: seed)) as ByteStream),
                                   ("chained", PrefetchingStream(PrefetchingStream(Choppy(data, seed: seed)))),
                                   ("memory", MemoryStream(data))] {
                    let o = Self.drive(s, data, seed: seed &* 77)
                    #expect(o.error == nil, "\(label) n=\(n): \(o.error.map(String.init(describing:)) ?? "")")
                    #expect(o.consumed == n, "\(label) n=\(n) consumed \(o.consumed)")
                    #expect(o.problems.isEmpty, "\(label) n=\(n): \(o.problems.prefix(3))")
                    let k = Self.drive(PrefetchingStream(Choppy(data, seed: seed)), data, seed: seed, skipOnly: true)
                    #expect(k.error == nil && k.consumed == n && k.problems.isEmpty, "skip-only n=\(n): \(k)")
                }
            }
        }
    }

    /// An inner error mid-way reaches the reader (sticky), after no byte beyond it: early (the chunk it
    /// interrupted is dropped, and a read that throws delivers nothing), never late.
    @Test func prefetchInnerErrorMidway() {
        let data = Self.random(7 * Self.chunk + 333, seed: 9)
        for failAt in [0, 1, Self.chunk - 1, Self.chunk, Self.chunk + 1, 3 * Self.chunk + 5, data.count] {
            for seed in UInt64(1)...3 {
                for chained in [false, true] {
                    let inner = Choppy(data, seed: seed, failAt: failAt)
                    let s: ByteStream = chained ? PrefetchingStream(PrefetchingStream(inner)) : PrefetchingStream(inner)
                    let o = Self.drive(s, data, seed: seed)
                    #expect(o.error?.message == "fails at byte \(failAt)", "failAt=\(failAt): \(o)")
                    #expect(o.consumed <= failAt && o.problems.isEmpty, "failAt=\(failAt): \(o)")
                }
            }
        }
    }

    // MARK: integrity: the bytes read are the bytes hashed; a mismatch always fails, skipped or not

    @Test func prefetchedDigestMismatchAlwaysFails() throws {
        let data = Self.random(9 * Self.chunk + 4321, seed: 5)
        let good = LayoutWriter.digest(data)
        for at in [0, Self.chunk - 1, Self.chunk, 5 * Self.chunk + 17, data.count - 1] {
            var bad = data
            bad[at] ^= 0x01
            for seed in UInt64(1)...3 {
                for skipOnly in [false, true] {
                    let s = PrefetchingStream(try DigestingStream(PrefetchingStream(Choppy(bad, seed: seed)), expected: good, size: data.count, name: "layer"))
                    let o = Self.drive(s, bad, seed: seed, skipOnly: skipOnly)
                    #expect(o.error?.message.contains("has digest") == true, "tamper at \(at): \(o)")
                    #expect(o.problems.isEmpty)
                }
            }
        }
        // Truncated by one byte, and one byte too long.
        for variant in [Array(data.dropLast()), data + [0]] {
            let s = PrefetchingStream(try DigestingStream(PrefetchingStream(Choppy(variant, seed: 1)), expected: good, size: data.count, name: "layer"))
            let o = Self.drive(s, variant, seed: 2, skipOnly: true)
            #expect(o.error != nil, "\(variant.count) bytes: \(o)")
        }
        // Clean.
        let s = PrefetchingStream(try DigestingStream(PrefetchingStream(Choppy(data, seed: 1)), expected: good, size: data.count, name: "layer"))
        let o = Self.drive(s, data, seed: 3, skipOnly: true)
        #expect(o.error == nil && o.consumed == data.count)
    }

    /// readLayer itself, over a SharedRangeStream (so both prefetchers are in place), with the tampered
    /// byte inside a file's data that no extractor wants (skipped) and inside the trailing zero blocks.
    @Test func readLayerTamperedSkippedDataFails() throws {
        var t = TarWriter()
        t.add("big/blob.bin", data: Self.random(6 << 20, seed: 11))
        t.add("etc/os-release", data: Array("ID=debian\n".utf8))
        let tar = t.finished()
        let dir = try temporaryDirectory("prefetching-stream")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (label, at) in [("clean", -1), ("skipped data", 512 + (3 << 20)), ("trailing zeros", tar.count - 3)] {
            var stored = tar
            if at >= 0 { stored[at] ^= 0x20 }
            let path = dir.appendingPathComponent("\(label).tar").path
            try Data(stored).write(to: URL(fileURLWithPath: path))
            let fd = open(path, O_RDONLY)
            let raw = SharedRangeStream(SharedDescriptor(fd), offset: 0, length: stored.count, name: label)
            let plan = LayerPlan(index: 0, key: label, digest: LayoutWriter.digest(tar), diffID: LayoutWriter.digest(tar),
                                 mediaType: "application/vnd.oci.image.layer.v1.tar", size: stored.count, createdBy: nil)
            var failure: ImageError?
            do { _ = try ImageReader.readLayer(plan, raw, capture: ImageCapture.nothing, maxFileBytes: 1 << 20, inflated: SharedInflateBudget(limit: 1 << 40), budget: ReadBudget(total: 1 << 30)) }
            catch { failure = error }
            if at < 0 { #expect(failure == nil, "\(failure.map(String.init(describing:)) ?? "")") }
            else { #expect(failure?.message.contains("has digest") == true, "\(label): \(failure.map(String.init(describing:)) ?? "no error")") }
        }
    }

    // MARK: lending chunks in place, and a digest check that drains its stream without copying

    /// `lend` mixed with reads and skips hands out every byte once and in order, with any chunk size.
    @Test func lendMixedWithReadsAndSkips() {
        let data = Self.random(3 * Self.chunk + 999, seed: 21)
        for (chunk, depth) in [(Self.chunk, 4), (256 << 10, 2), (1000, 1), (1, 1)] where chunk > 1 || data.count < 1 << 22 {
            let input = chunk == 1 ? Array(data.prefix(5000)) : data
            for seed in UInt64(1)...3 {
                let s = PrefetchingStream(Choppy(input, seed: seed), chunk: chunk, depth: depth)
                var rng = SplitMix(state: seed)
                var got: [UInt8] = [], skipped = 0
                var buf = [UInt8](repeating: 0, count: 70_000)
                do throws(ImageError) {
                    while true {
                        let n: Int
                        switch rng.next() % 3 {
                        case 0: n = try s.lend { b in got += b }
                        case 1:
                            let want = Int(rng.next() % 70_000) + 1
                            n = try withBytes(&buf) { (b) throws(ImageError) -> Int in try s.read(into: UnsafeMutableRawBufferPointer(rebasing: b[..<want])) }
                            got += buf[..<n]
                        default:
                            let want = Int(rng.next() % 5_000) + 1
                            n = try s.skip(want)
                            got += input[got.count..<(got.count + n)]
                            skipped += n
                        }
                        if n == 0 { break }
                    }
                    #expect(try s.lend { _ in Issue.record("lent after the end") } == 0)
                } catch { Issue.record("chunk \(chunk): \(error)") }
                #expect(got == input, "chunk \(chunk) seed \(seed): \(got.count) of \(input.count) bytes, \(skipped) skipped")
            }
        }
    }

    /// `drain` reaches the verdict reading would: a clean stream passes, a flipped byte anywhere, a
    /// missing or extra byte and an inner error fail with the same message, lent in place or not; a
    /// drain stopped before the end verifies nothing.
    @Test func drainJudgesAsReadingDoes() throws {
        let data = Self.random(2 * Self.chunk + 4321, seed: 8)
        let good = LayoutWriter.digest(data)
        var flipped: [[UInt8]] = []
        for at in [0, 1000, Self.chunk, data.count - 1] { var b = data; b[at] ^= 0x40; flipped.append(b) }
        let cases: [(String, [UInt8], Int?)] = [("clean", data, nil), ("short", Array(data.dropLast()), nil), ("long", data + [7], nil),
                                                ("inner error", data, Self.chunk + 5)] + flipped.map { ("flipped", $0, nil) }
        func verdict(_ body: () throws(ImageError) -> Bool) -> String {
            do throws(ImageError) { return try body() ? "passed" : "stopped" } catch { return error.message }
        }
        for (label, bytes, failAt) in cases {
            let read = verdict { () throws(ImageError) -> Bool in
                let d = try DigestingStream(Choppy(bytes, seed: 1, failAt: failAt), expected: good, size: data.count, name: "layer")
                var buf = [UInt8](repeating: 0, count: 65536)
                while try withBytes(&buf, { (b) throws(ImageError) -> Int in try d.read(into: b) }) > 0 {}
                return true
            }
            #expect((read == "passed") == (label == "clean"), "\(label): \(read)")
            for lent in [false, true] {
                let drained = verdict { () throws(ImageError) -> Bool in
                    let inner: ByteStream = lent ? PrefetchingStream(Choppy(bytes, seed: 2, failAt: failAt), chunk: 100_000, depth: 2)
                                                 : Choppy(bytes, seed: 2, failAt: failAt)
                    return try DigestingStream(inner, expected: good, size: data.count, name: "layer").drain(until: { false })
                }
                #expect(drained == read, "\(label), lent \(lent): drained '\(drained)', read '\(read)'")
            }
        }
        // Stopped after the first chunk: not passed, even for a clean stream.
        var asked = 0
        let stopped = verdict { () throws(ImageError) -> Bool in
            try DigestingStream(PrefetchingStream(Choppy(data, seed: 3), chunk: 100_000, depth: 2), expected: good, size: data.count, name: "layer")
                .drain(until: { asked += 1; return asked > 1 })
        }
        #expect(stopped == "stopped")
    }

    // MARK: dropping the stream while its thread is busy or waiting

    @Test func droppedWhileProducerBlockedInRead() {
        let gone = Flag()
        var inner: Blocking? = Blocking(gone: gone)
        let entered = inner!.entered, release = inner!.release
        var s: PrefetchingStream? = PrefetchingStream(inner!)
        inner = nil
        entered.wait()           // the thread is inside readFully
        s = nil                  // deinit: cancelled while the thread holds a buffer
        _ = s
        release.signal()
        #expect(gone.wait(), "the thread never let go of the inner stream")
    }

    @Test func droppedWhileProducerWaitsForFreeBuffer() {
        for chained in [false, true] {
            let gone = Flag()
            var inner: Endless? = Endless(gone: gone)
            let counter = inner!.served
            let served = { counter.value }
            var s: ByteStream? = chained ? PrefetchingStream(PrefetchingStream(inner!)) : PrefetchingStream(inner!)
            inner = nil
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000, alignment: 1)
            _ = try? s!.read(into: buf)
            buf.deallocate()
            // Let the thread fill its pool and wait for a free buffer (how long that takes does not matter:
            // the check is only that dropping the stream then ends the thread).
            let deadline = Date().addingTimeInterval(5)
            while served() < (chained ? 10 : 5) * Self.chunk, Date() < deadline { usleep(1000) }
            s = nil
            _ = s
            #expect(gone.wait(), "chained=\(chained): the thread never stopped")
        }
    }

    @Test func manyDroppedMidway() {
        var flags: [Flag] = []
        for i in 0..<200 {
            let gone = Flag(); flags.append(gone)
            let data = Self.random((i % 7) * Self.chunk + i, seed: UInt64(i + 1))
            let s = PrefetchingStream(PrefetchingStream(Choppy(data, seed: UInt64(i), gone: gone)))
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
            for _ in 0..<(i % 5) { _ = try? s.read(into: buf); _ = try? s.skip(i * 1000) }
            buf.deallocate()
        }
        #expect(flags.allSatisfy { $0.wait() })
    }

    // MARK: StreamingTar: truncation is found exactly as before, over each kind of stream

    @Test func tarTruncationOracle() throws {
        var t = TarWriter()
        let sizes = [0, 1, 511, 512, 513, Self.chunk + Self.chunk / 2, 3 * Self.chunk + 3]
        var layout: [(header: Int, data: Int, end: Int)] = []
        for (i, n) in sizes.enumerated() {
            let h = t.bytes.count
            t.add("f\(i)", data: Self.random(n, seed: UInt64(i + 1)))
            layout.append((h, h + 512, t.bytes.count))
        }
        let endStart = t.bytes.count
        let full = t.finished()
        var cuts: Set<Int> = [0, 1, full.count, full.count - 1, endStart, endStart + 1, endStart + 511, endStart + 512, endStart + 513]
        for e in layout { for d in [-1, 0, 1, 100, 511] { cuts.insert(e.header + d); cuts.insert(e.data + d); cuts.insert(e.end + d) }; cuts.insert(e.data + (e.end - e.data) / 2) }
        for cut in cuts.sorted() where cut >= 0 && cut <= full.count {
            // The oracle, from the layout (the old skipData/readBlock behaviour).
            var expected: (Int, String?)
            if cut >= endStart + 512 || cut == endStart { expected = (sizes.count, nil) }
            else if cut > endStart { expected = (sizes.count, "ends inside a tar header (truncated layer)") }
            else {
                let k = layout.firstIndex { cut >= $0.header && cut < $0.end }!
                let e = layout[k]
                if cut == e.header { expected = (k, nil) }
                else if cut < e.data { expected = (k, "ends inside a tar header (truncated layer)") }
                else { expected = (k + 1, "ends inside a file's data (truncated layer)") }
            }
            let bytes = Array(full[..<cut])
            for (label, s) in [("memory", MemoryStream(bytes) as ByteStream), ("prefetch", PrefetchingStream(Choppy(bytes, seed: UInt64(cut)))),
                               ("chained", PrefetchingStream(PrefetchingStream(MemoryStream(bytes))))] {
                let tar = StreamingTar(s, name: "layer")
                var seen = 0
                var message: String?
                do {
                    while let h = try tar.next() {
                        seen += 1
                        // Read part of some entries before the rest is skipped.
                        if h.size > 600, seen % 2 == 0 {
                            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: 300, alignment: 1); defer { b.deallocate() }
                            _ = try tar.readData(into: b)
                        }
                    }
                    try tar.drain()
                } catch { message = error.message }
                #expect(seen == expected.0 && message == expected.1, "\(label) cut=\(cut): saw \(seen) \(message ?? "ok"), expected \(expected)")
            }
        }
    }
}
