import Foundation
import ProvenantCore

/// One challenge of a `WWW-Authenticate` header (RFC 7235): a scheme and its parameters, such as
/// `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`.
public struct AuthChallenge: Sendable, Equatable {
    /// Lower-cased (`bearer`, `basic`).
    public var scheme: String
    /// Parameter names lower-cased; values unquoted. The first of a repeated name wins.
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme; self.parameters = parameters
    }

    static let maxHeaderBytes = 16 << 10
    static let maxChallenges = 16
    static let maxParameters = 32

    /// Every challenge in the header, in order. Anything that does not parse is skipped, never trusted:
    /// a header past 16 KiB is read only to that length.
    public static func parse(_ header: String) -> [AuthChallenge] {
        let b = Array(header.utf8.prefix(maxHeaderBytes))
        var i = 0
        var out: [AuthChallenge] = []

        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        func isTokenChar(_ c: UInt8) -> Bool {
            // RFC 7230 tchar: letters, digits and !#$%&'*+-.^_`|~
            if (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) { return true }
            return "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
        func skipSpaces() { while i < b.count, isSpace(b[i]) { i += 1 } }
        func skipSpacesAndCommas() { while i < b.count, isSpace(b[i]) || b[i] == UInt8(ascii: ",") { i += 1 } }
        func token() -> String {
            let start = i
            while i < b.count, isTokenChar(b[i]) { i += 1 }
            return String(decoding: b[start..<i], as: UTF8.self)
        }
        /// A value that is not quoted: a token, read leniently up to the next comma or space (some servers
        /// leave a realm URL unquoted, which RFC 7235 does not allow).
        func bareValue() -> String {
            let start = i
            while i < b.count, b[i] > 0x20, b[i] != 0x7F, b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: "\"") { i += 1 }
            return String(decoding: b[start..<i], as: UTF8.self)
        }
        /// A quoted-string, `i` on its opening quote; an unterminated one runs to the end.
        func quoted() -> String {
            i += 1
            var v: [UInt8] = []
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c == UInt8(ascii: "\\"), i + 1 < b.count { v.append(b[i + 1]); i += 2; continue }
                v.append(c); i += 1
            }
            return String(decoding: v, as: UTF8.self)
        }

        while i < b.count, out.count < maxChallenges {
            skipSpacesAndCommas()
            guard i < b.count else { break }
            let scheme = token()
            // A byte no scheme starts with: step over it.
            guard !scheme.isEmpty else { i += 1; continue }
            var challenge = AuthChallenge(scheme: scheme.lowercased(), parameters: [:])
            skipSpaces()
            while i < b.count {
                let start = i
                let name = token()
                skipSpaces()
                guard !name.isEmpty, i < b.count, b[i] == UInt8(ascii: "=") else {
                    // Not `name=`: the next challenge's scheme (or a token68, read as one and dropped).
                    i = start
                    break
                }
                i += 1
                skipSpaces()
                let value = i < b.count && b[i] == UInt8(ascii: "\"") ? quoted() : bareValue()
                let key = name.lowercased()
                if challenge.parameters[key] == nil, challenge.parameters.count < maxParameters {
                    challenge.parameters[key] = value
                }
                skipSpaces()
                // Whatever follows a value up to the next comma is not part of any parameter.
                while i < b.count, b[i] != UInt8(ascii: ",") { i += 1 }
                skipSpacesAndCommas()
            }
            out.append(challenge)
        }
        return out
    }
}

/// Credentials for one registry. Their text never reaches a message: `description` names the kind only.
public enum RegistryCredential: Sendable, Equatable, CustomStringConvertible {
    case basic(user: String, password: String)
    /// Docker's `identitytoken`: an OAuth2 refresh token, traded at the token realm for an access token.
    case identityToken(String)

    public var description: String {
        switch self {
        case .basic: "a user name and password"
        case .identityToken: "an identity token"
        }
    }
}

/// Why the credentials given could not be read. The message never quotes the credentials.
public struct RegistryAuthError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The credentials for each registry host, from `PROVENANT_REGISTRY_AUTH` and Docker's config file.
public struct RegistryCredentials: Sendable {
    public static let environmentVariable = "PROVENANT_REGISTRY_AUTH"
    static let maxConfigBytes = 1 << 20

