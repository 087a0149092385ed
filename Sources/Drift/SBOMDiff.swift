import Advisories
import Catalog
import ProvenantCore
import SBOM

/// One SBOM (or catalogued target) against its approved baseline: what was added, removed, moved
/// and, above all, what changed under the same version.
public struct SBOMDiff: Sendable {
    public var findings: [DriftFinding] = []
    /// Findings a policy rule approves, listed apart.
    public var approved: [DriftFinding] = []
    /// Notes about the comparison itself: expired policy rules, packages matched by name only.
    public var notes: [String] = []
    public var baselineCount = 0
    public var currentCount = 0
    /// Packages on both sides at the same version whose content could not be compared: no digest of
    /// one algorithm on both sides. Not the same as unchanged.
    public var contentNotCompared: [String] = []
    /// Added versions not held against the baseline's versions for another spelling of one release
    /// (`4.17.21+1` beside `4.17.21`), or new names not compared for look-alikes: the comparisons of
    /// one diff have budgets, so a side of thousands of versions of one name ends in bounded time.
    public var additionsNotCompared: [String] = []
    /// Image settings (user, entrypoint, cmd, working directory) whose text is redacted on both sides
    /// and reads the same: a change inside the redacted part cannot be told without both images.
    public var imageTextNotCompared: [String] = []
    /// The baseline records where packages are resolved from and the current side records nowhere for
    /// any (an SBOM by a tool that leaves sources out): moved or dropped sources were not compared.
    public var sourcesNotCompared = false
    /// The baseline holds packages and the current side none: a wrong path, an empty mount or a
    /// target nothing could be read from looks the same as every package removed, so it is not clean.
    public var currentEmpty = false

    /// Version comparisons one diff spends looking for added versions that respell a baseline one.
    public static let respellingComparisons = 4_000_000

    /// Names a new package is compared with for the lookalike check, beyond both sides' own.
    public struct Options: Sendable {
        public var knownNames: [String] = []
        public var policy: DriftPolicy?
        /// The diff's budgets: version comparisons for respelt releases, candidates for look-alikes.
        public var respellingComparisons = SBOMDiff.respellingComparisons
        public var lookalikeComparisons = Lookalike.Index.comparisons
        /// `YYYY-MM-DD`: the day policy expiry is judged on.
        public var today: String
        public init(today: String) { self.today = today }
    }

