import Foundation
import ProvenantCore

/// VEX statements about whether a vulnerability applies to a product. OpenVEX and CycloneDX VEX
/// documents are both read. Only a statement that is the newest for its finding suppresses, and
/// only when it says `not_affected` (with a justification the spec lists) or `fixed`.
public struct VEXDocument: Sendable {
    /// A product a statement names, with the versions it speaks for (CycloneDX `affects[].versions`).
    public struct Product: Sendable, Equatable {
        /// A purl or a bom-ref.
        public var id: String
        /// Empty: every version `id` covers.
        public var versions: [Versions]
        /// Where the statement speaks of `id`: nil, anywhere; else only inside that product.
        public var within: Scope?
        /// A BOM-Link's bom-ref, percent-decoded: a component of the linked BOM, looked up in the
        /// scanned SBOM's own refs when the scan is of that BOM.
        public var ref: String?
        /// The bom-ref as written, when decoding changed it: a ref with a `%` of its own (a purl such
        /// as `pkg:npm/%40angular/core`) is looked up that way too (helper-223).
        public var rawRef: String? = nil
        public init(_ id: String, versions: [Versions] = [], within: Scope? = nil, ref: String? = nil) {
            self.id = id; self.versions = versions; self.within = within; self.ref = ref
        }
    }

    /// The product a statement's package is named inside: an OpenVEX product's subcomponents are
    /// spoken of inside that product (its `@id` and `identifiers.purl`), and a CycloneDX BOM-Link
    /// (`urn:cdx:SERIAL/VERSION#ref`) inside that version of the BOM of that serial number.
    public enum Scope: Sendable, Hashable, CustomStringConvertible {
        case product([String])
        /// `serial` "" (and `version` 0): a BOM-Link that cannot be read, which applies nowhere.
        case bom(serial: String, version: Int)
        public var description: String {
            switch self {
            case .product(let ids): ids.first.map { Redactor.quote($0, max: 200) } ?? "an unnamed product"
            case .bom(let serial, let version): serial.isEmpty ? "a BOM-Link without a readable serial number and version" : "version \(version) of the BOM urn:uuid:\(serial)"
            }
        }
    }

    /// One `affects[].versions[]` entry: a version or a `vers:` range, and its status.
    public struct Versions: Sendable, Equatable {
        public enum Match: Sendable, Equatable { case version(String), range(VersRange), unreadable(String) }
        public var match: Match
        /// `affected`, `unaffected` or `unknown`; CycloneDX's default is `affected`.
        public var status: String
    }

    public struct Statement: Sendable, Equatable {
        public var vulnerability: String
        public var aliases: [String]
        public var products: [Product]
        public var status: String
        public var justification: String?
        /// The statement's own time, else its document's; nil when neither gives one.
        public var timestamp: VEXTimestamp?
        /// `FILE#N`: the file and the statement's position, for the report.
        public var origin: String
        /// Why the statement is refused: it is still the newest word on its findings, but it
        /// suppresses nothing.
        public var refusal: String?

        /// Whether the statement, taken alone, would take a finding out.
        public var suppresses: Bool { refusal == nil && (status == "not_affected" || status == "fixed") }
    }

    public var statements: [Statement]
    /// One line per refused statement, `FILE#N: why`.
    public var warnings: [String] { statements.compactMap { s in s.refusal.map { "\(s.origin): \($0)" } } }

    /// OpenVEX v0.2.0's justification labels.
    public static let openVEXJustifications: Set<String> = [
        "component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
        "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist",
    ]
    /// CycloneDX 1.4–1.6 `analysis.justification` values.
    public static let cycloneDXJustifications: Set<String> = [
        "code_not_present", "code_not_reachable", "requires_configuration", "requires_dependency", "requires_environment",
        "protected_by_compiler", "protected_at_runtime", "protected_at_perimeter", "protected_by_mitigating_control",
    ]

    /// The largest VEX document read.
    public static let maxBytes = 64 << 20

