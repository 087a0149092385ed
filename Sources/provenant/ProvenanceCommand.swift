import ArgumentParser
import Attestation
import Foundation
import ProvenantCore
import SBOM

struct ProvenanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provenance",
        abstract: "Write a SLSA v1 provenance predicate for a local or CI build, for `provenant attest`.",
        discussion: """
        The source repository, ref and commit come from the CI variables (GitHub Actions, GitLab CI) when \
        present, else from git in --source. With --sbom, the SBOM's components become resolvedDependencies. \
        SOURCE_DATE_EPOCH sets finishedOn; PROVENANT_BUILD_STARTED_ON sets startedOn outside GitLab.
        A CI step: `provenant provenance --subject dist/agent -o prov.json && provenant attest --subject \
        dist/agent --predicate-type slsaprovenance1 --predicate prov.json --key $KEY -o agent.intoto.json`
        """
    )
    @Option(name: .long, parsing: .singleValue, help: "An artifact the build produced (repeatable).")
    var subject: [String] = []
    @Option(name: .long, help: "Builder id URI. Default: derived from the CI system, or a local builder id.")
    var builderId: String?
    @Option(name: .long, help: "Source checkout to read the repository, ref and commit from.")
    var source: String = "."
    @Option(name: .long, help: "CycloneDX or SPDX JSON SBOM whose components are resolved dependencies.")
    var sbom: String?
    @Option(name: .shortAndLong, help: "Write the predicate here instead of stdout.")
    var output: String?

    func run() throws {
        guard !subject.isEmpty else { throw ValidationError("at least one --subject is required") }
        do throws(any Error) {
            var deps: [ProvenanceBuilder.Dependency] = []
            if let s = sbom {
                let inv = try SBOMReader.read(s, keepingComponentsWithoutPurl: true)
                let made = ProvenanceBuilder.dependencies(from: inv.packages.map { p in
                    p.foundBy == SBOMReader.withoutPurl
                        ? .init(identity: p.version.isEmpty ? p.name : "\(p.name)@\(p.version)", hasPurl: false, digests: p.digests)
                        : .init(identity: p.purl.description, hasPurl: true, digests: p.digests)
                })
                deps = made.dependencies
                // What the SBOM could not say exactly is said, not left for a reader to miss.
                var notes: [String] = [], byName = 0
                for d in inv.diagnostics {
                    switch d.unscanned {
                    case .componentWithoutPurl, .componentWithUnreadablePurl: byName += 1
                    default: notes.append("note: \(d)")
                    }
                }
                if byName > 0 {
                    notes.insert("note: \(s): \(byName) component\(byName == 1 ? "" : "s") without a usable purl: listed by name only, where \(byName == 1 ? "it carries" : "they carry") a digest", at: 0)
                }
                notes += made.warnings.map { "warning: \(s): \($0)" }
                for n in notes.prefix(50) { CLI.stderr(n) }
                if notes.count > 50 { CLI.stderr("note: \(notes.count - 50) more notes about \(s) not shown") }
            }
            let env = ProcessInfo.processInfo.environment
            let now = try SourceDateEpoch.date(from: env) ?? Date()
            let builder = ProvenanceBuilder(subjects: try Statement.subjects(files: subject), builderID: builderId, sourceDir: source,
                                            dependencies: deps, environment: env, now: now)
            let data = try JSONSerialization.data(withJSONObject: try builder.predicate(), options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            try CLI.withOutput(output) { sink in sink(Array(data) + [10]) }
        } catch let e as InputError { CLI.fail("error: \(e)") }
    }
}
