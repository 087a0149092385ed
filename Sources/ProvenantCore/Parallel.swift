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

    /// One slot per worker, each written once by its own worker.
    final class Slots<T: Sendable>: @unchecked Sendable {
        private var slots: [T?]
        private let lock = NSLock()
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ v: T) { lock.lock(); slots[i] = v; lock.unlock() }
        var values: [T] { lock.lock(); defer { lock.unlock() }; return slots.compactMap { $0 } }
    }
}
