import ProvenantCore
import Foundation
import Secrets

/// The views of a request the leak check reads besides its raw bytes, and masking of client text.
enum LeakView {
    /// The bytes as a server would decode them: `%XX`, and in JSON `\uXXXX` (ASCII) and `\/`. Nil when
    /// nothing in them is escaped, so the common request is scanned once.
    static func decoded(_ b: ArraySlice<UInt8>) -> [UInt8]? {
        b.withUnsafeBytes { decoded($0) }
    }

    /// `decoded` over raw bytes. Only `%` and `\` start an escape: bytes with neither are returned as nil
    /// at once, without building a copy to compare.
    static func decoded(_ b: UnsafeRawBufferPointer) -> [UInt8]? {
        guard b.count > 1, mayBeEscaped(b) else { return nil }
        let hex = Hex.nibble
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var changed = false
        var i = b.startIndex
        while i < b.endIndex {
            let c = b[i]
            if c == 37, i + 2 < b.endIndex, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l); i += 3; changed = true; continue
            }
            if c == 92, i + 1 < b.endIndex {
                if b[i + 1] == 47 { out.append(47); i += 2; changed = true; continue }
                if b[i + 1] == 117, i + 5 < b.endIndex, b[i + 2] == 48, b[i + 3] == 48, let h = hex(b[i + 4]), let l = hex(b[i + 5]), h < 8 {
                    out.append(h << 4 | l); i += 6; changed = true; continue
                }
                // JSON's one-character escapes: `"x\nghp_…"` holds a token after a line break, which a
                // pattern opening with \b did not see after the `n` (found by review).
                let single: UInt8? = switch b[i + 1] {
                case 110: 10    // \n
                case 116: 9     // \t
                case 114: 13    // \r
                case 98: 8      // \b
                case 102: 12    // \f
                case 34: 34     // \"
                case 92: 92     // \\
                default: nil
                }
                if let single { out.append(single); i += 2; changed = true; continue }
            }
            out.append(c); i += 1
        }
        return changed ? out : nil
    }

    /// The bytes with the breaks inside base64 text taken out (`WrappedBase64`), or nil when there are none.
    static func unwrapped(_ b: UnsafeRawBufferPointer, plusIsSpace: Bool = false) -> [UInt8]? {
        WrappedBase64(b, plusIsSpace: plusIsSpace)?.bytes
    }

    /// Whether `b` holds a `%` or a `\` (memchr, not a byte loop).
    static func mayBeEscaped(_ b: UnsafeRawBufferPointer) -> Bool {
        guard let base = b.baseAddress, b.count > 0 else { return false }
        return memchr(base, 37, b.count) != nil || memchr(base, 92, b.count) != nil
    }

    /// `text` with whatever the engine finds in it replaced by `[REDACTED:<rule>]`.
    static func masked(_ text: String, _ engine: SecretEngine) -> String {
        let bytes = Array(text.utf8)
        let hits = bytes.withUnsafeBytes { engine.scan($0) }
        guard !hits.isEmpty else { return text }
        // Each hit's whole redacted span, the values of overlapping matches it won over included.
        return String(decoding: Redactor.masking(bytes, hits.map { ($0.redacted, "[REDACTED:\($0.ruleID)]") }), as: UTF8.self)
    }
}
