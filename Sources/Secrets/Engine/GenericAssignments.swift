import ProvenantCore

/// The generic detector: `password = "…"`, `secret: …`, `API_TOKEN=…`, `Authorization: Bearer …`,
/// `Authorization: Basic …`.
///
/// It is keyed on the name being assigned, then scores the value by its shape: long enough, random
/// enough, mixing character classes, not a placeholder, not a word, a path, an expression or an id.
/// No regex runs: each keyword hit costs a few byte comparisons.
enum GenericAssignments {
    /// The prefilter keywords, lowercased. `bearer` and `basic` are Authorization schemes; the rest are
    /// name parts.
    static let keywords = ["pass", "pwd", "secret", "token", "key", "cred", "auth", "bearer", "basic"]

    enum Family { case password, secret, token, key, credential, bearer, basic }

    static func family(of keyword: String) -> Family? {
        switch keyword {
        case "pass", "pwd": .password
        case "secret": .secret
        case "token": .token
        case "key": .key
        case "cred", "auth": .credential
        case "bearer": .bearer
        case "basic": .basic
        default: nil
        }
    }

    /// Each keyword's family and length, by keyword index: looked up per hit, so no string is compared.
    static let families: [Family] = keywords.map { family(of: $0)! }
    static let keywordLengths: [Int] = keywords.map { $0.utf8.count }

    struct Hit { var value: Range<Int>; var match: Range<Int>; var ruleID: String; var confidence: Confidence }

