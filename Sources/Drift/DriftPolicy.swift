import Advisories
import Catalog
import ProvenantCore
import Yams

/// `diff --policy FILE`: the change a team expects and approves. Each rule may expire; an expired
/// rule approves nothing and the report says so.
///
///     approve:
///       - id: routine-patches          # optional; defaults to "approve[N]"
///         allow: patch-upgrades        # any package (or only `packages`) may move to a newer patch
///         expires: 2027-03-31
///       - allow: minor-upgrades        # only the named packages may move to a newer minor
///         packages: [express, "pkg:npm/lodash"]
///       - allow: additions             # new packages whose name or key matches a glob
///         match: "@types/*"
public struct DriftPolicy: Sendable {
    public enum Allowance: String, Sendable, CaseIterable { case patchUpgrades = "patch-upgrades", minorUpgrades = "minor-upgrades", additions }

    public struct Rule: Sendable {
        public var id: String
        public var allow: Allowance
        /// Names or name keys (`pkg:npm/express`), globs allowed. Empty means any package.
        public var packages: [String]
        /// For additions: globs over the package's name or key.
        public var match: [String]
        /// `YYYY-MM-DD`: the rule approves through this day.
        public var expires: String?
        public var line: Int
    }

    public var rules: [Rule]
    public var path: String

    public init(rules: [Rule], path: String = "policy") { self.rules = rules; self.path = path }

    public static func load(_ path: String) throws(InputError) -> DriftPolicy {
        let bytes = try NamedInputFile.read(path, limit: 4 << 20, what: "the policy", regularOnly: true)
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(InputError) -> DriftPolicy {
        // A policy is a short list written by hand: no aliases, so none can multiply.
        do { try YAMLNesting.check(text, maxAliases: 0) } catch { throw InputError(error.message, at: Location(path, line: error.line)) }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            // With its line, a duplicated key's too (helper-170 #10).
            throw InputError("not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")", at: Location(path, line: YAMLErrorLine.of(error)))
        }
        guard let root = node else { return DriftPolicy(rules: [], path: path) }
        guard let map = root.mapping else { throw InputError("expected a mapping with an 'approve:' list", at: Location(path, line: root.mark.map { $0.line })) }
        for k in map.keys where k.scalar?.string != "approve" {
            throw InputError("unknown key '\(k.scalar?.string ?? "?")' (the policy has one key, approve)", at: Location(path, line: k.mark?.line))
        }
        guard let list = map["approve"] else { return DriftPolicy(rules: [], path: path) }
        guard let seq = list.sequence else { throw InputError("'approve' must be a list", at: Location(path, line: list.mark?.line)) }
        var rules: [Rule] = []
        let known: Set<String> = ["id", "allow", "packages", "match", "expires"]
        for (i, item) in seq.enumerated() {
            let line = item.mark?.line ?? 0
            guard let m = item.mapping else { throw InputError("each approve entry must be a mapping with 'allow'", at: Location(path, line: line)) }
            for k in m.keys {
                guard let s = k.scalar?.string, known.contains(s) else {
                    throw InputError("unknown key '\(k.scalar?.string ?? "?")' (use id, allow, packages, match, expires)", at: Location(path, line: k.mark?.line))
                }
            }
            func scalar(_ key: String) throws(InputError) -> String? {
                guard let v = m[key] else { return nil }
                guard let s = v.scalar?.string else { throw InputError("'\(key)' must be a single value", at: Location(path, line: v.mark?.line ?? line)) }
                return s
            }
            func list(_ key: String) throws(InputError) -> [String] {
                guard let v = m[key] else { return [] }
                if let s = v.scalar?.string { return [s] }
                guard let items = v.sequence else { throw InputError("'\(key)' must be a list of names", at: Location(path, line: v.mark?.line ?? line)) }
                var out: [String] = []
                for x in items {
                    guard let s = x.scalar?.string, !s.isEmpty else { throw InputError("'\(key)' holds something that is not a name", at: Location(path, line: x.mark?.line ?? line)) }
                    out.append(s)
                }
                return out
            }
            guard let a = try scalar("allow") else { throw InputError("approve entry without 'allow' (use \(Allowance.allCases.map(\.rawValue).joined(separator: ", ")))", at: Location(path, line: line)) }
            guard let allow = Allowance(rawValue: a) else {
                throw InputError("unknown allow '\(a)' (use \(Allowance.allCases.map(\.rawValue).joined(separator: ", ")))", at: Location(path, line: m["allow"]?.mark?.line ?? line))
            }
            let expires = try scalar("expires")
            // An impossible date would compare as some far future and approve forever.
            if let e = expires, !CalendarDate.isValid(e) {
                throw InputError("expires '\(e)' is not a YYYY-MM-DD date that exists", at: Location(path, line: m["expires"]?.mark?.line ?? line))
            }
            let packages = try list("packages"), match = try list("match")
            // These two would otherwise approve every package: say which names are meant.
            if allow == .minorUpgrades, packages.isEmpty {
                throw InputError("minor-upgrades needs 'packages': the names whose minor upgrades are approved", at: Location(path, line: line))
            }
            if allow == .additions, match.isEmpty {
                throw InputError("additions needs 'match': globs over the names that may be added", at: Location(path, line: line))
            }
            rules.append(Rule(id: try scalar("id") ?? "approve[\(i + 1)]", allow: allow, packages: packages, match: match, expires: expires, line: line))
        }
        return DriftPolicy(rules: rules, path: path)
    }

