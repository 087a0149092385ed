import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport
@testable import Server

/// Issue 16: the web pages, loaded in headless Chromium (Debian's `chromium`, which `.ci/run` and
/// `scripts/test` install) and asserted on the DOM it built. The browser signs in with a one-time
/// link made through the API, as a user would with `POST /v1/sessions`; it never sees the token.
@Suite(.serialized) struct FleetPagesTests {
    static var chromium: String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            for name in ["chromium", "chromium-browser"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }

    /// Chromium's DOM of `url` after load (`--dump-dom`), or a screenshot of it when `screenshot` is given.
    static func browse(_ url: String, screenshot: URL? = nil) throws -> String {
        let browser = try #require(chromium, "chromium is not installed: scripts/test and .ci/run install Debian's chromium")
        let profile = try scratchDirectory("chromium-profile")
        defer { try? FileManager.default.removeItem(at: profile) }
        var args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile.path]
        if let screenshot { args += ["--hide-scrollbars", "--window-size=1280,1500", "--screenshot=" + screenshot.path] } else { args.append("--dump-dom") }
        let r = try runProcess(browser, args + [url])
        try #require(r.code == 0, "chromium failed: \(r.err.suffix(2000))")
        return r.out
    }

    /// A fresh one-time sign-in link that goes on to `next`.
    static func link(_ s: FleetServerProcess, _ token: String, next: String) async throws -> String {
        let made = try await s.call("POST", "/v1/sessions", token: token)
        let link = try #require(made.json["link"] as? String, "\(made.status)")
        return s.base + link + "?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/")
    }

    @Test(arguments: FleetBackend.allCases) func pagesShowTheFleetAReleaseAndAVulnerabilityInChromium(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let admin = try s.token("admin")
        let read = try s.token("read")
        // Two agents, one deployed with a vulnerable crate (mio 0.8.10, RUSTSEC-2024-0019), one staged.
        let cargo = try FleetFixtures.sbom("Cargom.lock", format: "cyclonedx-json", in: s.dir)
        let npm = try FleetFixtures.sbom("package-lock-v3.json", format: "cyclonedx-json", in: s.dir)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.0.0", token: admin, body: cargo).status == 201)
        #expect(try await s.call("POST", "/v1/agents/remediator/releases/2.1.0", token: admin, body: npm).status == 201)
        #expect(try await s.call("POST", "/v1/agents/remediator/releases/2.2.0+b1", token: admin, body: npm).status == 201)
        for (agent, version, env) in [("collector", "1.0.0", "production"), ("remediator", "2.1.0", "staging")] {
            let d = #"{"agent":"\#(agent)","version":"\#(version)","environment":"\#(env)","cluster":"eu-1"}"#
            #expect(try await s.call("POST", "/v1/deployments", token: admin, body: Data(d.utf8)).status == 201)
        }
        let mio = try Data(contentsOf: Bundle.module.url(forResource: "RUSTSEC-2024-0019", withExtension: "json", subdirectory: "Fixtures/advisories")!)
        #expect(try await s.call("POST", "/v1/advisories/import", token: admin, body: mio).status == 200)
        // Markup in input is text on the page, never markup: a policy result naming a script.
        let hostile = #"[{"rule":"pss:privileged","severity":"critical","kind":"Pod","name":"<script>alert(1)</script>","found":"<img src=x onerror=alert(1)>","location":{"path":"pod.yaml","line":3}}]"#
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.0.0/policy-results", token: admin, body: Data(hostile.utf8)).status == 201)

        // Without a session the page is the sign-in form and shows nothing of the fleet.
        let anonymous = try Self.browse(s.base + "/")
        #expect(anonymous.contains("id=\"sign-in-message\"") && !anonymous.contains("collector"), "\(anonymous.prefix(400))")

        // The fleet.
        let fleet = try Self.browse(try await Self.link(s, read, next: "/"))
        #expect(fleet.contains(#"<span id="agent-count">2</span>"#), "\(fleet.prefix(2000))")
        #expect(fleet.contains(#"<span id="environment-count">2</span>"#))
        #expect(fleet.contains(#"data-agent="collector""#) && fleet.contains(#"data-agent="remediator""#))
        #expect(fleet.contains(#"id="deployments-production""#) && fleet.contains(#"id="deployments-staging""#))
        #expect(fleet.contains(#"<span id="unverified-count">2</span>"#), "neither release has verified provenance")
        #expect(fleet.contains(#"data-count="unrated">1<"#) && fleet.contains(#"data-count="critical">0<"#), "RUSTSEC-2024-0019 (no severity given) is one unrated finding")
        #expect(fleet.contains(#"href="/ui/vulnerabilities/RUSTSEC-2024-0019""#))
        // Found by helper-128: the fleet's counts said nothing of what was not checked. No npm advisory
        // was imported, so the deployed remediator's components are NOT CHECKED, on the page and in
        // the API; the crates of collector are checked.
        #expect(fleet.contains(#"id="not-checked""#) && fleet.contains("NOT CHECKED"), "\(fleet.prefix(3000))")
        let listed = try await s.call("GET", "/v1/findings", token: read).json
        let notChecked = listed["notChecked"] as? [[String: Any]] ?? []
        #expect(notChecked.map { "\($0["agent"] ?? "") \($0["version"] ?? "")" } == ["remediator 2.1.0"] && (notChecked.first?["packages"] as? Int ?? 0) > 0, "\(listed)")
        #expect(listed["releasesNotJudged"] as? Int == 0)
        // A body of more than 10,000 policy results is refused before it is parsed.
        let many = Data(("[" + Array(repeating: "{}", count: 10_001).joined(separator: ",") + "]").utf8)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.0.0/policy-results", token: admin, body: many).status == 413)
        #expect(FleetIngest.topLevelCount(Data(#"[{"a":[1,2,"x,]"]}, "y", 3]"#.utf8), max: 10) == 3)
        #expect(FleetIngest.topLevelCount(Data("[ ]".utf8), max: 10) == 0 && FleetIngest.topLevelCount(Data("{}".utf8), max: 10) == nil)

        // A release: provenance, findings, not-checked components, policy findings, components.
        let release = try Self.browse(try await Self.link(s, read, next: "/ui/agents/collector/releases/1.0.0"))
        #expect(release.contains(#"data-agent="collector" data-version="1.0.0""#), "\(release.prefix(1500))")
        #expect(release.contains(#"<dd id="provenance"><span class="badge none" data-status="none">"#))
        #expect(release.contains(#"id="findings""#) && release.contains("RUSTSEC-2024-0019") && release.contains("pkg:cargo/mio@0.7.14"))
        #expect(release.contains(#"id="policy""#) && release.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !release.contains("<script>"))
        #expect(!release.contains("<img"), "input markup is escaped")
        #expect(release.contains(#"id="components""#))
        // The fleet page's link to a version with '+' opens that release.
        #expect(fleet.contains(#"href="/ui/agents/remediator/releases/2.2.0+b1""#))
        let plus = try Self.browse(try await Self.link(s, read, next: "/ui/agents/remediator/releases/2.2.0+b1"))
        #expect(plus.contains(#"data-version="2.2.0+b1""#))
        let remediator = try Self.browse(try await Self.link(s, read, next: "/ui/agents/remediator/releases/2.1.0"))
        #expect(remediator.contains(#"data-group="npm""#), "no npm advisory was imported: its components are not checked")

        // A vulnerability, by CVE alias: the deployments it affects.
        let vuln = try Self.browse(try await Self.link(s, read, next: "/ui/vulnerabilities/CVE-2024-27308"))
        #expect(vuln.contains(#"id="affected""#) && vuln.contains("collector 1.0.0") && vuln.contains(#"data-environment="production""#), "\(vuln.prefix(1500))")
        #expect(!vuln.contains("remediator"))

        // A link works once; a token that may not read cannot make one.
        let once = try await Self.link(s, read, next: "/")
        _ = try Self.browse(once)
        let reused = try Self.browse(once)
        #expect(reused.contains("unknown, used or expired") && !reused.contains("data-agent"))
        #expect(try await s.call("POST", "/v1/sessions", token: try s.token("ingest")).status == 403)

        // Screenshots, for the closing note (kept when PROVENANT_SCREENSHOTS names a directory).
        let shots = ProcessInfo.processInfo.environment["PROVENANT_SCREENSHOTS"].map { URL(fileURLWithPath: $0) } ?? s.dir
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        for (name, path) in [("fleet", "/"), ("release", "/ui/agents/collector/releases/1.0.0"), ("vulnerability", "/ui/vulnerabilities/CVE-2024-27308")] {
            let file = shots.appendingPathComponent("\(name)-\(backend).png")
            _ = try Self.browse(try await Self.link(s, read, next: path), screenshot: file)
            let png = try Data(contentsOf: file)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "\(name): \(png.count) bytes")
        }
    }

    /// The sign-in form spends the token's rate as its API requests do: each sign-in writes a session,
    /// and the form went around the limiter (found by helper-74).
    @Test func theSignInFormIsRateLimitedPerToken() async throws {
        // 0.2 a second, bursts of 2: however slowly a loaded machine sends the 14, most are refused.
        let s = try FleetServerProcess(["--rate-limit", "0.2"], backend: .sqlite)
        let read = try s.token("read")
        var statuses: [Int] = []
        for _ in 0..<14 {
            var request = URLRequest(url: URL(string: s.base + "/session")!)
            request.httpMethod = "POST"
            request.httpBody = Data("token=\(read)".utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            let (_, response) = try await URLSession(configuration: .ephemeral, delegate: NoRedirect(), delegateQueue: nil).data(for: request)
            statuses.append((response as? HTTPURLResponse)?.statusCode ?? 0)
        }
        #expect(statuses.prefix(2) == [303, 303] && statuses.contains(429) && statuses.allSatisfy { $0 == 303 || $0 == 429 }, "\(statuses)")
    }

    /// The fleet page counts every finding by severity: reading only the 501 it lists put all 1,200
    /// findings here under critical (found by review).
    @Test func theFleetPageCountsEveryFinding() async throws {
        let s = try FleetServerProcess()
        let admin = try s.token("admin")
        let components = (0..<600).map { #"{"type":"library","name":"lodash","version":"5.0.\#($0)","purl":"pkg:npm/lodash@5.0.\#($0)"}"# }
        let body = #"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["# + components.joined(separator: ",") + "]}"
        #expect(try await s.call("POST", "/v1/agents/wide/releases/1", token: admin, body: Data(body.utf8)).status == 201)
        for (id, severity) in [("GHSA-aaaa-aaaa-aaaa", "CRITICAL"), ("GHSA-bbbb-bbbb-bbbb", "HIGH")] {
            let osv = #"{"id":"\#(id)","modified":"2026-01-01T00:00:00Z","database_specific":{"severity":"\#(severity)"},"affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#
            #expect(try await s.call("POST", "/v1/advisories/import", token: admin, body: Data(osv.utf8)).status == 200)
        }
        #expect((try await s.call("GET", "/v1/findings", token: admin).json["findings"] as? [Any])?.count == 1200)
        var request = URLRequest(url: URL(string: s.base + "/session")!)
        request.httpMethod = "POST"
        request.httpBody = Data("token=\(admin)".utf8)
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        let (_, response) = try await URLSession(configuration: .ephemeral, delegate: NoRedirect(), delegateQueue: nil).data(for: request)
        let cookie = try #require((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Set-Cookie"))
        var page = URLRequest(url: URL(string: s.base + "/")!)
        page.setValue(String(cookie.split(separator: ";")[0]), forHTTPHeaderField: "Cookie")
        let (html, _) = try await URLSession(configuration: .ephemeral).data(for: page)
        let text = String(decoding: html, as: UTF8.self)
        #expect(text.contains(#"data-count="critical">600<"#) && text.contains(#"data-count="high">600<"#) && text.contains("700 more"), "\(text.prefix(3000))")
    }

    @Test(arguments: FleetBackend.allCases) func theSignInFormStartsASessionForAReadToken(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let read = try s.token("read")
        let ingest = try s.token("ingest")
        func signIn(_ token: String) async throws -> (status: Int, cookie: String?, location: String?) {
            var request = URLRequest(url: URL(string: s.base + "/session")!)
            request.httpMethod = "POST"
            request.httpBody = Data("token=\(token)".utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            let delegate = NoRedirect()
            let (_, response) = try await URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil).data(for: request)
            let http = response as? HTTPURLResponse
            return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Set-Cookie"), http?.value(forHTTPHeaderField: "Location"))
        }
        let ok = try await signIn(read)
        #expect(ok.status == 303 && ok.location == "/")
        let cookie = try #require(ok.cookie)
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains(read), "the cookie is a session, never the token")
        #expect(try await signIn(ingest).status == 401, "an ingest token may not read pages")
        #expect(try await signIn("pvt_" + String(repeating: "A", count: 43)).status == 401)
        // The cookie opens the pages, and nothing else: the API still wants the bearer token.
        func withCookie(_ method: String, _ path: String) async throws -> (Int, String) {
            var page = URLRequest(url: URL(string: s.base + path)!)
            page.httpMethod = method
            page.setValue(String(cookie.split(separator: ";")[0]), forHTTPHeaderField: "Cookie")
            if method == "POST" { page.httpBody = Data("{}".utf8) }
            let (body, response) = try await URLSession(configuration: .ephemeral).data(for: page)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: body, as: UTF8.self))
        }
        let (status, body) = try await withCookie("GET", "/")
        #expect(status == 200 && body.contains("id=\"agent-count\"") && body.contains(#"<form class="signout" method="post" action="/signout">"#))
        for (method, path) in [("GET", "/v1/agents"), ("GET", "/openapi.json"), ("POST", "/v1/sessions"), ("POST", "/v1/deployments"), ("POST", "/v1/advisories/import")] {
            #expect(try await withCookie(method, path).0 == 401, "\(method) \(path) with only the cookie")
        }
        // A link opened where the browser does not say from which site (no Sec-Fetch-Site: plain HTTP,
        // an older browser) is confirmed with a POST from the server's own page, which carries Origin.
        let made = try await s.call("POST", "/v1/sessions", token: read)
        let link = try #require(made.json["link"] as? String)
        let open = URLRequest(url: URL(string: s.base + link + "?next=/ui/x")!)
        let (confirm, confirmResponse) = try await URLSession(configuration: .ephemeral, delegate: NoRedirect(), delegateQueue: nil).data(for: open)
        let confirmPage = String(decoding: confirm, as: UTF8.self)
        #expect((confirmResponse as? HTTPURLResponse)?.statusCode == 200 && confirmPage.contains(#"<form method="post" action="\#(link)">"#)
                && confirmPage.contains(#"name="next" value="/ui/x""#), "\(confirmPage)")
        #expect((confirmResponse as? HTTPURLResponse)?.value(forHTTPHeaderField: "Set-Cookie") == nil, "a GET without Sec-Fetch-Site does not sign in")
        // Not no-referrer: with it browsers send `Origin: null` on the confirming POST, which is refused.
        #expect((confirmResponse as? HTTPURLResponse)?.value(forHTTPHeaderField: "Referrer-Policy") == "same-origin")
        func confirmLink(origin: String?) async throws -> Int {
            var post = URLRequest(url: URL(string: s.base + link)!)
            post.httpMethod = "POST"
            post.httpBody = Data("next=%2Fui%2Fx".utf8)
            if let origin { post.setValue(origin, forHTTPHeaderField: "Origin") }
            let (_, r) = try await URLSession(configuration: .ephemeral, delegate: NoRedirect(), delegateQueue: nil).data(for: post)
            return (r as? HTTPURLResponse)?.statusCode ?? 0
        }
        #expect(try await confirmLink(origin: "https://evil.example") == 401)
        #expect(try await confirmLink(origin: "null") == 401)
        #expect(try await confirmLink(origin: s.base) == 303)
        #expect(try await confirmLink(origin: s.base) == 401, "used once")

        // A page elsewhere cannot sign the browser in (login CSRF).
        for (header, value) in [("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")] {
            var forged = URLRequest(url: URL(string: s.base + "/session")!)
            forged.httpMethod = "POST"
            forged.httpBody = Data("token=\(read)".utf8)
            forged.setValue(value, forHTTPHeaderField: header)
            let (_, response) = try await URLSession(configuration: .ephemeral, delegate: NoRedirect(), delegateQueue: nil).data(for: forged)
            #expect((response as? HTTPURLResponse)?.statusCode == 401, "\(header): \(value)")
        }

        // Signing out ends the session on the server: the cookie's value opens nothing after. A page
        // elsewhere cannot sign the browser out.
        func signOut(origin: String?) async throws -> (Int, String?) {
            var post = URLRequest(url: URL(string: s.base + "/signout")!)
            post.httpMethod = "POST"
            post.setValue(String(cookie.split(separator: ";")[0]), forHTTPHeaderField: "Cookie")
            if let origin { post.setValue(origin, forHTTPHeaderField: "Origin") }
            let (_, r) = try await URLSession(configuration: .ephemeral, delegate: NoRedirect(), delegateQueue: nil).data(for: post)
            let http = r as? HTTPURLResponse
            return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Set-Cookie"))
        }
        #expect(try await signOut(origin: "https://evil.example").0 == 401)
        #expect(try await withCookie("GET", "/").0 == 200, "still signed in after a forged sign-out")
        let out = try await signOut(origin: s.base)
        #expect(out.0 == 303 && out.1?.contains("provenant_session=;") == true && out.1?.contains("Max-Age=0") == true, "\(out)")
        let after = try await withCookie("GET", "/")
        #expect(after.0 == 401 && !after.1.contains("id=\"agent-count\""), "the old cookie opens nothing")
        #expect(try await signOut(origin: nil).0 == 303, "signing out again, or without a session, is harmless")
    }
}

final class NoRedirect: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) { completionHandler(nil) }
}
