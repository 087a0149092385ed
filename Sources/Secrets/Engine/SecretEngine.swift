import Foundation
import ProvenantCore

/// One thing the engine found in a buffer: byte offsets into that buffer.
public struct SecretMatch: Sendable, Equatable {
    public var ruleID: String
    public var title: String
    public var severity: SeverityLevel
    public var confidence: Confidence
    /// The secret itself.
    public var value: Range<Int>
    /// The whole match, context included.
    public var match: Range<Int>
    /// The rule id of a nearby match that confirms this one (an AWS key id beside its secret).
    public var pairedWith: String?
    /// When this match won over overlapping ones: the union of their values and its own, which is
    /// what redaction must cover; nil when it is `value`.
    public var covering: Range<Int>? = nil
    /// For a match found in UTF-16 (`ChunkedScan.wideMatches`), the parity of the offsets its code units' low
    /// bytes stand at; its ranges then run from its first unit's low byte to its last's (`UTF16Runs.bytes`).
    public var utf16LowBytes: Int? = nil
    /// For a match found in a reading of the bytes (UTF-16, wrapped base64 joined), its value as that
    /// reading has it: what a finding's fingerprint, length and strength are taken from. Taken from the
    /// bytes, a weak UTF-16 password's zeros made it strong, and its plain SHA-256 was printed (found
    /// by helper-186).
    public var decodedValue: [UInt8]? = nil
    /// What redaction replaces.
    public var redacted: Range<Int> { covering ?? value }

    /// Its ranges placed by `back`: from a reading of the text (a view, a decoding, a UTF-16 stretch,
    /// a window) onto the text.
    mutating func place(by back: (Range<Int>) -> Range<Int>) {
        value = back(value)
        match = back(match)
        covering = covering.map(back)
    }
}

/// A rule pattern that did not compile, reported once instead of silently finding nothing.
public struct BrokenRule: Error, Sendable, CustomStringConvertible {
    public var id: String, origin: String, reason: String
    public var description: String { "rule \(id) (\(origin)): \(reason)" }
}

/// The secret engine: a keyword prefilter over the bytes, rule patterns run only on candidate windows,
/// the generic assignment detector, and the known-secret matcher. Immutable and shared by every worker.
public final class SecretEngine: Sendable {
    public let rules: [Rule]
    let patterns: [RulePattern]
    let automaton: KeywordAutomaton
    /// For each keyword id: the rules it triggers (index into `rules`), or a negative number for the
    /// generic detector's keyword `-1 - i`.
    let targets: [[Int32]]
    let pairTarget: [Int?]
    /// Rule id to index, for the pair check.
    let ruleIndex: [String: Int]
    /// Each rule's `near` literal, as bytes.
    let nearBytes: [[UInt8]?]
    /// For each keyword id: the rules whose every match starts with that keyword (tried anchored).
    let anchoredKeyword: [Set<Int32>]
    /// Rules tried only at their keyword hits.
    let anchoredRules: Set<Int>
    let longestWindow: Int
    public let known: KnownSecrets?
    public let generic: Bool
    /// The generic detector takes a bare value after any field boundary of a line (a space, `;`, `,`,
    /// `|`), not only where a line or a `k=v` list starts: for streams that are redacted (`secrets
    /// redact`), where a log line's `… INFO password=…` must not pass and over-masking costs little.
    public let assignmentsAnywhere: Bool

    /// Bytes of context a streaming caller must keep around a chunk boundary so no match is cut.
    public var overlap: Int { max(longestWindow + 512, (known?.longest ?? 0) * 6 + 64, 4096) }

    /// Fewest attempts of one rule that are matched as a crowd (`crowdedAttempts`): below it, one pass
    /// costs about what the attempts do. Tests set it out of reach to compare against one by one.
    let crowdMinimum: Int

    public convenience init(rules: [Rule], known: KnownSecrets? = nil, generic: Bool = true, assignmentsAnywhere: Bool = false) throws(BrokenRule) {
        try self.init(rules: rules, known: known, generic: generic, assignmentsAnywhere: assignmentsAnywhere, crowdMinimum: 16)
    }