    public static func compare(baseline: Inventory, current: Inventory, options: Options) -> SBOMDiff {
        var d = SBOMDiff()
        d.baselineCount = baseline.packages.count
        d.currentCount = current.packages.count
        let old = Side(baseline.packages), new = Side(current.packages)
        var raw: [(DriftFinding, DriftPolicy.Change?)] = []
        // A package whose source is no longer recorded is a finding only where the current side records
        // sources at all; otherwise the whole comparison of sources is NOT CHECKED, said once.
        let sources = SourceSides(before: old.recordsSources, after: new.recordsSources)
        if sources.before && !sources.after {
            d.sourcesNotCompared = true
            d.notes.append("NOT CHECKED: the current side records no package's source (resolved URL or commit), so moved or dropped sources were not compared")
        }

        if current.packages.isEmpty, !baseline.packages.isEmpty {
            d.currentEmpty = true
            d.notes.append("NOT CHECKED: the current side holds no package where the baseline holds \(baseline.packages.count): an empty or unreadable target is not compared")
        }

        // Name keys are compared across sides; an SBOM without purls is paired by name, and said so.
        let withoutPurl = (baseline.packages + current.packages).filter { $0.foundBy == SBOMReader.withoutPurl }.count
        if withoutPurl > 0 {
            d.notes.append("\(withoutPurl) component\(withoutPurl == 1 ? "" : "s") without a purl matched by name only")
        }
        var addedKeys: [PackageKey] = []
        // Each added version was held against every baseline version of its name, sorted again each
        // time: 8,000 added versions of one package took over a minute (found by helper-233).
        var respellingBudget = options.respellingComparisons
        for name in Set(old.byName.keys).union(new.byName.keys).sorted() {
            let before = old.byName[name] ?? [], after = new.byName[name] ?? []
            let beforeVersions = Set(before.map(\.version)), afterVersions = Set(after.map(\.version))
            // The same version on both sides: its content must be the same.
            for v in beforeVersions.intersection(afterVersions).sorted() {
                let key = PackageKey(nameKey: name, version: v)
                let (b, a) = (old.packages[key] ?? [], new.packages[key] ?? [])
                raw += content(key, b, a, sources).map { ($0, nil) }
                if !Self.comparable(b, a) { d.contentNotCompared.append(key.description) }
            }
            var gone = beforeVersions.subtracting(afterVersions).sorted(by: order(name, old, new))
            var came = afterVersions.subtracting(beforeVersions).sorted(by: order(name, old, new))
            // A version that moved: pair them oldest with oldest, what is left over was added or removed.
            while let g = gone.first, let c = came.first {
                gone.removeFirst(); came.removeFirst()
                let from = PackageKey(nameKey: name, version: g), to = PackageKey(nameKey: name, version: c)
                raw += moved(from: from, to: to, old: old, new: new, sources: sources, notCompared: &d.contentNotCompared)
            }
            for v in gone { raw.append((DriftFinding(rule: .removed, subject: name + "@" + v, message: "\(name)@\(v) is no longer present"), nil)) }
            // A copy left over whose version orders equal to one the baseline has (`4.17.21+1` beside
            // `4.17.21`, `2.31.0.0` beside `2.31.0`) is that release spelt otherwise: added, and its
            // content must be the release's (found by helper-170: other bytes passed as an addition).
            let scheme = came.isEmpty ? nil : Self.scheme(name, old, new)
            let sortedBefore = scheme == nil ? [] : beforeVersions.sorted()
            for v in came {
                let key = PackageKey(nameKey: name, version: v)
                addedKeys.append(key)
                guard let s = scheme, !sortedBefore.isEmpty else { continue }
                guard respellingBudget >= sortedBefore.count else { d.additionsNotCompared.append(key.description); continue }
                respellingBudget -= sortedBefore.count
                guard let same = sortedBefore.first(where: { (try? s.compare($0, v)) == 0 }) else { continue }
                let (b, a) = (old.packages[PackageKey(nameKey: name, version: same)] ?? [], new.packages[key] ?? [])
                raw += content(key, b, a, sources).map { ($0, nil) }
                if !Self.comparable(b, a) { d.contentNotCompared.append(key.description) }
            }
        }
        // Additions: the lookalike check, install scripts, and the new-transitive signal.
        // New names are compared with the established ones (every name of the baseline, and of the
        // current side that is not itself new) and with --names: two new names near each other are
        // one change, not a squat on something trusted.
        let newNames = Set(addedKeys.map(\.name)).subtracting(old.byName.keys)
        let known = Lookalike.Index(old.packages.keys.map(\.displayName)
                                    + new.packages.keys.filter { !newNames.contains($0.name) }.map(\.displayName) + options.knownNames)
        let typedNames = Set((old.packages.keys.map { $0 } + new.packages.keys.filter { !newNames.contains($0.name) })
                                .compactMap { k in k.purlType.map { $0 + "\u{0}" + k.displayName } })
        let roots = new.roots, parents = new.parents
        let fromRoot = Self.shortestPaths(from: roots, parents: parents)
        var lookalikeBudget = options.lookalikeComparisons
        var nearMisses: [String: (name: String, reason: String)?] = [:]
        for key in addedKeys {
            let p = new.packages[key]?.first
            let location = p?.locations.first
            if let p, let path = newTransitivePath(to: p, old: old, roots: roots, parents: parents, fromRoot: fromRoot) {
                raw.append((DriftFinding(rule: .newTransitive, subject: key.description,
                                         message: "\(key.description) is new and reached only through existing dependencies: " + Self.shown(path),
                                         location: location), .addition(key)))
            } else {
                raw.append((DriftFinding(rule: .added, subject: key.description, message: "\(key.description) was added", location: location), .addition(key)))
            }
            // Every copy's scripts: packages paired by purl without qualifiers may be several, and a
            // `?arch=`-qualified second copy carried a script unseen (found by helper-106).
            let s = Self.scripts(new.packages[key] ?? [])
            if !s.isEmpty {
                raw.append((DriftFinding(rule: .installScript, subject: key.description,
                                         message: "new package \(key.description) runs at install time: " + s.joined(separator: "; "), location: location), nil))
            }
            // Names that differ only in case are two packages only within one purl type whose names
            // keep case (a gem `Ascii85` is not an npm `ascii85`), and never for a component without a
            // purl, whose name is compared folded (review).
            // Asked once a name and type (its versions share the answer), within the diff's budget.
            let asked = (key.purlType ?? "") + "\u{0}" + key.displayName
            let nearMiss: (name: String, reason: String)?
            if let known = nearMisses[asked] { nearMiss = known } else {
                do throws(Lookalike.Index.OverBudget) {
                    nearMiss = try known.nearMiss(key.displayName, budget: &lookalikeBudget, where: { other, why in
                        why != Lookalike.caseOnly || key.purlType.map({ typedNames.contains($0 + "\u{0}" + other) || options.knownNames.contains(other) }) == true
                    })
                } catch {
                    nearMiss = nil
                    d.additionsNotCompared.append(key.description)
                }
                nearMisses[asked] = nearMiss
            }
            if let (other, why) = nearMiss {
                raw.append((DriftFinding(rule: .lookalike, subject: key.description,
                                         message: "new package '\(key.displayName)' \(why) from '\(other)'", location: location), nil))
            }
        }
        raw += configChanges(baseline.configFiles ?? [], current.configFiles ?? [])
        if let b = baseline.image, let a = current.image {
            let (found, hidden) = imageChanges(b, a)
            raw += found.map { ($0, nil) }
            // Said, not passed over: an SBOM keeps no trace of them (found by review).
            if b.redactedDigests == nil || a.redactedDigests == nil {
                d.notes.append("environment values, the health check, the shell and ONBUILD triggers are in no SBOM: against one, only environment names were compared (diff the two images themselves to compare them)")
            }
            d.imageTextNotCompared = hidden
            if !hidden.isEmpty {
                d.notes.append("NOT CHECKED: the image's \(hidden.joined(separator: ", ")) hold\(hidden.count == 1 ? "s" : "") redacted text on both sides; a change inside it cannot be seen from an SBOM (diff the two images themselves to compare it)")
            }
        } else if (baseline.image == nil) != (current.image == nil) {
            // One side is an image and the other has no image facts (an SBOM by another tool): how the
            // image runs was compared with nothing, and passed (found by helper-131).
            let missing = baseline.image == nil ? "baseline" : "current side"
            d.imageTextNotCompared = ["settings"]
            d.notes.append("NOT CHECKED: the \(missing) has no image facts (user, entrypoint, command, ports, environment), so how the image runs was not compared")
        }

        if !d.additionsNotCompared.isEmpty {
            let n = d.additionsNotCompared.count
            d.notes.append("NOT CHECKED: \(n) addition\(n == 1 ? " was" : "s were") not compared with the baseline's versions for another spelling of one release, or with known names for look-alikes (over the diff's budgets of \(options.respellingComparisons) and \(options.lookalikeComparisons) comparisons), e.g. " + d.additionsNotCompared.prefix(3).joined(separator: ", "))
        }
        if !d.contentNotCompared.isEmpty {
            let n = d.contentNotCompared.count
            d.notes.append("NOT CHECKED: the content of \(n) unchanged-version package\(n == 1 ? "" : "s") could not be compared (a copy with no digest of one algorithm on both sides), e.g. " + d.contentNotCompared.prefix(3).joined(separator: ", "))
        }
        for rule in options.policy?.expired(today: options.today) ?? [] {
            d.notes.append("policy rule '\(Redactor.escapeControls(Redactor.redact(rule.id)))' (\(options.policy?.path ?? "policy"):\(rule.line)) expired on \(rule.expires ?? "") and approves nothing")
        }
        for (f, change) in raw {
            if let change, let rule = options.policy?.approving(change, today: options.today) {
                var a = f
                a.approvedBy = Redactor.escapeControls(Redactor.redact(rule.id))
                d.approved.append(a)
            } else {
                d.findings.append(f)
            }
        }
        d.findings.sort(by: DriftFinding.order)
        d.approved.sort(by: DriftFinding.order)
        return d
    }