    var byHost: [String: RegistryCredential]
    /// One line each about credentials that were not used (a helper not run, a file not read).
    public var notes: [String]

    public init(_ byHost: [String: RegistryCredential] = [:], notes: [String] = []) {
        self.byHost = [:]
        for (h, c) in byHost { if let key = Self.hostKey(h) { self.byHost[key] = c } }
        self.notes = notes
    }

    public static let none = RegistryCredentials()

    public func credential(for host: String) -> RegistryCredential? {
        Self.hostKey(host).flatMap { byHost[$0] }
    }

    /// The hosts that have credentials, for tests and diagnostics (never the credentials).
    public var hosts: [String] { byHost.keys.sorted() }

    /// The key a registry host is filed under: lower-cased, without scheme or path, with Docker Hub's
    /// several names folded into `docker.io`. Nil for a key that names no host.
    public static func hostKey(_ text: String) -> String? {
        var s = Substring(text.lowercased())
        for scheme in ["https://", "http://"] where s.hasPrefix(scheme) { s = s.dropFirst(scheme.count) }
        if let slash = s.firstIndex(of: "/") { s = s[..<slash] }
        guard !s.isEmpty, s.utf8.count <= 255, s.utf8.allSatisfy({ RegistryHost.byteAllowed($0) }) else { return nil }
        switch s {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "docker.io": return "docker.io"
        default: return String(s)
        }
    }

    /// `PROVENANT_REGISTRY_AUTH`: `HOST=USER:PASSWORD` entries separated by commas (a password holding a
    /// comma belongs in Docker's config file instead). Credentials are always tied to a host, so a
    /// registry cannot receive another one's.
    public static func parseEnvironment(_ text: String) throws(RegistryAuthError) -> [String: RegistryCredential] {
        guard text.utf8.count <= 64 << 10 else { throw RegistryAuthError("\(environmentVariable) is longer than 64 KiB; refused") }
        var out: [String: RegistryCredential] = [:]
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
        for (n, raw) in entries.enumerated() {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty && entries.count > 1 { continue }
            guard let eq = entry.firstIndex(of: "="), let colon = entry[eq...].firstIndex(of: ":") else {
                throw RegistryAuthError("\(environmentVariable) entry \(n + 1) is not HOST=USER:PASSWORD")
            }
            let host = String(entry[..<eq])
            let user = String(entry[entry.index(after: eq)..<colon])
            let password = String(entry[entry.index(after: colon)...])
            guard let key = hostKey(host), !host.contains("/") else {
                throw RegistryAuthError("\(environmentVariable) entry \(n + 1) does not start with a registry host (HOST[:PORT]=)")
            }
            guard !user.isEmpty, !password.isEmpty else {
                throw RegistryAuthError("\(environmentVariable) entry \(n + 1) has an empty user name or password")
            }
            guard out[key] == nil else { throw RegistryAuthError("\(environmentVariable) entry \(n + 1) names a host an earlier entry names") }
            out[key] = .basic(user: user, password: password)
        }
        return out
    }

