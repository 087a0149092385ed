import Catalog
import Foundation
import ProvenantCore
import SBOM

/// What the inventory could not turn into packages, read back from its diagnostics: SBOM entries
/// without a usable purl, and input files an extractor failed on. None of it was matched against
/// an advisory, so none of it may be reported clean: each becomes a NOT CHECKED group.
enum UnscannedInputs {
    /// The NOT CHECKED groups for `diagnostics`, in a fixed order: "inputs not read", "entries not resolved",
    /// "no purl", "unreadable purl"; empty groups left out. Readers mark what they could not read
    /// (`Diagnostic.unscanned`); nothing here depends on a message's wording.
    static func groups(_ diagnostics: [Diagnostic]) -> [Scanner.NotChecked] {
        var unread = Set<String>(), noPurl = Set<String>(), badPurl = Set<String>(), entries = Set<String>()
        for d in diagnostics {
            switch d.unscanned {
            case .input?:
                // The input file is the part of the location before any `!/` into an archive.
                unread.insert(d.location.path.components(separatedBy: "!/").first ?? d.location.path)
            case .componentWithoutPurl(let name)?: noPurl.insert(name)
            case .componentWithUnreadablePurl(let name)?: badPurl.insert(name)
            case .entry?: entries.insert(d.location.description)
            case nil: break
            }
        }
        var out: [Scanner.NotChecked] = []
        if !unread.isEmpty {
            out.append(.init(ecosystem: "inputs not read", updateEcosystem: nil,
                             reason: "these files could not be read (see the warnings), so the packages they hold were not checked",
                             packages: unread.count, purls: unread.sorted(), noun: "input file"))
        }
        if !entries.isEmpty {
            out.append(.init(ecosystem: "entries not resolved", updateEcosystem: nil,
                             reason: "these entries name no exact version (a range, a git source, a version from a parent POM or an undefined property), no sure identity (a guessed Maven group, an inactive profile) or could not be read (see the warnings), so no advisory can be matched to them",
                             packages: entries.count, purls: entries.sorted(), noun: "entry"))
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
