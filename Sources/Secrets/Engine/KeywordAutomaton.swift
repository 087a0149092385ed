/// Finds every occurrence of every keyword (ASCII case-insensitive, each at least 3 bytes) in one pass.
///
/// Each position's first three folded bytes are hashed into a 64 Ki-bit set that fits the L1 cache;
/// only where the set says a keyword may start are the candidates with those three bytes compared.
/// Unlike an automaton walk, positions do not depend on each other, so the processor overlaps them:
/// a state-machine table of a thousand keywords missed the cache on most bytes.
public struct KeywordAutomaton: Sendable {
    /// The keywords, lowercased, in the order given.
    public let keywords: [[UInt8]]
    private let fold: [UInt8]
    private let bits: [UInt64]
    /// Candidates per hash bucket: `start[h]..<start[h+1]` in `entries`.
    private let start: [Int32]
    private let entryKey: [UInt32]
    private let entryKeyword: [Int32]
    static let hashBits = 16

    public init(keywords: [String]) {
        let words = keywords.map { Array($0.lowercased().utf8) }
        precondition(words.allSatisfy { $0.count >= 3 }, "keywords need at least 3 bytes")
        self.keywords = words
        var fold = [UInt8](0...255)
        for u in 65...90 { fold[u] = UInt8(u + 32) }
        self.fold = fold
        var buckets = [[(UInt32, Int32)]](repeating: [], count: 1 << Self.hashBits)
        var bits = [UInt64](repeating: 0, count: (1 << Self.hashBits) / 64)
        for (id, w) in words.enumerated() {
            let key = UInt32(w[0]) | UInt32(w[1]) << 8 | UInt32(w[2]) << 16
            let h = Self.hash(key)
            buckets[h].append((key, Int32(id)))
            bits[h >> 6] |= 1 << UInt64(h & 63)
        }
        var start: [Int32] = [], keys: [UInt32] = [], ids: [Int32] = []
        for b in buckets {
            start.append(Int32(keys.count))
            for (k, id) in b { keys.append(k); ids.append(id) }
        }
        start.append(Int32(keys.count))
        self.bits = bits; self.start = start; self.entryKey = keys; self.entryKeyword = ids
    }

    @inline(__always) static func hash(_ key: UInt32) -> Int { Int((key &* 0x9E37_79B1) >> UInt32(32 - hashBits)) }

    /// Calls `hit(keywordID, endOffset)` for every occurrence, in order of where it starts.
    @inline(__always)
    public func scan(_ bytes: UnsafeRawBufferPointer, _ hit: (Int, Int) -> Void) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count >= 3 else { return }
        let n = bytes.count
        fold.withUnsafeBufferPointer { f in
            bits.withUnsafeBufferPointer { set in
                start.withUnsafeBufferPointer { st in
                    entryKey.withUnsafeBufferPointer { ek in
                        entryKeyword.withUnsafeBufferPointer { ew in
                            keywords.withUnsafeBufferPointer { words in
                                var key = UInt32(f[Int(base[0])]) | UInt32(f[Int(base[1])]) << 8
                                var i = 0
                                let last = n - 3
                                while i <= last {
                                    key = (key & 0xFFFF) | UInt32(f[Int(base[i &+ 2])]) << 16
                                    let h = Self.hash(key)
                                    if set[h >> 6] & (1 << UInt64(h & 63)) != 0 {
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
                                    key >>= 8
                                    i &+= 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
