import Crypto
import _CryptoExtras
import ProvenantCore

/// A secret as it may be shown: its length, and for a strong value its first 4 characters and its
/// SHA-256. The value itself is never kept.
public struct MaskedSecret: Sendable, Hashable, CustomStringConvertible {
    /// Empty for a weak value.
    public var prefix: String
    public var length: Int
    /// SHA-256 of the value, hex, for a value strong enough that its hash gives nothing away; nil for a
    /// weak one, which a wordlist would recover from its hash, its start and its length
    /// (`password=Summer2024!x` was: found by helper-132). Reports show its first 16 characters.
    public var valueDigest: String?
    /// For a weak value, when the scan keeps a baseline: a slow salted digest of it (PBKDF2-HMAC-SHA256,
    /// `baselineIterations` rounds, the baseline's random salt), so a baseline tells a rotated weak
    /// value from the accepted one without giving the value to a wordlist cheaply.
    public var baselineDigest: String?
    public static let baselineIterations = 100_000

    /// A value of at least 20 characters with at least 128 bits by its characters' entropy.
    public static func isStrong<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        bytes.count >= 20 && ValueShape.entropy(bytes) * Double(bytes.count) >= 128
    }

    /// Strong as written and as what it encodes: `\u`, `\x` and `%` escapes, and base64 or hex that
    /// stands for printable text, add length and characters but no secrecy. `Summer2024!` written
    /// `\u0053…` or inside `Basic base64(user:Summer2024!)` got a plain SHA-256 a wordlist reverses
    /// (found by helper-156). Base64 standing for `user:password` is judged by the password.
    /// Layers are peeled up to `maxLayers` deep (`%2553` is `%53` is `S`).
    public static func isStrongDecoded(_ bytes: [UInt8]) -> Bool {
        guard isStrong(bytes) else { return false }
        var view = bytes
        for _ in 0..<maxLayers {
            if let unescaped = unescaped(view) { view = unescaped; continue }
            if let text = printableDecoding(view) {
                view = text
                if let colon = view.firstIndex(of: UInt8(ascii: ":")) { view = Array(view[(colon + 1)...]) }
                continue
            }
            break
        }
        return view == bytes || isStrong(view)
    }

    static let maxLayers = 4

    /// `b` with its `\uXXXX`, `\UXXXXXXXX`, `\xXX`, `%XX` and `&#N;`/`&#xN;` escapes decoded (as
    /// bytes, UTF-8 for characters); nil when it holds none.
    static func unescaped(_ b: [UInt8]) -> [UInt8]? {
        func hex(_ c: UInt8) -> UInt32? { Hex.nibble(c).map(UInt32.init) }
        func number(_ at: Int, _ n: Int) -> UInt32? {
            guard at + n <= b.count else { return nil }
            var v: UInt32 = 0
            for k in at..<(at + n) { guard let d = hex(b[k]) else { return nil }; v = v << 4 | d }
            return v
        }
        func character(_ v: UInt32) -> [UInt8] { Array(String(Unicode.Scalar(v).map(Character.init) ?? "?").utf8) }
        var out: [UInt8] = [], i = 0, changed = false
        while i < b.count {
            if b[i] == UInt8(ascii: "&"), i + 3 < b.count, b[i + 1] == UInt8(ascii: "#") {
                let hex = b[i + 2] == UInt8(ascii: "x") || b[i + 2] == UInt8(ascii: "X")
                var k = i + (hex ? 3 : 2), v: UInt32 = 0, digits = 0
                while k < b.count, digits < 8, let d = hex ? Hex.nibble(b[k]).map(UInt32.init) : (b[k] >= 48 && b[k] <= 57 ? UInt32(b[k] - 48) : nil) {
                    v = v * (hex ? 16 : 10) + d; k += 1; digits += 1
                }
                if digits > 0, k < b.count, b[k] == UInt8(ascii: ";") { out += character(v); i = k + 1; changed = true; continue }
            }
            if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                if b[i + 1] == UInt8(ascii: "u"), let v = number(i + 2, 4) { out += character(v); i += 6; changed = true; continue }
                if b[i + 1] == UInt8(ascii: "U"), let v = number(i + 2, 8) { out += character(v); i += 10; changed = true; continue }
                if b[i + 1] == UInt8(ascii: "x"), let v = number(i + 2, 2) { out.append(UInt8(v)); i += 4; changed = true; continue }
            }
            if b[i] == UInt8(ascii: "%"), let v = number(i + 1, 2) { out.append(UInt8(v)); i += 3; changed = true; continue }
            out.append(b[i]); i += 1
        }
        return changed ? out : nil
    }

    /// What base64 (either alphabet) or hex of the whole of `b` stands for, when that is printable
    /// ASCII text: random tokens decode to binary and are judged as written.
    static func printableDecoding(_ b: [UInt8]) -> [UInt8]? {
        func printable(_ d: [UInt8]) -> Bool { d.count >= 4 && d.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }
        if let d = Hex.decode(String(decoding: b, as: UTF8.self)), printable(d) { return d }
        let alphabet = b.allSatisfy { c in (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || "+/-_=".utf8.contains(c) }
        if alphabet, let d = Base64.decode(bytes: b), printable(d) { return d }
        return nil
    }

    public init<C: Collection>(_ value: C, baselineSalt: [UInt8]? = nil) where C.Element == UInt8 {
        let bytes = Array(value)
        length = bytes.count
        baselineDigest = nil
        if Self.isStrongDecoded(bytes) {
            // The first 4 characters, but never more than a quarter of the value.
            let head = bytes.prefix(min(4, bytes.count / 4)).map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }
            prefix = String(decoding: head, as: UTF8.self)
            valueDigest = Hex.encode(SHA256.hash(data: bytes))
        } else {
            prefix = ""
            valueDigest = nil
            if let salt = baselineSalt { baselineDigest = Self.pbkdf2(bytes, salt: salt, rounds: Self.baselineIterations).map { Hex.encode($0) } }
        }
    }

    /// PBKDF2-HMAC-SHA256, 32 bytes (RFC 8018), by swift-crypto. Its checked entry point asks for
    /// 210,000 rounds; 100,000 is the cost chosen here for a scan that digests every weak finding.
    /// Nil if the library refuses the parameters; the finding is then fingerprinted by its place.
    static func pbkdf2(_ password: [UInt8], salt: [UInt8], rounds: Int) -> [UInt8]? {
        let key = try? KDF.Insecure.PBKDF2.deriveKey(from: password, salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: max(1, rounds))
        return key?.withUnsafeBytes { Array($0) }
    }

    public var description: String {
        guard let d = valueDigest else { return "(\(length) chars; weak, so neither its start nor a hash is shown)" }
        return "\(prefix)… (\(length) chars, sha256:\(d.prefix(16)))"
    }
}

