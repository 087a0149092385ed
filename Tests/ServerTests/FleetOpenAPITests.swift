import Foundation
import Hummingbird
import Testing
import Advisories
@testable import Server

/// The OpenAPI document in the repo is the API: every route the router has is documented with its
/// method, every documented operation exists, and each answers one of its documented statuses.
@Suite(.serialized) struct FleetOpenAPITests {
    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(FleetOpenAPI.document.utf8)) as? [String: Any])
    }

    static func operations(_ doc: [String: Any]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for (path, item) in doc["paths"] as? [String: [String: Any]] ?? [:] {
            for (method, op) in item { out[method.uppercased() + " " + path] = op as? [String: Any] }
        }
        return out
    }

    @Test func everyRouteIsDocumentedAndEveryOperationIsRouted() throws {
        let doc = try Self.document()
        #expect(doc["openapi"] as? String == "3.1.0")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteFleetStore(path: dir.appendingPathComponent("db.sqlite").path)
        let osv = try AdvisoryStore(path: dir.appendingPathComponent("osv.sqlite").path)
        let routed = Set(FleetServer(store: store, advisories: FleetAdvisories(database: osv, store: store, webhook: nil)).router().routes.map { r in
            let path = "\(r.path)".split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.reduce("") { $0 + "/" + $1 }
            return "\(r.method) " + (path.isEmpty ? "/" : path)
        })
        let documented = Set(Self.operations(doc).keys)
        #expect(routed == documented, "routed only: \(routed.subtracting(documented).sorted()); documented only: \(documented.subtracting(routed).sorted())")
        #expect(routed.count >= 9)
    }

    @Test(arguments: FleetBackend.allCases) func everyOperationAnswersADocumentedStatus(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let admin = try s.token("admin")
        let sbom = try FleetFixtures.sbom("package-lock-v3.json", format: "cyclonedx-json", in: s.dir)
        // Calls in an order that gives every read something to find.
        let calls: [(String, String, Data?)] = [
            ("POST", "/v1/agents/collector/releases/1.0.0", sbom),
            ("POST", "/v1/deployments", Data(#"{"agent":"collector","version":"1.0.0","environment":"production","cluster":"eu-1"}"#.utf8)),
            ("GET", "/healthz", nil), ("GET", "/openapi.json", nil), ("GET", "/v1/agents", nil),
            ("GET", "/v1/agents/collector/releases", nil), ("GET", "/v1/agents/collector/releases/1.0.0", nil),
            ("GET", "/v1/agents/collector/releases/1.0.0/components", nil), ("GET", "/v1/components?purl=pkg:npm/semver@7.5.0", nil),
            ("GET", "/v1/agents/nobody/releases", nil), ("POST", "/v1/agents/collector/releases/1.0.0", Data("{}".utf8)),
            ("GET", "/v1/agents/collector/releases/1.0.0/findings", nil), ("GET", "/v1/findings?severity=high", nil), ("GET", "/v1/findings?severity=x", nil),
            ("GET", "/v1/vulnerabilities/CVE-2099-0001/affected", nil), ("GET", "/v1/agents/collector/releases/1.0.0/drift?from=1.0.0", nil),
            ("GET", "/v1/agents/collector/releases/1.0.0/drift", nil), ("POST", "/v1/advisories/import", Data("{}".utf8)),
            ("POST", "/v1/agents/collector/releases/1.0.0/attestations", Data("{}".utf8)), ("GET", "/v1/agents/collector/releases/1.0.0/attestations", nil),
            ("POST", "/v1/agents/collector/releases/1.0.0/policy-results", Data("[]".utf8)), ("GET", "/v1/agents/collector/releases/1.0.0/policy-results", nil),
            ("GET", "/v1/unverified", nil), ("GET", "/v1/unverified?environment=..", nil),
            ("GET", "/", nil), ("GET", "/ui/agents/collector/releases/1.0.0", nil), ("GET", "/ui/agents/nobody/releases/1.0.0", nil),
            ("GET", "/ui/vulnerabilities/CVE-2099-0001", nil), ("POST", "/v1/sessions", nil), ("GET", "/session/pvt_unknown", nil),
            ("POST", "/session", Data("token=nope".utf8)),
        ]
        let ops = Self.operations(try Self.document())
        for (method, path, body) in calls {
            let template = path.split(separator: "?")[0].replacingOccurrences(of: "collector", with: "{agent}").replacingOccurrences(of: "nobody", with: "{agent}")
                .replacingOccurrences(of: "/releases/1.0.0", with: "/releases/{version}").replacingOccurrences(of: "CVE-2099-0001", with: "{id}").replacingOccurrences(of: "/session/pvt_unknown", with: "/session/{link}")
            let op = try #require(ops["\(method) \(template)"], "\(method) \(template) is not documented")
            let statuses = Set((op["responses"] as? [String: Any] ?? [:]).keys)
            let answer = try await s.call(method, path, token: admin, body: body)
            #expect(statuses.contains(String(answer.status)), "\(method) \(path) answered \(answer.status), documented \(statuses.sorted())")
        }
        // The served document is the one in the repo.
        #expect(try await s.call("GET", "/openapi.json", token: admin).body == Data(FleetOpenAPI.document.utf8))
    }
}
