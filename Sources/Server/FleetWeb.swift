import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ProvenantCore

/// The web pages' routes and browser sessions. A browser never holds a token: it signs in with one
/// (a form, or a one-time link made with the API) and gets a session cookie that is good for reading
/// pages only: every other route still wants the bearer token, so a page cannot be made to write.
enum FleetWeb {
    static let cookieName = "provenant_session"
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    /// `same-origin`: pages link only here, and with `no-referrer` browsers send `Origin: null` on the
    /// sign-in forms, which the cross-site check must refuse (found by review).
    static let referrerValue = "same-origin"
    static let sessionLifetime: TimeInterval = 8 * 3600
    static let linkLifetime: TimeInterval = 120

    /// The pages: GET `/` and `/ui/…`.
    static func isPage(_ request: Request) -> Bool {
        request.method == .get && (request.uri.path == "/" || request.uri.path.hasPrefix("/ui/"))
    }

    /// Sign-in routes authenticate by what they are given, not by a bearer token; signing out, by the
    /// session cookie it ends.
    static func isSignIn(_ request: Request) -> Bool {
        (request.method == .post && (request.uri.path == "/session" || request.uri.path == "/signout"))
            || ((request.method == .get || request.method == .post) && request.uri.path.hasPrefix("/session/"))
    }

    /// Where a sign-in request came from, as far as the browser says: a page elsewhere must not sign a
    /// browser in under its own token (login CSRF). Browsers send `Sec-Fetch-Site` (to HTTPS and
    /// loopback); a cross-origin POST carries `Origin`; a plain-HTTP GET may carry neither.
    enum RequestSite { case sameOrigin, elsewhere, unknown }

