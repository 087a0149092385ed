import Advisories
import Catalog
import Crypto
import Drift
import Foundation
import ProvenantCore
import SBOM

/// Turns request bodies into what the store keeps, or refuses them with the field at fault.
public enum FleetIngest {
    /// Components one release may hold: a whole Debian image lists about 6,000.
    static let maxComponents = 250_000

    /// Runs `work` on a thread of its own and waits for it without holding a thread of the pool. At
    /// most one such thread per core runs at once; further uploads wait their turn, so a burst of them
    /// cannot make a thread and a parsed SBOM each.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        await gate.enter()
        defer { Task { await gate.leave() } }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let thread = Thread { c.resume(with: Result { try work() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    static let gate = Gate(width: max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// A counting semaphore for tasks: waiting suspends the task, never a thread.
    actor Gate {
        private let width: Int
        private var running = 0
        private var waiting: [CheckedContinuation<Void, Never>] = []
        init(width: Int) { self.width = width }
        func enter() async {
            if running < width { running += 1; return }
            await withCheckedContinuation { waiting.append($0) }
        }
        func leave() {
            if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
        }
    }

    struct Receipt: Codable {
        var agent: String
        var version: String
        var components: Int
        var sbomSHA256: String
    }

    public struct Deployment: Codable, Sendable {
        var agent: String
        var version: String
        var environment: String
        var cluster: String
    }

    /// A release from a CycloneDX or SPDX JSON body. `artifact` (`sha256:HEX`, from `?artifact=`) names
    /// what the release ships when the SBOM's own metadata component does not.
    public static func release(agent: String, version: String, body: Data, artifact: String? = nil) throws -> NewRelease {
        guard body.first(where: { !($0 == 32 || $0 == 9 || $0 == 10 || $0 == 13) }) == UInt8(ascii: "{") else {
            throw FleetAPIError(.unsupportedMediaType, field: "body", "the body is not a JSON object: send a CycloneDX or SPDX JSON SBOM")
        }
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch {
            throw FleetAPIError(.badRequest, field: "body", "not valid JSON at line \(error.line): \(error.reason)")
        }
        let format: String
        if json["bomFormat"]?.stringValue == "CycloneDX" { format = "cyclonedx" }
        else if json["spdxVersion"]?.stringValue != nil { format = "spdx" }
        else { throw FleetAPIError(.unsupportedMediaType, field: "body", "JSON, but neither a CycloneDX (bomFormat) nor an SPDX (spdxVersion) document") }
        if let (key, length, limit) = oversizedField(json) {
            throw FleetAPIError(.contentTooLarge, field: "body", "a '\(Redactor.quote(key, max: 40))' text is \(length) bytes, more than the \(limit) it may be")
        }
        let inventory: Inventory
        // Components without a readable purl are kept (as pkg:generic, by name): dropped, a vulnerable one
        // would read as clean; kept, they are listed under notChecked.
        do throws(InputError) { inventory = try SBOMReader.read(body, path: "body", keepingComponentsWithoutPurl: true) } catch {
            throw FleetAPIError(.badRequest, field: "body", "\(format) SBOM refused: \(error.message)\(error.location?.line.map { " (line \($0))" } ?? "")")
        }
        // Without its package list at all, an SBOM says nothing about the release: stored, it had no
        // components, and so no findings and nothing not checked (Left undone last stop).
        if let missing = inventory.diagnostics.first(where: { $0.message.contains(SBOMReader.missingList) }) {
            throw FleetAPIError(.badRequest, field: "body", "\(format) SBOM refused: it \(missing.message.components(separatedBy: ", so").first ?? "has no package list")")
        }
        guard inventory.packages.count <= maxComponents else {
            throw FleetAPIError(.contentTooLarge, field: "body", "the SBOM lists \(inventory.packages.count) components, more than the \(maxComponents) a release may hold")
        }
        var seen = Set<String>(), matched = Set<String>()
        var pairs: [(StoredComponent, ComponentSource)] = []
        for p in inventory.packages {
            let key = PackageKey(p)
            var purl = key.name + "@" + key.version
            let type = p.purl.type
            let name = key.name.hasPrefix("pkg:\(type)/") ? String(key.name.dropFirst("pkg:\(type)/".count)) : key.name
            let osv = Ecosystems.key(for: p.purl).map { OSVName(ecosystem: $0.ecosystem, name: $0.name) }
            // Its source is no purl then, so that the findings list it as unreadable, not as pkg:generic.
            let noPurl = p.foundBy == SBOMReader.withoutPurl
            // Copies of one package are one row, unless advisories know them by another name: a Debian
            // binary listed with `upstream=openssl` and without it kept the copy matched as `libssl3`,
            // and the release showed clean where `scan` found the advisory (found by helper-137). Such a
            // copy is a row of its own, named by its whole purl.
            let match = purl + "\u{0}" + (noPurl ? "(no purl)" : osv.map { $0.ecosystem + "\u{0}" + $0.name } ?? "")
            guard matched.insert(match).inserted else { continue }
            if !seen.insert(purl).inserted {
                purl = p.purl.description
                guard seen.insert(purl).inserted else { continue }
            }
            // A license is one line: the store keeps a list one item per line, and `Proprietary\nMIT`
            // was read back as two licenses, MIT among them (found by helper-161).
            let licenses = p.licenses.map(Redactor.escapeControls).sorted()
            pairs.append((StoredComponent(purl: purl, ecosystem: type, name: name, version: key.version, licenses: licenses),
                          ComponentSource(purl: noPurl ? "(no purl) " + p.name + (p.version.isEmpty ? "" : "@" + p.version) : p.purl.description,
                                          osv: noPurl ? nil : osv)))
        }
        // A NUL byte cannot be stored by PostgreSQL and is never part of a real name: refused on
        // both databases alike (found by review: SQLite stored it, PostgreSQL answered 500).
        if let bad = pairs.first(where: { c, s in ([c.purl, c.name, c.version, s.purl] + c.licenses).contains { $0.utf8.contains(0) } }) {
            throw FleetAPIError(.badRequest, field: "body", "component '\(Redactor.quote(bad.0.name, max: 64))' holds a NUL character")
        }
        pairs.sort { $0.0.purl < $1.0.purl }
        var artifactSHA256 = artifactDigest(json)
        if let artifact {
            guard let hex = sha256Hex(artifact) else { throw FleetAPIError(.badRequest, field: "artifact", "artifact must be sha256:<64 hex digits>") }
            if let named = artifactSHA256, named != hex {
                throw FleetAPIError(.badRequest, field: "artifact", "the SBOM's metadata component names sha256:\(named.prefix(16))…, not the artifact given")
            }
            artifactSHA256 = hex
        }
        return NewRelease(agent: agent, version: version, sbomFormat: format, sbomSHA256: Hex.encode(SHA256.hash(data: body)),
                          artifactSHA256: artifactSHA256, sbom: body, components: pairs.map(\.0), sources: pairs.map(\.1), createdAt: FleetClock.now(),
                          unreadInputs: unreadInputs(inventory))
    }

    /// What an SBOM says its maker could not read: kept with the release, so it is never clean of it
    /// (the findings of a release whose SBOM admits it is incomplete read as complete before).
    static func unreadInputs(_ inventory: Inventory) -> [String] {
        Array(inventory.diagnostics.filter { $0.unscanned == .input || $0.unscanned == .entry }
            .map { Redactor.escapeControls($0.message) }.prefix(FleetAdvisories.maxUnreadInputs))
    }

    /// Records the unread inputs of releases stored before they were kept, from their stored SBOMs,
    /// one at a time, in id order (the server runs it in the background when it starts). A release
    /// whose SBOM cannot be read again, or one an outage interrupts, is passed over and stays not
    /// recorded, which is said. Returns how many were recorded and how many passed over.
    public static func recordUnreadInputs(_ store: any FleetStore) async throws -> (recorded: Int, passedOver: Int) {
        var recorded = 0, passedOver = 0
        var after: Int64 = 0
        while true {
            // Paged by id: releases passed over stay NULL and must not fill the next page (helper-227).
            let batch = try await store.releasesWithoutUnreadInputs(after: after, limit: 100)
            guard let last = batch.last?.id else { return (recorded, passedOver) }
            after = last
            for r in batch {
                try Task.checkCancellation()
                do {
                    guard let body = try await store.sbom(agent: r.agent, version: r.version), !body.isEmpty else { passedOver += 1; continue }
                    guard let inventory = try? await offPool({ try SBOMReader.read(body, path: "body", keepingComponentsWithoutPurl: true) }) else { passedOver += 1; continue }
                    try await store.recordUnreadInputs(agent: r.agent, version: r.version, unreadInputs(inventory))
                    recorded += 1
                } catch is CancellationError { throw CancellationError() } catch {
                    // A moment's outage: this one is passed over, and the pass goes on after a pause.
                    passedOver += 1
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// Keys that name a component; their values are short in any real SBOM.
    static let identityKeys: Set<String> = ["name", "version", "purl", "group", "bom-ref", "SPDXID", "versionInfo", "referenceLocator", "ref"]
    static let maxIdentityBytes = 4096
    static let maxTextBytes = 1 << 20

    /// The first string longer than its key allows: a 6 MB component name cost its push (and every
    /// push waiting behind it for the SBOM readers) seconds per megabyte in the redactor (found by
    /// helper-137). The walk is bounded by the parser's depth limit.
    static func oversizedField(_ json: JSONValue) -> (key: String, length: Int, limit: Int)? {
        var stack: [(String, JSONValue)] = [("", json)]
        while let (key, v) = stack.popLast() {
            switch v {
            case .string(let s):
                let limit = identityKeys.contains(key) ? maxIdentityBytes : maxTextBytes
                if s.utf8.count > limit { return (key, s.utf8.count, limit) }
            case .object(let fields):
                for (k, value) in fields {
                    if k.utf8.count > maxIdentityBytes { return ("key", k.utf8.count, maxIdentityBytes) }
                    stack.append((k, value))
                }
            case .array(let items): for item in items { stack.append((key, item)) }
            default: break
            }
        }
        return nil
    }

    /// `sha256:HEX` as 64 lowercase hex digits, or nil.
    public static func sha256Hex(_ s: String) -> String? {
        guard s.hasPrefix("sha256:") else { return nil }
        let hex = s.dropFirst(7).lowercased()
        return hex.utf8.count == 64 && hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) ? hex : nil
    }

    /// The SHA-256 of what the SBOM describes: CycloneDX `metadata.component` (its hashes, or an
    /// image purl's digest), or the SPDX package the document describes (its checksums or purl).
    static func artifactDigest(_ json: JSONValue) -> String? {
        func fromPurl(_ purl: String?) -> String? {
            guard let purl, let at = purl.range(of: "@sha256:") else { return nil }
            return sha256Hex(String(purl[at.lowerBound...].dropFirst().prefix(71)))
        }
        if let c = json["metadata"]?["component"] {
            for h in c["hashes"]?.arrayValue ?? [] where h["alg"]?.stringValue == "SHA-256" {
                if let hex = h["content"]?.stringValue.flatMap({ sha256Hex("sha256:" + $0) }) { return hex }
            }
            return fromPurl(c["purl"]?.stringValue)
        }
        guard let described = json["documentDescribes"]?.arrayValue?.first?.stringValue,
              let package = json["packages"]?.arrayValue?.first(where: { $0["SPDXID"]?.stringValue == described }) else { return nil }
        for c in package["checksums"]?.arrayValue ?? [] where c["algorithm"]?.stringValue == "SHA256" {
            if let hex = c["checksumValue"]?.stringValue.flatMap({ sha256Hex("sha256:" + $0) }) { return hex }
        }
        for r in package["externalRefs"]?.arrayValue ?? [] where r["referenceType"]?.stringValue == "purl" {
            if let hex = fromPurl(r["referenceLocator"]?.stringValue) { return hex }
        }
        return nil
    }

    /// `provenant policy check --format json`: an array of findings, each with at least `rule` and
    /// `severity`. At most 10,000 are kept; a malformed entry refuses the whole body.
    /// Elements of a top-level JSON array, counted without parsing and up to `max + 1`; nil when the body
    /// is not an array. A 16 MiB body of `{}` is 5.6 million objects, which took 900 MB to parse only to
    /// be refused for its count (found by helper-128).
    static func topLevelCount(_ body: Data, max: Int) -> Int? {
        body.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> Int? in
            var i = 0
            while i < b.count, [0x20, 0x09, 0x0A, 0x0D].contains(b[i]) { i += 1 }
            guard i < b.count, b[i] == UInt8(ascii: "[") else { return nil }
            var depth = 0, inString = false, count = 0, sawValue = false
            while i < b.count {
                let c = b[i]
                if inString {
                    if c == UInt8(ascii: "\\") { i += 2; continue }
                    if c == UInt8(ascii: "\"") { inString = false }
                } else {
                    switch c {
                    case UInt8(ascii: "\""): inString = true; if depth == 1 { sawValue = true }
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        if depth == 1 { sawValue = true }
                        depth += 1
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        depth -= 1
                        if depth == 0 { return count + (sawValue ? 1 : 0) }
                    case UInt8(ascii: ","):
                        if depth == 1 { count += 1; if count > max { return count } }
                    case 0x20, 0x09, 0x0A, 0x0D: break
                    default: if depth == 1 { sawValue = true }
                    }
                }
                i += 1
            }
            return count + (sawValue ? 1 : 0)
        }
    }

    static func policyResults(_ body: Data) throws -> [StoredPolicyResult] {
        if let n = topLevelCount(body, max: 10_000), n > 10_000 {
            throw FleetAPIError(.contentTooLarge, field: "body", "more than 10,000 policy results")
        }
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch {
            throw FleetAPIError(.badRequest, field: "body", "not valid JSON at line \(error.line): \(error.reason)")
        }
        guard let items = json.arrayValue else { throw FleetAPIError(.badRequest, field: "body", "policy results are the JSON array `policy check --format json` prints") }
        guard items.count <= 10_000 else { throw FleetAPIError(.contentTooLarge, field: "body", "more than 10,000 policy results") }
        func text(_ v: JSONValue?, _ max: Int) -> String { Redactor.escapeControls(Redactor.redact(String((v?.stringValue ?? "").prefix(max)))) }
        return try items.enumerated().map { n, item in
            guard item.objectFields != nil, let rule = item["rule"]?.stringValue, !rule.isEmpty, let severity = item["severity"]?.stringValue else {
                throw FleetAPIError(.badRequest, field: "body", "policy result \(n + 1): an object with rule and severity (strings)")
            }
            guard let level = SeverityLevel(word: severity) else {
                throw FleetAPIError(.badRequest, field: "body", "policy result \(n + 1): severity '\(Redactor.quote(severity, max: 20))' is not low, medium, high or critical")
            }
            var subject = text(item["kind"], 64) + "/" + text(item["name"], 200)
            if let c = item["container"]?.stringValue { subject += " container " + text(.string(c), 200) }
            var location = text(item["location"]?["path"], 400)
            if case .int(let l)? = item["location"]?["line"] { location += ":\(l)" }
            return StoredPolicyResult(rule: text(.string(rule), 120), severity: severity.lowercased(), severityRank: level.rawValue, subject: subject,
                                      found: text(item["found"], 1000), location: location)
        }
    }

    /// `{agent, version, environment, cluster}`, every field present and well formed.
    public static func deployment(_ body: Data) throws -> Deployment {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch {
            throw FleetAPIError(.badRequest, field: "body", "not valid JSON at line \(error.line): \(error.reason)")
        }
        guard json.objectFields != nil else { throw FleetAPIError(.badRequest, field: "body", "a deployment is a JSON object") }
        func field(_ name: String) throws -> String {
            guard let v = json[name]?.stringValue else { throw FleetAPIError(.badRequest, field: name, "\(name) is required (a string)") }
            guard AgentName.isValid(v) else { throw FleetAPIError(.badRequest, field: name, "\(name) must be 1 to \(AgentName.maxLength) characters of letters, digits and . _ - +") }
            return v
        }
        let known: Set<String> = ["agent", "version", "environment", "cluster"]
        if let extra = json.objectFields?.map(\.0).first(where: { !known.contains($0) }) {
            // The field is named in the message only (quoted, cut short, redacted): a key is input, and may be empty.
            throw FleetAPIError(.badRequest, field: "body", "unknown field '\(Redactor.quote(extra, max: 64))'")
        }
        return Deployment(agent: try field("agent"), version: try field("version"), environment: try field("environment"), cluster: try field("cluster"))
    }
}

/// `GET /v1/components?purl=…` or `?type=…&name=…[&range=vers:…]`, whole or with `limit` (and
/// `after`) a page at a time.
struct FleetComponentQuery {
    var purl: String?
    var type: String?
    var name: String?
    /// A `vers:` range (`vers:cargo/>=0.7.0|<0.8.0`), judged with the scheme's own version ordering.
    var range: String?
    /// Given, the answer is one page of at most this many hits read from the store (fewer once a range
    /// is applied), with `next` when more follow; absent, the whole answer, or a refusal past `maxHits`.
    var limit: Int?
    var after: ComponentHitCursor?

    /// The hits, and with a range those whose version the scheme cannot read: neither in nor out.
    struct Answer: Encodable {
        var components: [ComponentHit]
        var undecided: [ComponentHit]?
        /// The `after` of the next page; absent on the last, and on an answer asked for whole.
        var next: String?
    }

    /// An unknown parameter is refused, as on every other route: a misspelt `rnage=` answered every
    /// version as if no range were asked (found by helper-114).
    init(_ q: some Sequence<(key: Substring, value: Substring)>) throws {
        for (k, v) in q {
            switch k {
            case "purl": purl = String(v)
            case "type": type = String(v)
            case "name": name = String(v)
            case "range": range = String(v)
            case "limit": limit = try ComponentPage.limit(v)
            case "after":
                guard let cursor = ComponentHitCursor(v) else {
                    throw FleetAPIError(.badRequest, field: "after", "after must be the next value of a previous page")
                }
                after = cursor
            default: throw FleetServer.unknownParameter(k)
            }
        }
        if after != nil, limit == nil { throw FleetAPIError(.badRequest, field: "after", "after goes with limit") }
    }

    /// Hits one answer may hold. Past it the query is refused, never cut short: a read token asking
    /// for a name with a million versions across the fleet held gigabytes and the server's threads for
    /// a minute a request (found by helper-161). The stores read at most one more than this.
    static let maxHits = 50_000

    /// The hits of the answer or page, and the cursor of the next page when one follows.
    func run(_ store: any FleetStore) async throws -> (hits: [ComponentHit], next: ComponentHitCursor?) {
        if let limit {
            let rows = try await lookUp(store, limit: limit + 1)
            return (rows.prefix(limit).map(\.hit), rows.count > limit ? rows[limit - 1].cursor : nil)
        }
        let rows = try await lookUp(store, limit: Self.maxHits + 1)
        guard rows.count <= Self.maxHits else {
            throw FleetAPIError(.badRequest, field: purl != nil ? "purl" : "name",
                                "more than \(Self.maxHits) components match; ask for one version with a purl that names it, or a page at a time with limit")
        }
        return (rows.map(\.hit), nil)
    }

    func lookUp(_ store: any FleetStore, limit: Int) async throws -> [ComponentHitRow] {
        guard let rows = try await lookUpRows(store, limit: limit) else {
            throw FleetAPIError(.badRequest, field: "after", "after must be the next value of a previous page")
        }
        return rows
    }

    func lookUpRows(_ store: any FleetStore, limit: Int) async throws -> [ComponentHitRow]? {
        for (field, value) in [("purl", purl), ("type", type), ("name", name)] where value?.utf8.contains(0) == true {
            throw FleetAPIError(.badRequest, field: field, "\(field) holds a NUL character")
        }
        if let purl {
            // Both ways of asking at once: type and name were ignored (found by helper-161).
            guard type == nil, name == nil else { throw FleetAPIError(.badRequest, field: "purl", "give purl, or type and name, not both") }
            guard let parsed = PackageURL(parsing: purl) else { throw FleetAPIError(.badRequest, field: "purl", "not a package URL") }
            let p = Package(ecosystem: .npm, name: parsed.name, version: parsed.version ?? "", purl: parsed, foundBy: "query")
            let key = PackageKey(p)
            // A purl without a version asks where any version runs; looked up as `name@`, it matched
            // nothing and read as "nowhere" (found by helper-114).
            guard let version = parsed.version, !version.isEmpty else {
                let prefix = "pkg:\(parsed.type.lowercased())/"
                let bare = key.name.hasPrefix(prefix) ? String(key.name.dropFirst(prefix.count)) : parsed.name
                return try await store.components(ecosystem: parsed.type.lowercased(), name: bare, after: after, limit: limit)
            }
            return try await store.components(purl: key.name + "@" + key.version, after: after, limit: limit)
        }
        guard let type, let name, !type.isEmpty, !name.isEmpty else {
            throw FleetAPIError(.badRequest, field: "purl", "give purl, or type and name")
        }
        let folded = PackageKey(Package(ecosystem: .npm, name: name, version: "", purl: PackageURL(type: type, name: name), foundBy: "query")).name
        let bare = folded.hasPrefix("pkg:\(type.lowercased())/") ? String(folded.dropFirst("pkg:\(type.lowercased())/".count)) : name
        return try await store.components(ecosystem: type.lowercased(), name: bare, after: after, limit: limit)
    }

    /// `run`, then the range applied when one is given.
    func answer(_ store: any FleetStore) async throws -> Answer {
        guard let range else {
            let (hits, next) = try await run(store)
            return Answer(components: hits, undecided: nil, next: next?.text)
        }
        guard purl == nil, type != nil else { throw FleetAPIError(.badRequest, field: "range", "range goes with type and name, not purl") }
        guard let vers = VersRange(range) else {
            throw FleetAPIError(.badRequest, field: "range", "range must be a vers: range, e.g. vers:cargo/>=0.7.0|<0.8.0")
        }
        var inside: [ComponentHit] = [], undecided: [ComponentHit] = []
        let (hits, next) = try await run(store)
        for hit in hits {
            switch vers.contains(hit.version, fallbackEcosystem: "") {
            case true?: inside.append(hit)
            case false?: continue
            case nil: undecided.append(hit)
            }
        }
        return Answer(components: inside, undecided: undecided, next: next?.text)
    }
}
