import Foundation
import Testing
import ProvenantCore

/// The core helpers that sorting and matching rest on.
@Suite struct ParallelTests {
    final class Tracked: @unchecked Sendable {
        let value: Int
        let onDeinit: @Sendable () -> Void
        init(_ value: Int, onDeinit: @escaping @Sendable () -> Void) { self.value = value; self.onDeinit = onDeinit }
        deinit { onDeinit() }
    }
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func add() { lock.lock(); n += 1; lock.unlock() }
        var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    }

    /// Elements are moved, never copied or lost: each is freed exactly once, afterwards.
    @Test func arrangeMovesEveryElementToItsPlaceExactlyOnce() {
        let freed = Counter()
        for n in [0, 1, 2, 7, 1000] {
            var order = Array(0..<n)
            order.shuffle()
            var items = (0..<n).map { i in (Tracked(i, onDeinit: { freed.add() }), "label-\(i)") }
            items.arrange(by: order)
            #expect(items.map(\.0.value) == order)
            #expect(items.map(\.1) == order.map { "label-\($0)" })
        }
        #expect(freed.value == 1 + 2 + 7 + 1000)
    }

    /// A discarded value is freed exactly once, and not by the thread that gave it up.
    @Test func discardFreesTheValueOnAnotherThread() {
        let done = DispatchSemaphore(value: 0)
        let caller = pthread_self()
        let elsewhere = Counter(), freed = Counter()
        let item = Tracked(1, onDeinit: {
            if pthread_equal(pthread_self(), caller) == 0 { elsewhere.add() }
            freed.add()
            done.signal()
        })
        Parallel.discard(consume item)
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(elsewhere.value == 1)
        #expect(freed.value == 1)
    }

    @Test func bothGivesEachResultInItsPlace() {
        let ran = Counter()
        let (a, b) = Parallel.both({ ran.add(); return (0..<1000).reduce(0, +) }, { ran.add(); return "b" })
        #expect(a == 499_500 && b == "b" && ran.value == 2)
    }

    @Test func sortedIndicesMatchesASerialSortOnLargeInputs() {
        let keys = (0..<20_000).map { _ in Int.random(in: 0..<500) }
        let expected = Array(0..<keys.count).sorted { keys[$0] < keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }
        #expect(Parallel.sortedIndices(keys.count) { keys[$0] < keys[$1] || (keys[$0] == keys[$1] && $0 < $1) } == expected)
    }

    @Test func claimsHandOutEveryItemOnce() {
        let claims = Parallel.Claims(count: 1003, chunk: 16)
        let taken = Parallel.map(width: 4) { _ in
            var mine: [Int] = []
            while let r = claims.claim() { mine += Array(r) }
            return mine
        }
        #expect(taken.flatMap { $0 }.sorted() == Array(0..<1003))
    }
}
