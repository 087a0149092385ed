import Foundation
import Testing
import TestSupport
@testable import ProvenantCore

/// How a batch of a generated array is split over the workers by weight: on every width (the machine's
/// core count decides it, so a one- or two-core test machine would not reach the others), each element
/// goes to exactly one worker, in order, and the shares are even by weight.
@Suite struct GeneratedSharesTests {
    @Test func everyElementFallsToOneWorkerAtEveryWidth() {
        var rng = SplitMix(state: 0x5eed)
        for trial in 0..<400 {
            let start = Int(rng.next() % 50), count = 1 + Int(rng.next() % 300)
            let heavy = trial % 4 == 0 ? Int(rng.next() % UInt64(count)) : -1
            var cumulative = [0]
            for i in 0..<count {
                let w = i == heavy ? 1 << 40 : 1 + Int(rng.next() % 20)
                cumulative.append(cumulative.last! + w)
            }
            for width in Array(1...8) + [16, 32, 64] {
                let b = Parallel.shares(of: start..<(start + count), cumulative: cumulative, width: width)
                #expect(b.count == width + 1 && b.first == start && b.last == start + count, "trial \(trial) width \(width): \(b)")
                #expect(zip(b, b.dropFirst()).allSatisfy { $0 <= $1 }, "trial \(trial) width \(width): \(b)")
                // Without a dominant element, no worker's share is more than its part plus one element's weight.
                if heavy < 0 {
                    let total = cumulative.last!
                    for w in 0..<width {
                        let got = cumulative[b[w + 1] - start] - cumulative[b[w] - start]
                        #expect(got <= total / width + 20, "trial \(trial) width \(width) worker \(w): \(got) of \(total)")
                    }
                }
            }
        }
    }
}

