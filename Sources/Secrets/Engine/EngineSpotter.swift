import Foundation
import ProvenantCore

/// The secrets engine as the redactor's spotter (`Redactor.install(EngineSpotter())`): every
/// diagnostic, SBOM field and report line is checked with the same rules as `secrets scan`.
public struct EngineSpotter: SecretSpotter {
    /// Built on first use, so commands that never echo input pay nothing for it; `secrets` commands
    /// without `--known` use this same engine.
    public static let shared: SecretEngine? = try? SecretEngine.standard()

    public init() {}

    /// Builds the shared engine on a thread of its own, for a command that will certainly echo input
    /// (an SBOM): its rules compile while the command reads, instead of at the first echo, which for an
    /// image came while the archive was being opened, ahead of everything else.
    public static func prepareInBackground() {
        let thread = Thread { _ = EngineSpotter.shared }
        thread.start()
    }

    public func mayFind(in bytes: [UInt8], identityField: Bool) -> Bool {
        guard let engine = Self.shared else { return false }
        return bytes.withUnsafeBytes { engine.mayMatch($0, minimumConfidence: identityField ? .high : .low) }
    }

    public func mayFindEach(in joined: [UInt8], starts: [Int], identityField: Bool) -> [Bool] {
        guard let engine = Self.shared else { return [Bool](repeating: false, count: starts.count) }
        return joined.withUnsafeBytes { engine.mayMatchEach($0, starts: starts, minimumConfidence: identityField ? .high : .low) }
    }

    public func secretRanges(in bytes: [UInt8], identityField: Bool) -> [Range<Int>] {
        guard let engine = Self.shared else { return [] }
        return bytes.withUnsafeBytes { engine.scan($0) }
            .filter { !identityField || $0.confidence == .high }
            .map(\.redacted)
    }
}
