import Foundation

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
        // Fast path, without copying the text: nothing that could need redacting (most diagnostics).
        guard mayNeedRedaction(text.utf8) else { return spotted(text) }
        var out = Array(text.utf8)
        out = redactPrivateKeys(out)
        out = URLUserinfo.replacing(out, with: Array((mark + "@").utf8))
        out = redactUserinfoWords(out)
        out = redactAssignments(out)
        out = redactEncodedAssignments(out)
        out = redactTokens(out, generic: true)
        return String(decoding: applySpotter(out), as: UTF8.self)
    }

    /// Userinfo without a scheme anywhere in a text (`u:secret@registry.example.com/app`, an image
    /// reference or an archive entry's name): a word whose part before `@` holds a `:` and no `/`,
    /// followed by a host, keeps the host and loses the rest. Scp-style `git@host:path` has no `:`
    /// before its `@` and is kept, as are purls and digests (`pkg:npm/@scope/x@1`, `x@sha256:…`),
    /// whose part before `@` holds a `/` or no `:`.
    private static let specProtocols = ["npm:", "patch:", "workspace:", "file:", "link:", "portal:", "exec:", "jsr:", "github:",
                                        "gitlab:", "bitbucket:", "git:", "mailto:", "pkg:", "catalog:"].map { Array($0.utf8) }
    private static let digestAlgorithms = ["sha256:", "sha384:", "sha512:", "sha1:", "md5:", "blake3:"].map { Array($0.utf8) }

    static func redactUserinfoWords(_ b: [UInt8]) -> [UInt8] {
        guard b.contains(UInt8(ascii: "@")) else { return b }
        func bounds(_ c: UInt8) -> Bool {
            c <= 32 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: "`") || c == UInt8(ascii: "(")
                || c == UInt8(ascii: "<") || c == UInt8(ascii: "[") || c == UInt8(ascii: ",") || c == UInt8(ascii: "=")
        }
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var wordStart = 0
        var i = 0
        while i < b.count {
            let c = b[i]
            if bounds(c) { wordStart = i + 1; out.append(c); i += 1; continue }
            guard c == UInt8(ascii: "@"), i > wordStart, i + 1 < b.count, isAlnum(b[i + 1]) else { out.append(c); i += 1; continue }
            let user = b[wordStart..<i]
            // `nginx:1.25@sha256:…` is a tag and a digest, not userinfo.
            let digest = digestAlgorithms.contains { b[(i + 1)...].starts(with: $0) }
            // `npm:lodash@4.17.21`, Yarn's `patch:resolve@npm%3A…`, `mailto:a@b`: a protocol, not a user.
            let protocolWord = specProtocols.contains { user.starts(with: $0) }
            if !digest, !protocolWord, let colon = user.firstIndex(of: UInt8(ascii: ":")), colon > wordStart, colon + 1 < i,
               !user.contains(UInt8(ascii: "/")), !user.contains(UInt8(ascii: "@")) {
                out.removeLast(i - wordStart)
                out += Array((mark + "@").utf8)
            } else {
                out.append(c)
            }
            wordStart = i + 1
            i += 1
        }
        return out
    }

    /// The text after the installed spotter (the secrets engine), when there is one.
    private static func spotted(_ text: String, identityField: Bool = false) -> String {
        guard installedSpotter != nil else { return text }
        let bytes = Array(text.utf8)
        let out = applySpotter(bytes, identityField: identityField)
        return out == bytes ? text : String(decoding: out, as: UTF8.self)
    }

    /// Whether `redactField` could change a text, found without asking it: only when its byte rules
    /// fire (a byte of `@ : = %` for userinfo, assignments and encodings, a PEM marker, a credential
    /// prefix or an AWS key id's in either case) or the spotter may find something. File lists ask this
    /// of 140,000 paths an image, joined, in one pass of each; the tables and the spotter are looked up
    /// once.
    public struct FieldPrefilter {
        let byFirst = Redactor.prefixesByFirstByte
        let akia = Redactor.akia, asia = Redactor.asia
        let spotter = Redactor.installedSpotter
        public init() {}

        /// Whether the spotter could find anything in each of many texts, joined as
        /// `SecretSpotter.mayFindEach` takes them: one pass for all.
        public func spotterMayFindEach(_ joined: [UInt8], starts: [Int]) -> [Bool] {
            spotter?.mayFindEach(in: joined, starts: starts, identityField: true) ?? [Bool](repeating: false, count: starts.count)
        }

        /// Reports each offset of `b` where a byte rule fires, in order: a byte of
        /// `@ : = %`, a fifth dash in a row, or the start of a token prefix (an AWS key id's in either
        /// case). For texts joined by NUL, each offset lies in the one text that alone would fire there:
        /// no rule spans a NUL. A table of the bytes that matter keeps the loop to a load per byte, for
        /// the hundred thousand file paths of an image's package databases.
        public func byteRules(_ b: UnsafeBufferPointer<UInt8>, stopAtFirst: Bool, _ report: (Int) -> Void) {
            // The tables are read once, outside the loop.
            let (slot, thirds) = Redactor.prefixTriples
            Redactor.byteClass.withUnsafeBufferPointer { kind in
                var dashes = 0
                var i = 0
                while i < b.count {
                    let c = b[i]
                    switch kind[Int(c)] {
                    case 0:
                        dashes = 0
                    case 1:
                        report(i)
                        if stopAtFirst { return }
                        dashes = 0
                    case 2:
                        dashes += 1
                        if dashes >= 5 { report(i); if stopAtFirst { return } }
                    default:
                        dashes = 0
                        // Most letters start some prefix; few triples of bytes do.
                        guard i + 2 < b.count else { break }
                        let s = Int(slot[Int(c) << 8 | Int(b[i + 1])]), third = b[i + 2]
                        guard s != 0, thirds[(s - 1) * 4 + Int(third >> 6)] & (1 << UInt64(third & 63)) != 0 else { break }
                        let rest = b[i...]
                        if byFirst[Int(c)].contains(where: { rest.starts(with: $0) }) || Redactor.startsFolded(rest, akia) || Redactor.startsFolded(rest, asia) {
                            report(i)
                            if stopAtFirst { return }
                        }
                    }
                    i += 1
                }
            }
        }
    }

    /// The first three bytes of every token prefix (an AWS key id's in either case), for
    /// `FieldPrefilter.byteRules`: `slot[a << 8 | b]` is 0 when no prefix starts with the bytes `a b`,
    /// and otherwise 1 + the slot whose four words in `thirds` hold a bit for each byte that follows
    /// them in some prefix. Every prefix is longer than two bytes. Pairs alone let most of a path
    /// through to the full test (`sh` of every `share`, `do` of every `doc`); few triples do.
    static let prefixTriples: (slot: [UInt8], thirds: [UInt64]) = {
        var slot = [UInt8](repeating: 0, count: 1 << 16), thirds: [UInt64] = []
        func add(_ a: UInt8, _ b: UInt8, _ c: UInt8) {
            let pair = Int(a) << 8 | Int(b)
            if slot[pair] == 0 { thirds += [0, 0, 0, 0]; slot[pair] = UInt8(thirds.count / 4) }
            thirds[(Int(slot[pair]) - 1) * 4 + Int(c >> 6)] |= 1 << UInt64(c & 63)
        }
        for p in prefixes { add(p[0], p[1], p[2]) }
        for w in [akia, asia] {
            for a in [w[0], w[0] - 32] { for b in [w[1], w[1] - 32] { for c in [w[2], w[2] - 32] { add(a, b, c) } } }
        }
        return (slot, thirds)
    }()

    /// For `FieldPrefilter.byteRules`: 1 for `@ : = %`, 2 for a dash, 3 for a byte that starts a
    /// token prefix, 0 for the rest.
    static let byteClass: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 256)
        for i in 0..<256 where startsAPrefix[i] { t[i] = 3 }
        for c in "@:=%".utf8 { t[Int(c)] = 1 }
        t[Int(UInt8(ascii: "-"))] = 2
        return t
    }()

    /// For identity fields quoted from input (package names, versions, purl qualifiers, licenses):
    /// the same rules without the generic high-entropy one, which random-looking but public values
    /// such as Go pseudo-versions (`v0.0.0-20210913185402-3e247af027bc`) would trip. Userinfo in a
    /// field without a scheme (`user:token@github.com/acme/x`, as Package.resolved locations become
    /// names) is removed outright, so the field still names the package.
    public static func redactField(_ text: String) -> String {
        guard mayNeedRedaction(text.utf8) else { return spotted(text, identityField: true) }
        var out = stripSchemelessUserinfo(Array(text.utf8))
        out = redactPrivateKeys(out)
        out = URLUserinfo.replacing(out, with: Array((mark + "@").utf8))
        out = redactAssignments(out)
        out = redactEncodedAssignments(out)
        out = redactTokens(out, generic: false)
        return String(decoding: applySpotter(out, identityField: true), as: UTF8.self)
    }

    /// `user:secret@host/path` at the start of a field: the part before `@` holds a `:` and no `/`.
    private static func stripSchemelessUserinfo(_ b: [UInt8]) -> [UInt8] {
        guard let at = b.firstIndex(of: UInt8(ascii: "@")), at > 0,
              let colon = b[..<at].firstIndex(of: UInt8(ascii: ":")),
              !b[..<at].contains(UInt8(ascii: "/")), !b[..<at].contains(UInt8(ascii: " ")),
              colon > 0, at + 1 < b.count else { return b }
        return Array(b[(at + 1)...])
    }

    /// Control characters in quoted input (terminal escapes, carriage returns) shown as `\u{1B}`, so a
    /// crafted file cannot rewrite the lines a user reads. Used on data too (diagnostics, SBOM
    /// properties): only C0 and DEL, which no real name holds.
    public static func escapeControls(_ text: String) -> String { escape(text, isControl) }

    /// For what is printed to a terminal: `escapeControls`, and also the C1 controls (U+009B is a
    /// one-byte CSI to some terminals), the bidirectional overrides and isolates that show text
    /// reversed, and the line and paragraph separators.
    public static func escapeForTerminal(_ text: String) -> String { escape(text, isTerminalControl) }

    /// For one cell of a table: `escapeForTerminal`, and the TAB too, which would move the columns
    /// after it to the terminal's next tab stop.
    public static func escapeTableCell(_ text: String) -> String {
        escape(text) { $0 == 0x09 || isTerminalControl($0) }
    }

    /// `escapeForTerminal` on each line of `text`, keeping its line breaks: for human output assembled
    /// from many parts, as a last guard that no part quoted from input reaches a terminal raw.
    public static func escapeControlsPerLine(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }) else { return text }
        // Split on scalars: as Characters, "\r\n" is one, and would hide its "\r" from the split.
        return text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .map { escapeForTerminal(String(String.UnicodeScalarView($0))) }.joined(separator: "\n")
    }

    private static func escape(_ text: String, _ control: (UInt32) -> Bool) -> String {
        // Only these lead bytes can begin one: C0 (TAB among them, for table cells) and DEL, C1
        // (C2 80-9F), U+2028-U+2069 (E2 80/81).
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }) else { return text }
        var out = ""
        for u in text.unicodeScalars {
            if control(u.value) {
                out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    static func isControl(_ v: UInt32) -> Bool { v != 0x09 && v < 0x20 || v == 0x7F }

    static func isTerminalControl(_ v: UInt32) -> Bool {
        switch v {
        case 0x09: false
        case 0..<0x20, 0x7F...0x9F: true
        case 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// Input quoted into a message, redacted first and then cut to `max` characters: cutting first
    /// could cut a URL before its `@` and leave half a password that no rule recognises.
    public static func quote(_ text: some StringProtocol, max: Int) -> String {
        // Quoted into one line of a message: control characters are escaped as well as secrets removed.
        let clean = escapeControls(redact(String(text)))
        return clean.count > max ? String(clean.prefix(max)) + "…" : clean
    }

    /// Whether `text` holds anything the redactor would change.
    public static func wouldRedact(_ text: String) -> Bool { redact(text) != text }

    // MARK: - Pieces

    private static func mayNeedRedaction(_ b: String.UTF8View) -> Bool {
        // Userinfo needs '@', assignments '=' or ':' (or a percent-encoded '='), tokens a run of 16+
        // token characters.
        var run = 0
        for c in b {
            if c == UInt8(ascii: "@") || c == UInt8(ascii: "=") || c == UInt8(ascii: ":") || c == UInt8(ascii: "%") { return true }
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

    /// Key names whose assigned value is a credential. Matched case-insensitively as the end of
    /// an identifier (`DB_PASSWORD`, `githubToken`, `api-key`).
    private static let secretKeys: [[UInt8]] = [
        "password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
        "accesskey", "access_key", "access-key", "auth", "authorization", "credential", "credentials",
        "private_key", "privatekey", "client_secret",
    ].map { Array($0.utf8) }

    /// Query parameters of presigned URLs (S3, GCS, CloudFront, Azure SAS) whose value grants access:
    /// the signature, and S3's STS session token. Whole keys, and only before `=`, where a presigned URL
    /// puts them (found by helper-107: an S3 URL in a lockfile's `resolved` kept both).
    private static let signedURLKeys: Set<[UInt8]> = Set(["x-amz-security-token", "x-amz-signature", "x-goog-signature",
                                                           "signature", "sig"].map { Array($0.utf8) })

    private static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

    /// Whether `key` (lower-cased; `original` as written) names a secret: the secret word itself, or a
    /// name ending in it after `_` or `.` (DB_PASSWORD, client.secret), after a lower-to-upper step
    /// (githubToken), run on in a name in capitals (PGPASSWORD), or, in a command-line flag, after `-`
    /// (`--db-password`). Elsewhere a `-` before
    /// it marks a name such as `google-auth` rather than a credential's key, except in `api-key` forms.
    private static func isSecretKey(_ key: [UInt8], original: [UInt8], flag: Bool) -> Bool {
        !key.isEmpty && secretKeys.contains { name in
            guard key.count >= name.count, Array(key.suffix(name.count)) == name else { return false }
            if key.count == name.count { return true }
            let before = original[original.count - name.count - 1]
            let first = original[original.count - name.count]
            if before == UInt8(ascii: "_") || before == UInt8(ascii: ".") || (flag && before == UInt8(ascii: "-")) { return true }
            if before >= 97 && before <= 122 && first >= 65 && first <= 90 { return true }
            // An environment variable's name in capitals, the word run on: PGPASSWORD, GITHUBTOKEN
            // (found by helper-211). Two characters at least before it, so OAUTH is not one.
            if original.count - name.count >= 2, original.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }) { return true }
            return false
        }
    }

    /// A bare command-line flag that names a secret (`--password`, `-db-token`): the next word is its
    /// value. Switches that only turn a secret on or off (`--no-auth`, `--require-token`) take none.
    public static func isSecretFlag(_ word: some StringProtocol) -> Bool {
        let b = Array(word.utf8)
        guard b.first == UInt8(ascii: "-"), !b.contains(UInt8(ascii: "=")) else { return false }
        let name = Array(b.drop { $0 == UInt8(ascii: "-") })
        guard name.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else { return false }
        let lowered = name.map(lower)
        if switchPrefixes.contains(where: { lowered.starts(with: $0) }) { return false }
        return isSecretKey(lowered, original: name, flag: true)
    }
    private static let switchPrefixes: [[UInt8]] = ["no-", "no_", "skip-", "disable-", "enable-", "require-", "generate-", "with-", "without-"].map { Array($0.utf8) }

    /// What may follow a secret flag as its value. In a shell command line a `$VAR` reference or a long
    /// flag is none; in an argument vector (past any shell) `$` is a literal character, so only a long
    /// flag is taken for a next option rather than a value.
    private static func isFlagValue(_ word: some StringProtocol, shell: Bool) -> Bool {
        guard let first = word.utf8.first else { return false }
        if word.hasPrefix("--") { return false }
        return !shell || (first != UInt8(ascii: "$") && first != UInt8(ascii: "-"))
    }

    /// An argument vector (an image's entrypoint or cmd, a command run by `guard exec`): each word
    /// redacted as a command line (`sh -c "tool --password x"` holds one), and the word after a bare
    /// secret flag (`--password hunter2`) replaced whole.
    public static func redactArguments(_ words: [String]) -> [String] {
        var out = words.map(redactCommandLine)
        for i in words.indices.dropLast() where (isSecretFlag(words[i]) && isFlagValue(words[i + 1], shell: false)) || isCredentialPair(words[i], words[i + 1]) {
            out[i + 1] = mark
        }
        // Programs whose own `-p` is a password: `sshpass -p PW` and `sshpass -pPW`, `mysql -pPW`
        // (found by helper-81; mysql's bare `-p` prompts, and the word after it is a database).
        for (i, hidden) in passwordFlags(words.map { Array($0.utf8)[...] }) {
            out[i] = hidden == 0 ? mark : "-p" + mark
        }
        return out
    }

    /// The words that are passwords of `sshpass` or the mysql clients, wherever such a program's word
    /// is: `(index, 0)` for a whole word, `(index, 2)` for one after an attached `-p`. sshpass's
    /// options end at its command (whose own `-p` may be a port); mysql's run to the end of the command.
    static func passwordFlags(_ words: [ArraySlice<UInt8>]) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        let separators: Set<[UInt8]> = [[38, 38], [124, 124], [59], [124]]
        for (k, w) in words.enumerated() {
            let name = PathText.lastComponent(String(decoding: w, as: UTF8.self))
            guard passwordFlagPrograms.contains(name) else { continue }
            // Wherever the word is (`docker exec db mysql`, `ssh db mysql`, `sudo -u mysql mysql`): a
            // password missed is worse than a find predicate masked, but find's own -p predicates after
            // `-name mysql` are not passwords (both found by review).
            var j = k + 1
            while j < words.count, !separators.contains(Array(words[j])) {
                let word = words[j]
                let isFlag = word.first == UInt8(ascii: "-")
                if name == "sshpass" {
                    guard isFlag else { break }
                    if word.elementsEqual("-p".utf8), j + 1 < words.count { out.append((j + 1, 0)); j += 2; continue }
                    if ["-f", "-d", "-P"].contains(where: { word.elementsEqual($0.utf8) }) { j += 2; continue }
                }
                if isFlag, word.count > 2, word[word.startIndex + 1] == UInt8(ascii: "p"),
                   !["-print", "-print0", "-printf", "-prune", "-path", "-perm", "-pid", "-ppid"].contains(where: { word.elementsEqual($0.utf8) }) { out.append((j, 2)) }
                j += 1
            }
        }
        return out
    }

    /// Programs that take a password as `-pPASSWORD` (and sshpass as `-p PASSWORD`).
    static let passwordFlagPrograms: Set<String> = ["sshpass", "mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck",
                                                    "mysqlpump", "mysqlslap", "mariadb", "mariadb-dump", "mariadb-admin", "mariadb-import",
                                                    "mariadb-show", "mariadb-check", "mariadb-slap"]

    /// A `user:password` pair after the flags that take one (`curl -u admin:hunter2`, `--user`,
    /// `--proxy-user`, `-U`): the value holds a `:`. Other `-u` flags take no such value (`python -u`,
    /// `sort -u`); `docker run -u 1000:1000` loses a uid pair, which is no loss.
    static func isCredentialPair(_ flag: some StringProtocol, _ value: some StringProtocol) -> Bool {
        ["-u", "-U", "--user", "--proxy-user"].contains(String(flag)) && value.contains(":") && !value.hasPrefix("$")
    }

    /// A command line as one text (an image's history step, `RUN tool --password hunter2`, Docker's
    /// `CMD ["app","--password","hunter2"]`): words are split as a shell or a JSON array splits them
    /// (any run of blanks, a line continuation, commas and brackets outside quotes; quotes group, `\`
    /// escapes), and the word after a bare secret flag is replaced whole, its quotes kept. Then the
    /// text is redacted as any other.
    public static func redactCommandLine(_ text: String) -> String {
        let b = Array(text.utf8)
        guard b.contains(UInt8(ascii: "-")) else { return redact(text) }
        // Each word's content (inside its quotes), in order.
        var words: [Range<Int>] = []
        var i = 0
        func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
        while i < b.count {
            let c = b[i]
            if isBlank(c) || c == UInt8(ascii: ",") || c == UInt8(ascii: "[") || c == UInt8(ascii: "]") { i += 1; continue }
            if c == UInt8(ascii: "\\"), i + 1 < b.count, b[i + 1] == 10 || b[i + 1] == 13 { i += 2; continue }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                var e = i + 1
                while e < b.count, b[e] != c {
                    if b[e] == UInt8(ascii: "\\"), c == UInt8(ascii: "\""), e + 1 < b.count { e += 2 } else { e += 1 }
                }
                words.append((i + 1)..<min(e, b.count))
                i = e + 1
                continue
            }
            var e = i
            while e < b.count, !isBlank(b[e]), b[e] != UInt8(ascii: ","), b[e] != UInt8(ascii: "]"), b[e] != UInt8(ascii: "\"") {
                if b[e] == UInt8(ascii: "\\"), e + 1 < b.count { e += 2 } else { e += 1 }
            }
            words.append(i..<min(e, b.count))
            i = max(e, i + 1)
        }
        var hide: [Range<Int>] = []
        // `sshpass -p PW`, `sshpass -pPW`, `mysql -pPW`, wherever the program's word is in the line.
        for (j, skip) in passwordFlags(words.map { b[$0] }) {
            hide.append((words[j].lowerBound + skip)..<words[j].upperBound)
        }
        var w = 0
        while w + 1 < words.count {
            let flag = String(decoding: b[words[w]], as: UTF8.self), value = String(decoding: b[words[w + 1]], as: UTF8.self)
            if (isSecretFlag(flag) && isFlagValue(value, shell: true)) || isCredentialPair(flag, value) { hide.append(words[w + 1]); w += 2 } else { w += 1 }
        }
        guard !hide.isEmpty else { return redact(text) }
        return redact(String(decoding: masking(b, hide), as: UTF8.self))
    }

    /// Assignments percent-encoded inside another URL's query, as a presigned URL carried in a
    /// redirect or proxy parameter is: `?u=https%3A%2F%2Fb.s3.amazonaws.com%2Fk%3FX-Amz-Signature%3D…`,
    /// or `token%3D…`, once or twice encoded (`%3D`, `%253D`). The key is read back past its encoded
    /// `?` or `&` (`%3F`, `%26`), and the value runs to the next encoded `&` or the URL's end.
    /// Whether `c` ends a value inside an encoded URL: what a URL in text never holds as it is
    /// (spaces, controls, quotes, `<>\\^`{|}[]`, bytes past ASCII), and the enclosing URL's own `#`
    /// and `&`. Everything else, `!*'()` among it, which `encodeURIComponent` leaves as it is, stays
    /// in the value (found by helper-113: `password%3Dhunter2!Secret99` kept `!Secret99`).
    static func endsEncodedValue(_ c: UInt8) -> Bool {
        switch c {
        case 0...32, 127...255: return true
        case UInt8(ascii: "\""), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\\"), UInt8(ascii: "^"), UInt8(ascii: "`"),
             UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: "#"), UInt8(ascii: "&"): return true
        default: return false
        }
    }

    static func redactEncodedAssignments(_ b: [UInt8]) -> [UInt8] {
        func isHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) }
        /// The length of an encoded `=` (`%3D`, `%253D`, `%25253D`…) at `i`, or 0.
        func separator(at i: Int) -> Int {
            guard b[i] == UInt8(ascii: "%") else { return 0 }
            var j = i + 1
            while j + 1 < b.count, b[j] == UInt8(ascii: "2"), b[j + 1] == UInt8(ascii: "5"), j - i < 16 { j += 2 }
            guard j + 1 < b.count, b[j] == UInt8(ascii: "3"), lower(b[j + 1]) == UInt8(ascii: "d") else { return 0 }
            return j + 2 - i
        }
        guard b.count >= 4, b.contains(UInt8(ascii: "%")) else { return b }
        var out: [UInt8] = []
        var i = 0
        var copied = 0
        while i < b.count {
            let sep = separator(at: i)
            guard sep > 0 else { i += 1; continue }
            var ks = i
            while ks > 0, isAlnum(b[ks - 1]) || b[ks - 1] == UInt8(ascii: "_") || b[ks - 1] == UInt8(ascii: "-") || b[ks - 1] == UInt8(ascii: ".") { ks -= 1 }
            // An encoded `?` or `&` before the key (`%3F`, `%2526`): its hex digits read as part of it.
            if ks >= 1, b[ks - 1] == UInt8(ascii: "%") {
                var k = ks
                while k + 1 < i, b[k] == UInt8(ascii: "2"), b[k + 1] == UInt8(ascii: "5") { k += 2 }
                if k + 2 < i, isHex(b[k]), isHex(b[k + 1]) { ks = k + 2 }
            }
            let original = Array(b[ks..<i])
            let key = original.map(lower)
            guard !key.isEmpty, isSecretKey(key, original: original, flag: false) || signedURLKeys.contains(key) else { i += sep; continue }
            let v = i + sep
            // How deeply the `=` is encoded: `%3D` 0, `%253D` 1. The value's own `&` is encoded one
            // deeper than the `=` that starts it, so only an `&` encoded no deeper than that ends it
            // (`…password%3Dab%2526cd%26n%3D1` masks `ab%2526cd`; found by helper-113).
            let depth = (sep - 3) / 2
            var e = v
            while e < b.count, !endsEncodedValue(b[e]) {
                if b[e] == UInt8(ascii: "%") {
                    var j = e + 1, d = 0
                    while j + 3 < b.count, b[j] == UInt8(ascii: "2"), b[j + 1] == UInt8(ascii: "5"), b[j + 2] == UInt8(ascii: "2") { j += 2; d += 1 }
                    if d <= depth, j + 1 < b.count, b[j] == UInt8(ascii: "2"), b[j + 1] == UInt8(ascii: "6") { break }
                }
                e += 1
            }
            guard e > v else { i = v; continue }
            out += b[copied..<v]
            out += Array(mark.utf8)
            copied = e
            i = e
        }
        guard copied > 0 else { return b }
        out += b[copied...]
        return out
    }

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
            // A command-line flag's dashes are not part of its name (`--password=…`), and inside a flag
            // a dash joins words as `_` does (`--db-password=…`).
            var flag = false
            // A key that opens a quoted string (`"--password=x","--verbose"`): its value ends at that quote.
            let keyQuote: UInt8? = ks > 0 && (b[ks - 1] == UInt8(ascii: "\"") || b[ks - 1] == UInt8(ascii: "'")) ? b[ks - 1] : nil
            while ks < k, b[ks] == UInt8(ascii: "-") { ks += 1; flag = true }
            let key = b[ks..<k].map(lower)
            // The key must be the secret word itself, or end in it after `_` or `.` (DB_PASSWORD,
            // client.secret) or after a lower-to-upper step (githubToken). A `-` before it marks a
            // name such as `google-auth` rather than a credential's key, except in `api-key` forms.
            let original = Array(b[ks..<k])
            let isSecretKey = Self.isSecretKey(key, original: original, flag: flag)
                || (c == UInt8(ascii: "=") && Self.signedURLKeys.contains(key))
            // `://` is a URL, not an assignment.
            let isURL = c == UInt8(ascii: ":") && i + 1 < b.count && b[i + 1] == UInt8(ascii: "/")
            guard isSecretKey, !isURL else { out.append(c); i += 1; continue }
            out.append(c)
            var v = i + 1
            while v < b.count, b[v] == 32 { out.append(b[v]); v += 1 }
            var quote: UInt8?
            if v < b.count, b[v] == UInt8(ascii: "\"") || b[v] == UInt8(ascii: "'") { quote = b[v]; out.append(b[v]); v += 1 }
            var e = v
            // An Authorization value is a scheme and a credential (`Basic dXNlcjpwYXNz`): to the line's end.
            let wholeLine = key.count >= 4 && Array(key.suffix(13)) == Array("authorization".utf8)
            if let q = quote { while e < b.count, b[e] != q, b[e] != 10 { e += 1 } }
            else if wholeLine { while e < b.count, b[e] != 10, b[e] != 13 { e += 1 } }
            else {
                // The key's quote ends the value only where the quoted string plainly ends: unescaped,
                // and followed by the end, a blank or a separator (`"--password=x","--verbose"`).
                func closes(_ e: Int) -> Bool {
                    guard let q = keyQuote, b[e] == q, e == 0 || b[e - 1] != UInt8(ascii: "\\") else { return false }
                    return e + 1 == b.count || [32, 9, 10, 13, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ";")].contains(b[e + 1])
                }
                while e < b.count, b[e] > 32, b[e] != UInt8(ascii: ","), b[e] != UInt8(ascii: ";"), b[e] != UInt8(ascii: "&"), !closes(e) { e += 1 }
            }
            let value = b[v..<e]
            // Empty values, references to another variable (`${VAR}`, `$VAR`) and the literals of
            // booleans and null (`automountServiceAccountToken: false`) carry no secret.
            if value.isEmpty || value.first == UInt8(ascii: "$") || value.elementsEqual(mark.utf8)
                || Self.literals.contains(where: { value.map(lower).elementsEqual($0) }) {
                out += value
            } else {
                out += Array(mark.utf8)
            }
            i = e
        }
        return out
    }

    private static let literals: [[UInt8]] = ["true", "false", "null", "nil", "none", "~"].map { Array($0.utf8) }

    private static let prefixes: [[UInt8]] = [
        "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "glrt-", "glptt-",
        "xoxb-", "xoxp-", "xoxa-", "xoxs-", "xoxr-", "xapp-", "sk-", "sk_live_", "rk_live_", "pk_live_",
        "AKIA", "ASIA", "AIza", "npm_", "pypi-", "hf_", "dop_v1_", "shpat_", "SG.", "eyJ",
        // The fleet server's own bearer tokens: accepted as an agent name and stored whole (helper-137).
        "pvt_",
    ].map { Array($0.utf8) }

    /// Long, random-looking runs of token characters (when `generic`), and runs with a credential prefix.
    private static func redactTokens(_ b: [UInt8], generic: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        // Beside an AWS key id, a random run of 40 base64 characters is its secret half: without the
        // generic rule (identity fields) it was kept, and the key id's own redaction hid the pair.
        let awsPaired = !generic && b.indices.contains { awsKeyID(b[$0...], atBoundary: $0 == 0 || !isAlnum(b[$0 - 1])) }
        var i = 0
        while i < b.count {
            guard isTokenByte(b[i]) || b[i] == UInt8(ascii: ".") else { out.append(b[i]); i += 1; continue }
            var e = i
            // JWTs and a few prefixed tokens carry dots; other runs stop at one. The prefix may start
            // inside the run, after a `/` or `+` (`x/SG.…`), which are token bytes too.
            var dotted = false
            while e < b.count {
                if !dotted, b[e] == UInt8(ascii: "e") || b[e] == UInt8(ascii: "S") { dotted = b[e...].starts(with: eyJ) || b[e...].starts(with: sendGrid) }
                guard isTokenByte(b[e]) || (dotted && b[e] == UInt8(ascii: ".")) else { break }
                e += 1
            }
            if e == i { out.append(b[i]); i += 1; continue }
            let run = b[i..<e]
            if isCredential(run, generic: generic) || (awsPaired && awsSecretHalf(run)) { out += Array(mark.utf8) } else { out += run }
            i = e
        }
        return out
    }

    private static let eyJ = Array("eyJ".utf8), sendGrid = Array("SG.".utf8)

    /// The prefixes long and odd enough that finding one inside a word is still a credential: four or
    /// more lower-case characters with a `_` or `-` in them (`ghp_`, `glpat-`, `xoxb-`, `npm_`), not
    /// `sk-`, `hf_`, `AKIA` or `eyJ`.
    private static let distinctivePrefixes: [[UInt8]] = prefixes.filter { p in
        p.count >= 4 && !p.contains(where: { $0 >= 65 && $0 <= 90 }) && p.contains(where: { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
    }

    /// What may stand before a credential prefix for it to count at a boundary.
    /// The bytes a credential prefix, or an AWS key id in either case, begins with.
    private static let startsAPrefix: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for p in prefixes { t[Int(p[0])] = true }
        t[Int(UInt8(ascii: "A"))] = true; t[Int(UInt8(ascii: "a"))] = true
        return t
    }()

    /// `prefixes` by their first byte.
    private static let prefixesByFirstByte: [[[UInt8]]] = {
        var t = [[[UInt8]]](repeating: [], count: 256)
        for p in prefixes { t[Int(p[0])].append(p) }
        return t
    }()

    private static let boundaryBytes: [UInt8] = [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "="), UInt8(ascii: "+")]
    private static let akia = Array("akia".utf8), asia = Array("asia".utf8)

    /// Whether `s` starts with `lower` (lowercase ASCII), ignoring ASCII case.
    private static func startsFolded(_ s: ArraySlice<UInt8>, _ lower: [UInt8]) -> Bool {
        guard s.count >= lower.count else { return false }
        var i = s.startIndex
        for c in lower { if Self.lower(s[i]) != c { return false }; i += 1 }
        return true
    }

    private static func startsFolded(_ s: Slice<UnsafeBufferPointer<UInt8>>, _ lower: [UInt8]) -> Bool {
        guard s.count >= lower.count else { return false }
        var i = s.startIndex
        for c in lower { if Self.lower(s[i]) != c { return false }; i += 1 }
        return true
    }

    /// An AWS access key id at the start of `s`: AKIA or ASIA and 16 base-32 characters (A-Z, 2-7), in
    /// either case, not followed by another letter or digit.
    private static func awsKeyID(_ s: ArraySlice<UInt8>, atBoundary: Bool) -> Bool {
        guard atBoundary, s.count >= 20, startsFolded(s, akia) || startsFolded(s, asia) else { return false }
        let body = s.dropFirst(4).prefix(16)
        guard body.allSatisfy({ c in let l = lower(c); return (l >= 97 && l <= 122) || (c >= 50 && c <= 55) }) else { return false }
        guard body.contains(where: { $0 >= 50 && $0 <= 55 }) else { return false }   // a word of letters is not a key id
        let after = s.index(s.startIndex, offsetBy: 20)
        return after == s.endIndex || !isAlnum(s[after])
    }

    /// 40 characters of base64's alphabet, in mixed case with a digit and high entropy: the shape of an
    /// AWS secret access key.
    private static func awsSecretHalf(_ run: ArraySlice<UInt8>) -> Bool {
        guard run.count == 40, run.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") }) else { return false }
        var upper = false, lowerCase = false, digit = false
        for c in run {
            if c >= 65 && c <= 90 { upper = true } else if c >= 97 && c <= 122 { lowerCase = true } else if c >= 48 && c <= 57 { digit = true }
        }
        return upper && lowerCase && digit && entropy(run) >= 4.0
    }

    private static let digestPrefixes: [[UInt8]] = ["sha1-", "sha256-", "sha384-", "sha512-", "md5-"].map { Array($0.utf8) }

    private static func isCredential(_ run: ArraySlice<UInt8>, generic: Bool) -> Bool {
        if run.elementsEqual(mark.utf8) { return false }
        // Subresource-integrity digests (`sha512-…`) are published on purpose.
        // Only base64 after the prefix: `_` and `-` are not in its alphabet, so a token behind a digest
        // prefix (`md5-ghp_…`, `sha512-agent_…`) is not excused.
        if digestPrefixes.contains(where: { d in
            run.starts(with: d) && run.count >= d.count + 20
                && run.dropFirst(d.count).allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") }
        }) { return false }
        // A run with slashes is usually a path or URL path; judge each segment, unless the whole run
        // has base64's padding or `+` (a secret key with `/` in it).
        let whole = run.contains(UInt8(ascii: "+")) || run.last == UInt8(ascii: "=") || run.count == 40
        let pieces: [ArraySlice<UInt8>] = whole || !run.contains(UInt8(ascii: "/"))
            ? [run] : run.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        // A short prefix (`sk-`, `AKIA`) counts at the start of a piece or after a separator
        // (`agent-ghp_…`, `token=sk-…`); a distinctive one (`ghp_`, `glpat-`, `xoxb-`, all lower case,
        // so npm's folding of names keeps them) also inside a word.
        // An AWS key id is matched by its shape (16 base-32 characters after AKIA/ASIA), in either case.
        for piece in pieces {
            var i = piece.startIndex
            while i < piece.endIndex {
                // Only where a prefix can start: asking every prefix at every byte was most of the time
                // a package's file list took to redact (review).
                let c = piece[i]
                guard startsAPrefix[Int(c)] else { i += 1; continue }
                let atBoundary = i == piece.startIndex || boundaryBytes.contains(piece[i - 1])
                if atBoundary, let p = prefixesByFirstByte[Int(c)].first(where: { piece[i...].starts(with: $0) }), prefixedToken(piece[(i + p.count)...]) { return true }
                // Inside a word, a distinctive prefix counts when a token's worth of letters and digits
                // follows it at once (`pnpm_lock_parser` or `testpypi-canmatrix` are names, not keys).
                // At a boundary the line above has already asked the same.
                if !atBoundary, let p = distinctivePrefixes.first(where: { piece[i...].starts(with: $0) }) {
                    let rest = piece[(i + p.count)...]
                    if rest.prefix(while: isAlnum).count >= 20, prefixedToken(rest) { return true }
                }
                if awsKeyID(piece[i...], atBoundary: atBoundary || !isAlnum(piece[i - 1])) { return true }
                i += 1
            }
        }
        guard generic else { return false }
        return pieces.contains(where: randomLooking)
    }

    /// What follows a credential prefix: at least 12 token characters, with a digit and a letter,
    /// so that names such as `sk-learn-helpers` or `pypi-simple` are not taken for keys.
    /// Only the first 256 bytes are judged: tokens are shorter, and judging the whole rest at each of a
    /// run's prefixes (`x_ghp_ghp_ghp…`) was quadratic in the run's length.
    private static func prefixedToken(_ whole: ArraySlice<UInt8>) -> Bool {
        let rest = whole.prefix(256)
        guard rest.count >= 12 else { return false }
        var digit = false, upper = false, lowerCase = false
        for c in rest {
            if c >= 48 && c <= 57 { digit = true } else if c >= 65 && c <= 90 { upper = true } else if c >= 97 && c <= 122 { lowerCase = true }
        }
        // Some tokens are letters only (Hugging Face's hf_ and 34 letters): long, and in mixed case.
        if !digit { return rest.count >= 30 && upper && lowerCase && entropy(rest) >= 3.5 }
        return (upper || lowerCase) && entropy(rest) >= 3.0
    }

    private static func isHexDigit(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) }
    private static func isLowerHexDigit(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) }

    /// A long run of mixed upper case, lower case and digits with high entropy: a key or token.
    private static func randomLooking(_ run: ArraySlice<UInt8>) -> Bool {
        guard run.count >= 20 else { return false }
        // Digests are published on purpose.
        if run.allSatisfy(isHexDigit) { return false }
        var upper = false, lowerCase = false, digit = false
        for c in run {
            if c >= 65 && c <= 90 { upper = true } else if c >= 97 && c <= 122 { lowerCase = true } else if c >= 48 && c <= 57 { digit = true }
        }
        guard upper && lowerCase && digit else { return false }
        // Paths and dashed names are words between separators; keys and tokens are long random runs.
        // A word of lower-case hex is a digest or hash, as a whole run of hex is not taken for a token
        // either (`LicenseRef-MIT-like-7354e681411693f0`): only the other words count for length. Upper
        // and mixed-case hex words still count: keys are written that way, digests seldom.
        func isSeparator(_ c: UInt8) -> Bool { c == UInt8(ascii: "/") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") }
        let separators = run.filter(isSeparator).count
        // A word of upper-case hex of a digest's length (a key fingerprint) is a hash too.
        func isHash(_ w: ArraySlice<UInt8>) -> Bool {
            w.allSatisfy(isLowerHexDigit) || ([32, 40, 64].contains(w.count) && w.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) })
        }
        let longest = run.split(whereSeparator: isSeparator).filter { !isHash($0) }.map(\.count).max() ?? 0
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
