/// Finds every occurrence of every keyword (ASCII case-insensitive, each at least 3 bytes) in one pass.
///
/// Each position's next four bytes, with the 0x20 bit set in each (which folds upper case onto lower,
/// and some punctuation onto other punctuation), are hashed into a 256 Ki-bit set (32 KiB, the L1
/// cache) that holds every keyword's first four bytes folded so; the next three bytes are hashed
/// into the same set for the keywords of three bytes. One spelling per keyword, and four bytes
/// rather than three: on the agent image's 141,000 file paths three raw bytes let one position in
/// seven through (`pat` of `path`, `doc` of `doc`, `goo`), four let one in seventeen through. Only where the
/// set says a keyword may start are the bytes folded exactly and the candidates with those three
/// bytes compared. No position depends on the one before (no rolling state, no fold table in the
/// hot loop), so the processor overlaps them: a state-machine table of a thousand keywords missed
/// the cache on most bytes, and a rolling folded key made each byte wait for the last.
public struct KeywordAutomaton: Sendable {
    /// The keywords, lowercased, in the order given.
    public let keywords: [[UInt8]]
    private let fold: [UInt8]
    /// The prefilter, indexed by `slot` of four folded bytes (keywords of four bytes or more) and of
    /// three (keywords of three).
    private let bits: [UInt64]
    /// The extra slots, indexed by `prefilterSlot` of the raw three bytes; empty when there are none.
    private let extraBits: [UInt64]
    /// Candidates per hash bucket: `start[h]..<start[h+1]` in `entries`.
    private let start: [Int32]
    private let entryKey: [UInt32]
    private let entryKeyword: [Int32]
    static let hashBits = 16
    static let prefilterBits = 18
    static let fold4: UInt32 = 0x2020_2020, fold3: UInt32 = 0x20_2020

    /// `extraSlots` are further prefilter slots (of `prefilterSlot`) whose positions `scan` also
    /// reports to its `candidate` callback: where a known secret's encoded form may start.
    public init(keywords: [String], extraSlots: [Int] = []) {
        let words = keywords.map { Array($0.lowercased().utf8) }
        precondition(words.allSatisfy { $0.count >= 3 }, "keywords need at least 3 bytes")
        self.keywords = words
        var fold = [UInt8](0...255)
        for u in 65...90 { fold[u] = UInt8(u + 32) }
        self.fold = fold
        var buckets = [[(UInt32, Int32)]](repeating: [], count: 1 << Self.hashBits)
        var bits = [UInt64](repeating: 0, count: (1 << Self.prefilterBits) / 64)
        for (id, w) in words.enumerated() {
            let key = UInt32(w[0]) | UInt32(w[1]) << 8 | UInt32(w[2]) << 16
            let h = Self.hash(key)
            buckets[h].append((key, Int32(id)))
            // Text whose bytes fold (A-Z to a-z) to the keyword's has the keyword's bytes with the
            // 0x20 bit set, so this one slot holds every spelling.
            let p = w.count == 3 ? Self.prefilterSlot(key | Self.fold3) : Self.prefilterSlot(key | UInt32(w[3]) << 24 | Self.fold4)
            bits[p >> 6] |= 1 << UInt64(p & 63)
        }
        var extraBits = [UInt64]()
        for p in extraSlots where p >= 0 && p < 1 << Self.prefilterBits {
            if extraBits.isEmpty { extraBits = [UInt64](repeating: 0, count: (1 << Self.prefilterBits) / 64) }
            extraBits[p >> 6] |= 1 << UInt64(p & 63)
        }
        var start: [Int32] = [], keys: [UInt32] = [], ids: [Int32] = []
        for b in buckets {
            start.append(Int32(keys.count))
            for (k, id) in b { keys.append(k); ids.append(id) }
        }
        start.append(Int32(keys.count))
        self.bits = bits; self.extraBits = extraBits; self.start = start; self.entryKey = keys; self.entryKeyword = ids
    }

    @inline(__always) static func hash(_ key: UInt32) -> Int { Int((key &* 0x9E37_79B1) >> UInt32(32 - hashBits)) }
    @inline(__always) static func prefilterSlot(_ raw: UInt32) -> Int { Int((raw &* 0x9E37_79B1) >> UInt32(32 - prefilterBits)) }
    @inline(__always) static func holds(_ set: UnsafePointer<UInt64>, _ slot: Int) -> Bool { set[slot >> 6] & (1 << UInt64(slot & 63)) != 0 }

