#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a host names, as a URL gives it (IPv6 in brackets or bare).
public enum HostAddress {
    /// `host` without the brackets of an IPv6 literal.
    public static func bare(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    /// A host that cannot leave the machine: `localhost`, `127.0.0.0/8` or `::1`. What plain-text
    /// links (a fleet server over http, PostgreSQL without TLS) are allowed to by default.
    public static func isLoopback(_ host: String) -> Bool {
        let h = bare(host)
        if h.lowercased() == "localhost" { return true }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, h, &v6) == 1 { return withUnsafeBytes(of: v6) { $0.dropLast().allSatisfy { $0 == 0 } && $0.last == 1 } }
        var v4 = in_addr()
        return inet_pton(AF_INET, h, &v4) == 1 && UInt32(bigEndian: v4.s_addr) >> 24 == 127
    }

    /// An IPv4 or IPv6 address rather than a name.
    public static func isIPLiteral(_ host: String) -> Bool {
        let h = bare(host)
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, h, &v4) == 1 || inet_pton(AF_INET6, h, &v6) == 1
    }
}
