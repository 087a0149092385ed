@testable import Advisories
import Foundation
import Testing

/// An entry's `versions[]` is parsed once and, under a total ordering, searched by halves (found by
/// helper-233: re-parsed for each package version, a 200,000-version record cost 100 ms a package).
/// The answer must be the one a comparison with every listed version gives.
@Suite struct ListedVersionsTests {
    static func outcome(_ e: RangeEvaluator.PreparedEntry, _ v: String) -> String {
        switch RangeEvaluator.evaluate(e, version: v) {
        case .affected: "affected"
        case .notAffected: "not"
        case .unknown: "unknown"
        }
    }

    @Test(arguments: ["PyPI", "npm", "Go", "RubyGems", "NuGet", "Pub", "Maven", "Packagist", "Debian"])
    func searchedListsAnswerAsAComparisonWithEach(ecosystem: String) throws {
        let scheme = try #require(AnyVersionScheme.forEcosystem(ecosystem))
        var rng = SystemRandomNumberGenerator()
        let parts = ["0", "1", "2", "10", "01", "1.0", "0.0"]
        let suffixes = ["", "", "", "a1", "rc1", "-beta", ".post1", "+b1", "-1", ".dev0", "-alpha.1"]
        func version() -> String {
            let core = (0..<Int.random(in: 1...3, using: &rng)).map { _ in parts.randomElement(using: &rng)! }.joined(separator: ".")
            return (ecosystem == "Go" ? "v" : "") + core + suffixes.randomElement(using: &rng)!
        }
        var disagreements: [String] = []
        for _ in 0..<40 {
            let listed = (0..<Int.random(in: 1...60, using: &rng)).map { _ in version() }
            let entry = RangeEvaluator.prepare(ranges: [], listed: EntryCodec.list(listed), severity: nil, schemes: .init(ecosystem: ecosystem))
            for _ in 0..<30 {
                let v = version()
                guard let mine = try? scheme.parsed(v) else { continue }
                let each = listed.contains(v) || listed.contains { (try? scheme.parsed($0)).map { scheme.compare(mine, $0) == 0 } == true }
                let got = Self.outcome(entry, v)
                if got != "unknown", (got == "affected") != each { disagreements.append("\(v) in \(listed): \(got), each says \(each)") }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(3))")
    }
}
