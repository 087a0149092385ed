import Foundation

/// Looks a declared name up once per connection. The proxy then dials one of exactly these addresses,
/// so a second lookup (DNS rebinding) never happens. `--resolve HOST=IP` pins a name.
public struct AddressResolver: Sendable {
    public var pinned: [String: [IPAddress]]

    public init(pinned: [String: [IPAddress]] = [:]) { self.pinned = pinned }

    /// `HOST=IP` as given to `--resolve`; the host is normalized like a destination.
    public static func pin(_ text: String) -> (String, IPAddress)? {
        guard let eq = text.firstIndex(of: "=") else { return nil }
        let host = String(text[..<eq]), ip = text[text.index(after: eq)...]
        guard case .name(let name)? = try? Destination.parse(host) else { return nil }
        if let a = IPAddress.canonicalIPv4(ip) { return (name, .v4(a)) }
        let bare = ip.hasPrefix("[") && ip.hasSuffix("]") ? ip.dropFirst().dropLast() : ip
        if let a = IPAddress.ipv6(bare) { return (name, .v6(a)) }
        return nil
    }

    /// The addresses of `name`, in the order the system gives them (blocking: call off the event loop).
    public func resolve(_ name: String) -> [IPAddress] {
        if let p = pinned[name] { return p }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var out: [IPAddress] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let a = p {
            if let sa = a.pointee.ai_addr {
                if a.pointee.ai_family == AF_INET {
                    let v = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                    out.append(.v4(v))
                } else if a.pointee.ai_family == AF_INET6 {
                    let v = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { s in
                        withUnsafeBytes(of: s.pointee.sin6_addr) { $0.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } }
                    }
                    out.append(.v6(v))
                }
            }
            p = a.pointee.ai_next
        }
        var seen = Set<IPAddress>()
        return out.filter { seen.insert($0).inserted }
    }
}