    /// Rules whose expiry day has passed on `today`.
    public func expired(today: String) -> [Rule] { rules.filter { ($0.expires ?? "9999-12-31") < today } }

    /// The rule that approves `finding` on `today`, when one does. Only additions and upgrades whose
    /// kind could be read are approvable; tampering, downgrades and the rest never are.
    public func approving(_ change: Change, today: String) -> Rule? {
        rules.first { r in
            guard (r.expires ?? "9999-12-31") >= today else { return false }
            switch (r.allow, change) {
            case (.patchUpgrades, .upgrade(let key, let bump)):
                return bump == .patch && (r.packages.isEmpty || Self.names(r.packages, cover: key))
            case (.minorUpgrades, .upgrade(let key, let bump)):
                return (bump == .patch || bump == .minor) && Self.names(r.packages, cover: key)
            case (.additions, .addition(let key)):
                return Self.names(r.match, cover: key)
            default:
                return false
            }
        }
    }

    /// A change a rule can approve.
    public enum Change: Sendable { case upgrade(PackageKey, VersionBump), addition(PackageKey) }

    static func names(_ patterns: [String], cover key: PackageKey) -> Bool {
        // `express` names pkg:npm/express, not pkg:npm/@evil/express: a bare pattern matches the name
        // with its namespace (`@types/node`), or the full key.
        let named = key.displayName
        return patterns.contains { p in
            let g = Glob(p)
            return g.matchesWhole(key.name) || (p.contains("/") ? g.matchesWhole(named) : !named.contains("/") && g.matchesWhole(named))
        }
    }
}

/// How far a version moved: the first of its leading numeric parts that changed.
public enum VersionBump: String, Sendable {
    case patch, minor, major, unknown

    public static func of(from a: String, to b: String) -> VersionBump {
        // Only versions made of numbers and dots are compared. Anything else says nothing a patch
        // rule could vouch for: a prerelease, build or pseudo-version part (`-rc1`, `+build`, Go's
        // `-0.2024…-abcdef`), PEP 440's `rc1`, `a1`, `.dev0`, `.post1` and `1!` epoch, Debian's `~rc1`.
        func numbers(_ s: Substring) -> [Int]? {
            let parts = s.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.allSatisfy({ !$0.isEmpty && $0.count <= 9 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
            return parts.compactMap { Int($0) }
        }
        /// Debian's `epoch:upstream-revision` when there is an epoch (the revision is the packaging's,
        /// so only the upstream is compared), else the version after an optional `v`.
        func split(_ v: String) -> (epoch: Substring?, upstream: [Int], revised: Bool)? {
            if let colon = v.firstIndex(of: ":") {
                let epoch = v[..<colon], rest = v[v.index(after: colon)...]
                guard !epoch.isEmpty, epoch.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                let upstream = rest.lastIndex(of: "-").map { rest[..<$0] } ?? rest
                return numbers(upstream).map { (epoch, $0, upstream.endIndex != rest.endIndex) }
            }
            return numbers(v.hasPrefix("v") ? v.dropFirst() : v[...]).map { (nil, $0, false) }
        }
        // A changed epoch restarts the version order: never a patch, whatever the numbers say.
        guard let p = split(a), let q = split(b), p.epoch == q.epoch, p.revised == q.revised else { return .unknown }
        let x = p.upstream, y = q.upstream
        let n = max(x.count, y.count, 3)
        let xs = x + Array(repeating: 0, count: n - x.count), ys = y + Array(repeating: 0, count: n - y.count)
        guard let i = xs.indices.first(where: { xs[$0] != ys[$0] }) else { return .patch }
        return i == 0 ? .major : i == 1 ? .minor : .patch
    }
}