    @inline(__always) static func isIdent(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b == 95 || b == 45 || b == 46
    }
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }

    /// Name endings that hold a credential, by family: the identifier, lowercased, with `_`, `-` and `.`
    /// removed and trailing digits dropped, must end with one of these.
    static let endings: [[UInt8]] = [
        "password", "passwd", "passphrase", "pass", "pwd", "secret", "secretkey", "clientsecret", "token",
        "accesstoken", "authtoken", "apitoken", "refreshtoken", "apikey", "accesskey", "secretaccesskey",
        "privatekey", "authkey", "clientkey", "masterkey", "signingkey", "encryptionkey", "appkey", "licensekey",
        "credential", "credentials", "authorization", "auth", "key",
    ].map { Array($0.utf8) }
    /// Endings that look secret but name something else.
    static let innocentEndings: [[UInt8]] = [
        "sortkey", "cachekey", "primarykey", "foreignkey", "dictkey", "hotkey", "keykey", "publickey", "pubkey",
        "partitionkey", "rowkey", "hashkey", "lookupkey", "mapkey", "idempotencykey", "objectkey", "s3key",
        "bypass", "compass", "subpass", "firstpass", "onepass", "nopass", "renderpass", "tokentype", "csrftoken",
        "nexttoken", "pagetoken", "continuationtoken", "paginationtoken", "starttoken", "marker", "eventtoken",
        "oauth", "noauth", "keyid", "accesskeyid",
    ].map { Array($0.utf8) }

    /// Whether the name at `s` follows `/:`, as an .npmrc registry setting's does.
    static func isNpmrcSetting(_ b: UnsafePointer<UInt8>, _ s: Int) -> Bool { s > 1 && b[s - 1] == 58 && b[s - 2] == 47 }

    /// Whether the name at `s` follows `?`, `&`, `#` or `&amp;`, as a URL parameter's does.
    static func isURLParameter(_ b: UnsafePointer<UInt8>, _ s: Int) -> Bool {
        s > 0 && (b[s - 1] == 63 || b[s - 1] == 38 || b[s - 1] == 35
                  || (s > 4 && b[s - 1] == 59 && b[s - 5] == 38 && b[s - 4] == 97 && b[s - 3] == 109 && b[s - 2] == 112))
    }

    /// Whether `b[t...]` is spaces or tabs, then `=` (and not `==`).
    static func equalsAfterSpaces(_ b: UnsafePointer<UInt8>, _ n: Int, _ t: Int) -> Bool {
        var k = t
        while k < n, b[k] == 32 || b[k] == 9 { k += 1 }
        return k < n && b[k] == 61 && (k + 1 >= n || b[k + 1] != 61)
    }

    /// Looks for an assignment around the keyword ending at `end` in `b` (`n` bytes).
    /// `identEnd` receives where the identifier ends, so the caller looks at each name once even when
    /// several keywords occur in it (`secret_token`).
    static func detect(_ b: UnsafePointer<UInt8>, _ n: Int, keyword: Int, end: Int, identEnd: inout Int, anywhere: Bool = false) -> Hit? {
        let fam = families[keyword]
        if fam == .bearer { return bearer(b, n, end: end) }
        if fam == .basic { return basic(b, n, end: end) }
        // The identifier around the keyword.
        var s = end - keywordLengths[keyword]
        var t = end
        var steps = 0
        while s > 0, isIdent(b[s - 1]), steps < 64 { s -= 1; steps += 1 }
        steps = 0
        while t < n, isIdent(b[t]), steps < 64 { t += 1; steps += 1 }
        identEnd = t
        // A terminal colour sequence's parameters and final `m` (`ESC[32mDB_PASSWORD`) are not part of
        // the name.
        if s >= 2, b[s - 1] == 91, b[s - 2] == 27 {
            var k = s
            while k < t, (b[k] >= 48 && b[k] <= 57) || b[k] == 59 { k += 1 }
            if k + 1 < t, b[k] == 109 { s = k + 1 }
        }
        guard s >= 0, t - s <= 96 else { return nil }
        // The cheap test first: most keyword hits in text are not followed by an assignment.
        // The assignment: optional closing quote of a quoted key, spaces, then `=`, `:`, `:=` or `=>`.
        var i = t
        // A key quoted inside a JSON string (`{\"api_key\":\"…\"}`) closes with `\"`.
        if i + 1 < n, b[i] == 92, b[i + 1] == 34 { i += 1 }
        if i < n, b[i] == 34 || b[i] == 39 { i += 1 }
        if i < n, b[i] == 93 { i += 1 } // ]
        while i < n, b[i] == 32 || b[i] == 9 { i += 1 }
        guard i < n else { return nil }
        // Kubernetes' env list: `- name: DB_PASSWORD`, then `value: …` on the next line.
        var pair: Range<Int>?
        var colon = false
        // A command-line option and its value: `--password VALUE` (found by helper-132).
        let flag = t - s > 2 && b[s] == 45 && b[s + 1] == 45 && i == t + 1 && b[t] == 32
        if flag {
            guard b[i] != 45, b[i] != 58, b[i] != 61 else { return nil }
        } else if b[i] == 58 { // :
            colon = true
            i += 1; if i < n, b[i] == 61 { i += 1 }
        } else if b[i] == 61 { // =
            i += 1
            if i < n, b[i] == 61 || b[i] == 126 { return nil } // == and =~ compare
            if i < n, b[i] == 62 { i += 1 } // =>
        } else {
            guard let p = envValue(b, n, nameStart: s, lineEnd: i) else { return nil }
            pair = p
        }
        if pair == nil {
            if s > 0, b[s - 1] == 33 || b[s - 1] == 60 || b[s - 1] == 62 { return nil }
            while i < n, b[i] == 32 || b[i] == 9 { i += 1 }
            // A coloured value starts after its colour codes (`\e[1m…\e[0m`, helper-183), and any
            // spaces around them (helper-184).
            var codes = 0
            while codes < 8, let e = RulePattern.colourEnd(b, n, at: i) {
                i = e; codes += 1
                while i < n, b[i] == 32 || b[i] == 9 { i += 1 }
            }
            guard i < n else { return nil }
            // A YAML block scalar (`password: |`, `>-`): the value is its first line, indented deeper
            // than the key (found by helper-183 #9; a Helm values file's password passed).
            // (`|Xk9…` on the same line is a value that starts with the character, as before: helper-190.)
            if colon, b[i] == 124 || b[i] == 62, let block = Self.blockScalarLine(b, n, indicator: i, key: s) { pair = block }
        }
        // The value: a quoted literal anywhere, or a bare value on a line that starts with the name
        // (.env, YAML, properties, INI), where it cannot be an expression.
        var v0 = i, v1 = i
        // Where a bare value may end: at the first space, `#`, `;` or `,` first, as before; and if that
        // value is refused, at the first space alone, since `#` and `;` start a comment only after a
        // space (.env, YAML, shells): `abc#def;ghi` is one value. A `,` or `;` ending it is punctuation.
        var longer: Int?
        if pair == nil, (b[i] == 98 || b[i] == 114 || b[i] == 117) && i + 1 < n && (b[i + 1] == 34 || b[i + 1] == 39) { i += 1; v0 = i } // b"…", r'…'
        if let p = pair {
            v0 = p.lowerBound; v1 = p.upperBound
        } else if b[i] == 92, i + 1 < n, b[i + 1] == 34 {
            // A value quoted inside a JSON string: `\"…\"`, no other backslash in it (found by helper-132).
            guard let r = escapedQuotedValue(b, n, openAt: i) else { return nil }
            v0 = r.lowerBound; v1 = r.upperBound
        } else if b[i] == 34 || b[i] == 39 || b[i] == 96 {
            guard let r = quotedValue(b, n, openAt: i) else { return nil }
            v0 = r.lowerBound; v1 = r.upperBound
        } else if s > 0, t < n, Self.isNpmrcSetting(b, s) ? equalsAfterSpaces(b, n, t) : Self.isURLParameter(b, s) && b[t] == 61 && i == t + 1 {
            // A URL's query or fragment parameter (`?access_token=…`, `&password=…`, `#token=…`, or
            // after an HTML-escaped `&amp;`), taken only as URLs write it, `=` straight after the name;
            // or an .npmrc registry setting (`//registry.example.com/:_authToken=…`), which is INI, so
            // spaces may stand around its `=`. The value runs to the next `&`, `#`, space, quote or
            // bracket. Only provider formats were found there before (helper-115).
            v0 = i; v1 = i
            while v1 < n, v1 - v0 <= 512 {
                let c = b[v1]
                // Also `)`, `]` and `}`: a URL in Markdown or code ends there (helper-117). Not `,`, which
                // a value may hold (helper-118); a trailing `,`, `;` or `.` is the sentence's.
                if c <= 32 || c == 38 || c == 35 || c == 34 || c == 39 || c == 96 || c == 60 || c == 62
                    || c == 41 || c == 93 || c == 125 { break }
                v1 += 1
            }
            while v1 > v0, b[v1 - 1] == 44 || b[v1 - 1] == 59 || b[v1 - 1] == 46 { v1 -= 1 }
        } else {
            // A whole string that is the assignment, `"NAME=…"`: a compose list's `- "DB_PASSWORD=…"`, an
            // exec array's `["env", "TOKEN=…"]`, a JSON field (`"cmd":"DB_PASSWORD\u003d…"` as Gson
            // writes it); its value ends at the closing quote (found by helper-188).
            let opening: UInt8? = s > 0 && (b[s - 1] == 34 || b[s - 1] == 39) && Self.opensField(b, s - 1) ? b[s - 1] : nil
            guard flag || startsLine(b, s) || startsField(b, s, anywhere: anywhere) || opening != nil else { return nil }
            v0 = i; v1 = i
            // A terminal escape (`ESC[0m` after a coloured value, or `\u001b[0m` as a JSON log writes
            // it) ends it too.
            func colour(_ k: Int) -> Bool { b[k] == 27 || (b[k] == 92 && RulePattern.colourEnd(b, n, at: k) != nil) }
            if let opening {
                while v1 < n, b[v1] != opening, b[v1] != 10, b[v1] != 13, b[v1] != 32, b[v1] != 9, b[v1] != 92, !colour(v1), v1 - v0 <= 512 { v1 += 1 }
                // A string that ends with its value; within a longer one, only where a field may start
                // anywhere (`redact`'s `… "DB_PASSWORD=… ok"`).
                guard v1 < n, b[v1] == opening || anywhere else { return nil }
            } else {
            while v1 < n, b[v1] != 10, b[v1] != 13, b[v1] != 32, b[v1] != 9, b[v1] != 35, b[v1] != 59, b[v1] != 44, !colour(v1), v1 - v0 <= 512 { v1 += 1 }
            var e = v1
            while e < n, b[e] != 10, b[e] != 13, b[e] != 32, b[e] != 9, !colour(e), e - v0 <= 512 { e += 1 }
            while e > v1, b[e - 1] == 44 || b[e - 1] == 59 { e -= 1 }
            // A value starting with `#` or `;` is a comment written straight after the separator.
            if e > v1, b[v0] != 35, b[v0] != 59 { longer = e }
            }
        }
        // An unquoted value with brackets, or a dotted name, is code: `getpass.getpass()`, `cfg.token`.
        func isCode(_ end: Int) -> Bool {
            var dotted = true
            for k in v0..<end {
                let c = b[k]
                if c == 40 || c == 41 || c == 91 || c == 93 || c == 123 || c == 125 { return true }
                if !(isIdent(c) && c != 45) { dotted = false }
            }
            return dotted && (v0..<end).contains(where: { b[$0] == 46 })
        }
        let quoted = v0 > 0 && (b[v0 - 1] == 34 || b[v0 - 1] == 39 || b[v0 - 1] == 96)
        // Normalised name: lowercase, separators removed, trailing digits dropped.
        var name: [UInt8] = []
        name.reserveCapacity(t - s)
        for i in s..<t where b[i] != 95 && b[i] != 45 && b[i] != 46 { name.append(lower(b[i])) }
        while let last = name.last, last >= 48 && last <= 57 { name.removeLast() }
        guard endings.contains(where: { name.hasSuffix($0) }), !innocentEndings.contains(where: { name.hasSuffix($0) }) else { return nil }
        // The bare word `key` (or `auth`) names too many things; it needs a qualifier in front.
        if name == Array("key".utf8) || name == Array("auth".utf8) { return nil }
        var confidence: Confidence?
        // Last, a bare value cut at its first quote: inside a JSON string, `…=Xq9…Jh"}` ran on past it
        // and was no value at all (found by helper-188).
        let atQuote = quoted ? nil : (v0..<v1).first { b[$0] == 34 || b[$0] == 39 }
        for end in [v1] + (longer.map { [$0] } ?? []) + (atQuote.map { [$0] } ?? []) where end > v0 && (quoted || !isCode(end)) {
            if let c = score(UnsafeBufferPointer(start: b + v0, count: end - v0), family: fam, name: name) {
                confidence = c; v1 = end
                break
            }
        }
        guard let confidence else { return nil }
        let rule: String
        switch fam {
        case .password: rule = "generic-password"
        case .secret: rule = "generic-secret"
        case .token: rule = "generic-token"
        case .key: rule = "generic-api-key"
        case .credential, .bearer, .basic: rule = "generic-credential"
        }
        return Hit(value: v0..<v1, match: s..<min(n, v1 + 1), ruleID: rule, confidence: confidence)
    }

    /// The inside of the quoted literal whose opening quote is at `open`, up to its closing quote on
    /// the same line and at most 512 bytes; nil when it does not close. YAML writes a `'` inside single
    /// quotes as `''`: the value goes on past it (helper-119). In double quotes the escapes of a quote,
    /// `/`, `$` and a backtick are read, and the value is the escaped text as written: PHP's
    /// `json_encode` writes every `/` as `\/`, and such a value was never found (helper-183). Any other
    /// backslash still makes no value: `\\` is a Windows path, and `\uXXXX` escaped non-ASCII text
    /// (a translated label), which scored as a password (helper-184); nor does any in single quotes
    /// and backticks, which languages read differently.
    static func quotedValue(_ b: UnsafePointer<UInt8>, _ n: Int, openAt open: Int) -> Range<Int>? {
        let q = b[open]
        let v0 = open + 1
        var v1 = v0
        while v1 < n, b[v1] != 10, v1 - v0 <= 512 {
            if b[v1] == q {
                guard q == 39, v1 + 1 < n, b[v1 + 1] == 39 else { break }
                v1 += 2; continue
            }
            if b[v1] == 92 {
                guard q == 34, v1 + 1 < n, b[v1 + 1] == 34 || b[v1 + 1] == 47 || b[v1 + 1] == 36 || b[v1 + 1] == 96 else { return nil }
                v1 += 2; continue
            }
            v1 += 1
        }
        guard v1 < n, b[v1] == q else { return nil }
        return v0..<v1
    }

    /// The value of a Kubernetes env entry whose name (at `nameStart`) holds the keyword: `name: X`
    /// (quoted or not) ending its line at `lineEnd`, and `value: …` starting the next line, quoted or
    /// bare to the line's end or a ` #` comment. nil for anything else, `valueFrom:` included. Before,
    /// `- name: AWS_SECRET_ACCESS_KEY` / `value: "…"` was never found (helper-115).
    static func envValue(_ b: UnsafePointer<UInt8>, _ n: Int, nameStart: Int, lineEnd: Int) -> Range<Int>? {
        var j = lineEnd
        if j < n, b[j] == 13 { j += 1 }
        guard j < n, b[j] == 10 else { return nil }
        // `name:` before the name, after `- ` or indentation.
        var k = nameStart
        if k > 0, b[k - 1] == 34 || b[k - 1] == 39 { k -= 1 }
        while k > 0, b[k - 1] == 32 || b[k - 1] == 9 { k -= 1 }
        guard k >= 5, b[k - 1] == 58, b[k - 5] == 110, b[k - 4] == 97, b[k - 3] == 109, b[k - 2] == 101 else { return nil } // name:
        // Only indentation, or a list item's `- `, before `name:` on its line (not `secret-name:`).
        var h = k - 5
        while h > 0, b[h - 1] == 32 || b[h - 1] == 9 { h -= 1 }
        if h > 0, b[h - 1] == 45, h < k - 5 { h -= 1; while h > 0, b[h - 1] == 32 || b[h - 1] == 9 { h -= 1 } }
        guard h == 0 || b[h - 1] == 10 else { return nil }
        // `value:` on the next line.
        j += 1
        while j < n, b[j] == 32 || b[j] == 9 { j += 1 }
        guard j + 6 <= n, b[j] == 118, b[j + 1] == 97, b[j + 2] == 108, b[j + 3] == 117, b[j + 4] == 101, b[j + 5] == 58 else { return nil } // value:
        j += 6
        while j < n, b[j] == 32 || b[j] == 9 { j += 1 }
        guard j < n else { return nil }
        if b[j] == 34 || b[j] == 39 {
            guard let r = quotedValue(b, n, openAt: j), !r.isEmpty else { return nil }
            return r
        }
        let v0 = j
        var v1 = j
        while v1 < n, b[v1] != 10, b[v1] != 13, v1 - v0 <= 512, !(b[v1] == 35 && v1 > v0 && (b[v1 - 1] == 32 || b[v1 - 1] == 9)) { v1 += 1 }
        while v1 > v0, b[v1 - 1] == 32 || b[v1 - 1] == 9 { v1 -= 1 }
        return v1 > v0 ? v0..<v1 : nil
    }

    /// The inside of `\"…\"` whose backslash is at `open`, on one line, at most 512 bytes, holding no
    /// other backslash.
    static func escapedQuotedValue(_ b: UnsafePointer<UInt8>, _ n: Int, openAt open: Int) -> Range<Int>? {
        let v0 = open + 2
        var v1 = v0
        while v1 < n, b[v1] != 10, v1 - v0 <= 512 {
            if b[v1] == 92 { return v1 + 1 < n && b[v1 + 1] == 34 ? v0..<v1 : nil }
            v1 += 1
        }
        return nil
    }

    /// Where the line holding `s` starts before it: spaces, tabs and terminal colour sequences
    /// (`ESC[32m`) skipped back; the index of the last other byte, or -1.
    private static func before(_ b: UnsafePointer<UInt8>, _ s: Int) -> Int {
        var j = s - 1
        while j >= 0 {
            if b[j] == 32 || b[j] == 9 { j -= 1; continue }
            // ESC [ digits and ; m
            if b[j] == 109 {
                var k = j - 1
                while k >= 0, (b[k] >= 48 && b[k] <= 57) || b[k] == 59, j - k < 16 { k -= 1 }
                if k >= 1, b[k] == 91, b[k - 1] == 27 { j = k - 2; continue }
            }
            break
        }
        return j
    }

    private static func startsLine(_ b: UnsafePointer<UInt8>, _ s: Int) -> Bool {
        let j = before(b, s)
        // A carriage return alone ends a line too (progress output; found by helper-132).
        if j < 0 || b[j] == 10 || b[j] == 13 { return true }
        // `export NAME=…` and `- NAME=…` (compose environment lists); a Dockerfile's `ENV` and `ARG`,
        // and cmd's `set` (found by helper-132).
        for word in Self.declaringWords where j + 1 >= word.count {
            let w0 = j + 1 - word.count
            guard (0..<word.count).allSatisfy({ lower(b[w0 + $0]) == word[$0] }) else { continue }
            // `export` also after a space (`RUN export TOKEN=…`), as before; the others where a line starts.
            if word == Self.declaringWords[0], w0 > 0, b[w0 - 1] == 32 || b[w0 - 1] == 9 { return true }
            let k = before(b, w0)
            return k < 0 || b[k] == 10 || b[k] == 13
        }
        if b[j] == 45 { return j == 0 || b[j - 1] == 32 || b[j - 1] == 10 }
        return false
    }
    /// The first line of the YAML block scalar whose indicator (`|` or `>`, then `-`, `+` or a digit)
    /// stands at `at`, when it is indented deeper than the key at `key` and holds something.
    static func blockScalarLine(_ b: UnsafePointer<UInt8>, _ n: Int, indicator at: Int, key: Int) -> Range<Int>? {
        var k = at + 1
        while k < n, k - at <= 3, b[k] == 45 || b[k] == 43 || (b[k] >= 49 && b[k] <= 57) { k += 1 }
        while k < n, b[k] == 32 || b[k] == 9 { k += 1 }
        if k < n, b[k] == 13 { k += 1 }
        guard k < n, b[k] == 10 else { return nil }
        var lineStart = key
        while lineStart > 0, key - lineStart <= 512, b[lineStart - 1] != 10 { lineStart -= 1 }
        var c0 = k + 1
        while c0 < n, b[c0] == 32, c0 - k <= 512 { c0 += 1 }
        guard c0 - (k + 1) > key - lineStart, c0 < n, b[c0] != 10, b[c0] != 13 else { return nil }
        var c1 = c0
        while c1 < n, b[c1] != 10, b[c1] != 13, c1 - c0 <= 512 { c1 += 1 }
        while c1 > c0, b[c1 - 1] == 32 || b[c1 - 1] == 9 { c1 -= 1 }
        return c1 > c0 ? c0..<c1 : nil
    }

    /// Whether the quote at `q` opens a string where a field starts: after a line start, a blank, a
    /// list's `-`, `[`, `(`, `{`, `,`, `:` or `=`.
    static func opensField(_ b: UnsafePointer<UInt8>, _ q: Int) -> Bool {
        guard q > 0 else { return true }
        let c = b[q - 1]
        return c == 10 || c == 13 || c == 32 || c == 9 || c == 45 || c == 91 || c == 40 || c == 123 || c == 44 || c == 58 || c == 61
    }

    static let declaringWords: [[UInt8]] = ["export", "env", "arg", "set"].map { Array($0.utf8) }

    /// A bare value's name is also a field when the token before it is a `k=v` pair (logfmt, a shell's
    /// `A=1 PASSWORD=… cmd`, a Dockerfile's `ENV A=1 B=…`); and, with `anywhere`, after any space, tab,
    /// `;`, `,` or `|` (`… INFO password=…`, `…;Password=…;` in a connection string). Only line starts
    /// were taken, so logs passed `secrets redact` readable (found by helper-132).
    static func startsField(_ b: UnsafePointer<UInt8>, _ s: Int, anywhere: Bool) -> Bool {
        guard s > 0 else { return true }
        let c = b[s - 1]
        if anywhere, c == 32 || c == 9 || c == 59 || c == 44 || c == 124 { return true }
        guard c == 32 || c == 9 else { return false }
        var j = s - 1
        while j >= 0, b[j] == 32 || b[j] == 9 { j -= 1 }
        guard j >= 0, b[j] != 61 else { return false }
        var k = j, sawEquals = false
        while k >= 0, b[k] != 32, b[k] != 9, b[k] != 10, b[k] != 13, j - k < 256 {
            if b[k] == 61 { sawEquals = true }
            // Code's comparisons and calls are no `k=v` list.
            if b[k] == 40 || b[k] == 41 || b[k] == 60 || b[k] == 62 || b[k] == 33 { return false }
            k -= 1
        }
        return sawEquals && (k < 0 || b[k] == 32 || b[k] == 9 || b[k] == 10 || b[k] == 13)
    }

    static func score(_ v: UnsafeBufferPointer<UInt8>, family: Family, name: [UInt8]) -> Confidence? {
        let count = v.count
        guard count >= 8, count <= 200 else { return nil }
        var digits = 0, letters = 0, upper = 0, spaces = 0, slashes = 0, dots = 0
        for c in v {
            switch c {
            case 48...57: digits += 1
            case 65...90: letters += 1; upper += 1
            case 97...122: letters += 1
            case 32: spaces += 1
            case 47: slashes += 1
            case 46: dots += 1
            default: break
            }
        }
        // Sentences, paths, expressions, templates and dotted names are not secrets.
        if spaces > 0 || (slashes > 1 && !slashesInBase64(v)) { return nil }
        if let first = v.first, first == 36 || first == 37 || first == 123 || first == 40 { return nil } // $VAR, %(x)s, {x}, (expr)
        if ValueShape.isPlaceholder(v, strict: true) { return nil }
        let lowered = v.map(lower)
        // The name in the value, separators aside too (`API_TOKEN: api-token-prod-01` names a secret,
        // it is not one; helper-119).
        let bare = lowered.filter { $0 != 95 && $0 != 45 && $0 != 46 }
        if lowered.elementsEqual(name) || (name.count >= 4 && (ValueShape.contains(lowered, name) || ValueShape.contains(bare, name))) { return nil }
        if isUUID(v) && family != .password && family != .secret { return nil }
        if letters == count - dots - tally(v, 95) - tally(v, 45) { return nil } // only letters and separators: a word or identifier
        let entropy = ValueShape.entropy(v)
        let classes = ValueShape.classes(v)
        switch family {
        case .password:
            guard count >= 8, entropy >= 2.8, classes >= 2 else { return nil }
        default:
            guard count >= 16, entropy >= 3.3, digits > 0, letters > 0, classes >= 2 else { return nil }
            // Hex shorter than 128 bits is an id or a short hash (`"ApiKey": "48205d4ffd7feba3"`).
            if count < 32 && v.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }) { return nil }
            if dots >= 2 && digits * 2 < count { return nil } // a dotted name or version
        }
        if entropy >= 4.0 && count >= 24 && classes >= 3 { return .medium }
        return .low
    }

    /// Whether a value with two or more `/` is base64 rather than a path: it starts with no `/`, `.` or
    /// `~`, names no scheme or file extension, and one of its segments of 10 or more characters holds
    /// upper case, lower case and digits and changes between them (and any other character) at 45% or
    /// more of its steps (40% from 16 characters), as random base64 does (about 65%) and names made of
    /// words and numbers do not (`PaymentService2`, `Postgres14Replica2`, `gcc12+clang17`: 30 to 40%).
    /// Every value with two slashes was taken for a path, and an AWS-style secret key under a
    /// password's name passed (found by helper-184); tests of case changes alone, of a `+`, or of
    /// digit runs took names for secrets or secrets for names (helper-188, helper-189, helper-190).
    static func slashesInBase64(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = v.first, first != 47, first != 46, first != 126, !v.contains(58) else { return false }
        if let lastSlash = v.lastIndex(of: 47), v[(lastSlash + 1)...].contains(46) { return false }
        func kind(_ c: UInt8) -> Int { c >= 65 && c <= 90 ? 0 : c >= 97 && c <= 122 ? 1 : c >= 48 && c <= 57 ? 2 : 3 }
        // The kinds seen in the segment, a bit each: upper case, lower case, digits, and a fourth for
        // anything else, which `random` does not ask for.
        var seen: UInt8 = 0, length = 0, changes = 0, last = -1
        func random() -> Bool {
            seen & 0b111 == 0b111 && length >= 10 && changes * 100 >= (length >= 16 ? 40 : 45) * (length - 1)
        }
        for c in v {
            if c == 47 {
                if random() { return true }
                seen = 0; length = 0; changes = 0; last = -1
                continue
            }
            let k = kind(c)
            if last >= 0, k != last { changes += 1 }
            last = k
            seen |= 1 << UInt8(k)
            length += 1
        }
        return random()
    }

    private static func tally(_ v: UnsafeBufferPointer<UInt8>, _ c: UInt8) -> Int { v.reduce(0) { $0 + ($1 == c ? 1 : 0) } }

    static func isUUID(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        guard v.count == 36 else { return false }
        for (i, c) in v.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 { if c != 45 { return false } }
            else if !((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) { return false }
        }
        return true
    }

    /// `Bearer <token>`: a long, random, token-charset run after the scheme word.
    static func bearer(_ b: UnsafePointer<UInt8>, _ n: Int, end: Int) -> Hit? {
        var i = end
        guard i < n, b[i] == 32 else { return nil }
        while i < n, b[i] == 32 { i += 1 }
        let v0 = i
        while i < n, i - v0 < 4096 {
            let c = b[i]
            let ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46 || c == 95 || c == 126 || c == 43 || c == 47 || c == 61
            if !ok { break }
            i += 1
        }
        let value = UnsafeBufferPointer(start: b + v0, count: i - v0)
        guard value.count >= 20, ValueShape.entropy(value) >= 3.5, ValueShape.classes(value) >= 3,
              !ValueShape.isPlaceholder(value, strict: true), !isJWTPlaceholder(value) else { return nil }
        return Hit(value: v0..<i, match: (end - 6)..<i, ruleID: "generic-bearer-token", confidence: .medium)
    }

    /// A JWT's shape (`eyJ…` and three parts) around filler: a payload or a signature that is one
    /// character repeated (`.xxxxx.yyyyy`, `.aaaaa`). Documentation writes
    /// `Bearer eyJhbGciOi….xxxxx.yyyyy`, and it was a medium finding. A real payload, however short
    /// (`e30` is `{}`), and an unsigned token (empty signature) are still tokens (found by review).
    ///
    /// A part that is one word in one case (`.PAYLOAD.SIGNATURE`, `.sig`) is filler too: base64url of
    /// JSON or of a signature mixes cases and digits. A header with nothing after its dot (the value cut
    /// at `<payload>`) is no token either (found by review).
    static func isJWTPlaceholder(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        guard v.count > 3, v[0] == 101, v[1] == 121, v[2] == 74 else { return false }   // "eyJ"
        let parts = v.split(separator: 46, omittingEmptySubsequences: false)
        if parts.count == 2 { return parts[1].isEmpty }
        guard parts.count == 3 else { return false }
        func filler(_ p: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
            guard p.count >= 3 else { return false }
            if p.allSatisfy({ $0 == p.first }) { return true }
            return p.allSatisfy { $0 >= 65 && $0 <= 90 } || p.allSatisfy { $0 >= 97 && $0 <= 122 }
        }
        return filler(parts[1]) || filler(parts[2])
    }
}

