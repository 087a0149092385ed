import Catalog
import Drift
import Foundation
import ProvenantCore

/// `diff`'s own inputs: the approval policy, and a document (SBOM or inventory) read and compared.
enum DriftTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("drift-policy", "diff --policy: approval rules with expiry dates (DriftPolicy)") { bytes in
            guard let text = try? TextDecoding.string(bytes), let p = try? DriftPolicy.parse(text, path: "p.yaml") else { return }
            let key = PackageKey(name: "pkg:npm/a", version: "1.0.1")
            _ = p.approving(.upgrade(key, .patch), today: "2026-12-01")
            _ = p.approving(.addition(key), today: "2026-12-01")
            _ = p.expired(today: "2026-12-01")
        },
        FuzzTarget("drift-document", "a diff side given as a document (CycloneDX, SPDX, inventory), compared with itself and with nothing") { bytes in
            Scratch.withFile(bytes, target: "drift-document", as: "side.json") { path, _ in
                guard let inv = try? DriftInput.read(path) else { return }
                let empty = Inventory(target: "empty", mode: "sbom", distro: nil, packages: [], diagnostics: [], sources: [:])
                let o = SBOMDiff.Options(today: "2026-12-01")
                _ = DriftReport(SBOMDiff.compare(baseline: inv, current: inv, options: o)).table
                _ = DriftReport(SBOMDiff.compare(baseline: empty, current: inv, options: o)).json.serialized()
                _ = DriftReport(SBOMDiff.compare(baseline: inv, current: empty, options: o)).table
            }
        },
    ]
}
