import Foundation
import Permissions
import Testing
@testable import Guard

@Suite struct AddressClassTests {
    struct Row: CustomStringConvertible {
        var source: String, destination: String, decision: String, kind: String, denotes: String
        var description: String { "\(source) \(destination)" }
    }

    /// `Fixtures/egress/address-classes.tsv` (from the shared corpus; the smokescreen rows are MIT, see
    /// LICENSE.smokescreen): every destination with its expected decision, class and the address it denotes.
    static let rows: [Row] = {
        guard let url = Bundle.module.url(forResource: "Fixtures/egress/address-classes", withExtension: "tsv"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return f.count == 5 ? Row(source: f[0], destination: f[1], decision: f[2], kind: f[3], denotes: f[4]) : nil
        }
    }()

    @Test func theTableIsComplete() {
        #expect(Self.rows.count == 58)
    }

    /// Every row: the class, the address it denotes, and the decision when a declared name resolves to
    /// it (or, for a literal the agent wrote, when no CIDR is declared: always denied).
    @Test(arguments: rows) func everyRowIsClassifiedAndDecided(_ row: Row) throws {
        // Written in a URL or CONNECT authority, an IPv6 literal is bracketed.
        let written = row.destination.contains(":") && !row.destination.hasPrefix("[") ? "[\(row.destination)]" : row.destination
        let destination = try Destination.parse(written)
        let policy = EgressPolicy(manifest: AgentManifest(name: "agent"))
        switch destination {
        case .nonCanonicalIPv4(let a):
            #expect(row.kind == "non-canonical-ipv4-literal")
            #expect(IPAddress.v4(a).description == row.denotes)
            #expect(policy.check(destination, port: 443) == .deny("non-canonical-ipv4-literal", "\(IPAddress.v4(a)) written in a form clients and the guard could read differently"))
            #expect(row.decision == "deny")
        case .address(let a):
            let c = a.classification
            #expect(c.kind.rawValue == row.kind)
            let denotes = c.embedded.map { IPAddress.v4($0).description } ?? (c.kind == .ipv6EmbeddedIPv4 ? "teredo" : a.description)
            #expect(denotes == row.denotes)
            #expect(policy.admit(a, name: "api.example.com", port: 443).allowed == (row.decision == "allow"))
            // A literal the agent wrote needs a declared CIDR, public or not.
            #expect(!policy.check(destination, port: 443).allowed)
        case .name(let n):
            Issue.record("\(row.destination) read as the name \(n)")
        }
    }

    @Test func aDeclaredCIDRLetsASpecialAddressThroughOnItsPortsOnly() throws {
        var m = AgentManifest(name: "agent")
        m.egress = [.init(host: nil, cidr: "10.0.0.0/8", ports: [5432], proto: "TCP"),
                    .init(host: "api.example.com", cidr: nil, ports: [443], proto: "TCP")]
        let p = EgressPolicy(manifest: m)
        let db = try Destination.parse("10.1.2.3")
        #expect(p.check(db, port: 5432).allowed && p.check(db, port: 5432).rule == "cidr:10.0.0.0/8")
        #expect(p.check(db, port: 22).rule == "undeclared-port")
        #expect(!p.check(try Destination.parse("10.0.0.1."), port: 22).allowed)
        // The name's own port is checked first; a resolved address outside the CIDR still must be public.
        #expect(p.check(try Destination.parse("API.Example.COM."), port: 443).allowed)
        #expect(p.check(try Destination.parse("api.example.com"), port: 80).rule == "undeclared-port")
        #expect(p.admit(.v4(IPAddress.v4(169, 254, 169, 254)), name: "api.example.com", port: 443).rule == "link-local")
        #expect(p.admit(.v4(IPAddress.v4(10, 9, 9, 9)), name: "api.example.com", port: 5432).allowed)
        #expect(p.check(try Destination.parse("evil.example.com"), port: 443).rule == "undeclared-host")
    }

    /// helper-147: `cidr: ::/0` let `[::ffff:127.0.0.1]` through, which Linux dials as 127.0.0.1. A
    /// mapped address is judged as the IPv4 address it is.
    @Test func ipv4MappedAddressesAreJudgedAsIPv4() throws {
        var m = AgentManifest(name: "agent")
        m.egress = [.init(host: nil, cidr: "::/0", ports: [8001], proto: "TCP"), .init(host: "api.example.com", cidr: nil, ports: [443], proto: "TCP")]
        let p = EgressPolicy(manifest: m)
        #expect(!p.check(try Destination.parse("[::ffff:127.0.0.1]"), port: 8001).allowed)
        #expect(!p.check(try Destination.parse("[::ffff:7f00:1]"), port: 8001).allowed)
        #expect(!p.check(try Destination.parse("[::ffff:169.254.169.254]"), port: 8001).allowed)
        #expect(!p.admit(.v6(try #require(IPAddress.ipv6("::ffff:127.0.0.1"[...]))), name: "api.example.com", port: 8001).allowed)
        #expect(p.check(try Destination.parse("[2001:db8::1]"), port: 8001).allowed)
        // NAT64 and 6to4 reach their IPv4 host through a gateway: the same (helper-149).
        for embedded in ["[64:ff9b::a9fe:a9fe]", "[64:ff9b::a00:1]", "[64:ff9b:1::a00:1]", "[2002:a9fe:a9fe::1]", "[::7f00:1]"] {
            #expect((try? Destination.parse(embedded)).map { p.check($0, port: 8001).allowed } == false, "\(embedded)")
        }
        var nat64 = AgentManifest(name: "agent")
        nat64.egress = [.init(host: nil, cidr: "64:ff9b::/96", ports: [], proto: "TCP")]
        #expect(EgressPolicy(manifest: nat64).check(try Destination.parse("[64:ff9b::a00:1]"), port: 80).allowed)
        var v4 = AgentManifest(name: "agent")
        v4.egress = [.init(host: nil, cidr: "10.0.0.0/8", ports: [], proto: "TCP")]
        #expect(EgressPolicy(manifest: v4).check(try Destination.parse("[::ffff:10.1.2.3]"), port: 80).allowed)
        #expect(!EgressPolicy(manifest: v4).check(try Destination.parse("[::ffff:11.1.2.3]"), port: 80).allowed)
        var mapped = AgentManifest(name: "agent")
        mapped.egress = [.init(host: nil, cidr: "::ffff:10.0.0.0/104", ports: [], proto: "TCP")]
        #expect(EgressPolicy(manifest: mapped).check(try Destination.parse("[::ffff:10.1.2.3]"), port: 80).allowed)
    }

    @Test func hostsAreNormalizedAndOddFormsRefused() throws {
        #expect(try Destination.parse("Bücher.example.") == .name("xn--bcher-kva.example"))
        #expect(try Destination.parse("münchen.de") == .name("xn--mnchen-3ya.de"))
        #expect(try Destination.parse("例え.テスト") == .name("xn--r8jz45g.xn--zckzah"))
        for bad in ["user:pw@api.example.com", "a..b", "", ".", "1.2.3.4.5", "api.example.999", "[::1", "::1", "[8.8.8.8]",
                    "[2001:4860::8888%25eth0]", "bad_-.com", "-x.example.com", "exa mple.com"] {
            #expect(throws: Destination.Invalid.self, "\(bad)") { try Destination.parse(bad) }
        }
        #expect(try Destination.parse("0x7f.1") == .nonCanonicalIPv4(denotes: 0x7F00_0001))
        #expect(try Destination.parse("8.8.8.8") == .address(.v4(0x0808_0808)))
    }
}
