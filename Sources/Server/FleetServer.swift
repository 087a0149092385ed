import Advisories
import Attestation
import Drift
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import NIOHTTPTypes
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import ServiceLifecycle
import Synchronization
import NIOCore
import ProvenantCore
import SBOM

/// The request context: who is asking, once the bearer token has been checked.
public struct FleetContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var scope: TokenScope?
    /// The token's hash, the rate limiter's key.
    public var tokenHash: String?

    public init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
}

/// Settings the server runs with.
public struct FleetServerOptions: Sendable {
    /// The largest request body read; a larger one is `413` and nothing is stored.
    public var maxBodyBytes = 64 << 20
    /// Bytes of request bodies read at once, server-wide; nil for four times `maxBodyBytes`.
    public var maxUploadBytes: Int?
    /// Seconds a body may take before it must keep up `UploadGate.minimumBytesPerSecond`.
    public var bodyGraceSeconds = 30.0
    public var requestsPerSecond: Double = 50
    public var burst: Double = 200
    public init() {}
}

/// Checks the bearer token of every request but `/healthz`: `401` without a known token, `429` when
/// the token's rate is spent. Scopes are checked by each route (`403`).
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = FleetContext
    let store: any FleetStore
    let limiter: RateLimiter

    func handle(_ request: Request, context: FleetContext, next: (Request, FleetContext) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" || FleetWeb.isSignIn(request) { return try await next(request, context) }
        if FleetWeb.isPage(request) && request.headers[.authorization] == nil {
            // A page read with the session cookie; without a valid one the page answers with the sign-in form.
            var context = context
            if let secret = FleetWeb.sessionCookie(request), TokenHash.isWellFormed(secret),
               let session = try await store.session(hash: TokenHash.hash(secret), now: FleetClock.now()) {
                guard await limiter.allow(session.tokenHash) else {
                    var e = FleetAPIError(.tooManyRequests, field: "authorization", "this session's request rate is spent; retry later")
                    e.headers[.retryAfter] = "1"
                    throw e
                }
                context.scope = session.scope
                context.tokenHash = session.tokenHash
            }
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else { throw FleetAPIError.unauthorized("a bearer token is required") }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw FleetAPIError.unauthorized("the Authorization header is not 'Bearer TOKEN'") }
        let token = String(parts[1]).trimmingCharacters(in: .whitespaces)
        let hash = TokenHash.hash(token)
        guard TokenHash.isWellFormed(token), let scope = try await store.token(hash: hash) else {
            throw FleetAPIError.unauthorized("unknown token")
        }
        guard await limiter.allow(hash) else {
            var e = FleetAPIError(.tooManyRequests, field: "authorization", "this token's request rate is spent; retry later")
            e.headers[.retryAfter] = "1"
            throw e
        }
        var context = context
        context.scope = scope
        context.tokenHash = hash
        return try await next(request, context)
    }
}


/// Over TLS, every answer on a connection tells the browser to come back over HTTPS only for a year
/// (`Strict-Transport-Security`): a sign-in form is never then sent over plain HTTP by a browser that
/// was sent there. Added to each response head as it is written, whoever wrote it: the router, what
/// the router answers by itself (a method no route has, as `DELETE /healthz`), errors, and the 400
/// Hummingbird answers to a request it cannot parse, which no responder sees.
final class StrictTransportSecurityHandler: ChannelOutboundHandler, RemovableChannelHandler, Sendable {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    static var field: HTTPField.Name { .init("Strict-Transport-Security")! }
    static let value = "max-age=31536000"

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var part = unwrapOutboundIn(data)
        if case .head(var head) = part {
            head.headerFields[Self.field] = Self.value
            part = .head(head)
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }
}

