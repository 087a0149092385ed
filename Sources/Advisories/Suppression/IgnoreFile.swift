import Catalog
import Foundation
import ProvenantCore
import Yams

/// `.provenant-ignore.yaml`: advisories accepted for a reason, optionally until a date.
///
///     ignore:
///       - id: GHSA-xxxx-xxxx-xxxx
///         reason: only reachable through the disabled admin API
///         expires: 2027-01-31
///         package: pkg:pypi/requests   # optional: only this package
public struct IgnoreFile: Sendable {
    public struct Entry: Sendable, Equatable, Codable {
        public var id: String
        public var reason: String
        /// `YYYY-MM-DD`; the entry stops suppressing after this day.
        public var expires: String?
        public var package: String?
        public var line: Int
        public var origin: String { "\(file):\(line)" }
        /// The last day it suppresses: its expiry, or none (the last day there is).
        var lastDay: String { expires ?? "9999-12-31" }
        public var file: String
    }

    public let entries: [Entry]
    /// Id → package key (`VEXDocument.Index`; `*` for an entry without a package) → the groups of
    /// entries of one id and package there. Read flat, a file of 100,000 entries was held against
    /// every finding in turn.
    private let index: [String: [String: [Int]]]
    /// The entries of one id and package text that can be the first to apply on some day: each
    /// expires later than every one before it (an entry that expires no later than an earlier one is
    /// never first). Their expiry days ascend, so the first still in force is found by halving.
    private let groups: [[(entry: Int, expires: String)]]
    /// The qualifiers and subpaths the entries' package keys hold.
    private let parts: VEXDocument.Index.KeyParts

    public init(entries: [Entry]) {
        self.entries = entries
        var index: [String: [String: [Int]]] = [:], groups: [[(entry: Int, expires: String)]] = [], parts = VEXDocument.Index.KeyParts()
        struct Group: Hashable { var id: String; var package: String? }
        var groupOf: [Group: Int] = [:]
        for (i, e) in entries.enumerated() {
            let expires = e.lastDay
            let name = Group(id: e.id, package: e.package)
            if let g = groupOf[name] {
                if let last = groups[g].last, expires > last.expires { groups[g].append((i, expires)) }
                continue
            }
            groupOf[name] = groups.count
            groups.append([(i, expires)])
            let keys = e.package.map { VEXDocument.Index.keys(of: VEXDocument.Product($0), subject: .unnamed, parts: &parts) } ?? ["*"]
            for key in Set(keys) { index[e.id, default: [:]][key, default: []].append(groups.count - 1) }
        }
        self.index = index; self.groups = groups; self.parts = parts
    }

