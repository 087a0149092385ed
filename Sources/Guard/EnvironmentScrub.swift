import Foundation
import ProvenantCore
import Secrets

/// The environment the command is given: the launcher's own, less every variable that holds a secret
/// the manifest does not name (`secrets[].env`). A variable is a secret when its name says so
/// (TOKEN, SECRET, PASSWORD, ... as a part of the name) or when the secret engine's high-confidence
/// rules find one in `NAME=value`. Entries are bytes: a value need not be UTF-8, and is passed on as it was.
public struct EnvironmentScrub: Sendable {
    /// Variables the manifest names: kept whatever they hold.
    public let named: Set<String>
    let engine: SecretEngine?

    public init(named: Set<String>, engine: SecretEngine?) { self.named = named; self.engine = engine }

    public struct Result: Sendable, Equatable {
        /// `NAME=value` entries, in their original order.
        public var kept: [[UInt8]]
        /// Names only: values are never reported.
        public var removed: [String]
    }

    /// Name parts that mark a secret (`GITHUB_TOKEN`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`).
    static let secretParts: Set<String> = [
        "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASSPHRASE",
        "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "AUTHORIZATION", "APIKEY", "PRIVATEKEY", "COOKIE",
    ]
    /// Adjacent parts that mark one (`OPENAI_API_KEY`, `SSH_PRIVATE_KEY`).
    static let secretPairs: Set<String> = ["API_KEY", "PRIVATE_KEY", "ACCESS_KEY", "SIGNING_KEY", "ENCRYPTION_KEY", "MASTER_KEY", "CLIENT_KEY", "ACCOUNT_KEY"]
    /// Endings of a single part (`GHTOKEN`, `DBPASSWORD`). AUTH only as a whole part: as a fragment it
    /// is in GIT_AUTHOR_NAME, which a commit needs and which is no secret.
    static let secretSuffixes = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY"]
    /// Beginnings of a single part (`SECRETKEY`, `PASSWORDFILE`, `APIKEYS`). Not TOKEN: it begins
    /// TOKENIZERS_PARALLELISM, which is no secret.
    static let secretPrefixes = ["SECRET", "PASSWORD", "PASSWD", "APIKEY", "PRIVATEKEY"]
    /// Parts that mark one only beside others: `DB_PASS`, `MYSQL_PWD` (but `PWD` and `OLDPWD` are the
    /// working directories).
    static let secretPartsWithOthers: Set<String> = ["PASS", "PWD"]

    public static func nameLooksSecret(_ name: String) -> Bool {
        let parts = name.uppercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        for (i, p) in parts.enumerated() {
            if secretParts.contains(p) || secretSuffixes.contains(where: { p.hasSuffix($0) }) { return true }
            if secretPrefixes.contains(where: { p.hasPrefix($0) }) { return true }
            if parts.count > 1, secretPartsWithOthers.contains(p) { return true }
            if i + 1 < parts.count, secretPairs.contains(p + "_" + parts[i + 1]) { return true }
        }
        return false
    }

    /// A value that carries a password whatever its variable is called: a URL with a password in its
    /// userinfo (`postgresql://admin:…@db/`), or a connection string's `Password=` or `Pwd=` field.
    public static func valueCarriesPassword(_ value: ArraySlice<UInt8>) -> Bool {
        if URLUserinfo.hasPassword(value) { return true }
        let lower = String(decoding: value, as: UTF8.self).lowercased()
        for key in ["password=", "pwd="] {
            var from = lower.startIndex
            while let r = lower.range(of: key, range: from..<lower.endIndex) {
                let before = r.lowerBound == lower.startIndex ? nil : lower[lower.index(before: r.lowerBound)]
                if before == nil || before == ";" || before == " " || before == "&" || before == "?" { return true }
                from = r.upperBound
            }
        }
        return false
    }

    /// Set by the launcher in every command's environment (any value given is removed first).
    public static let noUserSite = "PYTHONNOUSERSITE"

    /// Whether `name` loads code (`CodeLoadingVariables`): every `LD_` variable of the loader, bash's
    /// exported functions, interpreters' paths and options, build tools' compilers and flags.
    public static func loadsCode(_ name: String) -> Bool { CodeLoadingVariables.loadsCode(name) }

    /// Code-loading variables are removed whatever the manifest says: naming one cannot keep it.
    public func scrub(_ entries: [[UInt8]]) -> Result {
        var kept: [[UInt8]] = [], removed: [String] = []
        var seen = Set<[UInt8]>()
        for entry in entries {
            let eq = entry.firstIndex(of: UInt8(ascii: "=")) ?? entry.endIndex
            let name = String(decoding: entry[..<eq], as: UTF8.self)
            // One entry per name, the first, which getenv and the checks here read: a shell keeps the
            // last, so a second HOME= could carry past the check what the first did not (found by review).
            guard seen.insert(Array(entry[..<eq])).inserted else { removed.append(name); continue }
            if Self.loadsCode(name) { removed.append(name); continue }
            if named.contains(name) { kept.append(entry); continue }
            let value = eq < entry.endIndex ? entry[(eq + 1)...] : []
            let flagged = Self.nameLooksSecret(name) || Self.valueCarriesPassword(value)
                || (engine.map { e in entry.withUnsafeBytes { !e.scan($0).isEmpty } } ?? false)
            if flagged { removed.append(name) } else { kept.append(entry) }
        }
        return Result(kept: kept, removed: removed)
    }

    /// The value of the first `NAME=` entry in `entries`, as bytes (what getenv returns), or nil.
    public static func value(of name: String, in entries: [[UInt8]]) -> [UInt8]? {
        let prefix = Array(name.utf8) + [UInt8(ascii: "=")]
        return entries.first { $0.starts(with: prefix) }.map { Array($0.dropFirst(prefix.count)) }
    }

    /// `NAME=value` entries of this process's environment, as the kernel gave them.
    public static func current() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var p = environ
        while let s = p.pointee {
            out.append(Array(UnsafeBufferPointer(start: UnsafeRawPointer(s).assumingMemoryBound(to: UInt8.self), count: strlen(s))))
            p += 1
        }
        return out
    }
}