    public static func load(_ path: String) throws(InputError) -> VEXDocument {
        let data = Data(try NamedInputFile.read(path, limit: maxBytes, what: "VEX file"))
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            // Where and what, from the project's own parser, which counts lines (helper-72).
            do { _ = try JSONParser.parse(data) } catch {
                throw InputError("VEX file is not valid JSON: \(error.reason)", at: Location(path, line: error.line))
            }
            throw InputError("VEX file is JSON but not a VEX document: an OpenVEX or CycloneDX object was expected", at: Location(path, line: 1))
        }
        let name = PathText.lastComponent(path)
        if obj["bomFormat"] as? String == "CycloneDX" { return try cyclonedx(obj, name: name, path: path) }
        if obj["statements"] != nil || (obj["@context"] as? String)?.contains("openvex") == true { return try openVEX(obj, name: name, path: path) }
        throw InputError("neither an OpenVEX nor a CycloneDX VEX document", at: Location(path))
    }

    /// The first of these timestamp fields present, nil when none is; an unreadable one is an
    /// error, not a guess.
    static func time(_ fields: [(value: Any?, what: String)], path: String) throws(InputError) -> VEXTimestamp? {
        for (value, what) in fields {
            guard let value else { continue }
            guard let s = value as? String, let t = VEXTimestamp(s) else {
                throw InputError("\(what) '\(Redactor.quote("\(value)", max: 60))' is not an RFC 3339 timestamp", at: Location(path))
            }
            // The newest statement decides, so one dated in the future would outrank every real one
            // still to come (found by helper-148). A day's leeway covers clocks and time zones.
            if t.seconds > Int(Date().timeIntervalSince1970) + 86_400 {
                throw InputError("\(what) '\(t)' is in the future; a VEX statement cannot be newer than now", at: Location(path))
            }
            return t
        }
        return nil
    }

    static func openVEX(_ obj: [String: Any], name: String, path: String) throws(InputError) -> VEXDocument {
        guard let raw = obj["statements"] as? [[String: Any]] else { throw InputError("OpenVEX document without a 'statements' list", at: Location(path)) }
        let documentTime = try time([(obj["last_updated"], "document last_updated"), (obj["timestamp"], "document timestamp")], path: path)
        var out: [Statement] = []
        for (i, s) in raw.enumerated() {
            // v0.2 writes {"name": …, "aliases": […]}; earlier drafts a bare string.
            var vuln = s["vulnerability"] as? String
            var aliases: [String] = []
            if let v = s["vulnerability"] as? [String: Any] {
                vuln = (v["name"] as? String) ?? (v["@id"] as? String)
                aliases = (v["aliases"] as? [String]) ?? []
            }
            guard let vuln, !vuln.isEmpty else { throw InputError("statement \(i + 1) names no vulnerability", at: Location(path)) }
            guard let status = s["status"] as? String else { throw InputError("statement \(i + 1) has no status", at: Location(path)) }
            var products: [Product] = []
            // Lists of the wrong type are refused, not read as empty: a newer statement whose products
            // were an object vanished, and an older not_affected decided (found by helper-148).
            if s["products"] != nil, !(s["products"] is [Any]) { throw InputError("statement \(i + 1): 'products' is not a list", at: Location(path)) }
            for p in (s["products"] as? [Any]) ?? [] {
                if let id = p as? String { products.append(Product(id)); continue }
                guard let d = p as? [String: Any] else { throw InputError("statement \(i + 1): a product is neither a string nor an object", at: Location(path)) }
                if d["subcomponents"] != nil, !(d["subcomponents"] is [[String: Any]]) {
                    throw InputError("statement \(i + 1): a product's 'subcomponents' is not a list of objects", at: Location(path))
                }
                // An `@id` or purl of the wrong type named no product, so the statement applied to
                // nothing and an older one decided (found by helper-149).
                func ids(_ c: [String: Any]) throws(InputError) -> [String] {
                    var out: [String] = []
                    if let id = c["@id"] { guard let id = id as? String else { throw InputError("statement \(i + 1): a product's '@id' is not a string", at: Location(path)) }; out.append(id) }
                    if let ids = c["identifiers"] {
                        guard let ids = ids as? [String: Any] else { throw InputError("statement \(i + 1): a product's 'identifiers' is not an object", at: Location(path)) }
                        if let purl = ids["purl"] {
                            guard let purl = purl as? String else { throw InputError("statement \(i + 1): a product's 'identifiers.purl' is not a string", at: Location(path)) }
                            out.append(purl)
                        }
                    }
                    return out
                }
                let own = try ids(d).filter { !$0.isEmpty }
                products += own.map { Product($0) }
                // Subcomponents are spoken of inside their product only: a statement that x/net in
                // app-a is not affected cleared x/net in app-b too (found by helper-214). A product
                // that names no id of its own scopes them to nothing, and they apply nowhere.
                for c in (d["subcomponents"] as? [[String: Any]]) ?? [] {
                    products += try ids(c).map { Product($0, within: .product(own)) }
                }
            }
            let stamp = try time([(s["last_updated"], "statement \(i + 1) last_updated"), (s["timestamp"], "statement \(i + 1) timestamp")], path: path)
                ?? documentTime
            let justification = s["justification"] as? String
            var refusal: String?
            if status == "not_affected" {
                let impact = (s["impact_statement"] as? String)?.trimmed ?? ""
                if let j = justification, !openVEXJustifications.contains(j) {
                    refusal = "not_affected with justification '\(j)', which OpenVEX does not define (use one of \(openVEXJustifications.sorted().joined(separator: ", "))); refused, it suppresses nothing"
                } else if justification == nil && impact.isEmpty {
                    refusal = "not_affected without a justification or an impact_statement; refused, it suppresses nothing"
                }
            }
            out.append(Statement(vulnerability: vuln, aliases: aliases, products: products, status: status, justification: justification,
                                 timestamp: stamp, origin: "\(name)#\(i + 1)", refusal: refusal))
        }
        return VEXDocument(statements: out)
    }

    static func cyclonedx(_ obj: [String: Any], name: String, path: String) throws(InputError) -> VEXDocument {
        // affects[].ref names a bom-ref; resolve it to the component's purl when the VEX lists components.
        var purlByRef: [String: String] = [:]
        // The VEX document's own serial: BOM-Links into it are read through its components.
        let ownSerial = serialUUID(obj["serialNumber"] as? String)
        // Its version: 1 when it gives none, as CycloneDX has it.
        let ownVersion = obj["version"] == nil ? 1 : (obj["version"] as? Int) ?? 0
        // A components list of the wrong type left every affects ref unresolved (found by helper-149).
        if obj["components"] != nil, !(obj["components"] is [[String: Any]]) { throw InputError("'components' is not a list of objects", at: Location(path)) }
        var stack = (obj["components"] as? [[String: Any]]) ?? []
        while let c = stack.popLast() {
            if c["components"] != nil, !(c["components"] is [[String: Any]]) { throw InputError("a component's 'components' is not a list of objects", at: Location(path)) }
            stack += (c["components"] as? [[String: Any]]) ?? []
            if let ref = c["bom-ref"] as? String, let purl = c["purl"] as? String { purlByRef[ref] = purl }
        }
        let documentTime = try time([((obj["metadata"] as? [String: Any])?["timestamp"], "metadata.timestamp")], path: path)
        var out: [Statement] = []
        // Lists and objects of the wrong type are refused, not read as empty: a newer `exploitable`
        // whose list held a stray string, or whose affects held a null, vanished, and an older
        // not_affected decided (found by helper-148).
        if obj["vulnerabilities"] != nil, !(obj["vulnerabilities"] is [[String: Any]]) {
            throw InputError("'vulnerabilities' is not a list of objects", at: Location(path))
        }
        for (i, v) in ((obj["vulnerabilities"] as? [[String: Any]]) ?? []).enumerated() {
            guard let id = v["id"] as? String else { throw InputError("vulnerability \(i + 1) has no id", at: Location(path)) }
            if v["analysis"] != nil, !(v["analysis"] is [String: Any]) { throw InputError("vulnerability \(i + 1): 'analysis' is not an object", at: Location(path)) }
            if v["affects"] != nil, !(v["affects"] is [[String: Any]]) { throw InputError("vulnerability \(i + 1): 'affects' is not a list of objects", at: Location(path)) }
            guard let analysis = v["analysis"] as? [String: Any], analysis["state"] != nil else { continue }
            guard let state = analysis["state"] as? String else { throw InputError("vulnerability \(i + 1): 'analysis.state' is not a string", at: Location(path)) }
            // CycloneDX's words for the two OpenVEX statuses that suppress.
            let status: String
            switch state {
            case "not_affected", "false_positive": status = "not_affected"
            case "resolved", "resolved_with_pedigree": status = "fixed"
            default: status = state
            }
            var products: [Product] = []
            // A versions entry this reader cannot take (a number, `ranges` for `range`): dropped, it
            // left the list empty, and an empty list speaks for every version, so a statement meant for
            // 3.6 suppressed the finding on 2.8 (found by helper-122). The statement is refused instead.
            var malformed: String?
            for a in (v["affects"] as? [[String: Any]]) ?? [] {
                guard var ref = a["ref"] as? String else { throw InputError("vulnerability \(i + 1): an affects entry has no 'ref' string", at: Location(path)) }
                // BOM-Link: urn:cdx:serial/version#bom-ref, a component of the BOM of that serial
                // only. Read as the bare bom-ref, it cleared a component of that name in any BOM
                // (found by helper-214).
                var within: Scope?
                var rawRef: String?
                if ref.lowercased().hasPrefix("urn:cdx:") {
                    // One that cannot be read (no `#`, no UUID, no version) is scoped to no BOM: it
                    // applies nowhere. The version is the spec's: a link into version 1 said nothing
                    // of version 2, whose components may have changed.
                    let body = ref.dropFirst(8)
                    let h = body.firstIndex(of: "#")
                    let parts = h.map { body[..<$0].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false) } ?? []
                    let serial = parts.first.flatMap { VEXDocument.uuid(String($0)) }
                    let version = parts.count == 2 && parts[1].allSatisfy({ ("0"..."9").contains($0) }) ? Int(parts[1]).flatMap { $0 > 0 ? $0 : nil } : nil
                    if let serial, let version { within = .bom(serial: serial, version: version) } else { within = .bom(serial: "", version: 0) }
                    if let h {
                        rawRef = String(body[body.index(after: h)...])
                        ref = rawRef?.removingPercentEncoding ?? rawRef ?? ref
                    }
                }
                var versions: [Versions] = []
                let entries = a["versions"] as? [Any] ?? []
                if a["versions"] != nil, a["versions"] as? [Any] == nil { malformed = malformed ?? "affects[].versions is not a list" }
                for (k, raw) in entries.enumerated() {
                    guard let e = raw as? [String: Any] else { malformed = malformed ?? "affects[].versions entry \(k + 1) is not an object"; continue }
                    // The schema's default status is `affected`: an entry without one never clears.
                    if e["status"] != nil, !(e["status"] is String) { malformed = malformed ?? "affects[].versions entry \(k + 1) has a status that is not a string" }
                    let st = (e["status"] as? String) ?? "affected"
                    if let r = e["range"] as? String {
                        versions.append(Versions(match: VersRange(r).map { .range($0) } ?? .unreadable(r), status: st))
                    } else if let ver = e["version"] as? String {
                        versions.append(Versions(match: .version(ver), status: st))
                    } else {
                        malformed = malformed ?? "affects[].versions entry \(k + 1) has neither a 'range' nor a 'version' string"
                    }
                }
                // A BOM-Link names a component of its own BOM: the VEX document's components speak for
                // it only when the link is into the VEX document itself (helper-221: its `comp-1` was
                // taken for the scanned BOM's `comp-1`).
                if within != nil {
                    let id = ownSerial.map { within == .bom(serial: $0, version: ownVersion) } == true ? (purlByRef[ref] ?? ref) : ref
                    var product = Product(id, versions: versions, within: within, ref: ref)
                    if let raw = rawRef, raw != ref { product.rawRef = raw }
                    products.append(product)
                } else {
                    products.append(Product(purlByRef[ref] ?? ref, versions: versions, within: within))
                }
            }
            let unreadable = products.flatMap(\.versions).compactMap { v -> String? in if case .unreadable(let r) = v.match { return r }; return nil }
            let aliases = ((v["references"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            let stamp = try time([(analysis["lastUpdated"], "vulnerability \(i + 1) analysis.lastUpdated"),
                                  (analysis["firstIssued"], "vulnerability \(i + 1) analysis.firstIssued"),
                                  (v["updated"], "vulnerability \(i + 1) updated"), (v["published"], "vulnerability \(i + 1) published")], path: path)
                ?? documentTime
            let justification = analysis["justification"] as? String
            var refusal: String?
            // false_positive says the finding itself is wrong; not_affected must say why.
            if let m = malformed {
                refusal = "\(m); refused, it suppresses nothing"
            } else if let r = unreadable.first {
                refusal = "affects[].versions range '\(r)' is not a vers: range; refused, it suppresses nothing"
            } else if state == "not_affected" {
                if let j = justification, !cycloneDXJustifications.contains(j) {
                    refusal = "not_affected with justification '\(j)', which CycloneDX does not define (use one of \(cycloneDXJustifications.sorted().joined(separator: ", "))); refused, it suppresses nothing"
                } else if justification == nil {
                    refusal = "not_affected without an analysis.justification; refused, it suppresses nothing"
                }
            }
            out.append(Statement(vulnerability: id, aliases: aliases, products: products, status: status, justification: justification,
                                 timestamp: stamp, origin: "\(name)#\(i + 1)", refusal: refusal))
        }
        return VEXDocument(statements: out)
    }

    /// Whether `s` speaks about this finding: the same vulnerability (by id or alias) and a
    /// product that covers its package. `.suppressing` when what it says of the package's
    /// version takes the finding out; `.notSuppressing` when it applies but keeps it (it says
    /// affected, or its versions do, or they cannot be judged); nil when it does not apply.
    enum Verdict { case suppressing, notSuppressing }

    static func verdict(_ s: Statement, on f: Finding, part: String? = nil, subject: Subject = .unnamed) -> Verdict? {
        verdictAndScope(s, on: f, part: part, subject: subject).verdict
    }

    /// The verdict, and the product a statement would have spoken of the finding's package inside,
    /// when the scan is not of it (and no entry of the statement applies otherwise).
    /// `only`: the products to look at, ascending (`Index.candidates`); nil, all of them. Those left
    /// out cannot cover the finding's package, so they would say nothing of it.
    static func verdictAndScope(_ s: Statement, on f: Finding, part: String?, subject: Subject, only: [Int]? = nil) -> (verdict: Verdict?, outside: Scope?) {
        guard f.names([s.vulnerability] + s.aliases, cover: part) else { return (nil, nil) }
        var applies = false, clears = false, keeps = false
        var outside: Scope?
        let products = only.map { $0.map { s.products[$0] } } ?? s.products
        var everyCopyNamedIn: [Scope: Bool] = [:]
        for p in products {
            var id = p.id
            // A BOM-Link names a component of that BOM by its bom-ref. When the scan is of that BOM and
            // it has refs, they alone say which package (syft's and trivy's are not plain purls).
            if let scope = p.within, case .bom = scope, subject.holds(scope), let ref = p.ref, let known = subject.refs {
                // A ref the BOM gives to several packages names none surely: it keeps their findings.
                // So does one whose decoded and written spellings name two packages.
                let spellings = [ref] + (p.rawRef.map { [$0] } ?? [])
                let named = Set(spellings.compactMap { known.refs[$0] })
                // Asked of each set, not gathered: a ref the SBOM gives to 10,000 packages, named by
                // 10,000 entries, was 10^8 insertions (helper-228).
                if spellings.contains(where: { known.ambiguous[$0]?.isEmpty == false }) || named.count > 1 {
                    if spellings.contains(where: { known.ambiguous[$0]?.contains(f.purl) == true }) || named.contains(f.purl) { applies = true; keeps = true }
                    continue
                }
                guard let purl = named.first, purl == f.purl else { continue }
                // A finding is per purl, and a BOM-Link names one component: it can clear the finding
                // only when the statement names every copy of that purl (helper-221: one copy of a jar
                // cleared its twin at another path). Otherwise it still speaks (a newer `affected`
                // must keep deciding, helper-222), but it cannot clear.
                // A ref counts as named only when its entry's versions clear this version: one listing
                // 9.9 says nothing of the copy at 2.8 (helper-223).
                // The products left out name no ref of this purl, so they add nothing here.
                // Judged once a scope (`purl` is the finding's throughout): per product, 100,000 entries
                // naming one ref took 10^10 steps.
                let everyCopyNamed = everyCopyNamedIn[scope] ?? {
                    let namedRefs = Set(products.filter { $0.within == scope && Self.clearsVersion($0, of: f) }.flatMap { [$0.ref, $0.rawRef].compactMap { $0 } })
                    let all = !known.unnamedCopies.contains(purl) && (subject.refsOfPurl[purl] ?? []).isSubset(of: namedRefs)
                    everyCopyNamedIn[scope] = all
                    return all
                }()
                if !everyCopyNamed {
                    applies = true; keeps = true
                    continue
                }
                id = purl
            }
            guard purlCovers(id, f.purl) else { continue }
            if let scope = p.within, !subject.holds(scope) { outside = outside ?? scope; continue }
            guard !p.versions.isEmpty else { applies = true; clears = true; continue }
            // Versions listed, none of them this one: this product entry says nothing about it.
            for v in p.versions {
                switch versionHit(v, f) {
                case true?: applies = true; if v.status == "unaffected" { clears = true } else { keeps = true }
                case nil: applies = true; keeps = true   // a range that cannot be judged never clears
                case false?: break
                }
            }
        }
        guard applies else { return (nil, outside) }
        return (s.suppresses && clears && !keeps ? .suppressing : .notSuppressing, nil)
    }

    /// Whether a versions entry holds the finding's version; nil when that cannot be judged.
    static func versionHit(_ v: Versions, _ f: Finding) -> Bool? {
        switch v.match {
        case .version(let ver): sameVersion(ver, f.version, ecosystem: f.ecosystem)
        case .range(let r): r.contains(f.version, fallbackEcosystem: f.ecosystem)
        case .unreadable: nil
        }
    }

    /// Whether a product entry's versions clear the finding's version: it lists none, or one that
    /// holds the version says `unaffected` and none that holds it (or cannot be judged) says otherwise.
    static func clearsVersion(_ p: Product, of f: Finding) -> Bool {
        guard !p.versions.isEmpty else { return true }
        var clears = false
        for v in p.versions {
            switch versionHit(v, f) {
            case true?: if v.status == "unaffected" { clears = true } else { return false }
            case nil: return false
            case false?: break
            }
        }
        return clears
    }

    static func sameVersion(_ a: String, _ b: String, ecosystem: String) -> Bool? {
        if a == b { return true }
        // Composer branches are told apart by their names: the Packagist order ranks every branch
        // word alike, so `dev-legacy` equalled `dev-main` (found by helper-216).
        if RangeEvaluator.isBranch(a, ecosystem: ecosystem) || RangeEvaluator.isBranch(b, ecosystem: ecosystem) {
            return a.trimmed.lowercased() == b.trimmed.lowercased()
        }
        guard let order = AnyVersionScheme.forEcosystem(ecosystem) else { return false }
        return (try? order.compare(a, b)).map { $0 == 0 }
    }

    /// What the VEX documents say of one finding: the statement that takes it out, if any, and
    /// a warning when the statements that speak about it disagree but cannot be ordered.
    public struct Decision: Sendable, Equatable {
        public var suppressing: Statement?
        public var conflict: String?
        /// Statements that speak of the finding's package inside another product than the one
        /// scanned, and so were not applied.
        public var notApplied: [NotApplied] = []
    }

    /// A statement not applied to a finding because the scan is not of the product it speaks inside.
    public struct NotApplied: Sendable, Hashable {
        public var origin: String
        public var status: String
        public var scope: Scope
    }

    /// Of every statement in `documents` that speaks about `f`, the newest decides (its own
    /// timestamp, else its document's; within one document, the later); it suppresses only when it
    /// is valid and says `not_affected` or `fixed`. When the statements disagree and one of them has
    /// no time, or the newest of two files share their time, which is newest cannot be known: the
    /// finding is kept (fail closed) and the conflict named.
    /// A finding that stands for several CVEs is taken out only when each of them is (by statements
    /// naming it or the finding's own id); a statement about one CVE leaves the finding in.
    /// Statements scoped to a product (OpenVEX subcomponents, CycloneDX BOM-Links) apply only when
    /// `subject`, what the scan is of, is that product; the others are named in `notApplied`.
    public static func decide(_ f: Finding, in documents: [VEXDocument], subject: Subject = .unnamed) -> Decision {
        decide(f, in: Index(documents, subject: subject))
    }

    /// `decide(f, in: documents, subject: subject)`, with the documents indexed once for all of a scan's findings.
    public static func decide(_ f: Finding, in index: Index) -> Decision {
        var first: Decision?
        var notApplied: [NotApplied] = [], seen = Set<NotApplied>()
        for part in f.suppressionParts {
            let d = decide(f, part: part, in: index)
            for n in d.notApplied where seen.insert(n).inserted { notApplied.append(n) }
            if d.conflict != nil || d.suppressing == nil { return Decision(suppressing: nil, conflict: d.conflict, notApplied: notApplied) }
            first = first ?? d
        }
        // Taken out by the statements that do apply: those that do not are beside the point.
        return first ?? Decision(suppressing: nil, conflict: nil, notApplied: notApplied)
    }

    static func decide(_ f: Finding, part: String?, in index: Index) -> Decision {
        var newest: (statement: Statement, verdict: Verdict)?
        var verdicts: Set<Bool> = [], undated: [Statement] = [], all: [Statement] = []
        var judged: [(statement: Statement, verdict: Verdict, document: Int)] = [], newestDocument = 0
        var notApplied: [NotApplied] = []
        let candidates: [(statement: Statement, document: Int, products: [Int])]
        do {
            candidates = try index.candidates(for: f, part: part)
        } catch {
            return Decision(suppressing: nil, conflict: "\(f.quotedName) was not judged against the VEX files: \(error.reason); the finding is kept")
        }
        for (s, di, products) in candidates {
            let (verdict, outside) = verdictAndScope(s, on: f, part: part, subject: index.subject, only: products)
            if let scope = outside, s.suppresses { notApplied.append(NotApplied(origin: s.origin, status: s.status, scope: scope)) }
            guard let v = verdict else { continue }
            verdicts.insert(v == .suppressing); all.append(s); judged.append((s, v, di))
            if s.timestamp == nil { undated.append(s) }
            if let n = newest, let a = n.statement.timestamp, let t = s.timestamp, t < a { continue }
            newest = (s, v); newestDocument = di
        }
        if verdicts.count > 1, !undated.isEmpty {
            let said = all.map { "\($0.origin) (\($0.status)\($0.timestamp.map { ", " + $0.description } ?? ", undated"))" }
            return Decision(suppressing: nil, conflict: "VEX statements on \(f.quotedName) disagree and not all are dated, so the newest "
                + "cannot be known: \(listed(said)); the finding is kept", notApplied: notApplied)
        }
        // Statements of two files with the same time that disagree: which is newer cannot be known
        // either, and the order the files were given in decided (found by helper-148). Within one
        // document, a later statement supersedes an earlier one, as an OpenVEX document is appended to.
        if let n = newest, let t = n.statement.timestamp {
            let tied = judged.filter { $0.statement.timestamp == t && $0.verdict != n.verdict && $0.document != newestDocument }.map(\.statement)
            if !tied.isEmpty {
                let said = ([n.statement] + tied).map { "\($0.origin) (\($0.status), \(t))" }
                return Decision(suppressing: nil, conflict: "VEX statements on \(f.quotedName) disagree at the same time, so the newest "
                    + "cannot be known: \(listed(said)); the finding is kept", notApplied: notApplied)
            }
        }
        guard let newest, newest.verdict == .suppressing else { return Decision(suppressing: nil, conflict: nil, notApplied: notApplied) }
        return Decision(suppressing: newest.statement, conflict: nil)
    }

    /// The statements a conflict names: the first 20, and how many more. Every finding a conflict
    /// touches gets its line, so 100,000 statements in disagreement wrote gigabytes of warnings.
    static func listed(_ said: [String]) -> String {
        let shown = said.prefix(20).joined(separator: "; ")
        return said.count > 20 ? shown + "; and \(said.count - 20) more" : shown
    }

    /// The statement that takes this finding out, if any: `decide(f, in: documents).suppressing`.
    public static func suppressing(_ f: Finding, in documents: [VEXDocument]) -> Statement? { decide(f, in: documents).suppressing }

    /// This document alone: `suppressing(f, in: [self])`.
    public func suppressing(_ f: Finding) -> Statement? { Self.suppressing(f, in: [self]) }

    /// A statement's purl covers a package's when type, namespace and name agree, its version (if
    /// it names one) is the package's, every qualifier it names has the same value, and its subpath
    /// (if it names one) is the package's: a statement about `golang.org/x/net#html` is about that
    /// package only, and suppressed the whole module's findings (found by helper-102).
    static func purlCovers(_ statement: String, _ package: String) -> Bool {
        // `pkg:pypi/requests@` names a version and leaves it empty: read as no version, it covered every
        // one (found by helper-163). It covers none.
        guard !hasEmptyVersion(statement) else { return false }
        if statement == package { return true }
        guard let s = PackageURL(parsing: statement), let p = PackageURL(parsing: package) else { return false }
        guard s.type == p.type, s.name == p.name, (s.namespace ?? "") == (p.namespace ?? "") else { return false }
        if let v = s.version, v != p.version { return false }
        if let sp = s.subpath.map(Self.segments), !sp.isEmpty, sp != p.subpath.map(Self.segments) { return false }
        return s.qualifiers.allSatisfy { p.qualifiers[$0.key] == $0.value }
    }

    /// Whether a purl's text ends its name with `@` and nothing after it (before any `?` or `#`).
    /// By bytes, as the purl parser splits: read by characters, `@?` followed by a combining mark was
    /// one character, no `?`, and `pkg:pypi/idna@?\u{301}` covered every version of idna (helper-228).
    static func hasEmptyVersion(_ purl: String) -> Bool {
        let b = purl.utf8
        let end = b.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? b.endIndex
        return end > b.startIndex && b[b.index(before: end)] == UInt8(ascii: "@")
    }

    /// A subpath's segments, without empty ones (`/html/` is `html`).
    static func segments(_ subpath: String) -> [Substring] { subpath.split(separator: "/") }
}
