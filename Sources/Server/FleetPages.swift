import Foundation
import ProvenantCore

/// The server's web pages: plain HTML rendered on the server, one stylesheet, no script. Every value
/// from the database is input (purls, summaries, reasons), so all of it goes through `escape`.
enum FleetPages {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters (but tab and newline) would only confuse a reader: shown as U+FFFD.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" || ch.value == 0x7f { out += "\u{FFFD}" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// A path segment: names are restricted to `[A-Za-z0-9._+-]`, advisory ids add `:`, all legal in a
    /// segment and left as they are (the router does not decode `%2B`); anything else is encoded.
    static func segment(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+:")) ?? ""
    }

    static func releaseLink(_ agent: String, _ version: String) -> String {
        "<a href=\"/ui/agents/\(segment(agent))/releases/\(segment(version))\">\(escape(agent)) \(escape(version))</a>"
    }

    static func advisoryLink(_ id: String) -> String {
        "<a href=\"/ui/vulnerabilities/\(segment(id))\">\(escape(id))</a>"
    }

    static func badge(_ status: String) -> String {
        "<span class=\"badge \(escape(status))\" data-status=\"\(escape(status))\">\(escape(status))</span>"
    }

    /// A page; `signOut` puts the sign-out button in its header (pages a session reads).
    static func page(title: String, _ body: String, signOut: Bool = false) -> String {
        let button = signOut ? "<form class=\"signout\" method=\"post\" action=\"/signout\"><button id=\"signout\" type=\"submit\">Sign out</button></form>" : ""
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · Provenant</title><style>\(stylesheet)</style></head>
        <body><header><a class="home" href="/">Provenant fleet</a>\(button)</header><main>
        \(body)
        </main></body></html>
        """
    }

    /// A table with a `data-table` name tests and readers can find, and a line when it is empty.
    static func table(_ name: String, headers: [String], rows: [[String]], empty: String) -> String {
        guard !rows.isEmpty else { return "<p class=\"empty\" id=\"\(name)-empty\">\(escape(empty))</p>" }
        let head = headers.map { "<th>\(escape($0))</th>" }.joined()
        let body = rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        return "<table id=\"\(name)\" data-table=\"\(name)\"><thead><tr>\(head)</tr></thead><tbody>\n\(body)\n</tbody></table>"
    }

    /// Severity buckets; an advisory that gives none (or a word not here) is `unrated`.
    static let severities = ["critical", "high", "medium", "low", "unrated"]
    static func bucket(_ severity: String) -> String {
        let s = severity.lowercased()
        return severities.contains(s) ? s : (s == "moderate" ? "medium" : "unrated")
    }

    struct Fleet {
        var agents: [AgentSummary]
        var deployments: [DeploymentRow]
        /// The first `findingsShown` findings, with the counts by severity and the total of all.
        var findings: [FleetFinding]
        var counts: [String: Int]
        var findingsTotal: Int
        var notChecked: [FleetReleaseNotChecked] = []
        var releasesNotJudged = 0
    }

    static func fleet(_ f: Fleet) -> String {
        let severityRows = severities.map { s in ["<span data-severity=\"\(s)\">\(s)</span>", "<span class=\"count\" data-count=\"\(s)\">\(f.counts[s] ?? 0)</span>"] }
        let environments = Array(Set(f.deployments.map(\.environment))).sorted()
        let notVerified = f.deployments.filter { $0.provenance != "verified" }
        var body = "<h1>Fleet</h1>\n<section class=\"summary\"><p><span id=\"agent-count\">\(f.agents.count)</span> agents, "
            + "<span id=\"deployment-count\">\(f.deployments.count)</span> deployments in <span id=\"environment-count\">\(environments.count)</span> environments, "
            + "<span id=\"unverified-count\">\(notVerified.count)</span> running without verified provenance.</p></section>\n"
        body += "<h2>Findings by severity</h2>\n" + table("severities", headers: ["Severity", "Findings"], rows: severityRows, empty: "")
        // What the counts do not cover: never shown as clean (found by helper-128).
        let uncovered = f.notChecked.reduce(0) { $0 + $1.packages }
        if uncovered > 0 || f.releasesNotJudged > 0 {
            body += "\n<p class=\"not-checked\" id=\"not-checked\"><span data-count=\"not-checked\">\(uncovered)</span> components or SBOM inputs of \(f.notChecked.count) deployed releases were NOT CHECKED "
                + "(no advisory in the server's database could be matched against them, or their SBOM says they could not be read)"
                + (f.releasesNotJudged > 0 ? "; \(f.releasesNotJudged) more deployed releases were not judged at all" : "") + ": the findings say nothing about them.</p>\n"
                + table("not-checked", headers: ["Agent release", "Not checked"], rows: f.notChecked.prefix(500).map { r in [releaseLink(r.agent, r.version), "\(r.packages)"] }, empty: "")
        }
        body += "\n<h2>Agents</h2>\n" + table("agents", headers: ["Agent", "Releases", "Latest", "Environments"], rows: f.agents.map { a in
            ["<span data-agent=\"\(escape(a.name))\">\(escape(a.name))</span>", "\(a.releases)",
             a.latest.map { releaseLink(a.name, $0) } ?? "", escape(a.environments.joined(separator: ", "))]
        }, empty: "No agent has pushed a release yet.")
        body += "\n<h2>Environments</h2>\n"
        for env in environments {
            body += "<h3 id=\"env-\(escape(env))\">\(escape(env))</h3>\n" + table("deployments-\(escape(env))", headers: ["Agent release", "Cluster", "Provenance", "Since"],
                rows: f.deployments.filter { $0.environment == env }.map { d in
                    [releaseLink(d.agent, d.version), escape(d.cluster), badge(d.provenance), escape(d.updatedAt)]
                }, empty: "")
        }
        if environments.isEmpty { body += "<p class=\"empty\">Nothing is deployed.</p>" }
        body += "\n<h2>Findings</h2>\n" + table("findings", headers: ["Severity", "Advisory", "Package", "Release", "Environments"],
            rows: f.findings.prefix(findingsShown).map { x in
                [badge(x.finding.severity.lowercased()), advisoryLink(x.finding.id), escape(x.finding.purl), releaseLink(x.agent, x.version),
                 escape(x.environments.joined(separator: ", "))]
            }, empty: uncovered > 0 || f.releasesNotJudged > 0 ? "No finding in what was checked (see NOT CHECKED above)." : "No finding in the fleet.")
        if f.findingsTotal > f.findings.count { body += "<p>\(f.findingsTotal - f.findings.count) more: GET /v1/findings lists them all, a page at a time with limit.</p>" }
        return page(title: "Fleet", body, signOut: true)
    }

    struct Release {
        var summary: ReleaseSummary
        var components: [StoredComponent]
        var findings: [StoredFinding]
        var notChecked: [FleetNotChecked]
        var attestations: [StoredAttestation]
        var policy: [StoredPolicyResult]
    }

    /// Components a release's page lists; the API pages through the rest.
    static let componentsShown = 1000
    /// Findings the fleet page lists, worst first; the API pages through the rest.
    static let findingsShown = 500
    /// Findings read at once to count the fleet's.
    static let findingsPage = 1_000

    static func release(_ r: Release) -> String {
        let s = r.summary
        var body = "<h1 id=\"release\" data-agent=\"\(escape(s.agent))\" data-version=\"\(escape(s.version))\">\(escape(s.agent)) \(escape(s.version))</h1>\n"
        body += "<dl class=\"facts\"><dt>Provenance</dt><dd id=\"provenance\">\(badge(s.provenance))</dd>"
            + "<dt>Artifact</dt><dd><code>\(escape(s.artifactSHA256.map { "sha256:" + $0 } ?? "not named"))</code></dd>"
            + "<dt>SBOM</dt><dd>\(escape(s.sbomFormat)) <code>sha256:\(escape(s.sbomSHA256))</code></dd>"
            + "<dt>Pushed</dt><dd>\(escape(s.createdAt))</dd>"
            + "<dt>Runs in</dt><dd id=\"deployments\">\(escape(s.deployments.map { "\($0.environment)/\($0.cluster)" }.joined(separator: ", ")))</dd></dl>\n"
        body += "<h2>Provenance</h2>\n" + table("attestations", headers: ["Status", "Kind", "Predicate type", "Reasons"], rows: r.attestations.map { a in
            [badge(a.status), escape(a.kind), escape(a.predicateType), "<ul>" + a.reasons.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"]
        }, empty: "No attestation was pushed with this release: its provenance is unknown.")
        body += "\n<h2>Findings</h2>\n" + table("findings", headers: ["Severity", "Advisory", "Package", "Fixed in", "Summary"], rows: r.findings.map { f in
            [badge(f.severity.lowercased()), advisoryLink(f.id), escape(f.purl), escape(f.fixed.joined(separator: ", ")), escape(f.summary)]
        }, empty: "No advisory in the server's database matches a component.")
        if !r.notChecked.isEmpty {
            body += "\n<h3>Not checked</h3>\n<p>No advisory could be matched against these components: no finding here does not mean clean.</p>\n"
                + table("not-checked", headers: ["Group", "Components", "Why"], rows: r.notChecked.map { n in
                    ["<span data-group=\"\(escape(n.group))\">\(escape(n.group))</span>", "\(n.packages)", escape(n.reason)]
                }, empty: "")
        }
        body += "\n<h2>Policy findings</h2>\n" + table("policy", headers: ["Severity", "Rule", "Subject", "Found", "Where"], rows: r.policy.map { p in
            [badge(p.severity), escape(p.rule), escape(p.subject), escape(p.found), escape(p.location)]
        }, empty: "No policy-check results were attached to this release.")
        body += "\n<h2>Components (\(s.components))</h2>\n" + table("components", headers: ["Package", "Version", "Licenses"], rows: r.components.map { c in
            [escape(c.purl), escape(c.version), escape(c.licenses.joined(separator: ", "))]
        }, empty: "The SBOM lists no component.")
        if s.components > r.components.count {
            body += "<p>\(s.components - r.components.count) more: GET /v1/agents/\(escape(s.agent))/releases/\(escape(s.version))/components lists them page by page.</p>"
        }
        return page(title: "\(s.agent) \(s.version)", body, signOut: true)
    }

    static func vulnerability(id: String, advisories: [String], affected: [AffectedRelease]) -> String {
        var body = "<h1 id=\"vulnerability\" data-id=\"\(escape(id))\">\(escape(id))</h1>\n"
        body += "<p>Advisories: <span id=\"advisories\">\(escape(advisories.joined(separator: ", ")))</span></p>\n"
        var rows: [[String]] = []
        for a in affected {
            for d in a.deployments {
                rows.append([releaseLink(a.agent, a.version), "<span data-environment=\"\(escape(d.environment))\">\(escape(d.environment))</span>",
                             escape(d.cluster), escape(a.packages.joined(separator: ", "))])
            }
        }
        body += "<h2>Affected deployments</h2>\n" + table("affected", headers: ["Agent release", "Environment", "Cluster", "Packages"], rows: rows,
                                                       empty: "No deployed release is affected.")
        return page(title: id, body, signOut: true)
    }

    static func signIn(message: String) -> String {
        page(title: "Sign in", """
            <h1>Sign in</h1>
            <p id="sign-in-message">\(escape(message))</p>
            <form method="post" action="/session"><label>Token <input type="password" name="token" autocomplete="off" required></label>
            <button type="submit">Sign in</button></form>
            <p>A read or admin token. <code>provenant server token create --scope read</code> makes one; the browser keeps a session, never the token.</p>
            """)
    }

    /// A sign-in link opened where the browser does not say from which site: one button confirms it.
    static func confirmLink(link: String, next: String) -> String {
        page(title: "Sign in", """
            <h1>Sign in</h1>
            <form method="post" action="/session/\(escape(link))"><input type="hidden" name="next" value="\(escape(next))">
            <button type="submit" id="confirm">Sign in to the fleet</button></form>
            """)
    }

    static func notFound(_ what: String) -> String {
        page(title: "Not found", "<h1>Not found</h1><p id=\"not-found\">\(escape(what))</p>")
    }

    static let stylesheet = """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
        header { background: #14213d; padding: 10px 24px; } header a { color: #fff; text-decoration: none; font-weight: 600; }
        header form.signout { float: right; margin: 0; } header button { background: none; border: 1px solid #fff; color: #fff; border-radius: 4px; padding: 2px 10px; cursor: pointer; }
        main { padding: 8px 24px 40px; max-width: 1200px; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; } h3 { font-size: 15px; }
        table { border-collapse: collapse; width: 100%; background: #fff; } th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e2e5e9; vertical-align: top; }
        th { background: #eef0f3; font-weight: 600; } td ul { margin: 0; padding-left: 18px; }
        code { font-size: 12px; word-break: break-all; } .empty { color: #5a6270; font-style: italic; }
        .badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 12px; font-weight: 600; background: #dde1e6; }
        .badge.verified { background: #cdeccf; color: #14532d; } .badge.failed, .badge.critical { background: #fbd0d0; color: #7f1d1d; }
        .badge.high { background: #fde2c5; color: #7c2d12; } .badge.medium { background: #fdf1c0; color: #713f12; }
        .badge.not-checked, .badge.none { background: #e9e3f7; color: #3b2a6b; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; } dt { font-weight: 600; }
        .summary p { font-size: 15px; }
        """
}
