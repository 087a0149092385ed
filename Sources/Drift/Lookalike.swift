/// Typosquatting distance: is one package name a near miss of another? Near means one edit (an
/// inserted, deleted or substituted character, or two neighbours swapped), one separator swapped for
/// another (`-`, `_`, `.`, or none), or one homoglyph swapped (`0`/`o`, `1`/`l`/`i`, `rn`/`m`, `vv`/`w`).
/// Names in one scope (`@babel/…`) belong to one publisher, so they are not compared with each other,
/// and names that differ only in trailing digits (`node10`, `node12`) are a series, not a near miss.
public enum Lookalike {
    /// Why `a` looks like `b`, or nil when it does not (or they are the same name).
    public static func reason(_ a: String, _ b: String) -> String? {
        reason(Name(a), Name(b))
    }

    /// A name prepared once for many comparisons.
    public struct Name: Sendable {
        public let text: String
        let bytes: [UInt8], stripped: [UInt8], folded: [UInt8], scope: Substring?
        public init(_ s: String) {
            text = s
            bytes = Array(s.lowercased().utf8)
            stripped = Lookalike.stripSeparators(bytes)
            folded = Lookalike.folded(bytes)
            scope = s.hasPrefix("@") ? s.split(separator: "/").first : nil
        }
    }

    public static let caseOnly = "differs only in case"

    static func reason(_ x: Name, _ y: Name) -> String? {
        // Names are keyed in the case their ecosystem keeps (npm's are folded before this, Go's are
        // not): two that differ only in case are two packages, one posing as the other (found by
        // helper-106: github.com/SirupSen/logrus for github.com/sirupsen/logrus passed).
        guard x.bytes != y.bytes else { return x.text != y.text ? caseOnly : nil }
        if let s = x.scope, s == y.scope { return nil }
        if x.stripped == y.stripped { return "differs only in separators" }
        if x.folded == y.folded { return "differs by a look-alike character" }
        if withinOneEdit(x.bytes, y.bytes), !differOnlyInTrailingDigits(x.bytes, y.bytes) { return "one character apart" }
        return nil
    }

    /// Known names, indexed so a new name is compared only with the few that could be near it: by the
    /// name with its separators dropped, by its look-alike folding, and by every way of deleting one
    /// character (two names one edit apart share such a key). Lookups cost the name's length, however
    /// many names there are.
    ///
    /// Keys are 64-bit hashes in one sorted array, not strings in a dictionary: 10,000 names of 214
    /// bytes had taken 809 MB as strings (found by review). A collision only adds a candidate, which
    /// `reason` then refuses, so the answer is the same. Deletion keys are made for names of at most
    /// `maxDeletionLength` bytes. Longer names are keyed by halves instead: of two names one edit
    /// apart, the shorter `m` bytes long, either the first `m/2` bytes are the same in both or the
    /// last `m - m/2 - 1` are, so each long name is keyed by both halves as the shorter of a pair and
    /// as the longer (before, names over 64 bytes were never found one edit apart).
    public struct Index: Sendable {
        let names: [Name]
        /// (key, index into names), sorted.
        let entries: [(key: UInt64, name: Int32)]
        static let maxDeletionLength = 64

        public init(_ list: [String]) {
            names = Set(list).sorted().map(Name.init)
            var entries: [(key: UInt64, name: Int32)] = []
            for (i, n) in names.enumerated() { for k in Self.keys(n) { entries.append((k, Int32(i))) } }
            entries.sort { $0.key != $1.key ? $0.key < $1.key : $0.name < $1.name }
            self.entries = entries
        }

        /// FNV-1a over a tag and the bytes, skipping the byte at `skip`.
        static func hash(_ tag: UInt8, _ bytes: [UInt8], skip: Int = -1) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            h = (h ^ UInt64(tag)) &* 0x100_0000_01b3
            for (i, b) in bytes.enumerated() where i != skip { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            return h
        }

        static func keys(_ n: Name) -> Set<UInt64> {
            var out: Set<UInt64> = [hash(1, n.stripped), hash(2, n.folded), hash(3, n.bytes)]
            let b = n.bytes
            if b.count <= maxDeletionLength {
                for i in b.indices { out.insert(hash(3, b, skip: i)) }
            }
            // A name one past the limit pairs with one at it, so both kinds of key overlap there.
            if b.count >= maxDeletionLength {
                for m in [b.count, b.count - 1] {
                    let head = m / 2, tail = m - head - 1
                    out.insert(halfKey(4, m, b[..<head]))
                    out.insert(halfKey(5, m, b[(b.count - tail)...]))
                }
            }
            return out
        }

