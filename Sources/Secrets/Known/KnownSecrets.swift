import Crypto
import Foundation
import ProvenantCore

/// The agent's own secret values, recognised wherever they appear, in any common encoding, while only
/// salted hashes and lengths stay in memory.
///
/// Each value is expanded into its encoded forms (plain; all lower and all upper case; hex; base64 and URL-safe base64 at the three
/// byte alignments a value can have inside a longer payload; URL-encoded; JSON- and unicode-escaped).
/// For each form the matcher keeps its length, a salted 64-bit hash of its first 8 bytes (the anchor),
/// and a salted SHA-256 of the whole form. At every position one multiply of the next 8 bytes picks a
/// bit in an 8 KiB set that stays in the L1 cache; only where it is set is the anchor hashed and looked
/// up, and the SHA-256 checked when the anchor hits. So a value shorter than 8 bytes cannot be anchored, and is refused.
public final class KnownSecrets: Sendable {
    public struct Name: Sendable, Hashable { public var source: String; public var key: String
        public init(source: String, key: String) { self.source = source; self.key = key }
        public var ruleID: String { "known:\(source)/\(key)" }
    }
    struct Form: Sendable { var length: Int; var digest: [UInt8]; var name: Int; var encoding: String; var probe: UInt64 }

    /// Before a candidate's SHA-256 over its whole length, its first `probeLength` bytes (or all, when
    /// shorter) are held to the salted SHA-256 of the form's, cut to 64 bits: a PEM key's header and
    /// the common start of its body repeated through 8 MB of text cost a SHA-256 of the whole key at
    /// each repeat, 24 s for a 6.6 KB key (found by helper-233). A SHA-256, not a cheaper mix: a mix
    /// can be run backwards, and would give back what the probe covers (found by helper-234).
    static let probeLength = 64

    static func probe(_ salt: [UInt8], _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        salted(salt, bytes).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    public static let minimumLength = 8
    public let names: [Name]
    let forms: [Form]
    let byAnchor: [UInt64: [Int32]]
    let bits: [UInt64]
    static let bitsLog2 = 16
    let salt: [UInt8]
    let anchorSalt: UInt64
    public let longest: Int
    /// The keyword prefilter's slot (`KeywordAutomaton.prefilterSlot`) of each form's first three bytes,
    /// so that the engine's one pass over the bytes also finds where a form may start. A lossy 18-bit
    /// hash, like the rest never the bytes themselves.
    let startSlots: [Int]
    /// Salted 64-bit rolling hashes of every beginning (3 characters or more) of each value's base64
    /// forms, each with its length: what tells a live stream's last lines may hold the start of a
    /// wrapped form (`base64FormStart`), never the forms themselves. Rolling, so that both making them
    /// and looking a text's ends up take time linear in the form's length (a digest of each beginning
    /// took seconds for a value of 24 KB, found by helper-191); a collision only holds a line back.
    let base64Beginnings: Set<UInt64>
    let longestBase64: Int
    let rollingBase: UInt64

    public struct Value { public var name: Name; public var bytes: [UInt8]
        public init(name: Name, bytes: [UInt8]) { self.name = name; self.bytes = bytes }
    }

    /// Fails when a value is shorter than `minimumLength` bytes.
    public init(_ values: [Value]) throws(KnownSecretsError) {
        var salt = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = rng.next() }
        self.salt = salt
        self.anchorSalt = rng.next() | 1
        var names: [Name] = [], nameIndexes: [Name: Int] = [:]
        var forms: [Form] = []
        var byAnchor: [UInt64: [Int32]] = [:]
        var bits = [UInt64](repeating: 0, count: (1 << Self.bitsLog2) / 64)
        var longest = 0
        var startSlots = Set<Int>()
        var beginnings = Set<UInt64>(), longestBase64 = 0
        let rollingBase = rng.next() | 1
        self.rollingBase = rollingBase
        for v in values {
            guard v.bytes.count >= Self.minimumLength else {
                throw KnownSecretsError(path: v.name.source, line: 0, reason: "known secret \(v.name.ruleID) is \(v.bytes.count) bytes; at least \(Self.minimumLength) are needed, since a shorter value would match unrelated text")
            }
            let nameIndex: Int
            // Through a map: searched in the list, 80,000 keys took 13 s (found by helper-233).
            if let i = nameIndexes[v.name] { nameIndex = i } else { nameIndex = names.count; nameIndexes[v.name] = nameIndex; names.append(v.name) }
            var seen = Set<[UInt8]>()
            for (encoding, form) in KnownEncodings.forms(of: v.bytes) where form.count >= Self.minimumLength && seen.insert(form).inserted {
                let first8 = Self.load(form, 0)
                let anchor = Self.mix(first8, anchorSalt)
                let slot = Self.slot(first8, anchorSalt)
                startSlots.insert(KeywordAutomaton.prefilterSlot(UInt32(form[0]) | UInt32(form[1]) << 8 | UInt32(form[2]) << 16))
                bits[slot >> 6] |= 1 << UInt64(slot & 63)
                byAnchor[anchor, default: []].append(Int32(forms.count))
                let probe = form.withUnsafeBytes { Self.probe(salt, UnsafeRawBufferPointer(rebasing: $0.prefix(Self.probeLength))) }
                forms.append(Form(length: form.count, digest: Self.digest(salt, form[...]), name: nameIndex, encoding: encoding, probe: probe))
                longest = max(longest, form.count)
                if encoding.hasPrefix("base64") {
                    longestBase64 = max(longestBase64, form.count)
                    var h: UInt64 = 0
                    for (k, c) in form.enumerated() {
                        h = h &* rollingBase &+ UInt64(c) &+ 1
                        if k + 1 >= Self.shortestBeginning { beginnings.insert(Self.beginningKey(h, length: k + 1, anchorSalt)) }
                    }
                }
            }
        }
        self.names = names; self.forms = forms; self.byAnchor = byAnchor; self.bits = bits; self.longest = longest
        self.base64Beginnings = beginnings; self.longestBase64 = longestBase64
        self.startSlots = startSlots.sorted()
    }

