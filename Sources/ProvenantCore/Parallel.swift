import Foundation

/// Fork-join over the cores for synchronous code: `body(w)` runs once per worker and the results
/// come back in worker order, so the outcome never depends on scheduling.
public enum Parallel {
    /// Read once per process: the count follows the cgroup's CPU limit (`cpuset.cpus`, the CFS quota),
    /// which can change while a run goes on, and two reads in one split (the width and each share)
    /// that disagreed crashed a scan or dropped files. A later change only leaves a core idle or busy.
    public static let cores: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))

    /// How many pieces a split over the cores makes: several per core, taken by whichever core is
    /// free, so a core still busy with other work holds back one piece and not a whole share.
    public static let pieces = cores * 8

    public static func map<T: Sendable>(width: Int = cores, _ body: @Sendable (Int) -> T) -> [T] {
        // One worker runs here: inside another `map`, the caller may then spread over the cores.
        if width <= 1 { return [body(0)] }
        let slots = Slots<T>(count: width)
        DispatchQueue.concurrentPerform(iterations: width) { w in slots.set(w, body(w)) }
        return slots.values
    }

    /// `a()` and `b()` at once, on two cores when there are two.
    public static func both<A: Sendable, B: Sendable>(_ a: @Sendable () -> A, _ b: @Sendable () -> B) -> (A, B) {
        guard cores > 1 else { return (a(), b()) }
        let first = Slots<A>(count: 1), second = Slots<B>(count: 1)
        DispatchQueue.concurrentPerform(iterations: 2) { w in if w == 0 { first.set(0, a()) } else { second.set(0, b()) } }
        return (first.values[0], second.values[0])
    }

    /// Drops `value` on another thread. Freeing a large structure (an image's squashed file system of
    /// 140,000 nodes, the extractors' results) took tens of milliseconds on the one busy core between
    /// two phases, with the other idle. The work moves only when the caller gives up the last
    /// reference, so call it with `consume`. The value is moved into a box that the other thread
    /// empties: captured directly, it was copied into the closure, and the copy left here was
    /// sometimes the last to go, so the freeing stayed on this thread.
    public static func discard<T: Sendable>(_ value: consuming T) {
        let box = Held(value)
        DispatchQueue.global(qos: .utility).async { box.empty() }
    }

    final class Held<T: Sendable>: @unchecked Sendable {
        private var value: T?
        init(_ value: consuming T) { self.value = value }
        /// Called once, by the one thread that frees the value.
        func empty() { value = nil }
    }

    /// Worker `w`'s contiguous share of `range` when `width` workers split it evenly; the shares
    /// cover the range in order, so results joined in worker order keep the input order.
    public static func share(_ w: Int, of width: Int, _ range: Range<Int>) -> Range<Int> {
        (range.lowerBound + range.count * w / width)..<(range.lowerBound + range.count * (w + 1) / width)
    }

    /// Where each of `width` workers starts in `range`, and the range's end: worker w starts at the
    /// first element whose preceding weight (`cumulative[k]`, the weight before `range.lowerBound + k`)
    /// reaches w/width of the total. The bounds never go back, so every element falls to one worker.
    public static func shares(of range: Range<Int>, cumulative: [Int], width: Int) -> [Int] {
        let total = cumulative.last ?? 0
        var bounds = [range.lowerBound]
        for w in 1..<max(width, 1) {
            let target = Int((Double(total) * Double(w) / Double(width)).rounded(.down))
            var k = bounds.last! - range.lowerBound
            while k < range.count, cumulative[k] < target { k += 1 }
            bounds.append(range.lowerBound + k)
        }
        bounds.append(range.upperBound)
        return bounds
    }

    /// Concatenates each worker's list, moving the first rather than copying it: the elements
    /// here are structs of many references, and a copy retains every one.
    public static func joined<T>(_ lists: inout [[T]]) -> [T] {
        var out: [T] = []
        for i in lists.indices { if out.isEmpty { swap(&out, &lists[i]) } else { out += lists[i] } }
        return out
    }

    /// `0..<count` sorted by `less`, which must be a strict total order: halves are sorted on two
    /// cores and merged, for large inputs.
    public static func sortedIndices(_ count: Int, by less: @Sendable (Int, Int) -> Bool) -> [Int] {
        guard count >= 4096, cores > 1 else { return Array(0..<count).sorted(by: less) }
        let halves = map(width: 2) { w in Array(share(w, of: 2, 0..<count)).sorted(by: less) }
        let (a, b) = (halves[0], halves[1])
        var out: [Int] = []
        out.reserveCapacity(count)
        var i = 0, j = 0
        while i < a.count, j < b.count {
            if less(b[j], a[i]) { out.append(b[j]); j += 1 } else { out.append(a[i]); i += 1 }
        }
        out.append(contentsOf: a[i...])
        out.append(contentsOf: b[j...])
        return out
    }

    /// Work items claimed a chunk at a time by whichever worker is free, so items of very uneven
    /// cost still spread evenly. Which worker takes what varies; callers order results after.
    public final class Claims: @unchecked Sendable {
        private var next = 0
        private let count: Int, chunk: Int
        private let lock = NSLock()
        public init(count: Int, chunk: Int) { self.count = count; self.chunk = max(1, chunk) }
        public func claim() -> Range<Int>? {
            lock.lock(); defer { lock.unlock() }
            guard next < count else { return nil }
            let r = next..<min(count, next + chunk)
            next = r.upperBound
            return r
        }
    }

    /// One slot per worker, each written once by its own worker.
    final class Slots<T: Sendable>: @unchecked Sendable {
        private var slots: [T?]
        private let lock = NSLock()
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ v: T) { lock.lock(); slots[i] = v; lock.unlock() }
        var values: [T] { lock.lock(); defer { lock.unlock() }; return slots.compactMap { $0 } }
    }
}

extension Array {
    /// Puts `self[order[k]]` at position `k` for every `k`, moving elements along the
    /// permutation's cycles: nothing is copied or retained, which matters for structs of many
    /// references (a swap copied through a temporary and retained every field). Inlinable, so it
    /// is specialised for the element type.
    @inlinable
    public mutating func arrange(by order: [Int]) {
        // The moves below are only sound for a permutation: check it before touching memory.
        precondition(order.count == count, "order must be a permutation of the indices")
        var placed = [Bool](repeating: false, count: count)
        for source in order {
            precondition(source >= 0 && source < count && !placed[source], "order must be a permutation of the indices")
            placed[source] = true
        }
        placed = [Bool](repeating: false, count: count)
        withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for start in order.indices where !placed[start] {
                // Lift the cycle's first element out, shift the rest along, drop it in the last hole.
                let first = (base + start).move()
                var k = start
                while true {
                    placed[k] = true
                    let source = order[k]
                    if source == start { (base + k).initialize(to: first); break }
                    (base + k).moveInitialize(from: base + source, count: 1)
                    k = source
                }
            }
        }
    }
}