    /// Whether the four bytes `raw` (little-endian) may start a keyword: of four bytes or more, by
    /// all four folded, or of three, by the first three.
    @inline(__always) static func passes(_ raw: UInt32, _ set: UnsafePointer<UInt64>) -> Bool {
        holds(set, prefilterSlot(raw | fold4)) || holds(set, prefilterSlot((raw & 0xFF_FFFF) | fold3))
    }

    /// The first position in `from...through` whose four bytes pass the prefilter (or whose raw three
    /// are an extra slot, when `extra` is given), or `through + 1`. A function of its own so that
    /// the hot loop keeps its values in registers: inlined into the caller, it shared them with the
    /// confirmation's and spilled the position to the stack.
    @inline(never)
    static func nextCandidate(_ base: UnsafePointer<UInt8>, from: Int, through last: Int, _ set: UnsafePointer<UInt64>, extra: UnsafePointer<UInt64>?) -> Int {
        var i = from
        // One loop per case, so the one without extra slots tests no optional on every byte.
        if let extra {
            while i <= last {
                let raw = UInt32(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt32.self))
                if passes(raw, set) || holds(extra, prefilterSlot(raw & 0xFF_FFFF)) { return i }
                i &+= 1
            }
            return i
        }
        while i <= last {
            if passes(UInt32(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt32.self)), set) { return i }
            i &+= 1
        }
        return i
    }

    /// Calls `hit(keywordID, endOffset)` for every occurrence, in order of where it starts, and
    /// `candidate(offset)` at every position the prefilter passes (a superset of where an extra slot's
    /// bytes start).
    @inline(__always)
    public func scan(_ bytes: UnsafeRawBufferPointer, candidate: (Int) -> Void = { _ in }, _ hit: (Int, Int) -> Void) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count >= 3 else { return }
        let n = bytes.count
        fold.withUnsafeBufferPointer { f in
            bits.withUnsafeBufferPointer { set in
              extraBits.withUnsafeBufferPointer { extraSet in
                let extra = extraSet.isEmpty ? nil : extraSet.baseAddress
                start.withUnsafeBufferPointer { st in
                    entryKey.withUnsafeBufferPointer { ek in
                        entryKeyword.withUnsafeBufferPointer { ew in
                            keywords.withUnsafeBufferPointer { words in
                                // Where the prefilter passes: fold the three bytes, compare the candidates.
                                @inline(__always) func confirm(_ i: Int) {
                                    candidate(i)
                                    let key = UInt32(f[Int(base[i])]) | UInt32(f[Int(base[i &+ 1])]) << 8 | UInt32(f[Int(base[i &+ 2])]) << 16
                                    let h = Self.hash(key)
                                    for e in Int(st[h])..<Int(st[h &+ 1]) where ek[e] == key {
                                        let id = Int(ew[e])
                                        let w = words[id]
                                        if i &+ w.count <= n {
                                            var k = 3
                                            while k < w.count && f[Int(base[i &+ k])] == w[k] { k &+= 1 }
                                            if k == w.count { hit(id, i &+ w.count) }
                                        }
                                    }
                                }
                                var i = 0
                                // Four bytes are read at each position while there is room.
                                let wide = n - 4
                                while true {
                                    i = Self.nextCandidate(base, from: i, through: wide, set.baseAddress!, extra: extra)
                                    if i > wide { break }
                                    confirm(i)
                                    i &+= 1
                                }
                                // The last three bytes: only a keyword of three fits, or an extra slot.
                                if i == n - 3 {
                                    let raw = UInt32(base[i]) | UInt32(base[i &+ 1]) << 8 | UInt32(base[i &+ 2]) << 16
                                    if Self.holds(set.baseAddress!, Self.prefilterSlot(raw | Self.fold3))
                                        || extra.map({ Self.holds($0, Self.prefilterSlot(raw)) }) ?? false { confirm(i) }
                                }
                            }
                        }
                    }
                }
              }
            }
        }
    }
}
