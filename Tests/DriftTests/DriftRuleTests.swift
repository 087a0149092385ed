import Drift
import ProvenantCore
import Testing

@Suite struct DriftRuleTests {
    @Test func theIssuesFixedSeveritiesHold() {
        #expect(DriftRule.tampered.severity == .critical)
        #expect(DriftRule.downgraded.severity == .high)
        #expect(DriftRule.configChanged.severity == .high)
    }

    @Test func findingsRedactWhatTheyQuote() {
        let f = DriftFinding(rule: .sourceChanged, subject: "pkg:npm/a", message: "moved to https://user:ghp_abcdefghijklmnopqrstuvwxyz0123456789@evil.example/")
        #expect(!f.message.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"))
    }
}
