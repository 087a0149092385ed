import ArgumentParser
import ProvenantCore

/// `--fail-on`, shared by `scan` and `policy check`: parsed and checked once, before any work.
struct FailOnOption: ParsableArguments {
    @Option(name: .long, help: "Exit 1 when a finding is at or above this severity: low, medium, high or critical.")
    var failOn: String?

    var threshold: SeverityLevel? { failOn.flatMap(SeverityLevel.init(threshold:)) }

    func validate() throws {
        if let f = failOn, SeverityLevel(threshold: f) == nil { throw ValidationError("unknown --fail-on '\(f)'; use low, medium, high or critical") }
    }
}