/// Turns a store that cannot be reached into `503` with a JSON error and `Retry-After`, so clients
/// retry instead of treating an outage as a refusal.
struct StoreOutageMiddleware: RouterMiddleware {
    typealias Context = FleetContext
    func handle(_ request: Request, context: FleetContext, next: (Request, FleetContext) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch let e as StoreUnavailable {
            var error = FleetAPIError(.serviceUnavailable, field: "database", "the database is unavailable (\(e.reason)); retry later")
            error.headers[.retryAfter] = "1"
            throw error
        } catch let e as any HTTPResponseError {
            throw e
        } catch let e as DatabaseError where e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED {
            // SQLite held by another writer past the busy timeout: an outage like PostgreSQL's, retried.
            var error = FleetAPIError(.serviceUnavailable, field: "database", "the database is busy (\(e.resultCode)); retry later")
            error.headers[.retryAfter] = "1"
            throw error
        } catch {
            // Anything else is the server's fault: logged, and answered 500 without the details.
            // The path redacted too: `/session/pvt_…` is a sign-in link, still good when its use failed
            // (found by helper-211).
            context.logger.error("\(request.method) \(Redactor.redact(request.uri.path)): \(Redactor.redact(String(reflecting: error)))")
            throw FleetAPIError(.internalServerError, field: "server", "the server failed to answer this request; see its log")
        }
    }
}

/// The fleet API's routes over a store.
public struct FleetServer: Sendable {
    public let store: any FleetStore
    public let advisories: FleetAdvisories
    public let options: FleetServerOptions
    /// What each agent's attestations must show; without one, attestations are stored as not checked.
    public let trustPolicy: FleetTrustPolicy?

    public init(store: any FleetStore, advisories: FleetAdvisories, options: FleetServerOptions = FleetServerOptions(), trustPolicy: FleetTrustPolicy? = nil) {
        self.store = store; self.advisories = advisories; self.options = options; self.trustPolicy = trustPolicy
    }

