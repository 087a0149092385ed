import Catalog
import Drift
import Foundation
import ProvenantCore
import SBOM

/// `GET /v1/agents/{agent}/releases/{version}/drift?from=OLD`: the two SBOMs as pushed, compared by
/// the same `diff` the CLI runs (`SBOMDiff`), with OLD as the baseline.
enum FleetDrift {
    struct Answer: Encodable {
        var agent: String
        var from: String
        var to: String
        var findings: [DriftFinding]
        var notes: [String]
        /// Same-version packages whose content neither SBOM gives a digest for: not compared, not clean.
        var contentNotCompared: [String]
        /// Additions held against nothing, past the diff's budgets (respellings, look-alikes): not
        /// compared, not clean.
        var additionsNotCompared: [String]
        /// What either SBOM says it could not read (a known unknown, an incomplete composition, a
        /// component whose purl does not read): not compared, never clean, as `diff` says it.
        var notChecked: [String]
        var baselineCount: Int
        var currentCount: Int
    }

    static func compare(agent: String, from: (version: String, sbom: Data), to: (version: String, sbom: Data)) throws -> Answer {
        func read(_ side: (version: String, sbom: Data)) throws -> Inventory {
            // A release stored before SBOMs were kept has none: it cannot be compared.
            guard !side.sbom.isEmpty else {
                throw FleetAPIError(.conflict, field: side.version == from.version ? "from" : "version",
                                    "release \(agent) \(side.version) was stored without its SBOM; push it again under a new version to compare it")
            }
            // Components without a purl are compared by name, as the CLI's `diff` reads them: dropped, a
            // downgrade among them read as no drift (found by helper-97).
            do throws(InputError) { return try SBOMReader.read(side.sbom, path: "\(agent)@\(side.version)", keepingComponentsWithoutPurl: true) } catch {
                throw FleetAPIError(.unprocessableContent, field: side.version == from.version ? "from" : "version", "the stored SBOM no longer reads: \(error.message)")
            }
        }
        let today = String(FleetClock.now().prefix(10))
        let before = try read(from), after = try read(to)
        let d = SBOMDiff.compare(baseline: before, current: after, options: SBOMDiff.Options(today: today))
        // The drift answer left out what `diff` reports as NOT CHECKED (found by helper-145).
        let unread = [(from.version, before), (to.version, after)].flatMap { version, inv in
            inv.diagnostics.filter { $0.unscanned != nil }.map { "\(version): \($0.message)" }
        }
        var notes = d.notes
        if !unread.isEmpty { notes.append("NOT CHECKED: \(unread.count) input\(unread.count == 1 ? "" : "s") of the two sides could not be read (see notChecked)") }
        return Answer(agent: agent, from: from.version, to: to.version, findings: d.findings, notes: notes, contentNotCompared: d.contentNotCompared,
                      additionsNotCompared: d.additionsNotCompared,
                      notChecked: unread.map { Redactor.escapeControls(Redactor.redact($0)) }, baselineCount: d.baselineCount, currentCount: d.currentCount)
    }
}
