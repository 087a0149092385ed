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
    /// - a BOM-Link into the scanned SBOM, by the purl its bom-ref names there, or by the ref itself
    ///   when the SBOM gives it to several packages.
    public struct Index: Sendable {
        public let documents: [VEXDocument]
        public let subject: Subject
        /// Every statement's place, in the order they are judged: by document, then within it.
        let places: [Place]
        /// Per statement: the names it gives, and its package keys with the products that gave each.
        let names: [Set<String>], keysOf: [[String: [Int]]]
        /// Name → the statements giving it; package key → the statements with a product under it;
        /// both ascending. Kept apart, not as pairs: one statement of 30,000 aliases and 30,000
        /// products would have made 9×10^8 pairs (helper-228).
        let byName: [String: [Int]], byKey: [String: [Int]]
        /// Purl → the bom-refs the scanned SBOM gives to it and to other packages too. A BOM-Link
        /// naming such a ref is keyed by the ref, once, not by each of its packages.
        let unsureRefsOf: [String: [String]]
        /// The qualifiers and subpaths the products' keys hold.
        let parts: KeyParts

        struct Place: Sendable { var document: Int; var statement: Int }

        /// What purl keys hold beyond a name and version: the qualifiers and subpaths some product's key
        /// names. A finding's keys are made of these only: a purl of 20,000 qualifiers and a long
        /// subpath made 80,000 keys, each a copy of the subpath (helper-229).
        struct KeyParts: Sendable {
            struct Qualifier: Hashable, Sendable { var name: String; var value: String }
            var qualifiers: Set<Qualifier> = [], subpaths: Set<String> = []
        }

        public init(_ documents: [VEXDocument], subject: Subject = .unnamed) {
            self.documents = documents; self.subject = subject
            var places: [Place] = [], names: [Set<String>] = [], keysOf: [[String: [Int]]] = []
            var byName: [String: [Int]] = [:], byKey: [String: [Int]] = [:], parts = KeyParts()
            for (di, d) in documents.enumerated() {
                for (si, s) in d.statements.enumerated() {
                    let n = places.count
                    places.append(Place(document: di, statement: si))
                    var productsOf: [String: [Int]] = [:]
                    for (pi, p) in s.products.enumerated() {
                        for key in Self.keys(of: p, subject: subject, parts: &parts) where productsOf[key]?.last != pi { productsOf[key, default: []].append(pi) }
                    }
                    let given = Set([s.vulnerability] + s.aliases)
                    names.append(given); keysOf.append(productsOf)
                    guard !productsOf.isEmpty else { continue }
                    for name in given { byName[name, default: []].append(n) }
                    for key in productsOf.keys { byKey[key, default: []].append(n) }
                }
            }
            var unsure: [String: [String]] = [:]
            for (ref, purls) in subject.refs?.ambiguous ?? [:] { for purl in purls { unsure[purl, default: []].append(ref) } }
            self.places = places; self.names = names; self.keysOf = keysOf; self.byName = byName; self.byKey = byKey
            unsureRefsOf = unsure; self.parts = parts
        }

        /// The most statements, products and versions entries one finding is judged against. Each may
        /// speak of it, so each is judged; 100,000 statements on one package, each listing a version,
        /// took every finding of that package through all of them. Real VEX files give a finding a
        /// handful. Beyond this it is not judged, and kept (`decide`).
        public static let budget = 10_000

        /// Why a finding was not judged: the bound it passed.
        struct Unjudged: Error { var reason: String }

        /// The statements that may speak of `f` (for `part` of it), in the order they are judged, each
        /// with the products that may cover its package, ascending. Throws when they cost more than
        /// `budget`, or when finding them would walk more than four budgets of statements.
        func candidates(for f: Finding, part: String?) throws(Unjudged) -> [(statement: Statement, document: Int, products: [Int])] {
            // Every name `Finding.names(_:cover:)` can accept: its id and aliases, the ids merged into it, the part.
            var wanted = Set([f.id] + f.aliases + f.mergedCVEs.keys)
            if let part { wanted.insert(part) }
            let keySet = Set(Index.keys(ofPackage: f.purl, parts: parts) + (unsureRefsOf[f.purl] ?? []).map(Index.ref))
            // Walk the shorter side: the statements giving one of its names, or those with a product
            // under one of its keys; each is then held to the other side through its own sets. The
            // walk is work too: when both sides are longer than the budget allows, it is not taken.
            let viaNames = wanted.reduce(0) { $0 + (byName[$1]?.count ?? 0) }, viaKeys = keySet.reduce(0) { $0 + (byKey[$1]?.count ?? 0) }
            guard min(viaNames, viaKeys) <= 4 * Self.budget else {
                throw Unjudged(reason: "more than \(4 * Self.budget) VEX statements name one of its ids, and as many have a product for its package")
            }
            let walk = viaNames <= viaKeys ? wanted.flatMap { byName[$0] ?? [] } : keySet.flatMap { byKey[$0] ?? [] }
            var seen = Set<Int>(), found: [(statement: Int, products: [Int])] = [], cost = 0
            for n in walk where seen.insert(n).inserted {
                guard !wanted.isDisjoint(with: names[n]) else { continue }
                var products = Set<Int>()
                // Through the smaller of the statement's keys and the finding's.
                if keysOf[n].count < keySet.count {
                    for (key, ps) in keysOf[n] where keySet.contains(key) { products.formUnion(ps) }
                } else {
                    for key in keySet { if let ps = keysOf[n][key] { products.formUnion(ps) } }
                }
                guard !products.isEmpty else { continue }
                let s = statement(n)
                cost += 1 + products.reduce(0) { $0 + 1 + s.products[$1].versions.count }
                if cost > Self.budget { throw Unjudged(reason: "more than \(Self.budget) VEX statements, products and versions entries may speak of it") }
                found.append((n, products.sorted()))
            }
            return found.sorted { $0.statement < $1.statement }.map { (statement($0.statement), places[$0.statement].document, $0.products) }
        }

        /// The statement at place `n`.
        private func statement(_ n: Int) -> Statement { documents[places[n].document].statements[places[n].statement] }

        /// The keys a product may cover a package under (see the type's comment).
        /// `parts` gains the qualifier and subpath the key names.
        static func keys(of p: Product, subject: Subject, parts: inout KeyParts) -> [String] {
            var keys: [String] = []
            if !hasEmptyVersion(p.id) {
                if let u = PackageURL(parsing: p.id) {
                    let qualifier = u.qualifiers.min { $0.key < $1.key }.map { ($0.key, $0.value) }
                    let path = subpath(u)
                    if let (name, value) = qualifier { parts.qualifiers.insert(.init(name: name, value: value)) }
                    if let path { parts.subpaths.insert(path) }
                    keys.append(key(u, version: u.version, qualifier: qualifier, subpath: path))
                } else {
                    keys.append(text(p.id))
                }
            }
            // A BOM-Link into the scanned SBOM names its packages through the SBOM's bom-refs, as
            // `verdictAndScope` reads them: every purl either spelling of the ref names, surely or not.
            if let scope = p.within, case .bom = scope, subject.holds(scope), let ref = p.ref, let known = subject.refs {
                for spelling in [ref] + (p.rawRef.map { [$0] } ?? []) {
                    if let purl = known.refs[spelling] { keys.append(text(purl)) }
                    // A ref given to several packages: keyed by itself; a finding of any of them looks it up.
                    if known.ambiguous[spelling] != nil { keys.append(Index.ref(spelling)) }
                }
            }
            return keys
        }

        /// The keys a finding's package is found under: its text, and its purl's name with each choice
        /// of what a covering purl may require of it (its version or not, one of its qualifiers or none,
        /// its subpath or not), of the qualifiers and subpaths some key holds (`parts`).
        static func keys(ofPackage purl: String, parts: KeyParts) -> [String] {
            var keys = [text(purl)]
            guard let u = PackageURL(parsing: purl) else { return keys }
            let sub = subpath(u).flatMap { parts.subpaths.contains($0) ? $0 : nil }
            let qualifiers = u.qualifiers.filter { parts.qualifiers.contains(.init(name: $0.key, value: $0.value)) }.map { ($0.key, $0.value) }
            for version in [nil] + (u.version.map { [$0] } ?? []) {
                for qualifier in [nil] + qualifiers {
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
        private static func ref(_ s: String) -> String { "r\u{0}" + s }
    }
}
