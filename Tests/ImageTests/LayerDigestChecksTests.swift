@testable import Catalog
import Foundation
import ProvenantCore
import Synchronization
import Testing
import TestSupport

/// A local layer's digest is checked by a thread of its own that reads the file again, while its
/// entries are read through a stream that steps over what it skips. The checks: what is read and
/// skipped is what a plain stream gives; nothing is handed out before the digests pass, even though it
/// was computed while they ran; the lowest layer's failure is the one reported; and a layer file
/// written to while it is read is not trusted, even with the same bytes.
@Suite struct LayerDigestChecksTests {
    /// A file of `count` pseudo-random bytes, open for reading.
    func randomFile(_ count: Int, seed: UInt64) throws -> (path: String, fd: Int32, bytes: [UInt8]) {
        var rng = SplitMix(state: seed)
        let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 29) }
        let path = try temporaryDirectory("seeking").appendingPathComponent("f").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        return (path, fd, bytes)
    }

    @Test func seekingReadsAndSkipsAsAPlainStreamDoes() throws {
        let f = try randomFile(400_000, seed: 7)
        let owner = SharedDescriptor(f.fd)
        for seed in UInt64(1)...40 {
            var rng = SplitMix(state: seed)
            let offset = Int(rng.next() % 5_000), length = 300_000 + Int(rng.next() % 90_000)
            let seeking = SeekingRangeStream(SharedRangeStream(owner, offset: offset, length: length, name: "f"))
            let plain = MemoryStream(Array(f.bytes[offset..<(offset + length)]))
            var a: [UInt8] = [], b: [UInt8] = []
            var skippedA = 0, skippedB = 0
            for _ in 0..<200 {
                // Reads and skips of sizes around the window, and past the end.
                let n = [1, 511, 512, 4096, SeekingRangeStream.window - 1, SeekingRangeStream.window, 100_000][Int(rng.next() % 7)]
                if rng.next() % 2 == 0 {
                    var ba = [UInt8](repeating: 0, count: n), bb = [UInt8](repeating: 0, count: n)
                    let ga = try withBytes(&ba) { (p) throws(ImageError) -> Int in try seeking.readFully(into: p) }
                    let gb = try withBytes(&bb) { (p) throws(ImageError) -> Int in try plain.readFully(into: p) }
                    #expect(ga == gb)
                    a += ba[..<ga]; b += bb[..<gb]
                } else {
                    skippedA += try seeking.skip(n); skippedB += try plain.skip(n)
                }
            }
            #expect(a == b, "seed \(seed)")
            #expect(skippedA == skippedB, "seed \(seed)")
        }
    }

    @Test func aRangePastTheFilesEndIsTruncated() throws {
        let f = try randomFile(10_000, seed: 3)
        let s = SeekingRangeStream(SharedRangeStream(SharedDescriptor(f.fd), offset: 1_000, length: 20_000, name: "blob x"))
        var buffer = [UInt8](repeating: 0, count: 50_000)
        do {
            _ = try withBytes(&buffer) { (p) throws(ImageError) -> Int in try s.readFully(into: p) }
            Issue.record("read past the file's end")
        } catch { #expect(error.description.contains("truncated") && error.description.contains("blob x"), "\(error)") }
    }

    @Test func checksReportTheLowestFailingLayer() async throws {
        let f = try randomFile(300_000, seed: 11)
        let owner = SharedDescriptor(f.fd)
        let checks = LayerDigestChecks(width: 2)
        let good = LayoutWriter.digest(Array(f.bytes[0..<100_000]))
        let hold = try #require(checks.hold(SharedRangeStream(owner, offset: 0, length: 1, name: "a")), "the file is leased")
        try checks.add(layer: 0, SharedRangeStream(owner, offset: 0, length: 100_000, name: "a"), hold, expected: good, expectedSize: 100_000, name: "layer a")
        try checks.add(layer: 2, SharedRangeStream(owner, offset: 0, length: 100_000, name: "c"), hold, expected: good, expectedSize: 99_999, name: "layer c")
        try checks.add(layer: 1, SharedRangeStream(owner, offset: 1, length: 100_000, name: "b"), hold, expected: good, expectedSize: nil, name: "layer b")
        #expect(await checks.firstFailure(upTo: 0) == nil)
        let first = try #require(await checks.firstFailure())
        #expect(first.description.contains("layer b") && first.description.contains("has digest"), "\(first)")
        let all = try #require(await checks.allPassed())
        #expect(all.description.contains("layer b"))
        if case .failed(let e) = await checks.outcome(layer: 2) {
            #expect(e.description.contains("99999"), "\(e)")
        } else { Issue.record("the size is checked") }
        #expect(throws: ImageError.self) {
            try checks.add(layer: 3, SharedRangeStream(owner, offset: 0, length: 1, name: "d"), hold, expected: "sha512:00", expectedSize: nil, name: "layer d")
        }
    }

    /// An image with two uncompressed layers; `tamper` may change the stored blobs after they are written.
    func twoLayers(_ name: String, second: [UInt8]? = nil, tamper: (URL, [String]) throws -> Void = { _, _ in }) throws -> URL {
        let dir = try temporaryDirectory(name)
        var w = try LayoutWriter(dir)
        var t = TarWriter()
        t.add("var/lib/dpkg/status", data: Array(TwoLayerImage.status.utf8))
        try w.addLayer(t.finished())
        var u = TarWriter()
        u.add("etc/hostname", data: Array("box\n".utf8))
        u.add("opt/big.bin", data: [UInt8](repeating: 7, count: 200_000))
        if let second {
            w.layers.append((second, "application/vnd.oci.image.layer.v1.tar", LayoutWriter.digest(second)))
            w.history.append("RUN second")
        } else {
            try w.addLayer(u.finished())
        }
        try w.write()
        try tamper(dir.appendingPathComponent("blobs/sha256"), w.layers.map { String(LayoutWriter.digest($0.bytes).dropFirst(7)) })
        return dir
    }

    /// Changes one bit of the file at `offset`, in place.
    func flip(_ path: URL, at offset: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: path))
        bytes[offset] ^= 0x01
        try Data(bytes).write(to: path)
    }

    func read<T: Sendable>(_ dir: URL, _ body: (ImageContents) async throws -> T) async throws -> T {
        let source = try ImageSources.open(try #require(try ImageReference.parse("oci-dir:" + dir.path)))
        let reader = ImageReader(capture: ImageCapture { _, _, _ in .keep })
        return try await reader.read(source, budget: ReadBudget(total: 1 << 30), during: body)
    }

    @Test func nothingIsHandedOutBeforeTheDigestsPass() async throws {
        // The second file's data is changed in place: the tar still reads, the digest does not match.
        let dir = try twoLayers("late-digest") { try flip($0.appendingPathComponent($1[1]), at: 3 * 512 + 100) }
        defer { try? FileManager.default.removeItem(at: dir) }
        let ran = Mutex(false)
        do {
            _ = try await read(dir) { contents -> Int in
                ran.withLock { $0 = true }
                #expect((try? contents.filesystem.resolve("opt/big.bin")) != nil)
                return 1
            }
            Issue.record("a layer without its digest gave a result")
        } catch {
            #expect("\(error)".contains("has digest sha256:") && "\(error)".contains("not the"), "\(error)")
        }
        #expect(ran.withLock { $0 }, "the body ran while the digest was checked, and its result was dropped")
        // The plain read refuses it the same way.
        let source = try ImageSources.open(try #require(try ImageReference.parse("oci-dir:" + dir.path)))
        await #expect(throws: ImageError.self) { _ = try await ImageReader().read(source, budget: ReadBudget(total: 1 << 30)) }
    }

    @Test func aLowerLayersDigestComesBeforeAHigherLayersBrokenTar() async throws {
        // Layer 0's data is changed (its tar still reads); layer 1 is a tar cut inside a file, whose
        // digest is of the cut bytes, so only the tar reader can tell.
        var u = TarWriter()
        u.add("opt/big.bin", data: [UInt8](repeating: 7, count: 200_000))
        let cut = Array(u.finished().prefix(5_000))
        let dir = try twoLayers("lowest-first", second: cut) { try flip($0.appendingPathComponent($1[0]), at: 600) }
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try await read(dir) { _ in 1 }
            Issue.record("read")
        } catch {
            #expect("\(error)".contains("has digest sha256:"), "layer 0's digest, not layer 1's tar: \(error)")
        }
    }

    /// The blob files of the layout's layers larger than 100 kB.
    func largeBlobs(_ dir: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("blobs/sha256").path)
            .map { dir.appendingPathComponent("blobs/sha256/" + $0) }
            .filter { ((try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0) > 100_000 }
    }

    @Test func aLayerFileOpenedForWritingDuringTheReadIsNotTrusted() async throws {
        let dir = try twoLayers("rewritten")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await read(dir) { _ in 1 } == 1, "the control reads")
        let blob = try #require(try largeBlobs(dir).first)
        do {
            _ = try await read(dir) { _ -> Int in
                // The file is leased: an open for writing (without waiting) is refused, and breaks the lease.
                let fd = open(blob.path, O_WRONLY | O_NONBLOCK)
                #expect(fd < 0 && errno == EWOULDBLOCK, "the open for writing waits on the lease")
                if fd >= 0 { close(fd) }
                return 1
            }
            Issue.record("a layer opened for writing during the read was trusted")
        } catch {
            #expect("\(error)".contains("opened for writing while it was read"), "\(error)")
        }
    }

    @Test func aLayerFileAlreadyOpenForWritingIsHashedInline() async throws {
        // A writer that holds the file open (or mapped) before the read could change it between two
        // reads, so it is not leased, and is hashed in the stream its entries are read from: a changed
        // layer still fails, and a good one passes.
        let good = try twoLayers("held-open")
        defer { try? FileManager.default.removeItem(at: good) }
        let writer = open(try #require(try largeBlobs(good).first).path, O_RDWR)
        #expect(writer >= 0)
        defer { close(writer) }
        let owner = SharedDescriptor(open(try #require(try largeBlobs(good).first).path, O_RDONLY))
        #expect(LayerDigestChecks(width: 1).hold(SharedRangeStream(owner, offset: 0, length: 1, name: "x")) == nil, "not leased")
        #expect(try await read(good) { _ in 1 } == 1)
        let bad = try twoLayers("held-open-bad") { try flip($0.appendingPathComponent($1[1]), at: 3 * 512 + 100) }
        defer { try? FileManager.default.removeItem(at: bad) }
        let badWriter = open(try #require(try largeBlobs(bad).first).path, O_RDWR)
        defer { close(badWriter) }
        do {
            _ = try await read(bad) { _ in 1 }
            Issue.record("a changed layer was read")
        } catch {
            #expect("\(error)".contains("has digest sha256:"), "\(error)")
        }
    }

    @Test func aFileWhoseStampMovedIsNotTrusted() async throws {
        // The stamp is compared as well as the lease: the file's times are set while it is leased,
        // which moves its change time without opening it for writing.
        let f = try randomFile(50_000, seed: 5)
        let owner = SharedDescriptor(f.fd)
        let checks = LayerDigestChecks(width: 1)
        let hold = try #require(checks.hold(SharedRangeStream(owner, offset: 0, length: 1, name: "x")), "leased")
        try checks.add(layer: 0, SharedRangeStream(owner, offset: 0, length: 50_000, name: "x"), hold,
                       expected: LayoutWriter.digest(f.bytes), expectedSize: nil, name: "layer x")
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, f.path, &times, 0) == 0)
        #expect(ReadLease.held(f.fd), "setting times does not break the lease")
        if case .failed(let e) = await checks.outcome(layer: 0) {
            #expect(e.description.contains("changed while it was read"), "\(e)")
        } else { Issue.record("a file whose times moved during the check passed") }
    }

    @Test func aBrokenLeaseIsNeverTakenAgain() async throws {
        // Two layers of one archive share its descriptor. The lease is broken after the first is held;
        // the second gets the same hold, not a new lease, so both checks fail.
        let f = try randomFile(50_000, seed: 9)
        let owner = SharedDescriptor(f.fd)
        let checks = LayerDigestChecks(width: 1)
        let first = try #require(checks.hold(SharedRangeStream(owner, offset: 0, length: 1, name: "a")))
        let w = open(f.path, O_WRONLY | O_NONBLOCK)
        #expect(w < 0 && errno == EWOULDBLOCK, "the open waits on the lease, and breaks it")
        let second = try #require(checks.hold(SharedRangeStream(owner, offset: 0, length: 1, name: "b")))
        #expect(second.before == first.before)
        // Taken again, a lease whose break timed out (the kernel's lease-break-time) would be whole.
        #expect(checks.leasesTaken == 1, "one lease for the file")
        try checks.add(layer: 1, SharedRangeStream(owner, offset: 0, length: 50_000, name: "b"), second,
                       expected: LayoutWriter.digest(f.bytes), expectedSize: nil, name: "layer b")
        if case .failed(let e) = await checks.outcome(layer: 1) {
            #expect(e.description.contains("opened for writing"), "\(e)")
        } else { Issue.record("a layer read after its file's lease broke passed") }
    }

    @Test func onlyLocalFilesystemsAreReadTwice() throws {
        // ext4 and tmpfs hold leases every write breaks; overlayfs, FUSE and NFS do not.
        #expect(LeasedFilesystem.allows(type: 0xEF53))
        #expect(LeasedFilesystem.allows(type: 0x0102_1994))
        for other in [0x794C_7630, 0x6573_5546, 0x6969, 0x9FA0, 0x0102_1997] {
            #expect(!LeasedFilesystem.allows(type: other), "\(String(other, radix: 16))")
        }
        // The tests' temporary directory is on a local filesystem (the lease tests here need one), and
        // a pipe is on none.
        let f = try randomFile(10, seed: 1)
        defer { close(f.fd) }
        #expect(LeasedFilesystem.allows(f.fd))
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(!LeasedFilesystem.allows(fds[0]))
    }

    @Test func aCompressedLayersStoredDigestIsCheckedBesideTheReading() async throws {
        // A gzip member's header time is not part of what it inflates to: changed, the diff ID still
        // holds and only the stored digest, checked beside the reading, does not.
        let dir = try temporaryDirectory("gzip-side")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir)
        var t = TarWriter()
        t.add("var/lib/dpkg/status", data: Array(TwoLayerImage.status.utf8))
        try w.addLayer(t.finished(), gzip: true)
        try w.write()
        let path = dir.appendingPathComponent("blobs/sha256/" + LayoutWriter.digest(w.layers[0].bytes).dropFirst(7))
        #expect(try await read(dir) { _ in 1 } == 1, "the control reads")
        var bytes = [UInt8](try Data(contentsOf: path))
        bytes[4] ^= 0x01
        try Data(bytes).write(to: path)
        do {
            _ = try await read(dir) { _ in 1 }
            Issue.record("a changed layer was read")
        } catch {
            #expect("\(error)".contains("has digest sha256:") && !"\(error)".contains("uncompressed"), "\(error)")
        }
    }

    @Test func aClassicDockerArchiveLayerIsCheckedByItsDiffID() async throws {
        // `docker save`'s classic form names no layer digest, only the config's diff IDs; an
        // uncompressed layer is then hashed beside the reading against its diff ID.
        let dir = try twoLayers("docker-classic")
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = dir.appendingPathComponent("image.tar").path
        try tool("skopeo", ["copy", "--quiet", "oci:\(dir.path):test", "docker-archive:\(archive):example.com/x:v1"])
        func read() async throws -> Int {
            let source = try ImageSources.open(try #require(try ImageReference.parse("docker-archive:" + archive)))
            return try await ImageReader(capture: ImageCapture { _, _, _ in .keep }).read(source, budget: ReadBudget(total: 1 << 30)) { c in
                #expect((try? c.filesystem.resolve("var/lib/dpkg/status")) != nil)
                return 1
            }
        }
        #expect(try await read() == 1, "the control reads")
        // One byte of the status file's text, inside the first layer's tar, is changed.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        let marker = Array("Package: alpha".utf8)
        let at = try #require((0...(bytes.count - marker.count)).first { bytes[$0..<($0 + marker.count)].elementsEqual(marker) })
        bytes[at + 9] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        do {
            _ = try await read()
            Issue.record("a changed layer was read")
        } catch {
            #expect("\(error)".contains("has digest sha256:") && "\(error)".contains("it is named by"), "\(error)")
        }
    }
}