    /// Docker's `config.json`: `auths.<host>.auth` (base64 `user:password`), `username`/`password`, or
    /// `identitytoken`. Keys may be hosts or URLs (`https://index.docker.io/v1/`). Credential helpers
    /// are not run: they are noted, and their hosts get no credentials from here.
    public static func parseDockerConfig(_ bytes: [UInt8], name: String) -> (credentials: [String: RegistryCredential], notes: [String]) {
        guard bytes.count <= maxConfigBytes else { return ([:], ["\(name) is larger than 1 MiB; its credentials are not used"]) }
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch {
            return ([:], ["\(name) is not valid JSON (\(error)); its credentials are not used"])
        }
        var out: [String: RegistryCredential] = [:]
        var notes: [String] = []
        var unreadable = 0
        for (key, entry) in root["auths"]?.objectFields ?? [] {
            guard let host = hostKey(key) else { unreadable += 1; continue }
            if let t = entry["identitytoken"]?.stringValue, !t.isEmpty {
                out[host] = .identityToken(t)
            } else if let a = entry["auth"]?.stringValue, !a.isEmpty {
                guard let decoded = Base64.decode(a), let text = String(validating: decoded, as: UTF8.self),
                      let colon = text.firstIndex(of: ":"), colon != text.startIndex, text.index(after: colon) != text.endIndex else {
                    unreadable += 1; continue
                }
                out[host] = .basic(user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
            } else if let u = entry["username"]?.stringValue, let p = entry["password"]?.stringValue, !u.isEmpty, !p.isEmpty {
                out[host] = .basic(user: u, password: p)
            }
        }
        if unreadable > 0 { notes.append("\(name): \(unreadable) entr\(unreadable == 1 ? "y" : "ies") under 'auths' could not be read and \(unreadable == 1 ? "is" : "are") not used") }
        let helpers = (root["credHelpers"]?.objectFields?.count ?? 0) + (root["credsStore"]?.stringValue.map { $0.isEmpty ? 0 : 1 } ?? 0)
        if helpers > 0 {
            notes.append("\(name) names credential helpers (credsStore/credHelpers), which provenant does not run; set \(environmentVariable) for those registries")
        }
        return (out, notes)
    }

    /// The credentials this process may use: `PROVENANT_REGISTRY_AUTH` first, then Docker's config
    /// (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) for hosts the variable does not name.
    /// A malformed variable is an error; a config file that cannot be read is a note.
    public static func load(environment: [String: String]) throws(RegistryAuthError) -> RegistryCredentials {
        var creds: [String: RegistryCredential] = [:]
        var notes: [String] = []
        let dir = environment["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["HOME"].flatMap { $0.isEmpty ? nil : $0 + "/.docker" }
        if let dir {
            let path = dir + "/config.json"
            let name = Redactor.quote(path, max: 160)
            // Non-blocking: a FIFO put where the config is must not hang the run (it is refused below).
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fd >= 0 {
                let (bytes, problem) = readSmallFile(fd, path: path, limit: maxConfigBytes)
                close(fd)
                if let problem {
                    notes.append("\(name) \(problem); its credentials are not used")
                } else {
                    let parsed = parseDockerConfig(bytes, name: name)
                    creds = parsed.credentials
                    notes += parsed.notes
                }
            } else if errno != ENOENT && errno != ENOTDIR {
                notes.append("\(name) cannot be read (\(String(cString: strerror(errno)))); its credentials are not used")
            }
        }
        if let text = environment[environmentVariable], !text.isEmpty {
            for (h, c) in try parseEnvironment(text) { creds[h] = c }
        }
        return RegistryCredentials(creds, notes: notes)
    }

    private static func readSmallFile(_ fd: Int32, path: String, limit: Int) -> ([UInt8], String?) {
        do { return (try NamedInputFile.read(fd: fd, path: path, limit: limit, what: "it", regularOnly: true), nil) } catch {
            return ([], error.message)
        }
    }
}

/// The host part of a registry reference, checked before it goes into a URL.
enum RegistryHost {
    static func byteAllowed(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A)
            || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: ":")
            || c == UInt8(ascii: "[") || c == UInt8(ascii: "]")
    }

    /// `NAME[:PORT]` or `[IPV6][:PORT]`: a DNS name or IPv4 address, and a port from 1 to 65535.
    /// Anything else (userinfo, a path, a query) is refused, so a reference can only name a host.
    static func isValid(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 261, text.utf8.allSatisfy(byteAllowed) else { return false }
        var name = Substring(text)
        var port: Substring?
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let inner = name[name.index(after: name.startIndex)..<close]
            guard !inner.isEmpty, inner.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else { return false }
            let after = name[name.index(after: close)...]
            if after.isEmpty { return true }
            guard after.hasPrefix(":") else { return false }
            port = after.dropFirst()
            name = inner
        } else {
            if let colon = name.firstIndex(of: ":") {
                port = name[name.index(after: colon)...]
                name = name[..<colon]
            }
            guard !name.isEmpty, !name.contains(":"), !name.contains("["), !name.contains("]"),
                  !name.hasPrefix("."), !name.hasPrefix("-"),
                  name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 }) else { return false }
        }
        if let port {
            guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int(port), n >= 1, n <= 65535 else { return false }
        }
        return true
    }
}
