import Advisories
import Foundation

/// OSV advisories as imported by `db import`/`db update`, and the files that suppress findings.
enum AdvisoryTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("osv-json", "one OSV record in JSON, as `db import` decodes it") { bytes in
            guard let r = try? OSVRecord.decode(Data(bytes), yaml: false) else { return }
            _ = AdvisoryBrief(r)
        },
        FuzzTarget("osv-yaml", "one PyPA-style OSV record in YAML") { bytes in
            guard let r = try? OSVRecord.decode(Data(bytes), yaml: true) else { return }
            _ = AdvisoryBrief(r)
        },
        FuzzTarget("osv-archive", "an OSV zip archive (all.zip), through AdvisoryImporter.load") { bytes in
            Scratch.withFile(bytes, target: "osv-archive", as: "all.zip") { path, _ in
                runBlocking { _ = try? await AdvisoryImporter.load([path]) }
            }
        },
        FuzzTarget("vex", "an OpenVEX or CycloneDX VEX document (--vex)") { bytes in
            Scratch.withFile(bytes, target: "vex", as: "statements.vex.json") { path, _ in _ = try? VEXDocument.load(path) }
        },
        FuzzTarget("ignore-file", "the ignore file (.provenant-ignore.yaml)") { bytes in
            Scratch.withFile(bytes, target: "ignore-file", as: ".provenant-ignore.yaml") { path, _ in
                _ = (try? IgnoreFile.load(path))?.expired(today: "2026-01-01")
            }
        },
    ]
}
