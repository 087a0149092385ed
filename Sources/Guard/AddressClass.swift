/// What kind of destination an address is, after the IANA special-purpose registries (RFC 6890 and its
/// updates). Only `.public` is reachable by a declared host name; every other class needs a declared
/// CIDR that covers the address.
public enum AddressClass: String, Sendable, CaseIterable {
    case publicUnicast = "public"
    case privateNetwork = "private"
    case cgnat, loopback, linkLocal = "link-local", broadcast, multicast, unspecified
    case thisNetwork = "this-network", reserved, documentation, benchmarking
    case uniqueLocal = "unique-local"
    case ipv4Mapped = "ipv6-mapped-ipv4"
    case ipv4Compatible = "ipv4-compatible"
    /// NAT64, 6to4 and Teredo: an IPv4 destination reached through an IPv6 address.
    case ipv6EmbeddedIPv4 = "ipv6-embedded-ipv4"
    /// `2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`: always denied, because the agent's HTTP client and
    /// the guard could read them as different addresses.
    case nonCanonicalIPv4 = "non-canonical-ipv4-literal"

    public var isPublic: Bool { self == .publicUnicast }
}

/// The class of an address, and the IPv4 address it carries when it embeds one.
public struct AddressClassification: Sendable, Equatable {
    public var kind: AddressClass
    /// For mapped, compatible, NAT64 and 6to4 addresses: the IPv4 address inside. Teredo obfuscates
    /// its client address, so it has none.
    public var embedded: UInt32?
    /// For those and Teredo: the IPv6 prefix the IPv4 address is carried in (`64:ff9b::/96`).
    public var embedding: (network: UInt128, bits: Int)?

    public static func == (a: Self, b: Self) -> Bool {
        a.kind == b.kind && a.embedded == b.embedded && a.embedding?.network == b.embedding?.network && a.embedding?.bits == b.embedding?.bits
    }
}

extension IPAddress {
    public var classification: AddressClassification {
        switch self {
        case .v4(let a): return AddressClassification(kind: Self.classify(v4: a), embedded: nil)
        case .v6(let a): return Self.classify(v6: a)
        }
    }

    static func inV4(_ a: UInt32, _ net: UInt32, _ bits: Int) -> Bool {
        bits == 0 || (a ^ net) >> UInt32(32 - bits) == 0
    }
    static func inV6(_ a: UInt128, _ net: UInt128, _ bits: Int) -> Bool {
        bits == 0 || (a ^ net) >> UInt128(128 - bits) == 0
    }
    static func v4(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> UInt32 { a << 24 | b << 16 | c << 8 | d }

    static func classify(v4 a: UInt32) -> AddressClass {
        if a == 0 { return .unspecified }
        if a == 0xFFFF_FFFF { return .broadcast }
        let table: [(UInt32, Int, AddressClass)] = [
            (v4(0, 0, 0, 0), 8, .thisNetwork),
            (v4(10, 0, 0, 0), 8, .privateNetwork),
            (v4(100, 64, 0, 0), 10, .cgnat),
            (v4(127, 0, 0, 0), 8, .loopback),
            (v4(169, 254, 0, 0), 16, .linkLocal),
            (v4(172, 16, 0, 0), 12, .privateNetwork),
            (v4(192, 0, 0, 0), 24, .reserved),          // IETF protocol assignments
            (v4(192, 0, 2, 0), 24, .documentation),
            (v4(192, 88, 99, 0), 24, .reserved),        // deprecated 6to4 relay anycast
            (v4(192, 168, 0, 0), 16, .privateNetwork),
            (v4(198, 18, 0, 0), 15, .benchmarking),
            (v4(198, 51, 100, 0), 24, .documentation),
            (v4(203, 0, 113, 0), 24, .documentation),
            (v4(224, 0, 0, 0), 4, .multicast),
            (v4(240, 0, 0, 0), 4, .reserved),
        ]
        for (net, bits, kind) in table where inV4(a, net, bits) { return kind }
        return .publicUnicast
    }

    static func v6(_ groups: [UInt16]) -> UInt128 {
        var a: UInt128 = 0
        for i in 0..<8 { a = a << 16 | UInt128(i < groups.count ? groups[i] : 0) }
        return a
    }

    static func classify(v6 a: UInt128) -> AddressClassification {
        func kind(_ k: AddressClass, _ embedded: UInt32? = nil) -> AddressClassification { AddressClassification(kind: k, embedded: embedded) }
        func carried(_ k: AddressClass, _ embedded: UInt32?, in network: UInt128, _ bits: Int) -> AddressClassification {
            AddressClassification(kind: k, embedded: embedded, embedding: (network, bits))
        }
        if a == 0 { return kind(.unspecified) }
        if a == 1 { return kind(.loopback) }
        for (net, bits, k) in [(v6([0, 0, 0, 0, 0, 0xFFFF]), 96, AddressClass.ipv4Mapped), (0, 96, .ipv4Compatible),
                               (v6([0x64, 0xFF9B]), 96, .ipv6EmbeddedIPv4),        // NAT64, well-known
                               (v6([0x64, 0xFF9B, 1]), 48, .ipv6EmbeddedIPv4)] where inV6(a, net, bits) { // NAT64, local use
            return carried(k, low32(a), in: net, bits)
        }
        if inV6(a, v6([0x2002]), 16) { return carried(.ipv6EmbeddedIPv4, UInt32(truncatingIfNeeded: a >> 80), in: v6([0x2002]), 16) } // 6to4
        if inV6(a, v6([0x2001, 0]), 32) { return carried(.ipv6EmbeddedIPv4, nil, in: v6([0x2001, 0]), 32) }                        // Teredo
        let table: [(UInt128, Int, AddressClass)] = [
            (v6([0x100]), 64, .reserved),                    // discard-only
            (v6([0x2001, 0x2]), 48, .benchmarking),
            (v6([0x2001, 0xDB8]), 32, .documentation),
            (v6([0x3FFF]), 20, .documentation),              // RFC 9637
            (v6([0x2001]), 23, .reserved),                   // IETF protocol assignments (ORCHID and others)
            (v6([0x5F00]), 16, .reserved),                   // SRv6 SIDs
            (v6([0xFC00]), 7, .uniqueLocal),
            (v6([0xFE80]), 10, .linkLocal),
            (v6([0xFEC0]), 10, .reserved),                   // deprecated site-local
            (v6([0xFF00]), 8, .multicast),
        ]
        for (net, bits, k) in table where inV6(a, net, bits) { return kind(k) }
        return kind(.publicUnicast)
    }
}