    /// `within`: the directory the file was found in by default (a scan's target): it is read as any
    /// file of the target is, its links resolved inside that directory, so a link there cannot bring in
    /// suppressions from elsewhere (found by helper-72 and helper-75). A file named by `--ignore-file` is
    /// the user's choice. Either way only a regular file of at most 4 MiB is read.
    public static func load(_ path: String, within: String? = nil) throws(InputError) -> IgnoreFile {
        // Named by the user: links are followed wherever they lead, then the file is read as a regular file.
        let real = within == nil ? (PathText.real(path) ?? path) : path
        let dir = within ?? PathText.parent(real), name = within == nil ? PathText.lastComponent(real) : ".provenant-ignore.yaml"
        let bytes: [UInt8]
        do {
            bytes = try RootedDirectory(root: dir.isEmpty ? "." : dir).read(name, limit: 4 << 20)
        } catch {
            throw InputError("cannot read ignore file: \(error)", at: Location(path))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw InputError("ignore file is not UTF-8 text", at: Location(path)) }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw InputError("not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")", at: Location(path))
        }
        guard let root = node else { return IgnoreFile(entries: []) }
        guard let map = root.mapping, let list = map["ignore"] else {
            throw InputError("expected a top-level 'ignore:' list", at: Location(path, line: root.mark?.line))
        }
        guard let seq = list.sequence else { throw InputError("'ignore' must be a list", at: Location(path, line: list.mark?.line)) }
        var out: [Entry] = []
        for item in seq {
            let line = item.mark?.line
            guard let m = item.mapping else { throw InputError("each ignore entry must be a mapping with id and reason", at: Location(path, line: line)) }
            let known: Set<String> = ["id", "reason", "expires", "package"]
            for k in m.keys {
                guard let s = k.scalar?.string else { throw InputError("a key that is not a plain word (use id, reason, expires, package)", at: Location(path, line: k.mark?.line)) }
                if !known.contains(s) { throw InputError("unknown key '\(s)' (use id, reason, expires, package)", at: Location(path, line: k.mark?.line)) }
            }
            // A list or a mapping where a string belongs would otherwise read as absent, and an
            // absent expires or package widens what the entry suppresses.
            var fields: [String: String] = [:]
            for key in known.sorted() {
                guard let v = m[key] else { continue }
                guard let scalar = v.scalar else {
                    throw InputError("'\(key)' must be a single value, not a \(v.sequence != nil ? "list" : "mapping")", at: Location(path, line: v.mark?.line ?? line))
                }
                // A YAML null (`~`, `null`, nothing) is no value: `reason: ~` was read as the reason "~".
                if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                    throw InputError("'\(key)' is null; give it a value", at: Location(path, line: v.mark?.line ?? line))
                }
                fields[key] = scalar.string
            }
            guard let id = fields["id"], !id.isEmpty else { throw InputError("ignore entry without an id", at: Location(path, line: line)) }
            guard let reason = fields["reason"], !reason.trimmed.isEmpty else { throw InputError("ignore entry '\(id)' gives no reason", at: Location(path, line: line)) }
            let expires = fields["expires"]
            // An impossible date (2099-99-99, 2099-02-30) would compare as a far future and ignore forever.
            if let e = expires, !CalendarDate.isValid(e) {
                throw InputError("expires '\(e)' is not a YYYY-MM-DD date that exists", at: Location(path, line: m["expires"]?.mark?.line))
            }
            // A package that is not a purl would match nothing, or, read leniently, everything.
            if let p = fields["package"], PackageURL(parsing: p) == nil || VEXDocument.hasEmptyVersion(p) {
                throw InputError("package '\(p)' is not a purl (pkg:TYPE/NAME[@VERSION])", at: Location(path, line: m["package"]?.mark?.line))
            }
            out.append(Entry(id: id, reason: reason, expires: expires, package: fields["package"], line: line ?? 0, file: path))
        }
        return IgnoreFile(entries: out)
    }

    /// Entries whose expiry day has passed on `today` (`YYYY-MM-DD`).
    public func expired(today: String) -> [Entry] { entries.filter { $0.lastDay < today } }

    /// The entry that takes `f` out: one naming it, or, for a finding that stands for several CVEs,
    /// entries naming each of them (the first is returned); nil when any part is left.
    public func suppressing(_ f: Finding, today: String) -> Entry? {
        if case .suppressed(let e) = judge(f, today: today) { return e }
        return nil
    }

    /// What the file says of `f`: the entry that takes it out; none; or, when more groups of entries
    /// than `VEXDocument.Index.budget` may name it, that it was not judged (and so is kept).
    public enum Judgement: Sendable, Equatable { case suppressed(Entry), kept, unjudged }

    public func judge(_ f: Finding, today: String) -> Judgement {
        var first: Entry?
        let keys = VEXDocument.Index.keys(ofPackage: f.purl, parts: parts) + ["*"]
        for part in f.suppressionParts {
            // The entries that may name it (every name `Finding.names(_:cover:)` can accept), in file order.
            var names = Set([f.id] + f.aliases + f.mergedCVEs.keys)
            if let part { names.insert(part) }
            // Of each group that may name it, the first entry still in force (so in force, and not asked again below). Groups are by the package's
            // text: 60,000 spellings of one purl (`#`, `#/`, `#//`…) each made one, and every finding of
            // it searched them all (helper-229). Past `VEXDocument.Index.budget` it is not judged, and kept.
            let lists = names.flatMap { name in keys.compactMap { index[name]?[$0] } }
            guard lists.reduce(0, { $0 + $1.count }) <= VEXDocument.Index.budget else { return .unjudged }
            let candidates = Set(lists.joined()).compactMap { g -> Int? in
                let chain = groups[g]
                var low = 0, high = chain.count
                while low < high { let mid = (low + high) / 2; if chain[mid].expires >= today { high = mid } else { low = mid + 1 } }
                return low < chain.count ? chain[low].entry : nil
            }.sorted()
            guard let i = candidates.first(where: { i in
                let e = entries[i]
                return f.names([e.id], cover: part) && (e.package.map { VEXDocument.purlCovers($0, f.purl) } ?? true)
            }) else { return .kept }
            first = first ?? entries[i]
        }
        return first.map { .suppressed($0) } ?? .kept
    }
}