    init(rules: [Rule], known: KnownSecrets? = nil, generic: Bool = true, assignmentsAnywhere: Bool = false, crowdMinimum: Int) throws(BrokenRule) {
        self.crowdMinimum = crowdMinimum
        self.assignmentsAnywhere = assignmentsAnywhere
        self.rules = rules
        // Each pattern's literals are worked out on every core (part of the engine's start).
        let width = Parallel.cores
        var shares = Parallel.map(width: width) { w in
            rules[Parallel.share(w, of: width, rules.indices)].map { RulePattern($0.pattern, keywords: $0.keywords) }
        }
        self.patterns = Parallel.joined(&shares)
        self.known = known
        self.generic = generic
        var words: [String] = []
        var targets: [[Int32]] = []
        var index: [String: Int] = [:]
        func add(_ w: String, _ t: Int32) {
            if let i = index[w] { if !targets[i].contains(t) { targets[i].append(t) }; return }
            index[w] = words.count; words.append(w); targets.append([t])
        }
        for (i, r) in rules.enumerated() { for k in r.keywords { add(k, Int32(i)) } }
        if generic { for (i, k) in GenericAssignments.keywords.enumerated() { add(k, Int32(-1 - i)) } }
        self.automaton = KeywordAutomaton(keywords: words, extraSlots: known?.startSlots ?? [])
        self.targets = targets
        let patterns = self.patterns
        self.anchoredRules = Set(patterns.indices.filter { !patterns[$0].anchoredKeywords.isEmpty })
        self.anchoredKeyword = words.enumerated().map { (i, w) in
            Set(targets[i].filter { $0 >= 0 && patterns[Int($0)].anchoredKeywords.contains(w) })
        }
        let ids = Dictionary(rules.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.ruleIndex = ids
        self.pairTarget = rules.map { $0.pair.flatMap { ids[$0] } }
        self.nearBytes = rules.map { $0.near.map { Array($0.utf8) } }
        self.longestWindow = rules.map { $0.window + 256 }.max() ?? 256
    }

    /// The engine with Provenant's own rules; `minimumConfidence: .high` keeps the prefix and checksum
    /// rules only, for streams (`secrets redact`, the egress guard) where context rules cost the most
    /// and a miss is caught at rest by `secrets scan`.
    public static func standard(known: KnownSecrets? = nil, minimumConfidence: Confidence = .low, assignmentsAnywhere: Bool = false) throws -> SecretEngine {
        try SecretEngine(rules: RuleCatalog.load().filter { $0.confidence >= minimumConfidence || urlPasswordRules.contains($0.id) }, known: known,
                         assignmentsAnywhere: assignmentsAnywhere)
    }

    /// Passwords in URLs (`postgres://app:…@db`, `https://u:…@host`) and on command lines (`mysql -p…`,
    /// `sshpass -p …`): format rules, kept by streams
    /// too although rated medium (a placeholder such as `user:password@` is not one of them), since a
    /// connection string in a log or a request is the commonest leak there is.
    static let urlPasswordRules: Set<String> = [
        "credentials-in-url", "postgres-uri-password", "mysql-uri-password", "mongodb-uri-password", "redis-uri-password",
        "amqp-uri-password", "mssql-uri-password", "database-uri-password", "jdbc-url-password", "ftp-url-password",
        "mysql-cli-password", "sshpass-cli-password",
    ]

    /// Answers "does the literal occur in `[from, to)`?" for queries whose `from` never decreases, as
    /// keyword hits arrive, searching each byte about once: it keeps the range searched last and the
    /// first occurrence found in it.
    struct NearLiteralCache {
        var searchedFrom = Int.max
        var searchedTo = 0
        var found: Int?

        mutating func contains(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int, _ needle: [UInt8]) -> Bool {
            if searchedFrom <= from {
                if let f = found, f >= from { return f + needle.count <= to }
                if found == nil, to <= searchedTo { return false }
            }
            // Nothing known for this range: search what was not searched before (an occurrence may
            // straddle the old end), from where no occurrence can be missed.
            let start = (found == nil && searchedFrom <= from) ? max(from, searchedTo - needle.count + 1) : from
            var hit: Int?
            if to - start >= needle.count {
                hit = needle.withUnsafeBytes { n in
                    ByteSearch.shortFirstOffset(of: n, in: UnsafeRawBufferPointer(start: b + start, count: to - start)).map { start + $0 }
                }
            }
            searchedFrom = from; searchedTo = to; found = hit
            return hit.map { $0 + needle.count <= to } ?? false
        }
    }

    /// Whether `needle` occurs in `b[from..<to]`.
    static func contains(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, to - from >= needle.count else { return false }
        return needle.withUnsafeBytes { n in
            ByteSearch.shortFirstOffset(of: n, in: UnsafeRawBufferPointer(start: b + from, count: to - from)) != nil
        }
    }

    /// Every match in `bytes`, sorted by position, overlaps resolved in favour of the surest rule.
    /// False only when `scan` can find nothing of `minimumConfidence` or above: no keyword of such a
    /// rule occurs (a rule's matches have its confidence), nor a generic assignment's in text holding a
    /// character its forms need (`=`, `:`, a blank), and no known secrets are set.
    public func mayMatch(_ bytes: UnsafeRawBufferPointer, minimumConfidence: Confidence = .low) -> Bool {
        if known != nil { return true }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        let assigns = Self.holdsAssignment(UnsafeBufferPointer(start: base, count: bytes.count))
        var found = false
        automaton.scan(bytes) { kw, end in
            guard !found else { return }
            found = hitCounts(kw, end: end, base, bytes.count, assigns: assigns, minimumConfidence)
        }
        return found
    }

    /// `mayMatch` of each of many texts at once, from one pass over them joined: `bytes` holds the
    /// texts in order, each followed by one NUL, text `i` starting at `starts[i]`. The answers are
    /// `mayMatch`'s for each text alone: a keyword is only counted inside one text, and its rule's
    /// first bytes and the text's assignment characters are looked at within that text alone.
    public func mayMatchEach(_ bytes: UnsafeRawBufferPointer, starts: [Int], minimumConfidence: Confidence = .low) -> [Bool] {
        var out = [Bool](repeating: known != nil, count: starts.count)
        guard known == nil, !starts.isEmpty, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return out }
        var assigns = [Int8](repeating: -1, count: starts.count)   // -1 not yet looked at
        automaton.scan(bytes) { kw, end in
            let t = JoinedTexts.text(containing: end - automaton.keywords[kw].count, starts: starts)
            let r = JoinedTexts.bounds(t, starts: starts, count: bytes.count)
            guard !out[t], end <= r.upperBound else { return }   // a keyword across the NUL is in neither text
            if assigns[t] < 0 { assigns[t] = Self.holdsAssignment(UnsafeBufferPointer(start: base + r.lowerBound, count: r.count)) ? 1 : 0 }
            out[t] = hitCounts(kw, end: end - r.lowerBound, base + r.lowerBound, r.count, assigns: assigns[t] == 1, minimumConfidence)
        }
        return out
    }

