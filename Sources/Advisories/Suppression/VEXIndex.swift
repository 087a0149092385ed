import ProvenantCore

extension VEXDocument {
    /// The statements of a scan's VEX documents, found by what they speak of: each vulnerability name
    /// a statement gives, and each package its products may cover. A finding is judged against the
    /// statements that may speak of it, and of each, the products that may. Read flat, every finding
    /// was held against every statement and every product: a VEX file of 100,000 statements on one
    /// CVE stalled a scan of 13,000 findings for over five minutes.
    ///
    /// The index only narrows: each candidate is still judged in full (`verdictAndScope`), so a key
    /// that is too wide costs time, never a verdict. What may cover a package:
    /// - a purl, by its type, namespace and name, and what else it requires of a package it covers
    ///   (`purlCovers`): its version when it names one, its first qualifier, its subpath; `pkg:x/y@`
    ///   covers none, and is left out;
    /// - any other text, by itself (it covers only a package of the same text);
    /// - a BOM-Link into the scanned SBOM, by each purl its bom-ref names there.
    public struct Index: Sendable {
        public let documents: [VEXDocument]
        public let subject: Subject
        /// Every statement's place, in the order they are judged: by document, then within it.
        let places: [Place]
        /// Vulnerability name → package key → the statements under that key, ascending, with the
        /// products that gave it.
        let byName: [String: [String: [Candidate]]]

        struct Place: Sendable { var document: Int; var statement: Int }
        struct Candidate: Sendable { var statement: Int; var products: [Int] }

        public init(_ documents: [VEXDocument], subject: Subject = .unnamed) {
            self.documents = documents; self.subject = subject
            var places: [Place] = [], byName: [String: [String: [Candidate]]] = [:]
            for (di, d) in documents.enumerated() {
                for (si, s) in d.statements.enumerated() {
                    let n = places.count
                    places.append(Place(document: di, statement: si))
                    var productsOf: [String: [Int]] = [:]
                    for (pi, p) in s.products.enumerated() {
                        for key in Self.keys(of: p, subject: subject) where productsOf[key]?.last != pi { productsOf[key, default: []].append(pi) }
                    }
                    guard !productsOf.isEmpty else { continue }
                    var names = Set<String>()
                    for name in [s.vulnerability] + s.aliases where names.insert(name).inserted {
                        for (key, products) in productsOf { byName[name, default: [:]][key, default: []].append(Candidate(statement: n, products: products)) }
                    }
                }
            }
            self.places = places; self.byName = byName
        }

        /// The most statements, products and versions entries one finding is judged against. Each may
        /// speak of it, so each is judged; 100,000 statements on one package, each listing a version,
        /// took every finding of that package through all of them. Real VEX files give a finding a
        /// handful. Beyond this it is not judged, and kept (`decide`).
        public static let budget = 10_000

        /// The statements that may speak of `f` (for `part` of it), in the order they are judged, each
        /// with the products that may cover its package, ascending; nil when they are more than `budget`.
        func candidates(for f: Finding, part: String?) -> [(statement: Statement, document: Int, products: [Int])]? {
            // Every name `Finding.names(_:cover:)` can accept: its id and aliases, the ids merged into it, the part.
            var names = Set([f.id] + f.aliases + f.mergedCVEs.keys)
            if let part { names.insert(part) }
            let keys = Index.keys(ofPackage: f.purl)
            var products: [Int: Set<Int>] = [:]
            // Counted as gathered, before duplicates are merged (a statement found by two of the finding's
            // names, or two of its keys), so the gathering itself stops early.
            var gathered = 0
            for name in names {
                guard let of = byName[name] else { continue }
                for key in keys {
                    for c in of[key] ?? [] {
                        gathered += 1 + c.products.count
                        if gathered > 4 * Self.budget { return nil }
                        products[c.statement, default: []].formUnion(c.products)
                    }
                }
            }
            var cost = 0
            for (n, ps) in products {
                let s = documents[places[n].document].statements[places[n].statement]
                cost += 1 + ps.reduce(0) { $0 + 1 + s.products[$1].versions.count }
                if cost > Self.budget { return nil }
            }
            return products.keys.sorted().map { n in
                let place = places[n]
                return (documents[place.document].statements[place.statement], place.document, products[n]!.sorted())
            }
        }

        /// The keys a product may cover a package under (see the type's comment).
        static func keys(of p: Product, subject: Subject) -> [String] {
            var keys: [String] = []
            if !hasEmptyVersion(p.id) {
                if let u = PackageURL(parsing: p.id) {
                    let qualifier = u.qualifiers.min { $0.key < $1.key }.map { ($0.key, $0.value) }
                    keys.append(key(u, version: u.version, qualifier: qualifier, subpath: subpath(u)))
                } else {
                    keys.append(text(p.id))
                }
            }
            // A BOM-Link into the scanned SBOM names its packages through the SBOM's bom-refs, as
            // `verdictAndScope` reads them: every purl either spelling of the ref names, surely or not.
            if let scope = p.within, case .bom = scope, subject.holds(scope), let ref = p.ref, let known = subject.refs {
                for spelling in [ref] + (p.rawRef.map { [$0] } ?? []) {
                    if let purl = known.refs[spelling] { keys.append(text(purl)) }
                    for purl in known.ambiguous[spelling] ?? [] { keys.append(text(purl)) }
                }
            }
            return keys
        }

        /// The keys a finding's package is found under: its text, and its purl's name with each choice
        /// of what a covering purl may require of it (its version or not, one of its qualifiers or none,
        /// its subpath or not).
        static func keys(ofPackage purl: String) -> [String] {
            var keys = [text(purl)]
            guard let u = PackageURL(parsing: purl) else { return keys }
            let sub = subpath(u)
            for version in [nil] + (u.version.map { [$0] } ?? []) {
                for qualifier in [nil] + u.qualifiers.map({ ($0.key, $0.value) }) {
                    for path in [nil] + (sub.map { [$0] } ?? []) { keys.append(key(u, version: version, qualifier: qualifier, subpath: path)) }
                }
            }
            return keys
        }

        private static func key(_ u: PackageURL, version: String?, qualifier: (String, String)?, subpath: String?) -> String {
            var k = "p\u{0}\(u.type)\u{0}\(u.namespace ?? "")\u{0}\(u.name)"
            if let version { k += "\u{0}@\(version)" }
            if let (name, value) = qualifier { k += "\u{0}?\(name)\u{0}\(value)" }
            if let subpath { k += "\u{0}#\(subpath)" }
            return k
        }

        /// A subpath as `purlCovers` compares it: its segments without empty ones; nil when there are none.
        private static func subpath(_ u: PackageURL) -> String? {
            let segments = u.subpath.map(VEXDocument.segments) ?? []
            return segments.isEmpty ? nil : segments.joined(separator: "/")
        }
        private static func text(_ s: String) -> String { "t\u{0}" + s }
    }
}
