import Foundation
import ProvenantCore

/// The syntax each agent-manifest field must have, and path normalization. A value that reaches a
/// generated Kubernetes object or a comparison must be what Kubernetes or Linux would read it as.
enum FieldSyntax {
    /// Every Linux capability (linux/capability.h, 0 to 40), without the CAP_ prefix.
    static let linuxCapabilities = Set(LinuxCapabilities.names)

    /// The verbs Kubernetes RBAC authorizes (the wildcard is not a declaration of need).
    static let rbacVerbs: Set<String> = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
                                         "impersonate", "bind", "escalate", "use", "approve", "sign", "attest"]

    /// A DNS-1123 label: what Kubernetes requires of a container, namespace or object name used as a label value.
    static func isDNSLabel(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard (1...63).contains(b.count), isAlnumLower(b.first!), isAlnumLower(b.last!) else { return false }
        return b.allSatisfy { isAlnumLower($0) || $0 == UInt8(ascii: "-") }
    }

    /// A DNS-1123 subdomain: dot-separated labels, at most 253 characters (Secret names).
    static func isDNSSubdomain(_ s: String) -> Bool {
        s.utf8.count <= 253 && !s.isEmpty && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    /// A host name as egress names it: RFC 1123 labels (letters in either case), at least two of them.
    static func isHostName(_ s: String) -> Bool {
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        guard s.utf8.count <= 253, labels.count >= 2 else { return false }
        return labels.allSatisfy { l in
            let b = Array(l.utf8)
            guard (1...63).contains(b.count), isAlnum(b.first!), isAlnum(b.last!) else { return false }
            return b.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// An IPv4 or IPv6 CIDR whose address has no bits set beyond the prefix (what NetworkPolicy and Cilium accept).
    static func isCIDR(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...3).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let bits = Int(parts[1]) else { return false }
        let addr = String(parts[0])
        var bytes: [UInt8]
        if addr.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, addr, &a) == 1 else { return false }
            bytes = withUnsafeBytes(of: &a) { Array($0) }
        } else {
            var a = in_addr()
            guard inet_pton(AF_INET, addr, &a) == 1 else { return false }
            bytes = withUnsafeBytes(of: &a) { Array($0) }
        }
        guard (0...(bytes.count * 8)).contains(bits) else { return false }
        for i in bits..<(bytes.count * 8) where bytes[i / 8] & (0x80 >> UInt8(i % 8)) != 0 { return false }
        return true
    }

    /// `name@sha256:<64 lowercase hex>`, with an optional registry host[:port] and tag.
    static func isPinnedImage(_ s: String) -> Bool {
        guard s.utf8.count <= 1024, let at = s.range(of: "@sha256:") else { return false }
        let digest = s[at.upperBound...], name = s[..<at.lowerBound]
        guard digest.utf8.count == 64, digest.utf8.allSatisfy({ isHexLower($0) }), !name.isEmpty else { return false }
        let pattern = #"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"#
        return String(name).range(of: pattern, options: .regularExpression) != nil
    }

    /// A Secret key: letters, digits, `-`, `_` and `.`.
    static func isSecretKey(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 253 && s.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// An environment variable name.
    static func isEnvName(_ s: String) -> Bool {
        guard let f = s.utf8.first, !(f >= UInt8(ascii: "0") && f <= UInt8(ascii: "9")) else { return false }
        return s.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") }
    }

    /// A Kubernetes resource (`pods`) or subresource (`pods/exec`), lowercase.
    static func isResource(_ s: String) -> Bool {
        s.range(of: #"^[a-z][a-z0-9-]*(/[a-z][a-z0-9-]*)?$"#, options: .regularExpression) != nil
    }

    /// `path` with `.` and `..` resolved and repeated or trailing slashes removed, or nil when it is
    /// not absolute, holds a control character, or climbs above `/`. Nothing on disk is consulted.
    static func normalizedPath(_ path: String) -> String? {
        guard path.hasPrefix("/"), !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return nil }
        var parts: [Substring] = []
        for c in PathText.components(path) {
            if c == "." { continue }
            if c == ".." {
                if parts.isEmpty { return nil }
                parts.removeLast()
                continue
            }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether a manifest path is already in normal form (what `normalizedPath` would give), and holds
    /// none of the characters compose or Kubernetes read as syntax in a mount (`:` separates source,
    /// target and options, `,` options, `$` starts an interpolation, `=` a key, quotes and `\\`
    /// escape), nor whitespace or control characters. A path is then only ever a path.
    static func isNormalizedAbsolutePath(_ s: String) -> Bool {
        normalizedPath(s) == s && s.utf8.count <= 4096 && !s.unicodeScalars.contains(where: isPathSyntax)
    }

    static func isPathSyntax(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || (0x7f...0x9f).contains(u.value) || u.properties.isWhitespace || u.properties.generalCategory == .format
            || ":,$=\"'`\\".unicodeScalars.contains(u)
    }

    private static func isAlnumLower(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) }
    private static func isAlnum(_ c: UInt8) -> Bool { isAlnumLower(c) || (c >= 0x41 && c <= 0x5a) }
    private static func isHexLower(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
}
