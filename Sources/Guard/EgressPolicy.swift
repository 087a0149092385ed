import Foundation
import Permissions

/// The egress a manifest declares, as the guard enforces it: declared host names (any public address
/// they resolve to) and declared CIDRs (any address inside, special-purpose ones included), each with
/// its ports (none listed: every port, as the generated NetworkPolicy has it).
public struct EgressPolicy: Sendable {
    public struct HostRule: Sendable { public var name: String; public var ports: [Int] }
    public struct NetworkRule: Sendable { public var cidr: String; public var network: IPAddress; public var bits: Int; public var ports: [Int] }

    public let hosts: [HostRule]
    public let networks: [NetworkRule]

    /// The verdict on one destination: allowed or not, by which rule, and why.
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// The manifest entry that allowed it (`host:api.example.com`, `cidr:10.0.0.0/8`), or the denial's code.
        public var rule: String
        public var reason: String
        public static func deny(_ code: String, _ reason: String) -> Decision { Decision(allowed: false, rule: code, reason: reason) }
    }

    public init(manifest: AgentManifest) {
        var hosts: [HostRule] = [], networks: [NetworkRule] = []
        // The proxy carries TCP alone: an entry declared for UDP or SCTP allows none of it (found by
        // helper-126: such entries let HTTP and CONNECT through, while `guard exec` kept them apart).
        for e in manifest.egress where e.proto == "TCP" {
            if let h = e.host, let name = try? HostName.normalize(Substring(h.hasSuffix(".") ? String(h.dropLast()) : h)) {
                hosts.append(HostRule(name: name, ports: e.ports))
            }
            if let c = e.cidr, let n = Self.parseCIDR(c) { networks.append(NetworkRule(cidr: c, network: n.0, bits: n.1, ports: e.ports)) }
        }
        self.hosts = hosts
        self.networks = networks
    }

    static func parseCIDR(_ s: String) -> (IPAddress, Int)? {
        let parts = s.split(separator: "/")
        guard parts.count == 2, let bits = Int(parts[1]) else { return nil }
        if let a = IPAddress.canonicalIPv4(parts[0]), (0...32).contains(bits) { return (.v4(a), bits) }
        if let a = IPAddress.ipv6(parts[0]), (0...128).contains(bits) { return (.v6(a), bits) }
        return nil
    }

    static func covers(_ r: NetworkRule, _ a: IPAddress) -> Bool {
        // An address that stands for an IPv4 one is judged as that: a mapped `::ffff:127.0.0.1` is
        // dialled as 127.0.0.1, and NAT64 (`64:ff9b::a9fe:a9fe`), 6to4 and Teredo reach their IPv4
        // host through a gateway. An IPv6 CIDR such as `::/0` let every IPv4 address through, loopback
        // and metadata included (found by helper-147, NAT64 by helper-149). Only an IPv4 rule covering
        // the address inside, or an IPv6 rule lying within the embedding prefix itself, covers one.
        let c = a.classification
        if case .v6(let x) = a, let (prefix, prefixBits) = c.embedding {
            switch r.network {
            case .v4(let net):
                guard let inner = c.embedded else { return false }
                return IPAddress.inV4(inner, net, r.bits)
            case .v6(let net):
                return r.bits >= prefixBits && IPAddress.inV6(net, prefix, prefixBits) && IPAddress.inV6(x, net, r.bits)
            }
        }
        switch (r.network, a) {
        case (.v4(let net), .v4(let x)): return IPAddress.inV4(x, net, r.bits)
        case (.v6(let net), .v6(let x)): return IPAddress.inV6(x, net, r.bits)
        default: return false
        }
    }

    static func portAllowed(_ ports: [Int], _ port: Int) -> Bool { ports.isEmpty || ports.contains(port) }

    /// The first check, before any lookup: is this host and port declared at all? For a name, an
    /// allowed decision means "resolve it, then `admit` each address".
    public func check(_ destination: Destination, port: Int) -> Decision {
        switch destination {
        case .nonCanonicalIPv4(let a):
            return .deny("non-canonical-ipv4-literal", "\(IPAddress.v4(a)) written in a form clients and the guard could read differently")
        case .address(let a):
            return admitLiteral(a, port: port)
        case .name(let name):
            let rules = hosts.filter { $0.name == name }
            guard !rules.isEmpty else { return .deny("undeclared-host", "\(name) is not a declared egress host") }
            guard let r = rules.first(where: { Self.portAllowed($0.ports, port) }) else {
                return .deny("undeclared-port", "port \(port) is not declared for \(name)")
            }
            return Decision(allowed: true, rule: "host:\(r.name)", reason: "declared host")
        }
    }

    /// An address a declared name resolved to: public addresses pass; any other class only when a
    /// declared CIDR covers it on this port (a name resolving to 169.254.169.254 is denied).
    public func admit(_ address: IPAddress, name: String, port: Int) -> Decision {
        let c = address.classification
        if let r = networks.first(where: { Self.covers($0, address) && Self.portAllowed($0.ports, port) }) {
            return Decision(allowed: true, rule: "cidr:\(r.cidr)", reason: "\(name) resolved to \(address), inside a declared network")
        }
        guard c.kind.isPublic else {
            return .deny(c.kind.rawValue, "\(name) resolved to \(address), a \(c.kind.rawValue) address no declared CIDR covers")
        }
        return Decision(allowed: true, rule: "host:\(name)", reason: "\(name) resolved to public \(address)")
    }

    /// An address literal: only a declared CIDR lets it through, whatever its class.
    func admitLiteral(_ address: IPAddress, port: Int) -> Decision {
        let inside = networks.filter { Self.covers($0, address) }
        if let r = inside.first(where: { Self.portAllowed($0.ports, port) }) {
            return Decision(allowed: true, rule: "cidr:\(r.cidr)", reason: "inside a declared network")
        }
        if !inside.isEmpty { return .deny("undeclared-port", "port \(port) is not declared for \(address)") }
        let kind = address.classification.kind
        return .deny(kind.isPublic ? "undeclared-address" : kind.rawValue, "\(address) (\(kind.rawValue)) is in no declared CIDR")
    }
}
