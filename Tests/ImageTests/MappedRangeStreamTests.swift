@testable import Catalog
import Foundation
import ProvenantCore
import Synchronization
import Testing
import TestSupport

/// A large local layer's digest check hashes its file's range from mappings, a window at a time, and
/// hands the rest to a read-ahead thread once the reader only waits. The checks: the bytes handed out
/// are the range's, however it is cut into windows or handed off; a window past the file's end is
/// refused before it is mapped (reading it would raise SIGBUS and end the run); and in a real read the
/// mapped path runs, passes a good layer and fails a changed one.
@Suite struct MappedRangeStreamTests {
    let helpers = LayerDigestChecksTests()

    @Test func theRangeIsHandedOutWholeAcrossWindowsAndHandOffs() throws {
        #expect(MappedRangeStream.breakTimeAllows, "this kernel's lease-break time allows mapping")
        let size = 3 * MappedRangeStream.window + 12_345
        let f = try helpers.randomFile(size, seed: 21)
        let owner = SharedDescriptor(f.fd)
        var rng = SplitMix(state: 4)
        for round in 0..<12 {
            // Offsets off page boundaries and ranges ending anywhere, some ending at the file's end.
            let offset = round == 0 ? 0 : Int(rng.next() % 9_000) + (round % 3) * 4096
            let length = round % 4 == 0 ? size - offset : Int(rng.next() % UInt64(size - offset - 1)) + 1
            let handOffAfter = Int(rng.next() % 5)
            let asked = Mutex(0)
            let stream = MappedRangeStream(owner, offset: offset, length: length, name: "r", check: { _ in nil },
                                           handOff: { asked.withLock { $0 += 1; return $0 > handOffAfter } })
            var got: [UInt8] = []
            if round % 2 == 0 {
                while try stream.lend({ (b) throws(ImageError) in got += b }) > 0 {}
            } else {
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let n = try withBytes(&buffer) { (p) throws(ImageError) -> Int in try stream.read(into: p) }
                    if n == 0 { break }
                    got += buffer[..<n]
                }
            }
            // Compared first, so a failure does not ask the test library to diff megabytes.
            let same = got == Array(f.bytes[offset..<(offset + length)])
            #expect(same, "round \(round): offset \(offset), length \(length), got \(got.count) bytes")
            #expect(stream.mappedBytes <= length)
            if handOffAfter == 0 { #expect(stream.mappedBytes == 0, "handed off before the first window") }
        }
    }

    @Test func aWindowPastTheFilesEndIsRefusedBeforeItIsMapped() throws {
        // The range claims more than the file holds (truncated after it was indexed). Mapped and read,
        // the pages past the end would raise SIGBUS; the check refuses the window first.
        let f = try helpers.randomFile(MappedRangeStream.window + 5_000, seed: 8)
        let owner = SharedDescriptor(f.fd)
        let checks = LayerDigestChecks(width: 1)
        let hold = try #require(checks.hold(SharedRangeStream(owner, offset: 0, length: 1, name: "x")), "leased")
        let job = LayerDigestChecks.Job(layer: 0, hold: hold, offset: 100, length: 3 * MappedRangeStream.window,
                                        expected: LayoutWriter.digest([]), expectedSize: nil, name: "layer x")
        let stream = MappedRangeStream(owner, offset: job.offset, length: job.length, name: job.name,
                                       check: { end in LayerDigestChecks.stillHeld(job, through: end) })
        var seen = 0, sum: UInt8 = 0
        do {
            // Every page handed out is touched, as the hash would.
            while try stream.lend({ (b) throws(ImageError) in
                seen += b.count
                for i in stride(from: 0, to: b.count, by: 4096) { sum &+= b[i] }
            }) > 0 {}
            Issue.record("a range past the file's end was read to its end")
        } catch {
            #expect(error.description.contains("layer x") && error.description.contains("truncated"), "\(error)")
        }
        #expect(seen == MappedRangeStream.window - 100, "the first window, inside the file, was read (\(sum))")
    }

