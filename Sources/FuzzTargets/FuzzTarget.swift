import Foundation

/// One parser entry point driven by arbitrary bytes. `run` may only reject input by catching the
/// errors the parser throws; a trap, crash, hang or leak inside it is a finding.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What the harness reaches, for `scripts/fuzz list`.
    public let summary: String
    public let run: @Sendable ([UInt8]) -> Void

    public init(_ name: String, _ summary: String, run: @escaping @Sendable ([UInt8]) -> Void) {
        self.name = name; self.summary = summary; self.run = run
    }
}

public enum FuzzTargets {
    /// Every harness, in a fixed order: extractors first, then formats, advisories, attestation, permissions.
    public static let all: [FuzzTarget] =
        ExtractorTargets.all + FormatTargets.all + AdvisoryTargets.all + AttestationTargets.all + PermissionTargets.all
        + SecretTargets.all
        + GuardTargets.all
        + ImageTargets.all
        + RegistryTargets.all
        + DriftTargets.all
        + ServerTargets.all
        + VerifyFilesTargets.all

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
