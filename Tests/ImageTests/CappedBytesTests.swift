import Catalog
import Foundation
import Testing

/// What a secret scan keeps of bytes no runtime reads is gathered under one cap, in one type: the
/// line break between parts counts against it, and nothing is kept past it.
@Suite struct CappedBytesTests {
    @Test func partsAreJoinedWithinTheCap() {
        var c = CappedBytes(cap: 8)
        c.appendPart(Array("abc".utf8))
        c.appendPart([UInt8]())
        c.appendPart(Array("de".utf8))
        #expect(c.bytes == Array("abc\nde".utf8) && !c.cut)
        // Room for the line break only: the part is left out whole, and so are its later chunks.
        c.appendPart(Array("f".utf8))
        #expect(c.bytes == Array("abc\nde\nf".utf8) && !c.cut)
        c.appendPart(Array("g".utf8))
        c.append(Array("h".utf8))
        #expect(c.bytes.count == 8 && c.cut)
        var d = CappedBytes(cap: 5)
        d.appendPart(Array("abc".utf8))
        d.appendPart(Array("xyz".utf8))
        d.append(Array("w".utf8))
        #expect(d.bytes == Array("abc\nx".utf8) && d.cut)
        var e = CappedBytes(cap: 4)
        e.appendPart(Array("abc".utf8))
        e.appendPart(Array("x".utf8))
        e.append(Array("y".utf8))
        #expect(e.bytes == Array("abc".utf8) && e.cut, "a chunk of a refused part is not glued to the last part")
        #expect(CappedBytes(cap: -3).cap == 0 && CappedBytes(cap: 0).isEmpty)
    }

    /// Padding is kept from its first non-zero byte to the block's end (a zip hidden there ends in
    /// zero fields); all zeros, it is nothing.
    @Test func paddingIsKeptFromItsFirstNonZeroByte() {
        var c = CappedBytes(cap: 64)
        c.appendPadding([0, 0, 0][...])
        #expect(c.isEmpty)
        c.appendPadding(([0, 0] + Array("hi".utf8) + [0, 0])[...])
        c.appendPadding(([9, 0, 0] + Array("ok".utf8) + [0])[2...])
        #expect(c.bytes == Array("hi".utf8) + [0, 0, 10] + Array("ok".utf8) + [0], "\(c.bytes)")
    }

    /// Found by re-reading: a layer's padding appended its line break before checking for room, so
    /// each entry past the cap added one byte more.
    @Test func layerPaddingStaysWithinTheCap() throws {
        var layer = TarWriter()
        let entries = StreamingTar.keptHeaderBytes / 512 + 2000
        for i in 0..<entries {
            layer.header("f\(i)", type: UInt8(ascii: "0"), size: 1)
            layer.bytes += [0x41] + [UInt8](repeating: 0x42, count: 511)
        }
        let tar = StreamingTar(MemoryStream(layer.finished()), name: "layer")
        tar.keepsExtendedHeaders = true
        var n = 0
        while try tar.next() != nil { n += 1 }
        #expect(n == entries)
        #expect(tar.padding.bytes.count <= StreamingTar.keptHeaderBytes, "\(tar.padding.bytes.count)")
        #expect(tar.padding.cut && tar.padding.bytes.count > StreamingTar.keptHeaderBytes - 512)
    }
}
