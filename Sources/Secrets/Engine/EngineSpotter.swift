import ProvenantCore

/// The secrets engine as the redactor's spotter (`Redactor.install(EngineSpotter())`): every
/// diagnostic, SBOM field and report line is checked with the same rules as `secrets scan`.
public struct EngineSpotter: SecretSpotter {
    /// Built on first use, so commands that never echo input pay nothing for it; `secrets` commands
    /// without `--known` use this same engine.
    public static let shared: SecretEngine? = try? SecretEngine.standard()

    public init() {}

    public func secretRanges(in bytes: [UInt8], identityField: Bool) -> [Range<Int>] {
        guard let engine = Self.shared else { return [] }
        return bytes.withUnsafeBytes { engine.scan($0) }
            .filter { !identityField || $0.confidence == .high }
            .map(\.value)
    }
}
