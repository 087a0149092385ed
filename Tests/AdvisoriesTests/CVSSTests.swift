import Foundation
import Testing
import ProvenantCore
@testable import Advisories

@Suite struct CVSSTests {
    @Test func scoresMatchAnIndependentCalculator() throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/cvss/expected-scores", withExtension: "txt"))
        var checked = 0, v4 = 0
        var wrong: [String] = []
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let want = Double(parts[1]) else { continue }
            checked += 1
            if parts[0].hasPrefix("CVSS:4") { v4 += 1 }
            do {
                let got = try CVSS.baseScore(String(parts[0]))
                if abs(got - want) > 0.001 { wrong.append("\(parts[0]): want \(want), got \(got)") }
            } catch { wrong.append("\(parts[0]): \(error)") }
        }
        #expect(checked > 1000 && v4 > 700)
        #expect(wrong.isEmpty, "\(wrong.count) of \(checked) wrong:\n\(wrong.prefix(10).joined(separator: "\n"))")
    }

    @Test func badVectorsAreRejectedWithAReason() {
        #expect(throws: CVSSError.self) { try CVSS.baseScore("CVSS:3.1/AV:N/AC:L") }
        #expect(throws: CVSSError.self) { try CVSS.baseScore("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") }
        #expect(throws: CVSSError.self) { try CVSS.baseScore("CVSS:2.0/AV:N") }
        #expect(throws: CVSSError.self) { try CVSS.baseScore("CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") }
    }

    @Test func levelsFollowTheBands() {
        #expect(SeverityLevel(score: 9.8) == .critical)
        #expect(SeverityLevel(score: 7.0) == .high)
        #expect(SeverityLevel(score: 6.9) == .medium)
        #expect(SeverityLevel(score: 0.1) == .low)
        #expect(SeverityLevel(word: "MODERATE") == .medium)
    }
}