extension GenericAssignments {
    /// `Authorization: Basic <base64 of user:password>`: the scheme word after an Authorization name,
    /// then base64 that decodes to printable text holding a `:` with a password after it.
    /// The pairs the RFCs and HTTP libraries' documentation use (RFC 6749's client, RFC 7617's Aladdin).
    static let documentationPairs = ["s6BhdRkqt3:gX1fBat3bV", "Aladdin:open sesame", "user:pass", "username:password", "admin:admin"]

    /// Lower case, spaces dropped: documentation writes the same pair as `aladdin:opensesame` too.
    static func folded(_ v: [UInt8]) -> [UInt8] { v.filter { $0 != 32 }.map(lower) }

    static func basic(_ b: UnsafePointer<UInt8>, _ n: Int, end: Int) -> Hit? {
        let start = end - 5
        // Back over spaces, an opening quote, `:` or `=`, a closing quote and spaces to the name.
        var j = start - 1
        var steps = 0
        func skip(_ set: Set<UInt8>) { while j >= 0, set.contains(b[j]), steps < 16 { j -= 1; steps += 1 } }
        skip([32, 9, 34, 39])
        guard j >= 0, b[j] == 58 || b[j] == 61 else { return nil }
        j -= 1
        skip([32, 9, 34, 39, 93]) // `headers['Authorization'] = 'Basic …'`
        let name = Array("authorization".utf8)
        guard j + 1 >= name.count else { return nil }
        for (k, c) in name.reversed().enumerated() where lower(b[j - k]) != c { return nil }
        var i = end
        guard i < n, b[i] == 32 || b[i] == 9 else { return nil }
        while i < n, b[i] == 32 || b[i] == 9, i - end < 8 { i += 1 }
        let v0 = i
        while i < n, i - v0 < 1024 {
            let c = b[i]
            guard (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 43 || c == 47 || c == 61 else { break }
            i += 1
        }
        guard i - v0 >= 8, var decoded = Base64.decode(bytes: UnsafeBufferPointer(start: b + v0, count: i - v0)) else { return nil }
        // `echo user:pass | base64` encodes the newline too; RFC 7617 allows UTF-8.
        while let last = decoded.last, last == 10 || last == 13 { decoded.removeLast() }
        guard String(validating: decoded, as: UTF8.self) != nil, !decoded.contains(where: { $0 < 32 || $0 == 127 }),
              let colon = decoded.firstIndex(of: 58) else { return nil }
        let password = decoded[(colon + 1)...]
        guard password.count >= 4, !ValueShape.isPlaceholder(password, strict: true),
              !documentationPairs.contains(where: { Self.folded(decoded).elementsEqual(Self.folded(Array($0.utf8))) }) else { return nil }
        return Hit(value: v0..<i, match: start..<i, ruleID: "generic-basic-auth", confidence: .medium)
    }
}

extension Array where Element == UInt8 {
    func hasSuffix(_ s: [UInt8]) -> Bool { count >= s.count && self[(count - s.count)...].elementsEqual(s) }
}