/// One finding of `secrets scan`.
public struct SecretFinding: Sendable, Hashable {
    public var ruleID: String
    public var title: String
    public var severity: SeverityLevel
    public var confidence: Confidence
    /// The file as the user named it, with `!entry` for a file inside an archive.
    public var path: String
    public var line: Int
    public var column: Int
    public var secret: MaskedSecret
    /// The commit that added the line, with `--git`.
    public var commit: String?
    public var pairedWith: String?
    /// In an image: where the file came from, the layer's digest, and whether a later layer removed or
    /// replaced it (the secret is then still in the layer's blob, for anyone who pulls the image).
    public var layer: String?
    public var removedLater = false

    /// What baselines and SARIF track the finding by: the value's SHA-256 when it is strong; for a weak
    /// value, its slow salted digest when the scan keeps a baseline, else a SHA-256 of the rule, path,
    /// length and line, which says nothing of the value. (Rule, path and length alone let a baselined
    /// weak value hide a rotated one of the same length: found by helper-133.)
    public var fingerprint: String {
        secret.valueDigest ?? secret.baselineDigest
            ?? Hex.encode(SHA256.hash(data: Array("provenant-weak-secret-v2\u{0}\(ruleID)\u{0}\(path)\u{0}\(secret.length)\u{0}\(line)".utf8)))
    }

    public init(ruleID: String, title: String, severity: SeverityLevel, confidence: Confidence, path: String, line: Int,
                column: Int, secret: MaskedSecret, commit: String? = nil, pairedWith: String? = nil) {
        self.ruleID = ruleID; self.title = title; self.severity = severity; self.confidence = confidence
        self.path = path; self.line = line; self.column = column; self.secret = secret; self.commit = commit; self.pairedWith = pairedWith
    }

    /// Sorted by place, then rule: the report order.
    public static func order(_ a: SecretFinding, _ b: SecretFinding) -> Bool {
        if a.path != b.path { return a.path < b.path }
        if (a.commit ?? "") != (b.commit ?? "") { return (a.commit ?? "") < (b.commit ?? "") }
        if a.line != b.line { return a.line < b.line }
        if a.column != b.column { return a.column < b.column }
        return a.ruleID < b.ruleID
    }
}
