import Crypto
import Foundation
import ProvenantCore
import Testing
@testable import Drift

/// The eight-lane MD5 against swift-crypto's, on messages of every length around the padding edges,
/// from memory and from files, started in lanes as others finish.
@Suite struct MD5LanesTests {
    static func reference(_ bytes: [UInt8]) -> String { Hex.encode(Insecure.MD5.hash(data: bytes)) }

    static func message(_ length: Int, seed: Int) -> [UInt8] {
        var x = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<length).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
    }

    @Test func rfc1321Examples() {
        let hasher = MD5LaneHasher()
        let inputs = ["", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
                      "12345678901234567890123456789012345678901234567890123456789012345678901234567890"]
        let expected = ["d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
                        "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
                        "c3fcd3d76192e4007dfb496cca67e13b", "57edf4a22be3c955ac49da2e2107b67a"]
        let bytes = inputs.map { s -> UnsafeMutableRawBufferPointer in
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: s.utf8.count, alignment: 1)
            p.copyBytes(from: Array(s.utf8))
            return p
        }
        defer { bytes.forEach { $0.deallocate() } }
        var got: [Int: String] = [:]
        for (n, b) in bytes.enumerated() { hasher.start(memory: UnsafeRawBufferPointer(b), tag: n) }
        while !hasher.isIdle { for d in hasher.run() { got[d.tag] = d.hex } }
        #expect(got.count == inputs.count)
        for n in inputs.indices { #expect(got[n] == expected[n], "\(inputs[n])") }
    }

    @Test func everyLengthAroundTheBlockEdgesFromMemory() {
        let lengths = Array(0...200) + [447, 448, 511, 512, 513, 4095, 4096, 65_535, 65_536, 65_537, 200_001]
        let messages = lengths.enumerated().map { Self.message($0.element, seed: $0.offset) }
        let pointers = messages.map { m -> UnsafeMutableRawBufferPointer in
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: m.count, alignment: 1)
            p.copyBytes(from: m)
            return p
        }
        defer { pointers.forEach { $0.deallocate() } }
        let hasher = MD5LaneHasher()
        var got: [Int: String] = [:]
        var next = 0
        while next < messages.count || !hasher.isIdle {
            while hasher.hasFreeLane, next < messages.count {
                hasher.start(memory: UnsafeRawBufferPointer(pointers[next]), tag: next)
                next += 1
            }
            for d in hasher.run() { got[d.tag] = d.hex }
        }
        #expect(got.count == messages.count)
        let wrong = messages.indices.filter { got[$0] != Self.reference(messages[$0]) }.map { lengths[$0] }
        #expect(wrong.isEmpty, "lengths whose digest differs: \(wrong)")
    }

    @Test func filesReadInSmallChunksAndMixedWithMemory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("md5lanes-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A read size that is not a multiple of 64, so blocks straddle reads.
        let hasher = MD5LaneHasher(readSize: 100)
        let lengths = [0, 1, 55, 56, 63, 64, 65, 99, 100, 101, 127, 128, 129, 1000, 10_007, 70_000]
        var messages: [[UInt8]] = []
        var fds: [Int: Int32] = [:]
        var memory: [Int: UnsafeMutableRawBufferPointer] = [:]
        for (n, length) in (lengths + lengths).enumerated() {
            let m = Self.message(length, seed: 1000 + n)
            messages.append(m)
        }
        defer { memory.values.forEach { $0.deallocate() } }
        var got: [Int: String] = [:]
        var next = 0
        while next < messages.count || !hasher.isIdle {
            while hasher.hasFreeLane, next < messages.count {
                if next % 2 == 0 {
                    let url = dir.appendingPathComponent("\(next)")
                    try Data(messages[next]).write(to: url)
                    let fd = open(url.path, O_RDONLY)
                    try #require(fd >= 0)
                    fds[next] = fd
                    hasher.start(fd: fd, tag: next)
                } else {
                    let p = UnsafeMutableRawBufferPointer.allocate(byteCount: messages[next].count, alignment: 1)
                    p.copyBytes(from: messages[next])
                    memory[next] = p
                    hasher.start(memory: UnsafeRawBufferPointer(p), tag: next)
                }
                next += 1
            }
            for d in hasher.run() {
                got[d.tag] = d.hex
                if let fd = fds.removeValue(forKey: d.tag) { close(fd) }
            }
        }
        let wrong = messages.indices.filter { got[$0] != Self.reference(messages[$0]) }.map { "\($0 % 2 == 0 ? "file" : "memory") of \(messages[$0].count)" }
        #expect(got.count == messages.count)
        #expect(wrong.isEmpty, "\(wrong)")
    }

    @Test func aFailedReadGivesNoDigest() throws {
        let hasher = MD5LaneHasher()
        let dir = open("/", O_RDONLY | O_DIRECTORY)
        try #require(dir >= 0)
        defer { close(dir) }
        hasher.start(fd: dir, tag: 7)
        let done = hasher.run()
        #expect(done.count == 1)
        #expect(done.first?.tag == 7)
        #expect(done.first?.hex == nil)
        #expect(done.first?.error == EISDIR)
        #expect(hasher.isIdle)
    }
}
