import Foundation

/// Fork-join over the cores for synchronous code: `body(w)` runs once per worker and the results
/// come back in worker order, so the outcome never depends on scheduling.
public enum Parallel {
    public static var cores: Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8)) }

    public static func map<T: Sendable>(width: Int = cores, _ body: @Sendable (Int) -> T) -> [T] {
        let slots = Slots<T>(count: width)
        DispatchQueue.concurrentPerform(iterations: width) { w in slots.set(w, body(w)) }
        return slots.values
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
