import Synchronization

/// A credential detector the redactor consults beyond its own patterns. The `Secrets` engine is one;
/// the CLI installs it once at start, so every diagnostic, SBOM and report passes through the same
/// rules `secrets scan` uses. (ProvenantCore depends on nothing, so the engine plugs in from above.)
public protocol SecretSpotter: Sendable {
    /// Byte ranges of `bytes` that hold a secret value. For an `identityField` (a package name, a
    /// version, a purl) only sure findings count, so public random-looking ids stay readable.
    func secretRanges(in bytes: [UInt8], identityField: Bool) -> [Range<Int>]
}

extension Redactor {
    private static let spotter = Mutex<(any SecretSpotter)?>(nil)

    /// Makes `redact` and `redactField` also remove what `s` finds. Call once, before any work.
    public static func install(_ s: any SecretSpotter) { spotter.withLock { $0 = s } }

    static var installedSpotter: (any SecretSpotter)? { spotter.withLock { $0 } }

    /// `bytes` with every range the installed spotter reports replaced by the mark.
    static func applySpotter(_ bytes: [UInt8], identityField: Bool = false) -> [UInt8] {
        guard let s = installedSpotter else { return bytes }
        return masking(bytes, s.secretRanges(in: bytes, identityField: identityField))
    }

    /// `bytes` with each of `ranges` (in any order; overlapping ones skipped) replaced by the mark.
    public static func masking(_ bytes: [UInt8], _ ranges: [Range<Int>]) -> [UInt8] {
        guard !ranges.isEmpty else { return bytes }
        var out: [UInt8] = []
        var at = 0
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where r.lowerBound >= at && r.upperBound <= bytes.count {
            out += bytes[at..<r.lowerBound]
            out += Array(mark.utf8)
            at = r.upperBound
        }
        out += bytes[at...]
        return out
    }
}