    @Test func aWindowAfterTheLeaseBrokeIsRefused() throws {
        let f = try helpers.randomFile(2 * MappedRangeStream.window, seed: 10)
        let owner = SharedDescriptor(f.fd)
        let checks = LayerDigestChecks(width: 1)
        let hold = try #require(checks.hold(SharedRangeStream(owner, offset: 0, length: 1, name: "x")), "leased")
        let job = LayerDigestChecks.Job(layer: 0, hold: hold, offset: 0, length: f.bytes.count,
                                        expected: LayoutWriter.digest(f.bytes), expectedSize: nil, name: "layer y")
        let stream = MappedRangeStream(owner, offset: 0, length: job.length, name: job.name,
                                       check: { end in LayerDigestChecks.stillHeld(job, through: end) })
        #expect(try stream.lend { _ in } == MappedRangeStream.window)
        let w = open(f.path, O_WRONLY | O_NONBLOCK)
        #expect(w < 0 && errno == EWOULDBLOCK, "the open waits on the lease, and breaks it")
        do {
            _ = try stream.lend { _ in }
            Issue.record("a window was mapped after the file's lease broke")
        } catch {
            #expect(error.description.contains("opened for writing"), "\(error)")
        }
    }

    @Test func filesOnTmpfsAreNotMapped() throws {
        // Reading a mapping of a hole on tmpfs allocates a page: a sparse layer there would take memory
        // its size, so such files are read with `pread`.
        let f = try helpers.randomFile(10, seed: 2)
        defer { close(f.fd) }
        let allowed = MappedRangeStream.kernelAllows && MappedRangeStream.breakTimeAllows
        #expect(MappedRangeStream.usable(f.fd) == (allowed && LeasedFilesystem.type(f.fd) != LeasedFilesystem.tmpfs))
        // A file on tmpfs: /dev/shm is one on Linux (and in the CI's machine).
        let path = "/dev/shm/provenant-mapped-\(getpid())"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(LeasedFilesystem.type(fd) == LeasedFilesystem.tmpfs, "/dev/shm is tmpfs")
        #expect(!MappedRangeStream.usable(fd))
    }

    @Test func onlyKernelsFromSixNineMap() {
        #expect(MappedRangeStream.kernel("6.9.0", atLeast: (6, 9)))
        #expect(MappedRangeStream.kernel("6.18.44-fc-v1300", atLeast: (6, 9)))
        #expect(MappedRangeStream.kernel("7.0-rc1", atLeast: (6, 9)))
        #expect(!MappedRangeStream.kernel("6.8.12-generic", atLeast: (6, 9)))
        #expect(!MappedRangeStream.kernel("5.15.0-101-generic", atLeast: (6, 9)))
        #expect(!MappedRangeStream.kernel("6", atLeast: (6, 9)))
        #expect(!MappedRangeStream.kernel("", atLeast: (6, 9)))
    }

