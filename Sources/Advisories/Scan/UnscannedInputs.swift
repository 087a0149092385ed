import Catalog
import Foundation
import ProvenantCore
import SBOM

/// What the inventory could not turn into packages, read back from its diagnostics: SBOM entries
/// without a usable purl, and input files an extractor failed on. None of it was matched against
/// an advisory, so none of it may be reported clean: each becomes a NOT CHECKED group.
enum UnscannedInputs {
    /// Names of the extractors whose whole-file failures the cataloger writes as `<name>: <why>`.
    static let extractorNames: Set<String> = Set(Cataloger.defaultExtractors.map(\.name))

    /// What the cataloger says of a single-file target that no extractor reads.
    static let unrecognised = "no extractor recognises this file"

    /// The NOT CHECKED groups for `diagnostics`, in a fixed order: "inputs not read", "no purl",
    /// "unreadable purl"; empty groups left out.
    static func groups(_ diagnostics: [Diagnostic]) -> [Scanner.NotChecked] {
        var unread = Set<String>(), noPurl = Set<String>(), badPurl = Set<String>()
        for d in diagnostics {
            let m = d.message
            if m.hasSuffix(" " + SBOMReader.noPurl) {
                noPurl.insert(String(m.dropLast(SBOMReader.noPurl.count + 1)))
            } else if let r = m.range(of: " " + SBOMReader.unreadablePurl + " '") {
                badPurl.insert(String(m[..<r.lowerBound]))
            } else if m == unrecognised {
                unread.insert(d.location.path)   // a single-file target no format could read
            } else if let colon = m.range(of: ": "), extractorNames.contains(String(m[..<colon.lowerBound])) {
                // A file (or a member of an archive) its extractor could not read: the input file is
                // the part of the location before any `!/` into an archive.
                let path = d.location.path.components(separatedBy: "!/").first ?? d.location.path
                unread.insert(path)
            }
        }
        var out: [Scanner.NotChecked] = []
        if !unread.isEmpty {
            out.append(.init(ecosystem: "inputs not read", updateEcosystem: nil,
                             reason: "these files could not be read (see the warnings), so the packages they hold were not checked",
                             packages: unread.count, purls: unread.sorted(), noun: "input file"))
        }
        if !noPurl.isEmpty {
            out.append(.init(ecosystem: "no purl", updateEcosystem: nil,
                             reason: "the SBOM gives these components no purl, so no advisory can be matched to them",
                             packages: noPurl.count, purls: noPurl.sorted(), noun: "component"))
        }
        if !badPurl.isEmpty {
            out.append(.init(ecosystem: "unreadable purl", updateEcosystem: nil,
                             reason: "the SBOM gives these components a purl that cannot be read, so no advisory can be matched to them",
                             packages: badPurl.count, purls: badPurl.sorted(), noun: "component"))
        }
        return out
    }
}