    /// Whether text holds a character a generic assignment's forms need.
    static func holdsAssignment(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        b.contains { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":") || $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
    }

    /// Whether keyword `kw`'s hit ending at `end` of the `n` bytes at `base` could start a finding of
    /// `minimumConfidence` or above.
    private func hitCounts(_ kw: Int, end: Int, _ base: UnsafePointer<UInt8>, _ n: Int, assigns: Bool, _ minimumConfidence: Confidence) -> Bool {
        for t in targets[kw] {
            guard t >= 0 else { if assigns { return true }; continue }
            let r = Int(t)
            guard rules[r].confidence >= minimumConfidence else { continue }
            // As `scan` reads an anchored rule's hit: only its own keyword, and only where the bytes
            // can start a match (the literal, then its guard class). Any other rule counts outright.
            if anchoredRules.contains(r) {
                guard anchoredKeyword[kw].contains(t), patterns[r].mayMatch(base, n, at: end - automaton.keywords[kw].count) else { continue }
            }
            return true
        }
        return false
    }

    public func scan(_ bytes: UnsafeRawBufferPointer) -> [SecretMatch] {
        var complete = true
        return scan(bytes, complete: &complete)
    }

    /// Window bytes one scan of `n` bytes (a chunk of at most a few MiB) may give patterns, counted
    /// once for each start a pattern may try in them. A keyword that repeats every few bytes (`eyJeyJeyJ…`, a PEM header over and over)
    /// starts an attempt at each repeat, each over the rule's whole window: without a bound, megabytes
    /// of it take minutes. Real text stays far below: a log of nothing but JWTs spends about 30 bytes
    /// per byte.
    public static func workBudget(_ n: Int) -> Int { scaled(n, by: 128, plus: 128 << 20) }

    /// One rule's share of `workBudget`. A log of base64 JSON (`eyJ` on every line, where each attempt of
    /// the JWT rule is charged its whole window) spends about 40 bytes per byte of it.
    static func ruleBudget(_ n: Int) -> Int { scaled(n, by: 48, plus: 64 << 20) }

    /// Adds to `budget` the allowance `n` bytes of text have, for `n` bytes a view or a decoding reads
    /// again: every reading spends the one budget, and each gets what its bytes would.
    static func allow(_ n: Int, into budget: inout Int) {
        let (more, overflow) = budget.addingReportingOverflow(scaled(n, by: 128, plus: 0))
        budget = overflow ? Int.max : more
    }

    static func scaled(_ n: Int, by factor: Int, plus constant: Int) -> Int {
        let (product, overflow) = n.multipliedReportingOverflow(by: factor)
        return overflow ? Int.max : product.addingReportingOverflow(constant).partialValue
    }

    /// `scan`, and whether every candidate was checked: `complete` is set false when the anchored
    /// attempts' budget (`workBudget`) ran out and the rest of them were skipped (the caller reports the input as
    /// only partly scanned, or refuses it).
    public func scan(_ bytes: UnsafeRawBufferPointer, complete: inout Bool) -> [SecretMatch] {
        var budget = Self.workBudget(bytes.count)
        return scan(bytes, complete: &complete, budget: &budget)
    }

    /// `scan` within `budget` (bytes of pattern windows, `workBudget`), shared by every reading of the
    /// bytes, so a view of them adds no budget of its own: each view with its own made dense keywords
    /// cost four times as much once text held an escape and a colour code (found by helper-188).
    public func scan(_ bytes: UnsafeRawBufferPointer, complete: inout Bool, budget: inout Int) -> [SecretMatch] {
        scan(bytes, complete: &complete, budget: &budget, depth: 0)
    }

    /// How many times runs are decoded within decoded text (`DecodedRun`): a Secret's value that is
    /// itself a base64 config (a `.dockerconfigjson` whose `auth` is base64 too).
    static let maximumDecodeDepth = 2

