import Crypto
import ProvenantCore

/// The one digest form images are named by here: `sha256:` and 64 lowercase hex digits.
public enum ImageDigest {
    /// Whether `s` is `sha256:<64 lowercase hex>`, the only digest this reader can check.
    public static func isSHA256(_ s: some StringProtocol) -> Bool {
        s.hasPrefix("sha256:") && isHex64(s.dropFirst(7))
    }

    /// Refuses `expected` for the blob `name` unless it is a sha256 digest, before a byte is read.
    static func requireSHA256(_ expected: String, name: String) throws(ImageError) {
        guard isSHA256(expected) else {
            throw ImageError(name, "has digest '\(Redactor.quote(expected, max: 80))', not a sha256 digest this reader can check")
        }
    }

    /// Whether `s` is exactly 64 lowercase hex digits (a sha256 digest without its algorithm).
    public static func isHex64(_ s: some StringProtocol) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// `sha256:<hex>` of `bytes`.
    public static func of(_ bytes: [UInt8]) -> String { "sha256:" + Hex.encode(SHA256.hash(data: bytes)) }
}
