/// URL user info (`user:token@`) removed wherever a URL is written out: a git remote such as
/// `https://ci:ghp_…@github.com/acme/agent.git` must never reach a provenance, SBOM or report.
public enum URLUserinfo {
    /// `text` with the user info of every `scheme://` authority in it removed:
    /// `git+https://u:t@host/x@refs/heads/main` → `git+https://host/x@refs/heads/main`.
    /// Text without `://` comes back unchanged; so does scp-style `git@host:path`, whose user
    /// names the ssh account and holds no secret.
    public static func stripped(_ text: String) -> String {
        guard text.contains("://") else { return text }
        return String(decoding: replacing(Array(text.utf8), with: []), as: UTF8.self)
    }

    /// `bytes` with the user info of every `scheme://` authority, up to and including its last `@`,
    /// replaced by `replacement`: empty to strip it, `REDACTED@` for `Redactor`.
    static func replacing(_ b: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            // At "://": copy it, then the authority without anything up to its last "@".
            if i + 2 < b.count, b[i] == 58, b[i + 1] == 47, b[i + 2] == 47 {
                out += [58, 47, 47]
                i += 3
                var end = i
                while end < b.count, !Self.endsAuthority(b[end]) { end += 1 }
                var start = i
                for j in i..<end where b[j] == 64 { start = j + 1 }
                if start > i { out += replacement }
                out += b[start..<end]
                i = end
                continue
            }
            out.append(b[i])
            i += 1
        }
        return out
    }

    /// Whether `text` carries user info in some `scheme://` authority.
    public static func hasUserinfo(_ text: String) -> Bool { stripped(text) != text }

    /// Whether some `scheme://` authority in `b` has a password in its user info (`user:pass@host`),
    /// the authority bounded as `replacing` bounds it.
    public static func hasPassword(_ b: some Collection<UInt8>) -> Bool {
        let b = Array(b)
        var i = 0
        while i + 2 < b.count {
            guard b[i] == 58, b[i + 1] == 47, b[i + 2] == 47 else { i += 1; continue }
            var end = i + 3
            while end < b.count, !endsAuthority(b[end]) { end += 1 }
            if let at = b[(i + 3)..<end].lastIndex(of: 64), b[(i + 3)..<at].contains(58) { return true }
            i = end
        }
        return false
    }

    /// `/`, `?`, `#`, whitespace and control characters end an authority; so do `"`, `` ` ``, `<`,
    /// `>`, `]` and `}`, which a URL cannot hold unencoded. Not `'` or `)`: RFC 3986 allows both in
    /// user info, and ending there kept `https://ci:Tr0ub4dor'3x@github.com` whole in a provenance
    /// (found by helper-121). Text that quotes a URL in `'…'` may lose a little more than the user
    /// info when an `@` follows on the same word; more is hidden, never less.
    static func endsAuthority(_ c: UInt8) -> Bool {
        switch c {
        case 0...32, 47, 63, 35, 34, 96, 60, 62, 93, 125: return true
        default: return false
        }
    }
}
