#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StringProtocol {
    /// Trims spaces and tabs by bytes; Foundation's trimmingCharacters bridges through NSString
    /// and was a fifth of a root-filesystem scan.
    public var trimmed: String {
        let sub = Substring(self)
        let u = sub.utf8
        var s = u.startIndex, e = u.endIndex
        while s < e, u[s] == 32 || u[s] == 9 { s = u.index(after: s) }
        while e > s, case let c = u[u.index(before: e)], c == 32 || c == 9 { e = u.index(before: e) }
        return String(sub[s..<e])
    }
}

extension String {
    /// Whether `needle` occurs in the text, compared byte for byte (`memchr`, then `memcmp`). Foundation's `contains`
    /// and `range(of:)` bridge through NSString, which made pairing 10,000 paths with the extractors
    /// take a tenth of a second.
    public func containsBytes(_ needle: String) -> Bool { byteOffset(of: needle) != nil }

    /// Whether a relative path has a directory named `name` (`vendor/x`, `a/vendor/x`), whole: a
    /// `multivendor/` directory is not `vendor/` (found by helper-127).
    public func hasDirectory(_ name: String) -> Bool { hasPrefix(name + "/") || containsBytes("/" + name + "/") }

    /// The range of the first (or, `last`, the last) occurrence of `needle`, found byte for byte, as
    /// `range(of:)` without its trip through NSString.
    public func rangeOfBytes(_ needle: String, last: Bool = false) -> Range<String.Index>? {
        guard let at = byteOffset(of: needle, last: last) else { return nil }
        let lower = utf8.index(utf8.startIndex, offsetBy: at)
        return lower..<utf8.index(lower, offsetBy: needle.utf8.count)
    }

    /// The byte offset of the first (or, `last`, the last) occurrence of `needle`, byte for byte.
    public func byteOffset(of needle: String, last: Bool = false) -> Int? {
        var hay = self, pin = needle
        return hay.withUTF8 { h -> Int? in
            pin.withUTF8 { n -> Int? in
                guard n.count <= h.count else { return nil }
                guard n.count > 0 else { return nil }   // as Foundation: an empty needle is never found
                guard !last else {
                    var i = h.count - n.count
                    while i >= 0 {
                        if h[i] == n[0], memcmp(h.baseAddress! + i, n.baseAddress!, n.count) == 0 { return i }
                        i -= 1
                    }
                    return nil
                }
                return ByteSearch.shortFirstOffset(of: UnsafeRawBufferPointer(n), in: UnsafeRawBufferPointer(h))
            }
        }
    }