    public var isEmpty: Bool { forms.isEmpty }

    /// Three characters: a form begun in a line's last one or two goes out with them (12 bits at
    /// most), and a line ends in the beginning of one of 60 forms by chance once in 4,000 pauses.
    static let shortestBeginning = 3

    static func beginningKey(_ h: UInt64, length: Int, _ salt: UInt64) -> UInt64 { mix(h ^ (UInt64(length) &* 0x9E37_79B9_7F4A_7C15), salt) }

    /// How many of `text`'s last characters begin a known value's base64 form (the most, at least 3),
    /// or nil: where a live stream that paused may be in the middle of writing one, wrapped. One pass
    /// from the end, each longer ending's hash from the last's.
    public func base64FormStart(in text: [UInt8]) -> Int? {
        guard !base64Beginnings.isEmpty, text.count >= Self.shortestBeginning else { return nil }
        var h: UInt64 = 0, power: UInt64 = 1, best: Int?
        for l in 1...min(text.count, longestBase64) {
            h = h &+ (UInt64(text[text.count - l]) &+ 1) &* power
            power = power &* rollingBase
            if l >= Self.shortestBeginning, base64Beginnings.contains(Self.beginningKey(h, length: l, anchorSalt)) { best = l }
        }
        return best
    }

    @inline(__always) static func load(_ b: [UInt8], _ i: Int) -> UInt64 {
        var x: UInt64 = 0
        for k in 0..<8 { x |= UInt64(b[i + k]) << (8 * UInt64(k)) }
        return x
    }
    @inline(__always) static func mix(_ x: UInt64, _ salt: UInt64) -> UInt64 {
        var h = (x ^ salt) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        return h
    }
    /// The prefilter bit for the 8 bytes `x`: one multiply, the top bits kept.
    @inline(__always) static func slot(_ x: UInt64, _ salt: UInt64) -> Int {
        Int(((x ^ salt) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bitsLog2))
    }
    /// The salted SHA-256 every form is held to, whole (`digest`) and by its first bytes (`probe`).
    static func salted(_ salt: [UInt8], _ bytes: UnsafeRawBufferPointer) -> SHA256.Digest {
        var h = SHA256()
        h.update(data: salt)
        h.update(bufferPointer: bytes)
        return h.finalize()
    }
    static func digest(_ salt: [UInt8], _ bytes: ArraySlice<UInt8>) -> [UInt8] {
        Array(bytes.withUnsafeBytes { salted(salt, $0) })
    }

    /// Every occurrence of a known value's form in `bytes`, testing every position. The engine instead
    /// calls `match(at:)` where its keyword pass says a form may start.
    public func scan(_ bytes: UnsafeRawBufferPointer) -> [SecretMatch] {
        let n = bytes.count
        guard n >= 8, !forms.isEmpty, let base = bytes.baseAddress else { return [] }
        var found: [SecretMatch] = []
        let key = anchorSalt
        bits.withUnsafeBufferPointer { bitset in
            var i = 0
            let last = n - 8
            while i <= last {
                let x = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let slot = Self.slot(x, key)
                if bitset[slot >> 6] & (1 << UInt64(slot & 63)) != 0 { confirm(x, at: i, base, n, into: &found) }
                i += 1
            }
        }
        return found
    }

    /// Appends the forms that occur at offset `i` of the `n` bytes at `base`.
    @inline(__always)
    func match(at i: Int, _ base: UnsafeRawPointer, _ n: Int, into found: inout [SecretMatch]) {
        guard i <= n - 8 else { return }
        let x = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let slot = Self.slot(x, anchorSalt)
        guard bits[slot >> 6] & (1 << UInt64(slot & 63)) != 0 else { return }
        confirm(x, at: i, base, n, into: &found)
    }

    /// The anchor lookup and the SHA-256 check at `i`, whose first 8 bytes are `x`.
    private func confirm(_ x: UInt64, at i: Int, _ base: UnsafeRawPointer, _ n: Int, into found: inout [SecretMatch]) {
        guard let candidates = byAnchor[Self.mix(x, anchorSalt)] else { return }
        for c in candidates {
            let f = forms[Int(c)]
            guard i + f.length <= n else { continue }
            // A form no longer than the probe is hashed whole at once.
            if f.length > Self.probeLength, Self.probe(salt, UnsafeRawBufferPointer(start: base + i, count: Self.probeLength)) != f.probe { continue }
            if Self.salted(salt, UnsafeRawBufferPointer(start: base + i, count: f.length)).elementsEqual(f.digest) {
                found.append(SecretMatch(ruleID: names[f.name].ruleID, title: "Known secret (\(f.encoding))", severity: .critical,
                                         confidence: .high, value: i..<(i + f.length), match: i..<(i + f.length)))
            }
        }
    }
}

/// A known-secrets file that could not be read, or a value that cannot be matched safely.
public struct KnownSecretsError: Error, Sendable, CustomStringConvertible {
    public var path: String, line: Int, reason: String
    public var description: String { line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)" }
}