    /// The routes; `secureCookies` marks session cookies `Secure` (the server runs over TLS, where
    /// `run` also gives every answer HSTS).
    public func router(secureCookies: Bool = false) -> Router<FleetContext> {
        let router = Router(context: FleetContext.self)
        router.add(middleware: StoreOutageMiddleware())
        let limiter = RateLimiter(perSecond: options.requestsPerSecond, burst: options.burst)
        router.add(middleware: BearerAuthMiddleware(store: store, limiter: limiter))
        let store = self.store, options = self.options, advisories = self.advisories, trustPolicy = self.trustPolicy
        let (four, over) = options.maxBodyBytes.multipliedReportingOverflow(by: 4)
        let gate = UploadGate(capacity: options.maxUploadBytes ?? (over ? Int.max : four), graceSeconds: options.bodyGraceSeconds)
        // Drifts read stored SBOMs, not bodies: a gate of their own, so read tokens cannot keep agents
        // from uploading (found by review: two drifts gave a push 503 for 25 s).
        let driftGate = UploadGate(capacity: gate.capacity, graceSeconds: options.bodyGraceSeconds)

        // Unauthenticated: one trivial query, never a summary of the fleet (each call listed every agent,
        // and a loop of them slowed every other request tenfold: found by helper-128).
        router.get("/healthz") { _, _ in
            try await store.ping()
            return FleetJSON.response(["status": "ok"])
        }
        router.get("/openapi.json") { _, context in
            try Self.requireRead(context)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: FleetOpenAPI.document)))
        }
        router.post("/v1/agents/:agent/releases/:version") { request, context in
            let (agent, version) = try Self.agentAndVersion(context)
            guard context.scope?.mayWrite(agent: agent) == true else {
                throw FleetAPIError(.forbidden, field: "agent", "this token may not write agent '\(agent)'")
            }
            var artifact: String?
            for (k, v) in request.uri.queryParameters {
                guard k == "artifact" else { throw Self.unknownParameter(k) }
                artifact = String(v)
            }
            var request = request
            return try await gate.withBody(&request, limit: options.maxBodyBytes, what: "SBOM", holder: context.tokenHash) { body in
                // Parsed on a thread of its own: an SBOM of hundreds of thousands of components takes
                // seconds, and on the concurrency pool (two threads here) it starved every other request,
                // health checks included (found by helper-97).
                let data = Data(buffer: body), given = artifact
                var release = try await FleetIngest.offPool { try FleetIngest.release(agent: agent, version: version, body: data, artifact: given) }
                let generation = advisories.currentGeneration
                let seq = try await advisories.sync()
                // Matching a large release blocks its thread (the scanner's concurrentPerform): off the
                // pool, as the parse above, or two pushes held both of its threads (found by helper-207).
                let (components, sources) = (release.components, release.sources)
                release.findings = try await FleetIngest.offPool { try advisories.match(components, sources) }
                switch try await store.addRelease(release) {
                case .created:
                    // An import ran while this release was matched (here, or on another replica): its
                    // re-match may not have seen the release, so the release is matched again against
                    // the database as it is now.
                    let moved = try await advisories.logMoved(since: seq)
                    if advisories.currentGeneration != generation || moved {
                        if store.sharesAdvisories { try await advisories.sync(atLeast: try await store.latestAdvisorySeq()) }
                        let names = Set(release.sources.compactMap(\.osv))
                        _ = try await advisories.rematch(names)
                    }
                    return FleetJSON.response(FleetIngest.Receipt(agent: agent, version: version, components: release.components.count, sbomSHA256: release.sbomSHA256), status: .created)
                case .unchanged:
                    // The same SBOM again records what a release stored before they were kept did not.
                    try await store.recordUnreadInputs(agent: agent, version: version, release.unreadInputs)
                    return FleetJSON.response(FleetIngest.Receipt(agent: agent, version: version, components: release.components.count, sbomSHA256: release.sbomSHA256))
                case .conflict(let existing):
                    throw FleetAPIError(.conflict, field: "version", "release \(agent) \(version) exists with another SBOM (sha256 \(existing.prefix(16))…); releases are immutable")
                case .artifactConflict(let existing):
                    throw FleetAPIError(.conflict, field: "artifact", "release \(agent) \(version) exists with this SBOM and \(existing.map { "artifact sha256:\($0.prefix(16))…" } ?? "no artifact digest"); releases are immutable")
                }
            }
        }
        router.post("/v1/deployments") { request, context in
            try Self.refuseParameters(request)
            var request = request
            // At the gate's minimum rate, as uploads are: a slow body was never timed out (helper-161).
            let d = try await gate.withBody(&request, limit: 64 << 10, what: "deployment", holder: context.tokenHash) { try FleetIngest.deployment(Data(buffer: $0)) }
            guard context.scope?.mayWrite(agent: d.agent) == true else {
                throw FleetAPIError(.forbidden, field: "agent", "this token may not write agent '\(d.agent)'")
            }
            guard try await store.recordDeployment(agent: d.agent, version: d.version, environment: d.environment, cluster: d.cluster, at: FleetClock.now()) else {
                throw FleetAPIError(.notFound, field: "version", "no release \(d.agent) \(d.version); push it first")
            }
            return FleetJSON.response(d, status: .created)
        }
        router.get("/v1/agents") { request, context in
            try Self.refuseParameters(request)
            try Self.requireRead(context)
            return FleetJSON.response(["agents": try await store.agents()])
        }
        router.get("/v1/agents/:agent/releases") { request, context in
            try Self.refuseParameters(request)
            try Self.requireRead(context)
            let agent = try Self.segment(context, "agent")
            guard let releases = try await store.releases(agent: agent) else { throw FleetAPIError(.notFound, field: "agent", "no agent '\(agent)'") }
            return FleetJSON.response(["releases": releases])
        }
        Self.releaseRead(router, "") { agent, version in try await store.release(agent: agent, version: version) }
        // Page by page: a release of 250,000 components built whole, a dozen at once, held the server's
        // threads (health checks included) for seconds (found by helper-137).
        router.get("/v1/agents/:agent/releases/:version/components") { request, context in
            try Self.requireRead(context)
            let (agent, version) = try Self.agentAndVersion(context)
            let page = try ComponentPage(request.uri.queryParameters)
            guard let found = try await store.components(agent: agent, version: version, after: page.after, limit: page.limit + 1) else {
                throw FleetAPIError(.notFound, field: "version", "no release \(agent) \(version)")
            }
            return FleetJSON.response(ComponentPage.Answer(components: Array(found.prefix(page.limit)), next: found.count > page.limit ? found[page.limit - 1].purl : nil))
        }
        router.get("/v1/agents/:agent/releases/:version/findings") { request, context in
            try Self.refuseParameters(request)
            try Self.requireRead(context)
            let (agent, version) = try Self.agentAndVersion(context)
            let missing = FleetAPIError(.notFound, field: "version", "no release \(agent) \(version)")
            guard let findings = try await store.findings(agent: agent, version: version) else { throw missing }
            // Fail closed: components no advisory could be matched against are listed, so an empty
            // list of findings is never read as "clean" for them.
            try await advisories.sync()
            guard let notChecked = try await advisories.notChecked(store, agent: agent, version: version) else { throw missing }
            return FleetJSON.response(FleetFindingsAnswer(findings: try advisories.live(findings, id: \.id), notChecked: notChecked))
        }
        router.post("/v1/agents/:agent/releases/:version/attestations") { request, context in
            try Self.refuseParameters(request)
            let (agent, version) = try Self.agentAndVersion(context)
            guard context.scope?.mayWrite(agent: agent) == true else {
                throw FleetAPIError(.forbidden, field: "agent", "this token may not write agent '\(agent)'")
            }
            var request = request
            return try await gate.withBody(&request, limit: min(options.maxBodyBytes, AttestationDocument.maxBytes), what: "attestation", holder: context.tokenHash) { body in
                guard let release = try await store.release(agent: agent, version: version) else {
                    throw FleetAPIError(.notFound, field: "version", "no release \(agent) \(version); push it first")
                }
                let data = Data(buffer: body)
                // Parsed and verified on a thread of its own, as an SBOM is: a 44 MB envelope held the
                // request threads for seconds (found by helper-128).
                let now = FleetClock.now()
                let checked = try await FleetIngest.offPool { try FleetProvenance.verify(data, agent: agent, artifactSHA256: release.artifactSHA256, policy: trustPolicy, at: now) }
                switch try await store.addAttestation(agent: agent, version: version, checked, body: data) {
                case .created(let a)?: return FleetJSON.response(a, status: .created)
                case .existing(let a)?:
                    // Judged under another policy: the outcome of judging it now replaces the stored one.
                    guard a.policySHA256 != checked.policySHA256 else { return FleetJSON.response(a) }
                    var now = checked
                    now.createdAt = a.createdAt
                    try await store.updateAttestation(agent: agent, version: version, now)
                    return FleetJSON.response(now)
                case nil: throw FleetAPIError(.notFound, field: "version", "no release \(agent) \(version); push it first")
                }
            }
        }
        Self.releaseRead(router, "/attestations") { agent, version in try await store.attestations(agent: agent, version: version).map { ["attestations": $0] } }
        router.post("/v1/agents/:agent/releases/:version/policy-results") { request, context in
            try Self.refuseParameters(request)
            let (agent, version) = try Self.agentAndVersion(context)
            guard context.scope?.mayWrite(agent: agent) == true else {
                throw FleetAPIError(.forbidden, field: "agent", "this token may not write agent '\(agent)'")
            }
            var request = request
            return try await gate.withBody(&request, limit: 16 << 20, what: "policy results", holder: context.tokenHash) { body in
                let data = Data(buffer: body)
                let results = try await FleetIngest.offPool { try FleetIngest.policyResults(data) }
                guard try await store.replacePolicyResults(agent: agent, version: version, results, at: FleetClock.now()) else {
                    throw FleetAPIError(.notFound, field: "version", "no release \(agent) \(version); push it first")
                }
                return FleetJSON.response(["policyResults": results.count], status: .created)
            }
        }
        Self.releaseRead(router, "/policy-results") { agent, version in try await store.policyResults(agent: agent, version: version).map { ["policyResults": $0] } }
        router.get("/v1/unverified") { request, context in
            try Self.requireRead(context)
            var environment = "production"
            for (k, v) in request.uri.queryParameters {
                guard k == "environment" else { throw Self.unknownParameter(k) }
                guard AgentName.isValid(String(v)) else { throw FleetAPIError(.badRequest, field: "environment", "environment must be 1 to \(AgentName.maxLength) characters of letters, digits and . _ - +") }
                environment = String(v)
            }
            return FleetJSON.response(FleetUnverifiedAnswer(environment: environment, releases: try await store.unverified(environment: environment)))
        }
        router.get("/v1/agents/:agent/releases/:version/drift") { request, context in
            try Self.requireRead(context)
            let (agent, version) = try Self.agentAndVersion(context)
            var from: String?
            for (k, v) in request.uri.queryParameters {
                guard k == "from" else { throw Self.unknownParameter(k) }
                from = String(v)
            }
            guard let from, AgentName.isValid(from) else { throw FleetAPIError(.badRequest, field: "from", "from=VERSION names the release to compare with") }
            // Two stored SBOMs, each up to an upload's size, read and compared: held in the drift gate
            // as two uploads would be, and compared on a thread of its own. Parallel drifts of large
            // releases held every request thread and took gigabytes (found by helper-128).
            let limit = min(options.maxBodyBytes, driftGate.capacity / 2)
            return try await driftGate.holding(2 * limit, holder: context.tokenHash, limit: 2 * limit) {
                guard let old = try await store.sbom(agent: agent, version: from) else { throw FleetAPIError(.notFound, field: "from", "no release \(agent) \(from)") }
                guard let new = try await store.sbom(agent: agent, version: version) else { throw FleetAPIError(.notFound, field: "version", "no release \(agent) \(version)") }
                let answer = try await FleetIngest.offPool { try FleetDrift.compare(agent: agent, from: (from, old), to: (version, new)) }
                return FleetJSON.response(answer)
            }
        }
        router.get("/v1/findings") { request, context in
            try Self.requireRead(context)
            var minimum = SeverityLevel.unknown
            var limit: Int?, after: FleetFindingCursor?
            for (k, v) in request.uri.queryParameters {
                switch k {
                case "severity":
                    guard let level = SeverityLevel(threshold: String(v)) else { throw FleetAPIError(.badRequest, field: "severity", "severity must be low, medium, high or critical") }
                    minimum = level
                case "limit": limit = try ComponentPage.limit(v)
                case "after":
                    guard let cursor = FleetFindingCursor(v) else { throw FleetAPIError(.badRequest, field: "after", "after must be the next value of a previous page") }
                    after = cursor
                default: throw Self.unknownParameter(k)
                }
            }
            if after != nil, limit == nil { throw FleetAPIError(.badRequest, field: "after", "after goes with limit") }
            // With what the findings do not cover: deployed releases with components no advisory could
            // be matched against, so an empty list is never read as a clean fleet.
            try await advisories.sync()
            // Whole, past `maxHits` it is refused, as a component query is (never cut short); a page
            // reads one more than it holds to know whether another follows.
            let read = try await store.findings(minimumRank: minimum.rawValue, after: after, limit: (limit ?? FleetComponentQuery.maxHits) + 1)
            var next: String?
            if let limit {
                if read.count > limit { next = FleetFindingCursor(read[limit - 1]).text }
            } else if read.count > FleetComponentQuery.maxHits {
                throw FleetAPIError(.badRequest, field: "limit", "more than \(FleetComponentQuery.maxHits) findings; ask for a higher severity, or a page at a time with limit")
            }
            let findings = try advisories.live(Array(read.prefix(limit ?? read.count)), id: \.finding.id)
            let (notChecked, notJudged) = try await advisories.fleetNotChecked(store, deployments: try await store.deployments())
            return FleetJSON.response(FleetFleetFindingsAnswer(findings: findings, notChecked: notChecked, releasesNotJudged: notJudged, next: next))
        }
        router.get("/v1/vulnerabilities/:id/affected") { request, context in
            try Self.refuseParameters(request)
            try Self.requireRead(context)
            guard let id = context.parameters.get("id"), Self.isAdvisoryID(id) else {
                throw FleetAPIError(.badRequest, field: "id", "id must be an OSV, CVE or GHSA id: 1 to 128 letters, digits and . _ - :")
            }
            try await advisories.sync()
            let ids = try advisories.ids(for: id)
            guard !ids.isEmpty else { throw FleetAPIError(.notFound, field: "id", "the server's advisory database knows no advisory '\(id)'; import it first") }
            return FleetJSON.response(FleetAffectedAnswer(id: id, advisories: ids, affected: try await store.affected(advisoryIDs: try advisories.live(ids, id: { $0 }))))
        }
        router.post("/v1/advisories/import") { request, context in
            guard context.scope?.isAdmin == true else { throw FleetAPIError(.forbidden, field: "authorization", "importing advisories needs an admin token") }
            let asOf = try Self.importAsOf(request.uri.queryParameters)
            var request = request
            return try await gate.withBody(&request, limit: options.maxBodyBytes, what: "advisories", holder: context.tokenHash) { body in
                FleetJSON.response(try await advisories.importBody(Data(buffer: body), asOf: asOf))
            }
        }
        router.get("/v1/components") { request, context in
            try Self.requireRead(context)
            return FleetJSON.response(try await FleetComponentQuery(request.uri.queryParameters).answer(store))
        }
        FleetWeb.addRoutes(to: router, store: store, advisories: advisories, limiter: limiter, secureCookies: secureCookies, gate: gate)
        return router
    }

    /// `GET /v1/agents/{agent}/releases/{version}SUFFIX`: read scope, the names checked, and `404`
    /// when `fetch` finds no such release.
    static func releaseRead<T: Encodable & Sendable>(_ router: Router<FleetContext>, _ suffix: String,
                                                      _ fetch: @escaping @Sendable (String, String) async throws -> T?) {
        router.get(RouterPath("/v1/agents/:agent/releases/:version" + suffix)) { request, context in
            try refuseParameters(request)
            try requireRead(context)
            let (agent, version) = try agentAndVersion(context)
            guard let answer = try await fetch(agent, version) else { throw FleetAPIError(.notFound, field: "version", "no release \(agent) \(version)") }
            return FleetJSON.response(answer)
        }
    }

    static func requireRead(_ context: FleetContext) throws {
        guard context.scope?.mayRead == true else { throw FleetAPIError(.forbidden, field: "authorization", "this token may not read (scope \(context.scope?.description ?? "none"))") }
    }

    /// A query parameter the route does not take. The name is input: it is named in the message only,
    /// quoted and redacted, as an unknown body field is, never echoed as the error's field.
    /// Refuses any query parameter on a route that takes none: `?severity=critical` answered every
    /// severity, and `POST /v1/deployments?dry_run=1` recorded a deployment (found by helper-161).
    static func refuseParameters(_ request: Request) throws {
        if let first = request.uri.queryParameters.first { throw unknownParameter(first.key) }
    }

    /// An import's `as_of=TIME` (RFC 3339, or a day) and `ecosystem=NAME` (repeatable): the body is a
    /// whole export of those OSV ecosystems, fetched then. One needs the other.
    static func importAsOf(_ query: Hummingbird.Parameters) throws -> FleetAdvisories.ImportAsOf? {
        var time: String?
        var ecosystems: [String] = []
        for (k, v) in query {
            switch k {
            case "as_of":
                guard time == nil else { throw FleetAPIError(.badRequest, field: "as_of", "as_of is given twice") }
                switch AdvisoryImporter.fetchedTime(String(v)) {
                case .success(let t): time = t
                case .failure(let e): throw FleetAPIError(.badRequest, field: "as_of", "as_of \(e.message)")
                }
            case "ecosystem":
                // OSV ecosystem names hold spaces (`Red Hat`, `Rocky Linux`): only what a terminal or a
                // table would show escaped (control, bidirectional-override characters) is refused (helper-224).
                let e = String(v)
                guard (1...100).contains(e.utf8.count), Redactor.escapeTableCell(e) == e, e.trimmingCharacters(in: .whitespaces) == e else {
                    throw FleetAPIError(.badRequest, field: "ecosystem", "ecosystem must be an OSV ecosystem name (PyPI, Debian:12, Red Hat) of 1 to 100 bytes, without control characters or spaces around it")
                }
                guard ecosystems.count < 64 else { throw FleetAPIError(.badRequest, field: "ecosystem", "at most 64 ecosystems an import") }
                if !ecosystems.contains(e) { ecosystems.append(e) }
            default: throw unknownParameter(k)
            }
        }
        if time != nil, ecosystems.isEmpty { throw FleetAPIError(.badRequest, field: "ecosystem", "as_of needs ecosystem=NAME: which ecosystems the body is a whole export of") }
        if time == nil, !ecosystems.isEmpty { throw FleetAPIError(.badRequest, field: "as_of", "ecosystem needs as_of=TIME: when the export was fetched") }
        return time.map { FleetAdvisories.ImportAsOf(time: $0, ecosystems: ecosystems) }
    }

    static func unknownParameter(_ name: Substring) -> FleetAPIError {
        FleetAPIError(.badRequest, field: "query", "unknown parameter '\(Redactor.quote(name, max: 40))'")
    }

    static func isAdvisoryID(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x2e || b == 0x5f || b == 0x3a
        }
    }

    static func segment(_ context: FleetContext, _ name: String) throws -> String {
        guard let value = context.parameters.get(name), AgentName.isValid(value) else {
            throw FleetAPIError(.badRequest, field: name, "\(name) must be 1 to \(AgentName.maxLength) characters of letters, digits and . _ - +")
        }
        return value
    }

    static func agentAndVersion(_ context: FleetContext) throws -> (String, String) {
        (try segment(context, "agent"), try segment(context, "version"))
    }

    /// The server's certificate chain and key, from PEM files. The key file must be the owner's only.
    public static func tlsConfiguration(certificate: String, key: String) throws -> FleetTLS {
        var st = stat()
        guard stat(key, &st) == 0 else { throw FleetTLSError("--tls-key \(Redactor.redact(key)): cannot read it") }
        guard st.st_mode & 0o077 == 0 else {
            throw FleetTLSError("--tls-key \(Redactor.redact(key)): mode \(String(st.st_mode & 0o777, radix: 8)) lets others read the key; chmod 600 it")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else { throw FleetTLSError("--tls-cert \(Redactor.redact(certificate)): no certificate in it") }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
            // A closing connection waits this long for the client's close_notify: 5 s by default, which
            // doubled how long an early-answered connection held its descriptor (helper-217).
            configuration.shutdownTimeout = .seconds(1)
            return FleetTLS(configuration: configuration)
        } catch let e as FleetTLSError { throw e } catch {
            throw FleetTLSError("--tls-cert/--tls-key: not a PEM certificate chain and key (\(error))")
        }
    }

    /// Why NIO's shared event loops, which Hummingbird, PostgreSQL's client and the push client run
    /// on, cannot start (they stop the process when they cannot open their descriptors); nil when they
    /// can. Asked before anything starts them.
    public static func eventLoopShortfall(for what: String = "the fleet server") -> String? {
        DescriptorHeadroom.shortfall(eventLoops: NIOSingletons.groupLoopCountSuggestion, for: what)
    }

    /// Runs the server until it is shut down (SIGTERM or SIGINT end it gracefully); over TLS when `tls` is given.
    /// `giveUp` runs when a shutdown has not ended 25 s after it began (work that does not heed
    /// cancellation, such as a lock wait on PostgreSQL): it must end the process.
    public func run(host: String, port: Int, logger: Logger, tls: FleetTLS? = nil,
                    onRunning: @escaping @Sendable (Int) async -> Void = { _ in },
                    giveUp: @escaping @Sendable () -> Void = { exit(1) }) async throws {
        // A connection idle for 30 s (a request head that never ends, say) is closed.
        // Over TLS, HSTS is added where the response heads leave, after the responder: the 400 that
        // Hummingbird answers to a request NIO cannot parse (a malformed request line, an oversized
        // header) never reaches a responder, and had none (Left undone, helper-169 #7).
        let http1 = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [UnreadBodyCloser()] + (tls == nil ? [] : [StrictTransportSecurityHandler()]), idleTimeout: .seconds(30)))
        let responder = router(secureCookies: tls != nil).buildResponder()
        let app = Application(responder: responder, server: try tls.map { try .tls(http1, tlsConfiguration: $0.configuration) } ?? http1,
                              configuration: .init(address: .hostname(host, port: port), serverName: "provenant"),
                              onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
        // SIGTERM and SIGINT start a graceful shutdown, which waits for the requests in flight; past
        // 10 s they are cancelled. Hummingbird's own runService waits without limit, so one request that
        // never finished (an upload that stalled) kept a stopped server running for good. Work that
        // does not heed cancellation is given 15 s more, then `giveUp` ends the process (the service
        // group's own limit on cancellation would trap instead, and skip the caller's cleanup).
        let backstop = ShutdownBackstop(service: app, after: .seconds(25), giveUp: giveUp)
        var group = ServiceGroupConfiguration(services: [backstop], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(10)
        defer { backstop.ended() }
        try await ServiceGroup(configuration: group).run()
    }
}