    /// The packages of one side, by key and by name key, and its dependency graph.
    struct Side {
        var packages: [PackageKey: [Package]] = [:]
        var byName: [String: [PackageKey]] = [:]
        var keyOfRef: [String: PackageKey] = [:]
        var all: [Package]
        /// Whether any package records where it is resolved from.
        var recordsSources = false

        init(_ list: [Package]) {
            all = list
            recordsSources = list.contains { $0.source != nil || !($0.otherSources ?? []).isEmpty }
            for p in list {
                let k = PackageKey(p)
                if packages[k] == nil { byName[k.name, default: []].append(k) }
                packages[k, default: []].append(p)
                keyOfRef[p.ref] = k
            }
        }

        /// Packages the project depends on directly. When the input does not say, every package no
        /// other package depends on.
        var roots: Set<PackageKey> {
            let direct = all.filter { $0.isDirect == true }.map(PackageKey.init)
            if !direct.isEmpty { return Set(direct) }
            guard all.contains(where: \.dependenciesKnown) else { return [] }
            let depended = Set(all.flatMap(\.dependsOn).compactMap { keyOfRef[$0] })
            return Set(all.map(PackageKey.init)).subtracting(depended)
        }

        /// For each package, the packages that depend on it.
        var parents: [PackageKey: [PackageKey]] {
            var out: [PackageKey: [PackageKey]] = [:]
            for p in all {
                let k = PackageKey(p)
                for d in p.dependsOn { if let dk = keyOfRef[d] { out[dk, default: []].append(k) } }
            }
            return out.mapValues { Array(Set($0)).sorted() }
        }
    }

    /// A new package that is not a direct dependency and whose every parent already existed in the
    /// baseline arrived through an existing dependency's update: the poisoned-transitive signal. The path
    /// runs from a root to it, shortest first.
    static func newTransitivePath(to p: Package, old: Side, roots: Set<PackageKey>, parents: [PackageKey: [PackageKey]],
                                  fromRoot: [PackageKey: Reach]) -> [String]? {
        let key = PackageKey(p)
        guard p.isDirect != true, !roots.contains(key), let ps = parents[key], !ps.isEmpty else { return nil }
        guard ps.allSatisfy({ old.byName[$0.name] != nil }) else { return nil }
        guard let reached = fromRoot[key] else {
            // No root reaches it (the graph is partial): still new through existing parents.
            return [ps[0].description, key.description]
        }
        // Only what `shown` prints is built: the whole path when short, else its first and last steps.
        // Walked whole for each new package, a chain of 10,000 took 16 s (found by helper-233).
        let length = reached.depth + 1
        let tail = length > shownWhole ? shownEnds : length
        var last = [key.description], at = key
        while last.count < tail, let up = fromRoot[at]?.up, up != at { last.append(up.description); at = up }
        guard length > shownWhole else { return last.reversed() }
        return reached.top.map(\.description) + ["… \(length - 2 * shownEnds) more …"] + last.reversed()
    }

    /// A path longer than this is shown as its first and last `shownEnds` steps.
    static let shownWhole = 12, shownEnds = 5

    /// How a package was first reached from a root: the package before it, its distance from that root
    /// and the path's first `shownEnds` steps.
    struct Reach { var up: PackageKey; var depth: Int; var top: [PackageKey] }

    /// One breadth-first walk down the dependency graph from every root at once: for each package
    /// reached, the package it was first reached from (a root maps to itself). Linear in the graph, so
    /// a side of many new packages costs one walk, not one per package.
    static func shortestPaths(from roots: Set<PackageKey>, parents: [PackageKey: [PackageKey]]) -> [PackageKey: Reach] {
        var children: [PackageKey: [PackageKey]] = [:]
        for (child, ps) in parents { for parent in ps { children[parent, default: []].append(child) } }
        var previous: [PackageKey: Reach] = [:]
        var queue = roots.sorted(), head = 0
        for r in queue { previous[r] = Reach(up: r, depth: 0, top: [r]) }
        while head < queue.count {
            let k = queue[head]; head += 1
            let from = previous[k]!
            for c in (children[k] ?? []).sorted() where previous[c] == nil {
                previous[c] = Reach(up: k, depth: from.depth + 1, top: from.top.count < shownEnds ? from.top + [c] : from.top)
                queue.append(c)
            }
        }
        return previous
    }