        /// A half's key: the tag, the shorter name's length `m`, then the bytes.
        static func halfKey(_ tag: UInt8, _ m: Int, _ half: ArraySlice<UInt8>) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in [tag, UInt8(truncatingIfNeeded: m), UInt8(truncatingIfNeeded: m >> 8), UInt8(truncatingIfNeeded: m >> 16)] {
                h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
            }
            for byte in half { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return h
        }

        /// The first known name (in sorted order) `name` is a near miss of that `accept` takes, and why.
        /// The caller's judgment is asked of each: one near miss it refuses (a case-only match in
        /// another ecosystem) must not hide the next (found by helper-170).
        public func nearMiss(_ name: String, where accept: (_ other: String, _ reason: String) -> Bool = { _, _ in true }) -> (name: String, reason: String)? {
            var unbounded = Int.max
            return try? nearMiss(name, budget: &unbounded, where: accept)
        }

        /// The candidates one diff may hold its new names against. A name over `maxDeletionLength`
        /// is keyed by its halves, so thousands of long names sharing a first half are each other's
        /// candidates: 8,000 of them took 14.5 s (found by helper-233).
        public static let comparisons = 2_000_000

        /// A name whose candidates would pass what is left of the budget: it is not compared at all.
        public struct OverBudget: Error {}

        /// `nearMiss`, taking each candidate from `budget`.
        public func nearMiss(_ name: String, budget: inout Int,
                             where accept: (_ other: String, _ reason: String) -> Bool = { _, _ in true }) throws(OverBudget) -> (name: String, reason: String)? {
            let n = Name(name)
            var candidates = Set<Int32>()
            for k in Self.keys(n) {
                // The first entry with this key, then every one after it with the same key.
                var lo = 0, hi = entries.count
                while lo < hi { let mid = (lo + hi) / 2; if entries[mid].key < k { lo = mid + 1 } else { hi = mid } }
                // And the first entry past them, found the same way: counting them one by one cost a
                // name over the budget as much as comparing them.
                let first = lo
                hi = entries.count
                while lo < hi { let mid = (lo + hi) / 2; if entries[mid].key <= k { lo = mid + 1 } else { hi = mid } }
                guard lo - first <= budget else { throw OverBudget() }
                for e in entries[first..<lo] { candidates.insert(e.name) }
            }
            guard candidates.count <= budget else { throw OverBudget() }
            budget -= candidates.count
            for i in candidates.sorted() { if let r = Lookalike.reason(n, names[Int(i)]), accept(names[Int(i)].text, r) { return (names[Int(i)].text, r) } }
            return nil
        }
    }

    static func differOnlyInTrailingDigits(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        let ta = a.reversed().prefix(while: isDigit).count, tb = b.reversed().prefix(while: isDigit).count
        guard ta > 0 || tb > 0 else { return false }
        return a.dropLast(ta) == b.dropLast(tb)
    }

    static func isSeparator(_ c: UInt8) -> Bool { c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") }

    static func stripSeparators(_ s: [UInt8]) -> [UInt8] { s.filter { !isSeparator($0) } }

    /// Each character that reads like another is replaced by one representative.
    static func folded(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            let c = s[i]
            let next = i + 1 < s.count ? s[i + 1] : 0
            if c == UInt8(ascii: "r"), next == UInt8(ascii: "n") { out.append(UInt8(ascii: "m")); i += 2; continue }
            if c == UInt8(ascii: "v"), next == UInt8(ascii: "v") { out.append(UInt8(ascii: "w")); i += 2; continue }
            switch c {
            case UInt8(ascii: "0"): out.append(UInt8(ascii: "o"))
            case UInt8(ascii: "1"), UInt8(ascii: "i"): out.append(UInt8(ascii: "l"))
            case UInt8(ascii: "5"): out.append(UInt8(ascii: "s"))
            default: out.append(c)
            }
            i += 1
        }
        return out
    }

    /// Damerau distance at most one, without building a matrix.
    static func withinOneEdit(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        // Very short names are one edit from too much to mean anything.
        guard min(a.count, b.count) >= 4, abs(a.count - b.count) <= 1 else { return false }
        var i = 0
        while i < a.count, i < b.count, a[i] == b[i] { i += 1 }
        if a.count == b.count {
            if a[(i + 1)...] == b[(i + 1)...] { return true }
            // Two neighbours swapped.
            return i + 1 < a.count && a[i] == b[i + 1] && a[i + 1] == b[i] && a[(i + 2)...] == b[(i + 2)...]
        }
        let (long, short) = a.count > b.count ? (a, b) : (b, a)
        return long[(i + 1)...] == short[i...]
    }
}
