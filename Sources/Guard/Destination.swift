import Foundation

/// A destination host as a client wrote it (a URL host, a `Host` header, a CONNECT authority), read the
/// one way the guard matches and dials it.
public enum Destination: Sendable, Equatable {
    /// A DNS name: lowercase, no trailing dot, internationalized labels in punycode (`xn--`).
    case name(String)
    /// A canonical IPv4 dotted quad or an IPv6 literal.
    case address(IPAddress)
    /// An IPv4 literal in a form resolvers and URL parsers read differently; `denotes` is what a WHATWG
    /// URL parser makes of it.
    case nonCanonicalIPv4(denotes: UInt32)

    /// Why a host cannot be a destination.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Whether `s` holds the ASCII character `c` (`byte`): on the bytes when `s` is ASCII, where that is
    /// what `contains` answers, else by `contains` itself.
    static func holds(_ s: Substring, _ byte: UInt8, _ c: String) -> Bool {
        let u = s.utf8
        if !u.contains(where: { $0 >= 0x80 }) { return u.contains(byte) }
        return s.contains(c)
    }

    public static func parse(_ raw: String) throws(Invalid) -> Destination {
        var host = Substring(raw)
        guard !host.isEmpty, host.utf8.count <= 300 else { throw Invalid(description: "empty or overlong host") }
        guard !holds(host, 64, "@") else { throw Invalid(description: "userinfo in the authority is refused") }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { throw Invalid(description: "unterminated IPv6 literal") }
            host = host.dropFirst().dropLast()
            var zone = false
            if let pct = host.firstIndex(of: "%") { host = host[..<pct]; zone = true }
            guard let a = IPAddress.ipv6(host) else { throw Invalid(description: "not an IPv6 address") }
            let address = IPAddress.v6(a)
            // A zone names an interface of this machine: only a link-local address may carry one, and it
            // is denied as link-local anyway.
            if zone && address.classification.kind != .linkLocal { throw Invalid(description: "a zone id on an address that is not link-local") }
            return .address(address)
        }
        if holds(host, 58, ":") { throw Invalid(description: "an IPv6 literal must be in brackets") }
        if host.hasSuffix(".") { host = host.dropLast() }
        guard !host.isEmpty, !host.hasSuffix(".") else { throw Invalid(description: "empty label") }
        // WHATWG URL: a host whose last label is a number is an IPv4 address, whatever its form.
        let last = host.split(separator: ".", omittingEmptySubsequences: false).last ?? host
        let lastBytes = Array(last.utf8)
        let numeric = !lastBytes.isEmpty && (lastBytes.allSatisfy { $0 >= 48 && $0 <= 57 }
            || (lastBytes.count >= 2 && lastBytes[0] == 48 && (lastBytes[1] | 0x20) == 120 && lastBytes.dropFirst(2).allSatisfy { ($0 >= 48 && $0 <= 57) || (($0 | 0x20) >= 97 && ($0 | 0x20) <= 102) }))
        if numeric {
            if let a = IPAddress.canonicalIPv4(host) { return .address(.v4(a)) }
            if let a = IPAddress.lenientIPv4(host) { return .nonCanonicalIPv4(denotes: a) }
            throw Invalid(description: "a host ending in a number must be an IPv4 address")
        }
        return .name(try HostName.normalize(host))
    }
}

/// Host-name normalization: ASCII lowercase, each label with characters beyond ASCII turned into
/// punycode (RFC 3492) after Unicode canonical composition and lowercasing.
public enum HostName {
    public static func normalize(_ host: Substring) throws(Destination.Invalid) -> String {
        var labels: [String] = []
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw Destination.Invalid(description: "empty label") }
            let ascii: String
            if label.utf8.allSatisfy({ $0 < 0x80 }) {
                ascii = label.lowercased()
            } else {
                let folded = String(label).precomposedStringWithCanonicalMapping.lowercased()
                guard let encoded = Punycode.encode(Array(folded.unicodeScalars)) else { throw Destination.Invalid(description: "a label that cannot be encoded") }
                ascii = "xn--" + encoded
            }
            let b = Array(ascii.utf8)
            guard b.count <= 63 else { throw Destination.Invalid(description: "a label longer than 63 bytes") }
            // Letters, digits, '-' and '_' (service names), not starting or ending with '-'.
            guard b.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }),
                  b.first != 45, b.last != 45 else { throw Destination.Invalid(description: "a label with characters a host name cannot hold") }
            labels.append(ascii)
        }
        let name = labels.joined(separator: ".")
        guard name.utf8.count <= 253 else { throw Destination.Invalid(description: "a host name longer than 253 bytes") }
        return name
    }
}

/// Punycode (RFC 3492), the encoder only: the guard compares names, it never displays them decoded.
enum Punycode {
    static func encode(_ input: [Unicode.Scalar]) -> String? {
        let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
        func digit(_ d: Int) -> Character { Character(Unicode.Scalar(UInt8(d < 26 ? 97 + d : 22 + d))) }
        func adapt(_ delta: Int, _ count: Int, _ first: Bool) -> Int {
            var delta = first ? delta / damp : delta / 2
            delta += delta / count
            var k = 0
            while delta > ((base - tMin) * tMax) / 2 { delta /= base - tMin; k += base }
            return k + (base - tMin + 1) * delta / (delta + skew)
        }
        var output = String(input.filter { $0.isASCII }.map(Character.init))
        let basic = output.count
        var handled = basic
        if basic > 0 { output.append("-") }
        var n = 128, delta = 0, bias = 72
        let codes = input.map { Int($0.value) }
        while handled < codes.count {
            guard let m = codes.filter({ $0 >= n }).min() else { return nil }
            let (step, overflow) = (m - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow, delta <= Int(Int32.max) - step else { return nil }
            delta += step
            n = m
            for c in codes {
                if c < n { delta += 1; guard delta <= Int(Int32.max) else { return nil } }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basic)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return output
    }
}