/// `GET /v1/vulnerabilities/{id}/affected`: the id asked for, the advisory ids it names, and the
/// deployed releases they affect.
struct FleetAffectedAnswer: Codable {
    var id: String
    var advisories: [String]
    var affected: [AffectedRelease]
}

/// A release's findings, and its components no advisory could be matched against.
struct FleetFindingsAnswer: Codable {
    var findings: [StoredFinding]
    var notChecked: [FleetNotChecked]
}

/// `GET /v1/unverified`: releases running in an environment whose provenance did not verify.
struct FleetUnverifiedAnswer: Codable {
    var environment: String
    var releases: [UnverifiedRelease]
}

/// The server's TLS settings, made by `FleetServer.tlsConfiguration`.
public struct FleetTLS: Sendable {
    let configuration: TLSConfiguration
}

/// A certificate or key the server cannot serve with.
public struct FleetTLSError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// Timestamps the server writes: RFC 3339 UTC, to the second.
enum FleetClock {
    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}

/// A service that runs another, and once a graceful shutdown has begun, calls `giveUp` if the
/// server has not ended `after` it (`ended` says it has).
final class ShutdownBackstop<Inner: Service>: Service, Sendable {
    let service: Inner
    let seconds: Double
    let giveUp: @Sendable () -> Void
    private let done = Mutex(false)

    init(service: Inner, after: Duration, giveUp: @escaping @Sendable () -> Void) {
        self.service = service; self.seconds = Double(after.components.seconds); self.giveUp = giveUp
    }

    func ended() { done.withLock { $0 = true } }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await service.run()
        } onGracefulShutdown: { [self] in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
                guard !done.withLock({ $0 }) else { return }
                giveUp()
            }
        }
    }
}
