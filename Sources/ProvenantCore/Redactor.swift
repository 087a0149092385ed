/// The one redactor that every piece of input text passes through before Provenant echoes it
/// into a diagnostic, an SBOM or a report.
///
/// It removes, without needing to know the format the text came from:
/// - URL userinfo: `https://user:pass@host/x` → `https://REDACTED@host/x`;
/// - the value of `password=`-style assignments (`password`, `passwd`, `secret`, `token`,
///   `api_key`, `access_key`, `auth`, `credential`, … followed by `=` or `:`);
/// - private-key blocks (`-----BEGIN … PRIVATE KEY-----` to its end);
/// - token-shaped strings: JWTs, values with a well-known credential prefix (`ghp_`, `glpat-`,
///   `xoxb-`, `sk-`, `AKIA`, …), and long runs of mixed letters and digits with high entropy.
///
/// What it keeps: hex strings of a digest's length (MD5, SHA-1, SHA-256, SHA-512), purls,
/// paths and ordinary words. It errs on the side of redacting: a diagnostic that loses a
/// random-looking string is still useful, a leaked token is not.
public enum Redactor {
    public static let mark = "REDACTED"

    public static func redact(_ text: String) -> String {
        // Fast path: nothing that could need redacting (most diagnostics).
        let bytes = Array(text.utf8)
        guard mayNeedRedaction(bytes) else { return text }
        var out = bytes
        out = redactPrivateKeys(out)
        out = redactUserinfo(out)
        out = redactAssignments(out)
        out = redactTokens(out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` holds anything the redactor would change.
    public static func wouldRedact(_ text: String) -> Bool { redact(text) != text }

    // MARK: - Pieces

    private static func mayNeedRedaction(_ b: [UInt8]) -> Bool {
        // Userinfo needs '@', assignments '=' or ':', tokens a run of 16+ token characters.
        var run = 0
        for c in b {
            if c == UInt8(ascii: "@") || c == UInt8(ascii: "=") || c == UInt8(ascii: ":") { return true }
            if isTokenByte(c) { run += 1; if run >= 16 { return true } } else { run = 0 }
        }
        return false
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }

    /// Characters of tokens and base64: letters, digits, `_ - + / =`.
    private static func isTokenByte(_ c: UInt8) -> Bool {
        isAlnum(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
            || c == UInt8(ascii: "/") || c == UInt8(ascii: "=")
    }

    private static let begin = Array("-----BEGIN ".utf8)
    private static let endMarker = Array("-----END ".utf8)
    private static let dashes = Array("-----".utf8)

    private static func redactPrivateKeys(_ b: [UInt8]) -> [UInt8] {
        guard let first = find(begin, in: b, from: 0) else { return b }
        var out: [UInt8] = Array(b[..<first])
        var i = first
        while i < b.count {
            guard let s = find(begin, in: b, from: i) else { out += b[i...]; break }
            out += b[i..<s]
            // The label runs to the next five dashes; only blocks naming a PRIVATE KEY are cut.
            let labelStart = s + begin.count
            guard let labelEnd = find(dashes, in: b, from: labelStart) else { out += b[s...]; break }
            let label = String(decoding: b[labelStart..<labelEnd], as: UTF8.self)
            guard label.contains("PRIVATE KEY") || label.contains("PGP PRIVATE") else {
                out += b[s..<(labelEnd + dashes.count)]; i = labelEnd + dashes.count; continue
            }
            out += Array("-----BEGIN \(label)----- \(mark)".utf8)
            if let e = find(endMarker, in: b, from: labelEnd), let close = find(dashes, in: b, from: e + endMarker.count) {
                out += b[e..<(close + dashes.count)]
                i = close + dashes.count
            } else {
                i = b.count // unterminated: everything after BEGIN is key material
            }
        }
        return out
    }

    /// `scheme://user[:pass]@host`: everything between `//` and the last `@` before the host's end.
    private static func redactUserinfo(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if i + 2 < b.count, b[i] == UInt8(ascii: ":"), b[i + 1] == UInt8(ascii: "/"), b[i + 2] == UInt8(ascii: "/") {
                out += b[i...(i + 2)]
                let start = i + 3
                // The authority ends at '/', '?', '#', whitespace or a quote.
                var end = start
                while end < b.count, !isAuthorityEnd(b[end]) { end += 1 }
                if let at = b[start..<end].lastIndex(of: UInt8(ascii: "@")), at > start {
                    out += Array(mark.utf8)
                    out += b[at..<end]
                } else {
                    out += b[start..<end]
                }
                i = end
                continue
            }
            out.append(b[i]); i += 1
        }
        return out
    }

    private static func isAuthorityEnd(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "/") || c == UInt8(ascii: "?") || c == UInt8(ascii: "#") || c <= 32
            || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: "`") || c == UInt8(ascii: ">")
            || c == UInt8(ascii: "<") || c == UInt8(ascii: ")") || c == UInt8(ascii: "]")
    }

    /// Key names whose assigned value is a credential. Matched case-insensitively as the end of
    /// an identifier (`DB_PASSWORD`, `githubToken`, `api-key`).
    private static let secretKeys: [[UInt8]] = [
        "password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
        "accesskey", "access_key", "access-key", "auth", "authorization", "credential", "credentials",
        "private_key", "privatekey", "client_secret",
    ].map { Array($0.utf8) }

    private static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

    private static func redactAssignments(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            let c = b[i]
            guard c == UInt8(ascii: "=") || c == UInt8(ascii: ":") else { out.append(c); i += 1; continue }
            // Look back over optional spaces and quotes to the key.
            var k = i
            while k > 0, b[k - 1] == 32 || b[k - 1] == UInt8(ascii: "\"") || b[k - 1] == UInt8(ascii: "'") { k -= 1 }
            var ks = k
            while ks > 0, isAlnum(b[ks - 1]) || b[ks - 1] == UInt8(ascii: "_") || b[ks - 1] == UInt8(ascii: "-") || b[ks - 1] == UInt8(ascii: ".") { ks -= 1 }
            let key = b[ks..<k].map(lower)
            let isSecretKey = !key.isEmpty && secretKeys.contains { name in
                key.count >= name.count && Array(key.suffix(name.count)) == name
                    && (key.count == name.count || !isAlnum(key[key.count - name.count - 1]) || name.count >= 5)
            }
            // `://` is a URL, not an assignment.
            let isURL = c == UInt8(ascii: ":") && i + 1 < b.count && b[i + 1] == UInt8(ascii: "/")
            guard isSecretKey, !isURL else { out.append(c); i += 1; continue }
            out.append(c)
            var v = i + 1
            while v < b.count, b[v] == 32 { out.append(b[v]); v += 1 }
            var quote: UInt8?
            if v < b.count, b[v] == UInt8(ascii: "\"") || b[v] == UInt8(ascii: "'") { quote = b[v]; out.append(b[v]); v += 1 }
            var e = v
            if let q = quote { while e < b.count, b[e] != q, b[e] != 10 { e += 1 } }
            else { while e < b.count, b[e] > 32, b[e] != UInt8(ascii: ","), b[e] != UInt8(ascii: ";"), b[e] != UInt8(ascii: "&") { e += 1 } }
            let value = b[v..<e]
            // Empty values and references to another variable (`${VAR}`, `$VAR`) carry no secret.
            if value.isEmpty || value.first == UInt8(ascii: "$") || value.elementsEqual(mark.utf8) {
                out += value
            } else {
                out += Array(mark.utf8)
            }
            i = e
        }
        return out
    }

    private static let prefixes: [[UInt8]] = [
        "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "glrt-", "glptt-",
        "xoxb-", "xoxp-", "xoxa-", "xoxs-", "xoxr-", "xapp-", "sk-", "sk_live_", "rk_live_", "pk_live_",
        "AKIA", "ASIA", "AIza", "npm_", "pypi-", "hf_", "dop_v1_", "shpat_", "SG.", "eyJ",
    ].map { Array($0.utf8) }

    /// Long, random-looking runs of token characters, and runs with a credential prefix.
    private static func redactTokens(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            guard isTokenByte(b[i]) || b[i] == UInt8(ascii: ".") else { out.append(b[i]); i += 1; continue }
            var e = i
            // JWTs and a few prefixed tokens carry dots; other runs stop at one.
            let dotted = b[i...].starts(with: Array("eyJ".utf8)) || b[i...].starts(with: Array("SG.".utf8))
            while e < b.count, isTokenByte(b[e]) || (dotted && b[e] == UInt8(ascii: ".")) { e += 1 }
            if e == i { out.append(b[i]); i += 1; continue }
            let run = b[i..<e]
            if isCredential(run) { out += Array(mark.utf8) } else { out += run }
            i = e
        }
        return out
    }

    private static func isCredential(_ run: ArraySlice<UInt8>) -> Bool {
        if run.elementsEqual(mark.utf8) { return false }
        // Strip the separators a token is usually quoted between (`/path/TOKEN`, `=TOKEN`).
        let core = run.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        for piece in core + [run] {
            if let p = prefixes.first(where: { piece.starts(with: $0) }), piece.count >= p.count + 12 { return true }
        }
        guard run.count >= 20 else { return false }
        // Digests are published on purpose.
        let isHex = run.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
        if isHex && [32, 40, 64, 96, 128].contains(run.count) { return false }
        var upper = false, lowerCase = false, digit = false
        for c in run {
            if c >= 65 && c <= 90 { upper = true } else if c >= 97 && c <= 122 { lowerCase = true } else if c >= 48 && c <= 57 { digit = true }
        }
        let classes = (upper ? 1 : 0) + (lowerCase ? 1 : 0) + (digit ? 1 : 0)
        guard digit, classes >= 2 || isHex else { return false }
        // Paths and dashed names are words between separators; keys and tokens are long random runs.
        let separators = run.filter { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }.count
        var longest = 0, current = 0
        for c in run {
            if c == UInt8(ascii: "/") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") { current = 0 } else { current += 1; longest = max(longest, current) }
        }
        return entropy(run) >= 3.6 && separators * 10 <= run.count && longest >= 12
    }

    private static func entropy(_ run: ArraySlice<UInt8>) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        for c in run { counts[Int(c)] += 1 }
        let n = Double(run.count)
        var h = 0.0
        for k in counts where k > 0 {
            let p = Double(k) / n
            h -= p * log2(p)
        }
        return h
    }

    private static func log2(_ x: Double) -> Double {
        // ProvenantCore imports nothing; ln via the series is not needed, Double has it.
        x.log2()
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard needle.count <= hay.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

private extension Double {
    /// Base-2 logarithm by frexp-style decomposition and a short series; accurate to well under
    /// 1e-6, which is ample for an entropy threshold, and needs no Foundation.
    func log2() -> Double {
        guard self > 0 else { return -.infinity }
        let e = Double(self.exponent)
        let m = self.significand // in [1, 2)
        // ln(m) via atanh series: ln(m) = 2 * atanh((m-1)/(m+1)).
        let y = (m - 1) / (m + 1)
        let y2 = y * y
        var term = y, sum = 0.0
        var k = 1.0
        for _ in 0..<12 { sum += term / k; term *= y2; k += 2 }
        return e + 2 * sum / 0.6931471805599453
    }
}