    /// A path as the report shows it: whole when short, else its first and last steps, so a deep chain
    /// costs a line, not a page per finding.
    static func shown(_ path: [String]) -> String {
        guard path.count > shownWhole else { return path.joined(separator: " > ") }
        return (path.prefix(shownEnds) + ["… \(path.count - 2 * shownEnds) more …"] + path.suffix(shownEnds)).joined(separator: " > ")
    }

    /// Oldest first, by the ecosystem's own ordering when it can read both versions.
    /// The version scheme of a name's ecosystem, as either side records it.
    static func scheme(_ name: String, _ old: Side, _ new: Side) -> AnyVersionScheme? {
        let eco = (old.byName[name]?.first).flatMap { old.packages[$0]?.first?.ecosystem }
            ?? (new.byName[name]?.first).flatMap { new.packages[$0]?.first?.ecosystem }
        return eco.flatMap { AnyVersionScheme.forEcosystem($0.osvName) }
    }

    static func order(_ name: String, _ old: Side, _ new: Side) -> (String, String) -> Bool {
        let scheme = Self.scheme(name, old, new)
        return { a, b in
            if let s = scheme, let c = try? s.compare(a, b), c != 0 { return c < 0 }
            return a < b
        }
    }

    /// A version change: up, down, or (when the ecosystem's ordering cannot read one side) a possible downgrade.
    static func moved(from: PackageKey, to: PackageKey, old: Side, new: Side, sources: SourceSides, notCompared: inout [String]) -> [(DriftFinding, DriftPolicy.Change?)] {
        let p = new.packages[to]?.first
        let eco = p?.ecosystem ?? old.packages[from]?.first?.ecosystem
        let subject = from.name
        var out: [(DriftFinding, DriftPolicy.Change?)] = []
        let scheme = eco.flatMap { AnyVersionScheme.forEcosystem($0.osvName) }
        var compared = scheme.flatMap { try? $0.compare(from.version, to.version) }
        // A PEP 440 local label (`2.0.0+evil`) orders above its public version, but names a build that no
        // index publishes: the same release built elsewhere, whose content must match, never an
        // approvable upgrade (found by helper-122; Cargo's `+build` already compared equal).
        // Only upward: a move down that only the label shows stays a downgrade (helper-123).
        if eco?.osvName == "PyPI", let c = compared, c < 0,
           (from.version.contains("+") || to.version.contains("+")),
           let same = scheme.flatMap({ try? $0.compare(Self.publicVersion(from.version), Self.publicVersion(to.version)) }), same == 0 { compared = 0 }
        switch compared {
        case .some(0):
            // Two spellings of one version (`1.0` and `1.0.0`, a build suffix): the same release, so its
            // content must be the same; never an approvable upgrade.
            out.append((DriftFinding(rule: .upgraded, subject: subject,
                                     message: "\(subject) changed from \(from.version) to \(to.version), which order as the same version; no policy approves it",
                                     location: p?.locations.first), nil))
            out += content(to, old.packages[from] ?? [], new.packages[to] ?? [], sources).map { ($0, nil) }
            // As for an unchanged version, content that cannot be compared is not checked: respelt as
            // `1.3.0+rebuilt` with its digest dropped, it passed as a low finding (found by helper-131).
            if !comparable(old.packages[from] ?? [], new.packages[to] ?? []) { notCompared.append(to.description) }
        case .some(let c) where c > 0:
            out.append((DriftFinding(rule: .downgraded, subject: subject, message: "\(subject) went down from \(from.version) to \(to.version)",
                                     location: p?.locations.first), nil))
        case .some:
            let bump = VersionBump.of(from: from.version, to: to.version)
            out.append((DriftFinding(rule: .upgraded, subject: subject, message: "\(subject) went up from \(from.version) to \(to.version) (\(bump.rawValue))",
                                     location: p?.locations.first), .upgrade(to, bump)))
        case .none:
            // Not approvable, and reported as the worse case: a move that cannot be ordered may be a
            // downgrade, and must not pass as a low-severity upgrade.
            out.append((DriftFinding(rule: .downgraded, subject: subject,
                                     message: "\(subject) changed from \(from.version) to \(to.version); their order could not be read, so it may be a downgrade and no policy approves it",
                                     location: p?.locations.first), nil))
        }
        // What moved with the version, in every copy: a new install script, another host.
        let before = old.packages[from] ?? [], after = new.packages[to] ?? []
        let scriptsBefore = Self.scripts(before), had = Set(scriptsBefore), added = Self.scripts(after).filter { !had.contains($0) }
        if !added.isEmpty {
            out.append((DriftFinding(rule: .installScript, subject: to.description,
                                     message: "\(to.description) \(scriptsBefore.isEmpty ? "added" : "changed its") install-time script: " + added.joined(separator: "; "),
                                     location: p?.locations.first), nil))
        }
        // Two spellings of one version had their licenses and sources compared as the same version (`content`).
        if compared != 0, let l = licenseChange(to.description, before, after, p?.locations.first) { out.append((l, nil)) }
        if compared != 0 {
            for s in sourceChanges(before, after, sameVersion: false, sources) {
                out.append((DriftFinding(rule: .sourceChanged, subject: to.description, message: "\(to.description): \(s)", location: p?.locations.first), nil))
            }
        }
        return out
    }

