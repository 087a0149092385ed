import Foundation

/// Finding a byte string in a buffer at memory speed: glibc's `memmem`, looked up rather than linked
/// (the Glibc module leaves the GNU extension out), with a plain loop where there is none (musl).
/// A search for a first byte and a compare at each hit is slow when that byte is common, as 0xFF is in
/// machine code.
public enum ByteSearch {
    private typealias Memmem = @convention(c) (UnsafeRawPointer?, Int, UnsafeRawPointer?, Int) -> UnsafeMutableRawPointer?
    private static let memmem = SystemLibrary.symbol("memmem", as: Memmem.self)

    /// The offset of the first `needle` in `hay`, or nil; an empty needle is never found.
    public static func firstOffset(of needle: UnsafeRawBufferPointer, in hay: UnsafeRawBufferPointer) -> Int? {
        guard needle.count > 0, hay.count >= needle.count, let h = hay.baseAddress, let n = needle.baseAddress else { return nil }
        if let memmem {
            return memmem(h, hay.count, n, needle.count).map { UnsafeRawPointer($0) - h }
        }
        return shortFirstOffset(of: needle, in: hay)
    }

    /// The search for a short text (a path, a window around a match): `memchr` for the needle's first
    /// byte, `memcmp` at each hit, with none of `memmem`'s setup per call. Also the search where the
    /// library has no `memmem`.
    public static func shortFirstOffset(of needle: UnsafeRawBufferPointer, in hay: UnsafeRawBufferPointer) -> Int? {
        guard needle.count > 0, hay.count >= needle.count, let h = hay.baseAddress, let n = needle.baseAddress else { return nil }
        var i = 0
        let lastStart = hay.count - needle.count
        while i <= lastStart {
            guard let p = memchr(h + i, Int32(needle[0]), lastStart - i + 1) else { return nil }
            i = UnsafeRawPointer(p) - h
            if memcmp(h + i, n, needle.count) == 0 { return i }
            i += 1
        }
        return nil
    }

    /// The offset of the first `needle` in `hay[from..<to]` (an offset in `hay`), or nil.
    public static func firstOffset(of needle: [UInt8], in hay: [UInt8], from: Int = 0, to: Int? = nil) -> Int? {
        let stop = min(to ?? hay.count, hay.count), start = max(0, from)
        guard start < stop else { return nil }
        return hay.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                firstOffset(of: n, in: UnsafeRawBufferPointer(rebasing: h[start..<stop])).map { $0 + start }
            }
        }
    }
}
