/// Aho–Corasick over ASCII-case-folded bytes: one pass finds every occurrence of every keyword.
///
/// The transition table is dense over byte classes (the distinct folded bytes that occur in some
/// keyword, plus one class for all others), so it stays small enough for the cache while each input
/// byte costs one table load.
public struct KeywordAutomaton: Sendable {
    /// The keywords, lowercased, in the order given.
    public let keywords: [[UInt8]]
    private let classOf: [UInt8]          // 256 entries: folded byte -> class
    private let classCount: Int
    private let next: [Int32]             // state * classCount + class -> state
    /// Keyword ids ending at each state (its own and its dictionary suffixes'), as a range into `outputs`.
    private let outputStart: [Int32]
    private let outputs: [Int32]

    public init(keywords: [String]) {
        let words = keywords.map { Array($0.lowercased().utf8) }
        self.keywords = words
        var classOf = [UInt8](repeating: 0, count: 256)
        var classes = 1
        for w in words { for b in w where classOf[Int(b)] == 0 { classOf[Int(b)] = UInt8(classes); classes += 1 } }
        // Upper-case ASCII letters fold to their lower-case class.
        for u in UInt8(65)...UInt8(90) { classOf[Int(u)] = classOf[Int(u + 32)] }
        precondition(classes <= 255, "too many distinct keyword bytes")
        self.classOf = classOf
        self.classCount = classes

        // The trie.
        var goto: [[Int32]] = [[Int32](repeating: -1, count: classes)]
        var ends: [[Int32]] = [[]]
        for (id, w) in words.enumerated() {
            var s = 0
            for b in w {
                let c = Int(classOf[Int(b)])
                if goto[s][c] < 0 {
                    goto[s][c] = Int32(goto.count)
                    goto.append([Int32](repeating: -1, count: classes)); ends.append([])
                }
                s = Int(goto[s][c])
            }
            ends[s].append(Int32(id))
        }
        // Breadth-first failure links, completing the table into a DFA.
        var fail = [Int32](repeating: 0, count: goto.count)
        var queue: [Int] = []
        for c in 0..<classes {
            if goto[0][c] < 0 { goto[0][c] = 0 } else { fail[Int(goto[0][c])] = 0; queue.append(Int(goto[0][c])) }
        }
        var head = 0
        while head < queue.count {
            let s = queue[head]; head += 1
            ends[s] += ends[Int(fail[s])]
            for c in 0..<classes {
                let t = goto[s][c]
                if t < 0 { goto[s][c] = goto[Int(fail[s])][c]; continue }
                fail[Int(t)] = goto[Int(fail[s])][c]
                queue.append(Int(t))
            }
        }
        // A target state with outputs is stored negated (-1 - state), so the scan loop tests the sign
        // instead of loading the output range for every byte.
        var next = [Int32](); next.reserveCapacity(goto.count * classes)
        for row in goto { next += row.map { ends[Int($0)].isEmpty ? $0 : -1 - $0 } }
        self.next = next
        var start = [Int32](); var outs = [Int32]()
        for e in ends { start.append(Int32(outs.count)); outs += e }
        start.append(Int32(outs.count))
        self.outputStart = start
        self.outputs = outs
    }

    /// Calls `hit(keywordID, endOffset)` for every occurrence, in order of where it ends.
    @inline(__always)
    public func scan(_ bytes: UnsafeRawBufferPointer, _ hit: (Int, Int) -> Void) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), !next.isEmpty else { return }
        let n = bytes.count
        classOf.withUnsafeBufferPointer { cls in
            next.withUnsafeBufferPointer { table in
                outputStart.withUnsafeBufferPointer { os in
                    outputs.withUnsafeBufferPointer { out in
                        var s = 0
                        let width = classCount
                        var i = 0
                        while i < n {
                            let t = Int(table[s &* width &+ Int(cls[Int(base[i])])])
                            if t >= 0 { s = t } else {
                                s = -1 - t
                                for k in Int(os[s])..<Int(os[s &+ 1]) { hit(Int(out[k]), i &+ 1) }
                            }
                            i &+= 1
                        }
                    }
                }
            }
        }
    }
}