    /// A PEP 440 version without its local label, lowercased.
    static func publicVersion(_ v: String) -> String {
        String(v.trimmingCharacters(in: .whitespaces).lowercased().split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// The same package and version on both sides: its content, source, scripts and license must agree.
    static func content(_ key: PackageKey, _ before: [Package], _ after: [Package], _ sources: SourceSides) -> [DriftFinding] {
        guard let a = after.first, !before.isEmpty else { return [] }
        var out: [DriftFinding] = []
        let location = a.locations.first
        // Digests of the same algorithm that differ: the published artifact is not the approved one.
        // Every digest of an algorithm the baseline has must be one of the baseline's: npm accepts a tarball
        // matching any hash of the strongest algorithm, so a second sha512 pins another tarball.
        var beforeDigests: [ProvenantCore.Digest.Algorithm: Set<String>] = [:]
        for d in before.flatMap(\.digests) { beforeDigests[d.algorithm, default: []].insert(d.value) }
        var tampered: [String] = []
        for d in Set(after.flatMap(\.digests)).sorted() {
            if let known = beforeDigests[d.algorithm], !known.contains(d.value) {
                tampered.append("\(d.algorithm.rawValue) was \(known.sorted().map(short).joined(separator: ", ")), now \(short(d.value))")
            }
        }
        // A digest of an algorithm the baseline lacks pins something the baseline never saw (npm checks
        // the strongest one only: `sha1-X` becoming `sha1-X sha512-Y` pins another tarball).
        let algorithmsBefore = Set(before.flatMap(\.digests).map(\.algorithm.rawValue)), algorithmsAfter = Set(after.flatMap(\.digests).map(\.algorithm.rawValue))
        if !algorithmsBefore.isEmpty, !algorithmsAfter.isEmpty, algorithmsBefore != algorithmsAfter {
            tampered.append("digests were \(algorithmsBefore.sorted().joined(separator: ", ")), now \(algorithmsAfter.sorted().joined(separator: ", ")) (one the baseline lacks cannot be confirmed)")
        }
        // Files the package database records with a digest (dpkg md5sums, RECORD).
        let beforeFiles = Dictionary(before.flatMap(\.files).compactMap { f in f.digest.map { (f.path, $0) } }, uniquingKeysWith: { x, _ in x })
        var changedFiles: [String] = [], otherAlgorithm: [String] = []
        for f in Set(after.flatMap(\.files)).sorted() {
            guard let d = f.digest, let was = beforeFiles[f.path] else { continue }
            // Another algorithm for the same file of the same version cannot be compared: a RECORD row
            // moved from sha256 to sha384 beside a changed file would otherwise pass.
            if was.algorithm != d.algorithm { otherAlgorithm.append(f.path) } else if was.value != d.value { changedFiles.append(f.path) }
        }
        func shown(_ paths: [String]) -> String {
            paths.prefix(5).joined(separator: ", ") + (paths.count > 5 ? " and \(paths.count - 5) more" : "")
        }
        if !changedFiles.isEmpty { tampered.append("file digests differ: \(shown(changedFiles))") }
        if !otherAlgorithm.isEmpty { tampered.append("file digests of another algorithm, which cannot be compared: \(shown(otherAlgorithm))") }
        // When both sides record file digests, the same version must record the same files: a path
        // that gained or lost its digest, or came or went, is changed content too (found by review: an
        // md5sums line swapped for one naming another file, or a digest made unreadable, passed).
        let afterFiles = Dictionary(after.flatMap(\.files).compactMap { f in f.digest.map { (f.path, $0) } }, uniquingKeysWith: { x, _ in x })
        if !beforeFiles.isEmpty, !afterFiles.isEmpty {
            let gone = beforeFiles.keys.filter { afterFiles[$0] == nil }.sorted()
            let new = afterFiles.keys.filter { beforeFiles[$0] == nil }.sorted()
            if !gone.isEmpty { tampered.append("files no longer recorded with a digest: \(shown(gone))") }
            if !new.isEmpty { tampered.append("files newly recorded: \(shown(new))") }
        }
        if !tampered.isEmpty {
            out.append(DriftFinding(rule: .tampered, subject: key.description,
                                    message: "\(key.description) has the same version but different content: " + tampered.joined(separator: "; "), location: location))
        }
        for s in sourceChanges(before, after, sameVersion: true, sources) {
            out.append(DriftFinding(rule: .sourceChanged, subject: key.description, message: "\(key.description): \(s)", location: location))
        }
        // Scripts and licenses of every copy (a qualified second copy was not looked at: helper-106).
        let scriptsBefore = Self.scripts(before), had = Set(scriptsBefore), addedScripts = Self.scripts(after).filter { !had.contains($0) }
        if !addedScripts.isEmpty {
            out.append(DriftFinding(rule: .installScript, subject: key.description,
                                    message: "\(key.description) \(scriptsBefore.isEmpty ? "now has" : "changed its") install-time script: " + addedScripts.joined(separator: "; "),
                                    location: location))
        }
        if let l = licenseChange(key.description, before, after, location) { out.append(l) }
        return out
    }

    /// A license that changed, or that the baseline recorded and the current side no longer does. A
    /// license only the current side records is not a change of terms. Looked at for a version move
    /// too: 4.17.21 (MIT) to 4.17.22 (BUSL-1.1) passed as an approvable patch upgrade, and a dropped
    /// license passed as no change (found by helper-145).
    static func licenseChange(_ subject: String, _ before: [Package], _ after: [Package], _ location: Location?) -> DriftFinding? {
        // NOASSERTION says nothing is known, as no license does (SPDX writes it where CycloneDX writes none).
        let lb = Set(before.flatMap(\.licenses)).subtracting(["NOASSERTION"]), la = Set(after.flatMap(\.licenses)).subtracting(["NOASSERTION"])
        guard !lb.isEmpty, la.isEmpty || Licenses.terms(lb.sorted()) != Licenses.terms(la.sorted()) else { return nil }
        let now = la.isEmpty ? "none is recorded" : la.sorted().joined(separator: ", ")
        return DriftFinding(rule: .licenseChanged, subject: subject,
                            message: "\(subject) license was \(lb.sorted().joined(separator: ", ")), now \(now)", location: location)
    }

    /// The install scripts of every copy of a package, each once, in order.
    static func scripts(_ packages: [Package]) -> [String] {
        var seen = Set<String>()
        return packages.flatMap { $0.installScripts ?? [] }.filter { seen.insert($0).inserted }
    }

    /// Whether a digest of one algorithm, or a file digest of one path, is on both sides, for every copy
    /// of the after side: a copy without one must be one the baseline had as it is (the same purl,
    /// found the same way in the same place). A second, digestless copy beside a checked one was
    /// neither compared nor counted (found by helper-131).
    static func comparable(_ before: [Package], _ after: [Package]) -> Bool {
        let algorithms = Set(before.flatMap(\.digests).map(\.algorithm))
        let paths = Set(before.flatMap(\.files).filter { $0.digest != nil }.map(\.path))
        func checked(_ p: Package) -> Bool {
            p.digests.contains { algorithms.contains($0.algorithm) } || p.files.contains { $0.digest != nil && paths.contains($0.path) }
        }
        func identity(_ p: Package) -> String { p.ref + "\u{0}" + p.foundBy + "\u{0}" + (p.locations.first?.path ?? "") }
        guard after.contains(where: checked) else { return false }
        let had = Set(before.map(identity))
        return after.allSatisfy { checked($0) || had.contains(identity($0)) }
    }

    /// Every place the after side was resolved from that none of the before side's places is the same
    /// source as (`sourceChange`): a second lockfile resolving the package from another host is a change
    /// too, not only the first source (found by helper-90).
    static func sourceChanges(_ before: [Package], _ after: [Package], sameVersion: Bool, _ sources: SourceSides) -> [String] {
        let was = Self.sources(before), now = Self.sources(after)
        guard !was.isEmpty else { return [] }
        // A dropped source leaves the choice to the installer's configured index (`.npmrc`, pip's
        // `--index-url`): a move that passed unseen (found by a hunt). Only where the current side
        // records sources at all; when it records none, `compare` says so once.
        if now.isEmpty {
            guard sources.after else { return [] }
            let host = SourceLocation(was[0]).host.map { " (was \($0))" } ?? ""
            return ["no longer records where it is resolved from\(host); the installer's configured index now decides"]
        }
        // A source is new when no source before is the same one (`sourceChange` gives nil). That is
        // decided through keys, each source read once: held pairwise, a package with 2,000 sources on
        // both sides took over a minute (found by helper-233).
        let same = SameSource(was, sameVersion: sameVersion)
        return now.compactMap { s in same.contains(s) ? nil : sourceChange(was[0], s, sameVersion: sameVersion) }
    }

    /// The sources before, keyed so that a source after is found exactly when `sourceChange` between
    /// it and one of them is nil: the same scheme and host, then
    /// - under the same version, the same path and commit;
    /// - across versions, the same path when either names a commit, else the same directory (a
    ///   registry's file name holds the version).
    struct SameSource {
        let sameVersion: Bool
        var exact: Set<String> = [], byPath: Set<String> = [], byPathWithCommit: Set<String> = [], byDirectory: Set<String> = []

        init(_ before: [String], sameVersion: Bool) {
            self.sameVersion = sameVersion
            for b in before {
                exact.insert(b)
                let l = SourceLocation(b)
                if sameVersion { byPath.insert(Self.key(l, l.path, l.commit)) }
                else if l.commit != nil { byPathWithCommit.insert(Self.key(l, l.path, nil)) }
                else { byDirectory.insert(Self.key(l, Self.directory(l.path), nil)); byPath.insert(Self.key(l, l.path, nil)) }
            }
        }

        static func key(_ l: SourceLocation, _ path: some StringProtocol, _ commit: String?) -> String {
            l.scheme + "\u{0}" + (l.host.map { "h" + $0 } ?? "-") + "\u{0}" + path + "\u{0}" + (commit.map { "c" + $0 } ?? "-")
        }

        static func directory(_ p: String) -> Substring { p.lastIndex(of: "/").map { p[..<$0] } ?? Substring(p) }

        func contains(_ s: String) -> Bool {
            if exact.contains(s) { return true }
            let l = SourceLocation(s)
            if sameVersion { return byPath.contains(Self.key(l, l.path, l.commit)) }
            let path = Self.key(l, l.path, nil)
            if byPathWithCommit.contains(path) { return true }
            // A source after that names a commit is the same as one before without a commit by path.
            return l.commit != nil ? byPath.contains(path) : byDirectory.contains(Self.key(l, Self.directory(l.path), nil))
        }
    }

    /// Whether each side records any package's source.
    struct SourceSides { let before: Bool, after: Bool }

    static func sources(_ ps: [Package]) -> [String] {
        ps.flatMap { ($0.source.map { [$0] } ?? []) + ($0.otherSources ?? []) }.reduce(into: Set<String>()) { $0.insert($1) }.sorted()
    }

    /// A moved registry or host, or a git dependency at another commit. A registry tarball URL that
    /// differs only by its version's file name is the same source.
    static func sourceChange(_ before: String?, _ after: String?, sameVersion: Bool) -> String? {
        guard let b = before, let a = after, b != a else { return nil }
        let hb = SourceLocation(b), ha = SourceLocation(a)
        if hb.host != ha.host || hb.scheme != ha.scheme {
            return "resolved from \(hb.scheme)\(hb.host ?? "?") before, now from \(ha.scheme)\(ha.host ?? "?") (\(a))"
        }
        if hb.commit != nil || ha.commit != nil {
            // A VCS source: another repository is another source whatever the version; another commit
            // matters under the same version.
            if hb.path != ha.path { return "resolved from another repository: \(a)" }
            guard sameVersion, hb.commit != ha.commit else { return nil }
            return "same version, new commit: \(hb.commit ?? "none") became \(ha.commit ?? "none") (\(a))"
        }
        if sameVersion { return hb.path != ha.path ? "same version, resolved from another location: \(a)" : nil }
        // A registry download: the directory holds the package's name, the file name its version.
        return SameSource.directory(hb.path) != SameSource.directory(ha.path) ? "resolved from another location on \(ha.host ?? "?"): \(a)" : nil
    }

    static func configChanges(_ before: [ConfigFile], _ after: [ConfigFile]) -> [(DriftFinding, DriftPolicy.Change?)] {
        // Every entry of a path counts: a second entry with the approved digest hid a changed first one
        // when one entry per path was kept (found by helper-131).
        let b = Dictionary(grouping: before, by: \.path), a = Dictionary(grouping: after, by: \.path)
        func digests(_ files: [ConfigFile]) -> [String] { Set(files.map(\.digest.value)).sorted() }
        var out: [(DriftFinding, DriftPolicy.Change?)] = []
        for path in Set(b.keys).union(a.keys).sorted() {
            let shown = Redactor.escapeControls(Redactor.redact(path))
            let loc = Location(shown, layer: a[path]?.first?.layer)
            switch (b[path], a[path]) {
            case let (x?, y?) where digests(x) != digests(y):
                out.append((DriftFinding(rule: .configChanged, subject: path, message: "configuration \(path) changed: SHA-256 was \(digests(x).map(short).joined(separator: ", ")), now \(digests(y).map(short).joined(separator: ", "))", location: loc), nil))
            case (nil, _?):
                out.append((DriftFinding(rule: .configChanged, subject: path, message: "configuration \(path) was added", location: loc), nil))
            case (_?, nil):
                out.append((DriftFinding(rule: .configChanged, subject: path, message: "configuration \(path) was removed", location: loc), nil))
            default: break
            }
        }
        return out
    }

    /// How the image runs, on both sides: its user (unset is root), entrypoint, command and working
    /// directory, the ports it exposes and its environment variables' names. Labels are left out: a
    /// build stamps its revision and date in them every time.
    static func imageChanges(_ before: ImageInfo, _ after: ImageInfo) -> (findings: [DriftFinding], notCompared: [String]) {
        var out: [DriftFinding] = [], hidden: [String] = []
        func shown(_ s: String?) -> String { s.map { Redactor.escapeControls($0) } ?? "" }
        func user(_ u: String?) -> String { u.flatMap { $0.isEmpty ? nil : shown($0) } ?? "(unset: root)" }
        // Text the redactor changed is compared by its keyed digest when both images were read in this
        // run; otherwise the same redacted words say nothing of what they hide: not checked.
        func differs(_ key: String, _ b: String, _ a: String) -> Bool {
            if b != a { return true }
            if let db = before.redactedDigests?[key], let da = after.redactedDigests?[key] { return db != da }
            if b.contains(Redactor.mark) { hidden.append(key) }
            return false
        }
        let ub = user(before.user), ua = user(after.user)
        if differs("user", ub, ua) {
            let root = namesRoot(after.user) && !namesRoot(before.user)
            out.append(DriftFinding(rule: .imageUser, subject: "user",
                                    message: "the image runs as \(ua)\(root ? ", which is root" : ""); it ran as \(ub)\(ub == ua ? " (it differs only in text redacted from both)" : "")"))
        }
        func words(_ w: [String]?) -> String { w.map { JSONValue.array($0.map { .string(shown($0)) }).serialized(pretty: false) } ?? "(unset)" }
        for (what, key, b, a) in [("entrypoint", "entrypoint", words(before.entrypoint), words(after.entrypoint)),
                                  ("cmd", "cmd", words(before.cmd), words(after.cmd)),
                                  ("working directory", "working-dir", shown(before.workingDir), shown(after.workingDir))] where differs(key, b, a) {
            let hidden = b == a ? " (it differs only in text redacted from both)" : ""
            out.append(DriftFinding(rule: .imageCommand, subject: what,
                                    message: "the image's \(what) is \(a.isEmpty ? "(unset)" : a); it was \(b.isEmpty ? "(unset)" : b)\(hidden)"))
        }
        for (rule, what, b, a) in [(DriftRule.imagePort, "port", before.exposedPorts, after.exposedPorts),
                                   (.imageEnv, "environment variable", before.environmentNames, after.environmentNames)] {
            let sb = Set(b.map(shown)), sa = Set(a.map(shown))
            for n in sa.subtracting(sb).sorted() {
                // A variable that decides what runs (PATH, LD_PRELOAD, PYTHONPATH…) is a change of what runs.
                if rule == .imageEnv, Self.decidesWhatRuns(n) {
                    out.append(DriftFinding(rule: .imageCommand, subject: "environment variable \(n)", message: "the image now sets \(n), which decides what code runs"))
                } else {
                    out.append(DriftFinding(rule: rule, subject: n, message: "the image now has \(what) \(n)"))
                }
            }
            for n in sb.subtracting(sa).sorted() { out.append(DriftFinding(rule: rule, subject: n, message: "the image no longer has \(what) \(n)")) }
        }
        // Values no SBOM records, compared when both images were read in this run (found by helper-170:
        // PATH turned to /tmp/.x, or a health check added, passed --fail-on low).
        if let db = before.redactedDigests, let da = after.redactedDigests {
            for n in Set(before.environmentNames).intersection(after.environmentNames).sorted() where db["env:" + n] != da["env:" + n] {
                if Self.decidesWhatRuns(n) {
                    out.append(DriftFinding(rule: .imageCommand, subject: "environment variable \(shown(n))", message: "the value of \(shown(n)), which decides what code runs, changed"))
                } else {
                    out.append(DriftFinding(rule: .imageEnv, subject: shown(n), message: "the value of environment variable \(shown(n)) changed"))
                }
            }
            for (key, what) in [("healthcheck", "health check"), ("shell", "shell"), ("onbuild", "ONBUILD triggers")] where db[key] != da[key] {
                let how = db[key] == nil ? "was added" : da[key] == nil ? "was removed" : "changed"
                out.append(DriftFinding(rule: .imageCommand, subject: what, message: "the image's \(what) \(how)"))
            }
        }
        return (out, hidden)
    }

    /// An environment variable whose value picks the code a process runs: the search path, and the
    /// variables `guard exec` removes for loading code, but the versions and checksums official images
    /// set, which nothing reads at run time (`PYTHON_VERSION`, `PYTHON_SHA256`, `YARN_VERSION`: found by
    /// review, each bump was a high finding).
    static func decidesWhatRuns(_ name: String) -> Bool {
        if name == "PATH" { return true }
        if name.hasPrefix("PYTHON_") || name.hasSuffix("_VERSION") || name.hasSuffix("_SHA256") || name.hasSuffix("_SHA512") { return false }
        return CodeLoadingVariables.loadsCode(name)
    }

    /// A USER that is root by its words alone: unset, uid 0 or `root`, with any group. (A name /etc/passwd
    /// maps to uid 0 is `policy check`'s to find.)
    static func namesRoot(_ user: String?) -> Bool {
        let u = (user ?? "").split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return u.isEmpty || u == "root" || Int(u) == 0
    }

    /// Enough of a digest to tell two apart in a report.
    static func short(_ hex: String) -> String { hex.count > 16 ? String(hex.prefix(16)) + "…" : hex }
}

extension PackageKey {
    init(nameKey: String, version: String) { self.init(name: nameKey, version: version) }
}

/// The parts of a resolved source `diff` compares: scheme, host, path and commit.
struct SourceLocation {
    var scheme = "", host: String?, path = "", commit: String?

    init(_ s: String) {
        // Read as a URL parser reads it (WHATWG, what npm and yarn use): tabs and line breaks dropped
        // anywhere, and the authority ends at `/`, `?`, `#` or, for the special schemes, `\`. Ended at
        // `/` alone, `https://evil.example?@registry.npmjs.org/…` read as npm's registry while node
        // downloads from evil.example (found by helper-131).
        var rest = Substring(s.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" }.trimmingCharacters(in: .whitespaces))
        // Cargo's `registry+https://…`, `git+https://…#commit`; npm's `git+ssh://git@host/repo.git#commit`.
        if let r = rest.range(of: "://") {
            scheme = String(rest[..<r.upperBound]); rest = rest[r.upperBound...]
        }
        if let hash = rest.lastIndex(of: "#") {
            // A registry tarball's fragment is its checksum (yarn's `#sha1`), not a commit; a git
            // source over https names its commit there (yarn, poetry: found by review).
            let beforeHash = rest[..<hash]
            if (scheme == "http://" || scheme == "https://"), beforeHash.hasSuffix(".tgz") || beforeHash.hasSuffix(".tar.gz") { rest = beforeHash }
            else { commit = String(rest[rest.index(after: hash)...]); rest = beforeHash }
        }
        let special = ["http://", "https://", "ws://", "wss://", "ftp://", "file://"].contains { scheme.lowercased().hasSuffix($0) }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" && !(special && $0 == "\\") }
        // Credentials are not where the code comes from.
        host = String(authority.split(separator: "@").last ?? authority).lowercased()
        // yarn v1 writes npm's registry under its own name, which serves the same tarballs: not another
        // source (a yarn.lock beside a package-lock.json gave a false finding per package: found by review).
        if host == "registry.yarnpkg.com" { host = "registry.npmjs.org" }
        path = String(rest.dropFirst(authority.count))
        if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
    }
}