    @Test func aWindowTheKernelWillNotReadInIsReadWithPread() throws {
        // An advice the kernel refuses (EINVAL, as a kernel before 5.14 answers MADV_POPULATE_READ):
        // the rest is read through the read-ahead stream, and `read(into:)` still fills only the
        // caller's buffer, whatever the read-ahead chunk's size.
        let size = 2 * MappedRangeStream.window + 999
        let f = try helpers.randomFile(size, seed: 14)
        let owner = SharedDescriptor(f.fd)
        for small in [1, 100, 4096, 70_000] {
            let stream = MappedRangeStream(owner, offset: 37, length: size - 37, name: "r", check: { _ in nil }, advice: 9_999)
            var got: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: small + 64)
            while true {
                let n = try withBytes(&buffer) { (p) throws(ImageError) -> Int in
                    try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: p[..<small]))
                }
                if n == 0 { break }
                #expect(n <= small)
                #expect(buffer[small...].allSatisfy { $0 == 0 }, "nothing written past the caller's buffer")
                got += buffer[..<n]
                if small == 1 && got.count > 300_000 { break }
            }
            let same = small == 1 ? got == Array(f.bytes[37..<(37 + got.count)]) : got == Array(f.bytes[37...])
            #expect(same, "buffer \(small): \(got.count) bytes")
            #expect(stream.mappedBytes == 0)
        }
        let lent = MappedRangeStream(owner, offset: 0, length: size, name: "r", check: { _ in nil }, advice: 9_999)
        var hashed: [UInt8] = []
        while try lent.lend({ (b) throws(ImageError) in hashed += b }) > 0 {}
        let same = hashed == f.bytes
        #expect(same && lent.mappedBytes == 0)
    }

    @Test func aPageThatCannotBeReadInIsAnErrorNotASignal() throws {
        // A window past the file's end, mapped without the check: the read-in reports it (EFAULT)
        // where touching the page would have raised SIGBUS.
        // (A kernel without MADV_POPULATE_READ refuses the advice, and the read-ahead stream's `pread`
        // finds the end instead.)
        let f = try helpers.randomFile(5_000, seed: 12)
        let stream = MappedRangeStream(SharedDescriptor(f.fd), offset: 0, length: 3 * 4096 + 5_000, name: "layer z", check: { _ in nil })
        var sum: UInt8 = 0
        do {
            while try stream.lend({ b in for i in stride(from: 0, to: b.count, by: 4096) { sum &+= b[i] } }) > 0 {}
            Issue.record("a window past the end was handed out (\(sum))")
        } catch {
            let said = MappedRangeStream.kernelAllows ? "could not be read in" : "truncated"
            #expect(error.description.contains("layer z") && error.description.contains(said), "\(error)")
        }
    }

    /// A layout whose second layer holds `size` bytes of random data in one file.
    func largeLayerImage(_ name: String, size: Int, tamper: (URL, [String]) throws -> Void = { _, _ in }) throws -> URL {
        var rng = SplitMix(state: 77)
        let data = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 17) }
        var u = TarWriter()
        u.add("opt/large.bin", data: data)
        return try helpers.twoLayers(name, second: u.finished(), tamper: tamper)
    }

    /// Reads `dir`'s layers with checks that never hand off: what the checks found, and how many bytes
    /// they hashed from mappings.
    func readMapped(_ dir: URL) async throws -> (failure: ImageError?, mapped: Int) {
        let checks = LayerDigestChecks(width: 1, handsOff: false)
        let source = try ImageSources.open(try #require(try ImageReference.parse("oci-dir:" + dir.path)))
        let reader = ImageReader(capture: ImageCapture { _, _, _ in .keep })
        let contents = try await reader.readLayers(source, budget: ReadBudget(total: 1 << 30), checks: checks)
        #expect((try? contents.filesystem.resolve("opt/large.bin")) != nil)
        let failure = await checks.allPassed()
        return (failure, checks.bytesMapped.load(ordering: .relaxed))
    }

    @Test func aLargeLayerIsHashedFromMappingsAndChecked() async throws {
        let size = 2 * MappedRangeStream.window + 3 * LayerDigestChecks.prefetchAbove
        let good = try largeLayerImage("mapped-good", size: size)
        defer { try? FileManager.default.removeItem(at: good) }
        let read = try await readMapped(good)
        #expect(read.failure == nil)
        // Where the layout's files may be mapped (not on tmpfs, a kernel from 6.9): the large layer (its
        // file and tar headers) was hashed from mappings, and the small one was not.
        let probe = try helpers.randomFile(1, seed: 1)
        defer { close(probe.fd) }
        if MappedRangeStream.usable(probe.fd) {
            #expect(read.mapped > size && read.mapped < size + 10_000, "\(read.mapped)")
        } else {
            #expect(read.mapped == 0)
        }
        // One bit deep inside the large file, past the first windows, is changed: the tar still reads.
        let bad = try largeLayerImage("mapped-bad", size: size) { dir, digests in
            try helpers.flip(dir.appendingPathComponent(digests[1]), at: 2 * MappedRangeStream.window + 777)
        }
        defer { try? FileManager.default.removeItem(at: bad) }
        let failed = try await readMapped(bad)
        #expect(failed.failure?.description.contains("has digest sha256:") == true, "\(String(describing: failed.failure))")
        #expect((failed.mapped > size) == (read.mapped > size))
    }
}