    /// Lower case, by bytes when the text is ASCII (names and versions nearly always are);
    /// unchanged text is returned as it is, without a copy.
    public var lowercasedFast: String {
        var upper = false
        for b in utf8 {
            if b >= 0x80 { return lowercased() }
            if b >= 65 && b <= 90 { upper = true }
        }
        guard upper else { return self }
        return String(decoding: utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

/// Path text without Foundation's `lastPathComponent`, which traps on some runs of slashes
/// (`basenv31I////////////////////P///`, found by the guard-exec-argv harness) in
/// swift-corelibs-foundation 6.3.1.
public enum PathText {
    /// `p` as the kernel resolves it (`realpath(3)`: links followed, `.` and `..` gone), nil when it
    /// does not resolve.
    public static func real(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// The components of a path, split at every `/` as the kernel and Go's `path` package split it.
    /// Splitting a `String` on the Character "/" would miss a `/` followed by a combining mark (one
    /// grapheme to Swift, a separator to everyone else): `cfg/\u{301}.json` is two names.
    /// Found on the UTF-8 bytes (a `/` byte is always the scalar), and cut on the scalars: a Substring
    /// cut at a String index would round it down to the Character, taking the `/` back in.
    public static func components(_ p: some StringProtocol, omittingEmpty: Bool = true) -> [Substring] {
        let s = Substring(p)
        let u = s.utf8, scalars = s.unicodeScalars
        var out: [Substring] = []
        var start = u.startIndex, i = u.startIndex
        while i < u.endIndex {
            if u[i] == 0x2F {
                if !omittingEmpty || start < i { out.append(Substring(scalars[start..<i])) }
                start = u.index(after: i)
            }
            i = u.index(after: i)
        }
        if !omittingEmpty || start < u.endIndex { out.append(Substring(scalars[start..<u.endIndex])) }
        return out
    }

    /// `path` split at its last `/` (a scalar, not a Character): the directory ("" when there is no
    /// `/`) and the name after it.
    public static func splitLast(_ path: String) -> (directory: String, name: String) {
        let u = path.unicodeScalars
        guard let slash = u.lastIndex(of: "/") else { return ("", path) }
        return (String(Substring(u[..<slash])), String(Substring(u[u.index(after: slash)...])))
    }

    /// The paths of `path`'s leading directories and itself, cut at each `/` scalar: "a/b/c" gives
    /// "a", "a/b", "a/b/c".
    public static func prefixes(_ path: String) -> [String] {
        let u = path.unicodeScalars
        var out: [String] = []
        var i = u.startIndex
        while i < u.endIndex {
            let end = u[u.index(after: i)...].firstIndex(of: "/") ?? u.endIndex
            out.append(String(Substring(u[..<end])))
            i = end
        }
        return out
    }

    /// The last component, trailing slashes ignored: "/usr/bin/env" → "env", "a//" → "a", "/" → "/".
    public static func lastComponent(_ p: String) -> String {
        // By UTF-8 bytes: '/' is never part of another scalar's bytes, so the cuts are the scalars'
        // (by scalars, this took 10 ms of an image's run, asked for each of its files).
        var u = Substring(p).utf8
        while u.last == 0x2F, !u.dropFirst().isEmpty { u = u.dropLast() }
        if u.first == 0x2F, u.dropFirst().isEmpty { return "/" }
        guard let slash = u.lastIndex(of: 0x2F) else { return String(Substring(u)) }
        return String(Substring(u[u.index(after: slash)...]))
    }

    /// The path without its last component, as `deletingLastPathComponent` (which traps on the same
    /// inputs): "/a/b" → "/a", "/a" → "/", "a" → "", "a//b/" → "a", "/" → "/".
    public static func parent(_ p: String) -> String {
        var u = Substring(p).unicodeScalars
        while u.last == "/", !u.dropFirst().isEmpty { u = u.dropLast() }
        if u.first == "/", u.dropFirst().isEmpty { return "/" }
        guard let slash = u.lastIndex(of: "/") else { return "" }
        var head = u[..<slash]
        while head.last == "/" { head = head.dropLast() }
        return head.isEmpty ? "/" : String(Substring(head))
    }
}

/// A file name or path as the kernel compares it: by its bytes. Swift's `String` equality is canonical
/// equivalence, so a precomposed and a decomposed `é` would be one key of a dictionary, while a
/// filesystem, a tar stream and every runtime hold them as two files.
public struct PathKey: Hashable, Sendable {
    public let text: String
    public init(_ text: some StringProtocol) { self.text = String(text) }
    public static func == (a: PathKey, b: PathKey) -> Bool {
        guard a.text.utf8.count == b.text.utf8.count else { return false }
        let fast = a.text.utf8.withContiguousStorageIfAvailable { x in
            b.text.utf8.withContiguousStorageIfAvailable { y in x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
        if let f = fast, let equal = f { return equal }
        return a.text.utf8.elementsEqual(b.text.utf8)
    }
    public func hash(into h: inout Hasher) {
        if text.utf8.withContiguousStorageIfAvailable({ h.combine(bytes: UnsafeRawBufferPointer($0)) }) == nil {
            for b in text.utf8 { h.combine(b) }
        }
    }
    /// Byte order: a total order, so listings are the same from run to run. Compared with memcmp where
    /// both strings are contiguous (native ones are): element by element, an image directory of
    /// thousands of names sharing a long prefix took minutes to list (found by helper-164).
    public static func byBytes(_ a: String, _ b: String) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y -> Bool in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
        if let f = fast, let answer = f { return answer }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