    static func site(_ request: Request) -> RequestSite {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] { return site == "same-origin" || site == "none" ? .sameOrigin : .elsewhere }
        if let origin = request.headers[HTTPField.Name("Origin")!] {
            guard let authority = request.head.authority, let url = URL(string: origin), let scheme = url.scheme, var host = url.host, !host.isEmpty else { return .elsewhere }
            if host.contains(":") && !host.hasPrefix("[") { host = "[" + host + "]" }
            let port = url.port ?? (scheme == "https" ? 443 : 80)
            let candidates = url.port == nil ? [host, "\(host):\(port)"] : ["\(host):\(port)"]
            return candidates.contains(authority.lowercased()) || candidates.contains(authority) ? .sameOrigin : .elsewhere
        }
        return .unknown
    }

    /// One field of a small `application/x-www-form-urlencoded` body (the sign-in forms); the last
    /// occurrence wins, as the two forms read it before.
    /// Read through the upload gate, at its minimum rate: a sign-in body sent a byte every ten seconds
    /// held its connection open for as long as the sender liked, without a token (found by helper-161).
    static func formField(_ request: Request, _ name: String, gate: UploadGate) async throws -> String? {
        var request = request
        let body = try await gate.withBody(&request, limit: 4096, what: "form", holder: nil) { String(buffer: $0) }
        var value: String?
        for pair in body.split(separator: "&") where pair.hasPrefix(name + "=") {
            value = String(pair.dropFirst(name.count + 1)).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return value
    }

    /// The session cookie's value, when the request carries one.
    static func sessionCookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces)
                if kv.hasPrefix(cookieName + "=") { return String(kv.dropFirst(cookieName.count + 1)) }
            }
        }
        return nil
    }

    static func timestamp(_ offset: TimeInterval) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date().addingTimeInterval(offset))
    }

    /// The stylesheet is inline, allowed by its hash: no other style, no script, no frame, no form but ours.
    static let contentSecurityPolicy: String = {
        let hash = Data(SHA256.hash(data: Data(FleetPages.stylesheet.utf8))).base64EncodedString()
        return "default-src 'none'; style-src 'sha256-\(hash)'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }()

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8", .contentSecurityPolicy: contentSecurityPolicy, .xContentTypeOptions: "nosniff",
            FleetWeb.referrerPolicy: referrerValue, .cacheControl: "no-store",
        ], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func signInPage(_ message: String) -> Response {
        html(FleetPages.signIn(message: message), status: .unauthorized)
    }

    /// A new session for the token with `tokenHash`: its cookie, and a redirect to `next`.
    static func startSession(_ store: any FleetStore, tokenHash: String, next: String, secure: Bool) async throws -> Response {
        let secret = TokenHash.generate()
        try await store.createSession(hash: TokenHash.hash(secret), kind: "session", tokenHash: tokenHash, expiresAt: timestamp(sessionLifetime), now: FleetClock.now())
        let cookie = "\(cookieName)=\(secret); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessionLifetime))" + (secure ? "; Secure" : "")
        return Response(status: .seeOther, headers: [.location: next, .setCookie: cookie, .cacheControl: "no-store", FleetWeb.referrerPolicy: referrerValue])
    }

    /// Only a path on this server: `/x`, never `//host` or a URL.
    static func localPath(_ s: String?) -> String {
        guard let s, s.hasPrefix("/"), !s.hasPrefix("//"), !s.contains("\\"),
              s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }), s.utf8.count <= 512 else { return "/" }
        return s
    }

    static func addRoutes(to router: Router<FleetContext>, store: any FleetStore, advisories: FleetAdvisories, limiter: RateLimiter, secureCookies: Bool, gate: UploadGate) {
        @Sendable func reader(_ context: FleetContext) -> Bool { context.scope?.mayRead == true }

        router.get("/") { _, context in
            guard reader(context) else { return signInPage(context.scope == nil ? "Sign in to see the fleet." : "This token may not read.") }
            let deployments = try await store.deployments()
            let (notChecked, notJudged) = try await advisories.fleetNotChecked(store, deployments: deployments)
            // Every finding is counted by severity, and withdrawn ones are left out only after they are
            // read (a first page of them read as a clean fleet, found by review); read a page at a time,
            // keeping only the counts and the findings shown: the whole fleet's findings were held at
            // once, per request (found by helper-207).
            var counts: [String: Int] = [:], shown: [FleetFinding] = [], total = 0
            var after: FleetFindingCursor?
            while true {
                let page = try await store.findings(minimumRank: SeverityLevel.unknown.rawValue, after: after, limit: FleetPages.findingsPage)
                for x in try advisories.live(page, id: \.finding.id) {
                    counts[FleetPages.bucket(x.finding.severity), default: 0] += 1
                    total += 1
                    if shown.count < FleetPages.findingsShown { shown.append(x) }
                }
                guard page.count == FleetPages.findingsPage, let last = page.last else { break }
                after = FleetFindingCursor(last)
            }
            let fleet = FleetPages.Fleet(agents: try await store.agents(), deployments: deployments, findings: shown, counts: counts, findingsTotal: total,
                                         notChecked: notChecked, releasesNotJudged: notJudged)
            return html(FleetPages.fleet(fleet))
        }
        router.get("/ui/agents/:agent/releases/:version") { _, context in
            guard reader(context) else { return signInPage(context.scope == nil ? "Sign in to see this release." : "This token may not read.") }
            guard let agent = context.parameters.get("agent"), let version = context.parameters.get("version"),
                  AgentName.isValid(agent), AgentName.isValid(version),
                  let summary = try await store.release(agent: agent, version: version),
                  let components = try await store.components(agent: agent, version: version, after: nil, limit: FleetPages.componentsShown),
                  let findings = try await store.findings(agent: agent, version: version),
                  let attestations = try await store.attestations(agent: agent, version: version),
                  let policy = try await store.policyResults(agent: agent, version: version) else {
                return html(FleetPages.notFound("No such release."), status: .notFound)
            }
            try await advisories.sync()
            guard let notChecked = try await advisories.notChecked(store, agent: agent, version: version) else {
                return html(FleetPages.notFound("No such release."), status: .notFound)
            }
            return html(FleetPages.release(.init(summary: summary, components: components, findings: try advisories.live(findings, id: \.id), notChecked: notChecked,
                                                 attestations: attestations, policy: policy)))
        }
        router.get("/ui/vulnerabilities/:id") { _, context in
            guard reader(context) else { return signInPage(context.scope == nil ? "Sign in to see this vulnerability." : "This token may not read.") }
            guard let id = context.parameters.get("id"), FleetServer.isAdvisoryID(id) else {
                return html(FleetPages.notFound("Not an OSV, CVE or GHSA id."), status: .notFound)
            }
            try await advisories.sync()
            let ids = try advisories.ids(for: id)
            // Echoed through the redactor, as the API's error is: a pasted token was shown whole (helper-137).
            guard !ids.isEmpty else { return html(FleetPages.notFound("The server's advisory database knows no advisory \(Redactor.quote(id, max: 100))."), status: .notFound) }
            return html(FleetPages.vulnerability(id: id, advisories: ids, affected: try await store.affected(advisoryIDs: try advisories.live(ids, id: { $0 }))))
        }
        // The sign-in form: a read or admin token, as `application/x-www-form-urlencoded`.
        router.post("/session") { request, _ in
            guard site(request) != .elsewhere else { return signInPage("Sign in from this server's own page.") }
            let token = (try await formField(request, "token", gate: gate) ?? "").trimmingCharacters(in: .whitespaces)
            guard TokenHash.isWellFormed(token), let scope = try await store.token(hash: TokenHash.hash(token)) else {
                return signInPage("That is not a token this server knows.")
            }
            guard scope.mayRead else { return signInPage("This token may not read; sign in with a read or admin token.") }
            // The token's own rate, as for its API requests: each sign-in writes a session (found by helper-74).
            guard await limiter.allow(TokenHash.hash(token)) else {
                var page = signInPage("Too many requests with this token; wait a moment.")
                page.status = .tooManyRequests
                return page
            }
            return try await startSession(store, tokenHash: TokenHash.hash(token), next: "/", secure: secureCookies)
        }
        // Signing out ends the session on the server, not only in this browser: a copied cookie is
        // worth nothing after. From another site it is refused, as signing in is.
        router.post("/signout") { request, _ in
            guard site(request) != .elsewhere else { return signInPage("Sign out from this server's own page.") }
            if let secret = sessionCookie(request), TokenHash.isWellFormed(secret) { try await store.endSession(hash: TokenHash.hash(secret)) }
            let cookie = "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secureCookies ? "; Secure" : "")
            return Response(status: .seeOther, headers: [.location: "/", .setCookie: cookie, .cacheControl: "no-store", FleetWeb.referrerPolicy: referrerValue])
        }
        // A one-time sign-in link for a browser, made with a bearer token: `provenant` prints it, a
        // test opens it in Chromium. It works once, within two minutes.
        router.post("/v1/sessions") { _, context in
            try FleetServer.requireRead(context)
            guard let tokenHash = context.tokenHash else { throw FleetAPIError.unauthorized("a bearer token is required") }
            let secret = TokenHash.generate()
            let expires = timestamp(linkLifetime)
            try await store.createSession(hash: TokenHash.hash(secret), kind: "link", tokenHash: tokenHash, expiresAt: expires, now: FleetClock.now())
            return FleetJSON.response(["link": "/session/" + secret, "expiresAt": expires], status: .created)
        }
        router.get("/session/:link") { request, context in
            var next: String?
            for (k, v) in request.uri.queryParameters where k == "next" { next = String(v).removingPercentEncoding }
            switch site(request) {
            case .elsewhere: return signInPage("Open sign-in links directly, not from another site.")
            case .unknown:
                // The browser does not say where the link was opened from (plain HTTP): it confirms with
                // a POST from this page, which carries Origin, instead of signing in on a GET.
                guard let link = context.parameters.get("link"), TokenHash.isWellFormed(link) else {
                    return signInPage("That sign-in link is unknown, used or expired.")
                }
                return html(FleetPages.confirmLink(link: link, next: localPath(next)), status: .ok)
            case .sameOrigin:
                return try await useLink(context.parameters.get("link"), next: next)
            }
        }
        router.post("/session/:link") { request, context in
            guard site(request) != .elsewhere else { return signInPage("Open sign-in links directly, not from another site.") }
            return try await useLink(context.parameters.get("link"), next: try await formField(request, "next", gate: gate))
        }
        @Sendable func useLink(_ link: String?, next: String?) async throws -> Response {
            guard let link, TokenHash.isWellFormed(link),
                  let tokenHash = try await store.consumeLink(hash: TokenHash.hash(link), now: FleetClock.now()) else {
                return signInPage("That sign-in link is unknown, used or expired.")
            }
            return try await startSession(store, tokenHash: tokenHash, next: localPath(next), secure: secureCookies)
        }
    }
}
