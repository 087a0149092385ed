import ProvenantCore

/// A repository and optional ref, read from the ways provenance and users write them:
/// `git+https://github.com/acme/agent@refs/heads/main`, `https://github.com/acme/agent.git`,
/// `github.com/acme/agent`, `git@github.com:acme/agent.git`, `…#refs/tags/v1`. Two locators
/// name the same repository when host (any case) and path agree; scheme, user info, a trailing
/// `/` and `.git` do not count.
public struct SourceLocator: Sendable, Equatable {
    /// `host/path`, the host lower-cased.
    public var repository: String
    public var ref: String?

    public init?(_ text: String) {
        var t = Substring(text.trimmed)
        if t.hasPrefix("git+") { t = t.dropFirst(4) }
        if let r = t.range(of: "://") {
            t = t[r.upperBound...]
        } else if let colon = t.firstIndex(of: ":"), !t[..<colon].contains("/") {
            // scp-like: user@host:path
            t = t[..<colon] + "/" + t[t.index(after: colon)...]
        }
        var ref: String?
        // `@REF` names the ref when it comes before any `#`: a branch may hold `#` itself
        // (`@refs/heads/fix#12` was no repository at all: found by helper-158). Else `#REF` does.
        let hash = t.firstIndex(of: "#")
        if let at = t[(t.firstIndex(of: "/") ?? t.endIndex)...].firstIndex(of: "@"), hash.map({ at < $0 }) ?? false {
            ref = String(t[t.index(after: at)...]); t = t[..<at]
        } else if let hash { ref = String(t[t.index(after: hash)...]); t = t[..<hash] }
        let slash = t.firstIndex(of: "/") ?? t.endIndex
        var authority = t[..<slash]
        var path = t[slash...].drop { $0 == "/" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if ref == nil, let at = path.firstIndex(of: "@") { ref = String(path[path.index(after: at)...]); path = path[..<at] }
        while path.hasSuffix("/") { path = path.dropLast() }
        if path.hasSuffix(".git") { path = path.dropLast(4) }
        guard !path.isEmpty, !path.contains("@") else { return nil }
        repository = authority.lowercased() + "/" + path
        self.ref = ref.flatMap { $0.isEmpty ? nil : $0 }
    }
}