    /// `scan`, in text `depth` decodings deep.
    func scan(_ bytes: UnsafeRawBufferPointer, complete: inout Bool, budget: inout Int, depth: Int) -> [SecretMatch] {
        var found = scanDecoding(bytes, complete: &complete, budget: &budget, depth: depth)
        let readings = found.count
        // Text with JSON's `\/` and `\uXXXX` escapes is read decoded too (`UnescapedText`), around
        // each escape, and what that finds is placed back over the escapes it stood at: base64 in PHP's
        // JSON has its slashes escaped.
        if let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            found += scanViews(UnescapedText.self, of: base, bytes.count, around: UnescapedText.escapes(base, bytes.count), keepingDecoded: true,
                               complete: &complete, budget: &budget) { self.scanDecoding($0, complete: &$1, budget: &$2, depth: depth) }
        }
        return found.count > readings ? resolve(found) : found
    }

    /// `scanReadings`, and the text that runs of base64 or hex in the bytes decode to (`DecodedRun`), read
    /// as any text is, to `maximumDecodeDepth`: what that finds stands on the characters encoding it,
    /// and its value is the decoded one.
    func scanDecoding(_ bytes: UnsafeRawBufferPointer, complete: inout Bool, budget: inout Int, depth: Int) -> [SecretMatch] {
        var found = scanReadings(bytes, complete: &complete, budget: &budget)
        guard depth < Self.maximumDecodeDepth, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return found }
        let readings = found.count
        let n = bytes.count
        // What the decoding of `run` finds, on the text's characters (`back` maps a range of the
        // characters it was found in onto them).
        func read(_ run: DecodedRun, _ back: (Range<Int>) -> Range<Int>) {
            Self.allow(run.bytes.count, into: &budget)
            for var m in run.bytes.withUnsafeBytes({ scan($0, complete: &complete, budget: &budget, depth: depth + 1) }) {
                if m.decodedValue == nil { m.decodedValue = Array(run.bytes[m.value]) }
                m.place { back(run.original($0)) }
                // A known value's base64 forms are found as written (`KnownEncodings`, `WrappedBase64`),
                // and named so: the same value found again in the decoding is not another finding. Its
                // whole quanta are the mark's, though: the form leaves out its last character, which
                // holds the value's last bits when its length is no multiple of three.
                if let k = found[..<readings].firstIndex(where: { $0.ruleID == m.ruleID && $0.redacted.overlaps(m.redacted) }) {
                    let both = min(found[k].redacted.lowerBound, m.redacted.lowerBound)..<max(found[k].redacted.upperBound, m.redacted.upperBound)
                    found[k].covering = both == found[k].value ? nil : both
                    continue
                }
                found.append(m)
            }
        }
        var blocks: [Range<Int>] = []
        DecodedRun.find(base, n, wrapped: { blocks.append($0) }) { read($0) { $0 } }
        // Base64 wrapped across lines is decoded joined (`WrappedBase64`), block by block: decoded line
        // by line, a token cut by a break was half marked, or passed (helper-193). Runs within one
        // line were read above.
        for block in blocks {
            guard let view = WrappedBase64(UnsafeRawBufferPointer(start: base + block.lowerBound, count: block.count)) else { continue }
            view.bytes.withUnsafeBufferPointer { joined in
                DecodedRun.find(joined.baseAddress!, joined.count) { run in
                    let first = Int(view.source[run.run.lowerBound]), last = Int(view.source[run.run.upperBound - 1])
                    guard last - first != run.run.count - 1 else { return }
                    read(run) { view.original($0).shifted(by: block.lowerBound) }
                }
            }
        }
        return found.count > readings ? resolve(found) : found
    }

    /// The bytes as written and without colour codes, and known values in them with wrapped base64
    /// joined: what every view of the text is read as too (so a known value wrapped in a PHP-escaped
    /// JSON string is joined after its `\/` are decoded, found by helper-188).
    func scanReadings(_ bytes: UnsafeRawBufferPointer, complete: inout Bool, budget: inout Int) -> [SecretMatch] {
        var found = scanWithoutColour(bytes, complete: &complete, budget: &budget)
        // Known values also with the breaks of wrapped base64 taken out (`WrappedBase64`): the match
        // spans the break where it stood, and its value is the joined form.
        if let known, let view = WrappedBase64(bytes) {
            let more = view.bytes.withUnsafeBytes { known.scan($0) }
            guard !more.isEmpty else { return found }
            for var m in more {
                m.decodedValue = Array(view.bytes[m.value])
                m.place(by: view.original)
                found.append(m)
            }
            return resolve(found)
        }
        return found
    }

    /// The bytes as they are, and with their terminal colour codes taken out (`ColourlessText`) around
    /// each code: what that finds is placed back where it stood.
    func scanWithoutColour(_ bytes: UnsafeRawBufferPointer, complete: inout Bool, budget: inout Int) -> [SecretMatch] {
        let found = scanAsWritten(bytes, complete: &complete, budget: &budget)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return found }
        let more = scanViews(ColourlessText.self, of: base, bytes.count, around: ColourlessText.codes(base, bytes.count), keepingDecoded: false,
                             complete: &complete, budget: &budget, scanAsWritten)
        return more.isEmpty ? found : resolve(found + more)
    }

    /// What `read` finds in the `View` of each window of the `n` bytes at `base` around `places`
    /// (`viewWindows`), placed back over the text; with `keepingDecoded`, a match's value is kept as
    /// the view read it. Each byte a view reads again adds the allowance a byte of the text has to the
    /// one `budget`: a budget for each view made keyword-dense text cost four times as much once it held
    /// an escape and a colour code (helper-188), and none made a log with a token, a colour code and an
    /// escape on every line fail as not fully checked (helper-189).
    func scanViews<View: TextView>(_: View.Type, of base: UnsafePointer<UInt8>, _ n: Int, around places: [Int], keepingDecoded: Bool,
                                   complete: inout Bool, budget: inout Int,
                                   _ read: (UnsafeRawBufferPointer, inout Bool, inout Int) -> [SecretMatch]) -> [SecretMatch] {
        var found: [SecretMatch] = []
        for window in viewWindows(around: places, in: n) {
            let start = base + window.lowerBound
            guard let view = View(start, window.count) else { continue }
            Self.allow(window.count, into: &budget)
            for var m in view.bytes.withUnsafeBytes({ read($0, &complete, &budget) }) where Self.inside(m, view.bytes.count, window, n) {
                if keepingDecoded, m.decodedValue == nil { m.decodedValue = Array(view.bytes[m.value]) }
                m.place { view.original($0, in: start, window.count).shifted(by: window.lowerBound) }
                found.append(m)
            }
        }
        return found
    }

    /// Windows of the text around `places` (escapes, colour codes), `overlap` bytes to either side and
    /// merged where they meet: a match that takes one in lies within its window, and text far from any
    /// is read once, not twice (a colour code on a log's first line had the whole chunk read again).
    func viewWindows(around places: [Int], in n: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let reach = overlap
        for p in places {
            let lo = max(0, p - reach), hi = min(n, p + reach)
            if let last = out.last, lo <= last.upperBound { out[out.count - 1] = last.lowerBound..<max(last.upperBound, hi) } else { out.append(lo..<hi) }
        }
        return out
    }

    /// Whether a match in a window's view stays clear of the window's edges inside the text: one that
    /// touches them may be cut short there, and is no match of the whole text.
    static func inside(_ m: SecretMatch, _ viewCount: Int, _ window: Range<Int>, _ n: Int) -> Bool {
        let r = m.covering ?? m.match
        return (window.lowerBound == 0 || r.lowerBound > 0) && (window.upperBound == n || r.upperBound < viewCount)
    }

    /// `scan` of the bytes as they are, within what is left of `budget`.
    func scanAsWritten(_ bytes: UnsafeRawBufferPointer, complete: inout Bool, budget: inout Int) -> [SecretMatch] {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { return [] }
        let n = bytes.count
        var found: [SecretMatch] = []
        // 1. Keyword hits -> per-rule windows (merged when they overlap) and generic candidates.
        // The per-rule state is made at the first hit of a rule's keyword: most short texts asked of the
        // engine (package names, versions and licenses, thousands per SBOM) have none, and filling
        // five arrays as long as the rule list for each of them was a tenth of an image SBOM's time.
        var perRule = false
        var pendingStart: [Int] = [], pendingEnd: [Int] = [], pendingHits: [Int] = []
        var windows: [(rule: Int, range: Range<Int>, hits: Int)] = []
        // Where each anchored rule's `near` literal was last looked for: hits repeating every few bytes
        // would otherwise each search the whole window again.
        var nearAhead: [NearLiteralCache] = []
        var anchored: [(rule: Int, at: Int)] = []
        // Every hit of a bounded anchored rule's own keyword, tried or not: a pass over a crowd's span
        // tries them all, and is charged for them all.
        var anchoredHits: [[Int]] = []
        var identEnd = -1
        // The keyword pass also finds where a known secret's form may start (3. below).
        var knownFound: [SecretMatch] = []
        let known = self.known
        automaton.scan(bytes, candidate: { at in known?.match(at: at, base, n, into: &knownFound) }) { kw, end in
            for t in targets[kw] {
                if t < 0 {
                    guard end > identEnd else { continue }
                    if let h = GenericAssignments.detect(base, n, keyword: Int(-1 - t), end: end, identEnd: &identEnd, anywhere: assignmentsAnywhere) {
                        found.append(SecretMatch(ruleID: h.ruleID, title: "Generic credential assignment", severity: .medium,
                                                 confidence: h.confidence, value: h.value, match: h.match))
                    }
                    continue
                }
                let r = Int(t)
                let keyword = automaton.keywords[kw]
                if !perRule {
                    perRule = true
                    pendingStart = [Int](repeating: -1, count: rules.count)
                    pendingEnd = [Int](repeating: 0, count: rules.count)
                    pendingHits = [Int](repeating: 0, count: rules.count)
                    nearAhead = [NearLiteralCache](repeating: NearLiteralCache(), count: rules.count)
                    anchoredHits = [[Int]](repeating: [], count: rules.count)
                }
                if anchoredRules.contains(r) {
                    // Hits of other keywords of an anchored rule never start a match.
                    if anchoredKeyword[kw].contains(Int32(r)) {
                        let at = end - keyword.count
                        if patterns[r].bounded { anchoredHits[r].append(at) }
                        // Every match has the literal at the hit, whichever byte it starts from,
                        // and the rule's `near` literal within its window.
                        if patterns[r].mayMatch(base, n, at: at),
                           nearBytes[r].map({ nearAhead[r].contains(base, at, min(n, at + rules[r].window), $0) }) ?? true {
                            if patterns[r].startsOneBefore && at > 0 { anchored.append((r, at - 1)) }
                            anchored.append((r, at))
                        }
                    }
                    continue
                }
                let start = max(0, end - keyword.count - 256)
                let stop = min(n, end + rules[r].window)
                if let near = nearBytes[r], stop > pendingEnd[r] || pendingStart[r] < 0 {
                    // Only the part of the window not already pending needs the literal for this hit to count.
                    let from = pendingStart[r] >= 0 && start <= pendingEnd[r] ? max(start, pendingEnd[r] - near.count) : start
                    if !Self.contains(base, from, stop, near) { continue }
                }
                if pendingStart[r] >= 0 && start <= pendingEnd[r] {
                    pendingEnd[r] = max(pendingEnd[r], stop)
                    pendingHits[r] += 1
                } else {
                    if pendingStart[r] >= 0 { windows.append((r, pendingStart[r]..<pendingEnd[r], pendingHits[r])) }
                    pendingStart[r] = start; pendingEnd[r] = stop; pendingHits[r] = 1
                }
            }
        }
        if perRule { for r in 0..<rules.count where pendingStart[r] >= 0 { windows.append((r, pendingStart[r]..<pendingEnd[r], pendingHits[r])) } }
        // 2. Patterns on the windows, within one budget of window bytes for the scan (`workBudget`),
        // shared with the scan's other readings.
        // Each rule also has a share of its own, so one rule's dense keyword cannot spend what another
        // rule's single hit needs.
        let share = Self.ruleBudget(n)
        var spentByRule = [Int](repeating: 0, count: rules.count)
        // In rounds: every rule's first window or attempt, then every rule's second, and so on; within a
        // round the single anchored attempts first, then windows from the smallest. If the budget runs
        // out, it runs out on the rules with the most hits and the longest windows, never before a rule's
        // only hit.
        enum Work { case window(Int), attempt(Int), crowd(Int) }
        var order: [(round: Int, kind: Int, size: Int, index: Int, work: Work)] = []
        var seen = [Int](repeating: 0, count: rules.count)
        let crowds = crowdedAttempts(anchored, hits: &anchoredHits)
        var crowdOf = [Int](repeating: -1, count: anchored.count)
        for (c, crowd) in crowds.enumerated() { for i in crowd.attempts { crowdOf[i] = c } }
        for (i, a) in anchored.enumerated() {
            let c = crowdOf[i]
            if c < 0 {
                order.append((seen[a.rule], 0, 0, i, .attempt(i)))
            } else if crowds[c].attempts[0] == i {
                order.append((seen[a.rule], 1, crowds[c].cost, c, .crowd(c)))
            } else { continue }
            seen[a.rule] += 1
        }
        for (i, w) in windows.enumerated() {
            order.append((seen[w.rule], 1, w.range.count, i, .window(i))); seen[w.rule] += 1
        }
        order.sort { ($0.round, $0.kind, $0.size, $0.index) < ($1.round, $1.kind, $1.size, $1.index) }
        // One anchored attempt: charged its window, or its match when it found one (a match ends the regex's work).
        func attempt(_ i: Int) {
            let a = anchored[i]
            let window = a.at..<min(n, a.at + rules[a.rule].window)
            guard budget > 0, spentByRule[a.rule] < share else { complete = false; return }
            let before = found.count
            match(rule: a.rule, window: window, anchored: true, base: base, n: n, into: &found)
            var end = window.upperBound
            if found.count > before { end = found[before...].reduce(a.at) { max($0, $1.match.upperBound) } }
            let spent = max(1, end - a.at)
            budget -= spent
            spentByRule[a.rule] += spent
        }
        for item in order {
            switch item.work {
            case .window(let i):
                let w = windows[i]
                // Hits that repeat within each other's windows merge into one long window, where a pattern
                // with a span (`BEGIN … END`) runs from every start to the window's end: a long one is
                // matched in pieces of twice the rule's reach, each accepting the matches that start in
                // its first half, so no start runs further than a piece.
                let reach = rules[w.rule].window + 512
                let step = reach
                let long = w.range.count > 2 * step + reach
                var from = w.range.lowerBound
                while from < w.range.upperBound {
                    let piece = long ? from..<min(w.range.upperBound, from + step + reach) : w.range
                    let last = piece.upperBound == w.range.upperBound
                    // A piece costs its length for each start in it (hits spread evenly over the window).
                    let starts = max(1, w.hits * piece.count / max(1, w.range.count))
                    let cost = starts.multipliedReportingOverflow(by: piece.count)
                    guard !cost.overflow, cost.partialValue <= budget, cost.partialValue <= share - spentByRule[w.rule] else { complete = false; break }
                    budget -= cost.partialValue
                    spentByRule[w.rule] += cost.partialValue
                    if last {
                        match(rule: w.rule, window: piece, base: base, n: n, into: &found)
                        break
                    }
                    var mine: [SecretMatch] = []
                    match(rule: w.rule, window: piece, base: base, n: n, into: &mine)
                    found += mine.filter { $0.match.lowerBound < from + step }
                    from += step
                }
            case .attempt(let i):
                attempt(i)
            case .crowd(let c):
                // One pass over the span stands for every attempt in it; the attempts it cannot answer
                // are made one by one. It is charged what its attempts would be if each failed: a window
                // for every hit in the span, which the pass tries too. When that is not affordable, the
                // attempts are made one by one, as far as the budget goes.
                let crowd = crowds[c]
                let r = anchored[crowd.attempts[0]].rule
                guard crowd.cost <= budget, crowd.cost <= share - spentByRule[r] else {
                    for i in crowd.attempts { attempt(i) }
                    continue
                }
                budget -= crowd.cost
                spentByRule[r] += crowd.cost
                let retry = answerCrowd(crowd, anchored, base: base, n: n, into: &found)
                for i in retry { attempt(i) }
            }
        }
        // 3. Known secrets, in every encoding, found during the keyword pass.
        found += knownFound
        return resolve(found)
    }

    /// Anchored attempts of one rule that crowd together, each within the rule's window of the one
    /// before (a keyword repeating every few bytes): each attempt on its own is a regex call over a
    /// window, and a call costs microseconds whatever it matches, so 70,000 of them in a MiB of
    /// `postgres://a:b@…` took four seconds. A crowd is matched in one pass over the span it covers.
    /// `attempts` are indices into `anchored`, in order; `cost` is a window for each of the rule's
    /// keyword hits in the span (`hits`, which this sorts), twice when matches may start a byte early.
    /// Only rules whose patterns are bounded crowd: an unbounded one could run from every start to the
    /// span's end.
    func crowdedAttempts(_ anchored: [(rule: Int, at: Int)], hits: inout [[Int]]) -> [(attempts: [Int], span: Range<Int>, cost: Int)] {
        var byRule: [Int: [Int]] = [:]
        for (i, a) in anchored.enumerated() where patterns[a.rule].bounded { byRule[a.rule, default: []].append(i) }
        var crowds: [(attempts: [Int], span: Range<Int>, cost: Int)] = []
        for r in byRule.keys.sorted() {
            let list = byRule[r]!
            let window = rules[r].window
            hits[r].sort()
            let sorted = hits[r]
            func firstHit(atOrAfter x: Int) -> Int { Self.countBelow(x, sorted.count) { sorted[$0] } }
            var i = 0
            while i < list.count {
                var j = i + 1
                var end = anchored[list[i]].at + window
                while j < list.count, anchored[list[j]].at < end {
                    end = max(end, anchored[list[j]].at + window)
                    j += 1
                }
                if j - i >= crowdMinimum {
                    let span = anchored[list[i]].at..<end
                    let count = firstHit(atOrAfter: span.upperBound) - firstHit(atOrAfter: span.lowerBound)
                    let starts = patterns[r].startsOneBefore ? 2 * count : count
                    let cost = starts.multipliedReportingOverflow(by: window)
                    crowds.append((Array(list[i..<j]), span, cost.overflow ? Int.max : max(cost.partialValue, span.count)))
                }
                i = j
            }
        }
        return crowds
    }

    /// Matches a crowd's span once, unanchored, and keeps what each attempt would have found on its own:
    /// a match that starts where an attempt does is that attempt's match; an attempt where no match
    /// starts and none runs over found nothing, since the pass tried there. Returns the attempts the
    /// pass cannot answer, to be made one by one: those inside a match that started earlier (the pass
    /// skips them), and those whose match runs past the attempt's own window.
    func answerCrowd(_ crowd: (attempts: [Int], span: Range<Int>, cost: Int), _ anchored: [(rule: Int, at: Int)],
                     base: UnsafePointer<UInt8>, n: Int, into found: inout [SecretMatch]) -> [Int] {
        let r = anchored[crowd.attempts[0]].rule
        let span = crowd.span.lowerBound..<min(n, crowd.span.upperBound)
        let all = regexMatches(rule: r, window: span, anchored: false, base: base, n: n)
        var byStart: [Int: Int] = [:]
        for (k, m) in all.enumerated() where byStart[m.match.lowerBound] == nil { byStart[m.match.lowerBound] = k }
        let window = rules[r].window
        var retry: [Int] = []
        var answered = Set<Int>()
        for i in crowd.attempts {
            let at = anchored[i].at
            if let m = byStart[at] {
                let hit = all[m]
                if hit.match.upperBound > at + window { retry.append(i); continue }
                if answered.insert(m).inserted, let accepted = hit.accepted { found.append(accepted) }
                continue
            }
            // Matches are in order and disjoint: the one that could hold `at` is the last to start before it
            // (attempts come in hit order, which is not quite position order, so it is searched for).
            let before = Self.countBelow(at, all.count) { all[$0].match.lowerBound }
            if before > 0, at < all[before - 1].match.upperBound { retry.append(i) }
        }
        return retry
    }

    /// How many of `count` ascending keys (`key(i)`) are below `x`: a binary search.
    static func countBelow(_ x: Int, _ count: Int, key: (Int) -> Int) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if key(mid) < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Runs rule `r` over `window` of the `n` bytes at `base`; with `anchored`, a match must start at the
    /// window's first byte. One byte on each side is passed along as context only, so `\b`, `^` and `$`
    /// see the real neighbours, never the window's edges.
    private func match(rule r: Int, window: Range<Int>, anchored: Bool = false, base: UnsafePointer<UInt8>, n: Int,
                       into found: inout [SecretMatch]) {
        for m in regexMatches(rule: r, window: window, anchored: anchored, base: base, n: n) {
            if let accepted = m.accepted { found.append(accepted) }
        }
    }

    /// Every match of rule `r` in `window` (see `match`), in order, with what the rule's checks make of
    /// it: `accepted` is nil when the value is empty, too plain or a placeholder.
    private func regexMatches(rule r: Int, window: Range<Int>, anchored: Bool, base: UnsafePointer<UInt8>, n: Int)
        -> [(match: Range<Int>, accepted: SecretMatch?)] {
        guard let regex = patterns[r].regex else { return [] }
        var out: [(match: Range<Int>, accepted: SecretMatch?)] = []
        // An anchored attempt right after an escape (`%3D`, `\n`) sees no byte before it: decoded, the
        // escape is no word character, so the rule's `\b` or start group holds there.
        let pre = window.lowerBound > 0 && !(anchored && RulePattern.endsEscape(base, window.lowerBound)) ? 1 : 0
        let post = window.upperBound < n ? 1 : 0
        let lo = window.lowerBound - pre
        // The text as ASCII: bytes above 0x7f become SUB, so UTF-16 offsets are byte offsets.
        let ascii = UnsafeBufferPointer(start: base + lo, count: window.count + pre + post)
        let text = ascii.contains(where: { $0 >= 0x80 })
            ? String(decoding: ascii.map { $0 < 0x80 ? $0 : 0x1A }, as: UTF8.self)
            : String(decoding: ascii, as: UTF8.self)
        let rule = rules[r]
        let ns = NSRange(location: pre, length: window.count)
        var options: NSRegularExpression.MatchingOptions = [.withTransparentBounds, .withoutAnchoringBounds]
        if anchored { options.insert(.anchored) }
        // Anchored, one match: the enumeration would go on to chain matches, each starting where the one
        // before ended and cut at the window's end (a value cut short, found by the crowd test).
        let all = anchored ? regex.firstMatch(in: text, options: options, range: ns).map { [$0] } ?? []
            : regex.matches(in: text, options: options, range: ns)
        for m in all {
            let whole = (lo + m.range.location)..<(lo + m.range.location + m.range.length)
            var v = m.range
            if m.numberOfRanges > 1, m.range(at: 1).location != NSNotFound { v = m.range(at: 1) }
            let value = UnsafeBufferPointer(rebasing: ascii[v.location..<(v.location + v.length)])
            guard v.length > 0, rule.minEntropy <= 0 || ValueShape.entropy(value) >= rule.minEntropy,
                  !ValueShape.isPlaceholder(value) else {
                out.append((whole, nil))
                continue
            }
            out.append((whole, SecretMatch(ruleID: rule.id, title: rule.title, severity: rule.severity, confidence: rule.confidence,
                                           value: (lo + v.location)..<(lo + v.location + v.length), match: whole)))
        }
        return out
    }

    /// One finding per secret: where matches overlap, the surest (confidence, then severity, then the
    /// named rule over the generic one) wins; paired rules are confirmed by their partner nearby.
    func resolve(_ all: [SecretMatch]) -> [SecretMatch] {
        guard !all.isEmpty else { return [] }
        func rank(_ m: SecretMatch) -> (Int, Int, Int, Int) {
            (m.ruleID.hasPrefix("known:") ? 1 : 0, m.ruleID.hasPrefix("generic-") ? 0 : 1, m.confidence.rawValue, m.severity.rawValue)
        }
        let sorted = all.sorted { a, b in
            if a.value.lowerBound != b.value.lowerBound { return a.value.lowerBound < b.value.lowerBound }
            if rank(a) != rank(b) { return rank(a) > rank(b) }
            if a.value.count != b.value.count { return a.value.count > b.value.count }
            return a.ruleID < b.ruleID
        }
        var kept: [SecretMatch] = []
        for m in sorted {
            // Kept matches are sorted and disjoint, so only the last can overlap a later one. The one
            // kept covers the union of both for redaction: `AKIA…:secret` matched as a key id inside a
            // generic match left the secret half readable (found by helper-132).
            if let last = kept.last, last.value.overlaps(m.value) {
                let union = min(last.redacted.lowerBound, m.redacted.lowerBound)..<max(last.redacted.upperBound, m.redacted.upperBound)
                if rank(m) > rank(last) { kept[kept.count - 1] = m }
                kept[kept.count - 1].covering = union == kept[kept.count - 1].value ? nil : union
                continue
            }
            kept.append(m)
        }
        // Pairs: a rule naming a partner is confirmed (high confidence) when the partner is within 1 KiB.
        for i in kept.indices {
            guard let r = ruleIndex[kept[i].ruleID], let p = pairTarget[r] else { continue }
            let partner = rules[p].id
            if kept.contains(where: { $0.ruleID == partner && abs($0.value.lowerBound - kept[i].value.lowerBound) <= 1024 }) {
                kept[i].pairedWith = partner
                kept[i].confidence = .high
            }
        }
        return kept
    }
}

extension Range where Bound == Int {
    /// The range `d` further on.
    func shifted(by d: Int) -> Range<Int> { (lowerBound + d)..<(upperBound + d) }
}
