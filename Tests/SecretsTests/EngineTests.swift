import Foundation
import ProvenantCore
import Testing
@testable import Secrets

@Suite struct EngineTests {
    static let engine: SecretEngine = try! SecretEngine.standard()

    static func scan(_ text: String, _ engine: SecretEngine = engine) -> [SecretMatch] {
        Array(text.utf8).withUnsafeBytes { engine.scan($0) }
    }
    static func value(_ text: String, _ m: SecretMatch) -> String { String(decoding: Array(text.utf8)[m.value], as: UTF8.self) }
    /// A stream's reads of `bytes`, `size` at most at a time.
    static func pieces(_ bytes: [UInt8], of size: Int) -> (inout [UInt8], Int) -> Int {
        var offset = 0
        return { buf, max in
            let n = min(max, size, bytes.count - offset)
            buf += bytes[offset..<(offset + n)]
            offset += n
            return n
        }
    }

    @Test func genericAssignmentsAreScoredByNameAndShape() {
        let real: [(String, String)] = [
            (#"db_password = "Xk9#mQ2$vL7p!w""#, "Xk9#mQ2$vL7p!w"),
            ("export SERVICE_API_KEY=f3Kq8ZpT1xW7nB4mR9sD2vL6", "f3Kq8ZpT1xW7nB4mR9sD2vL6"),
            (#"{"client_secret": "q8Z3n1Xv7T4mK9pB2wR6sL0d"}"#, "q8Z3n1Xv7T4mK9pB2wR6sL0d"),
            ("auth_token: 9fQ2xL7vK3mN8pR1tW5zB0cD4", "9fQ2xL7vK3mN8pR1tW5zB0cD4"),
            ("Authorization: Bearer eyZ0b2tlbi1hYmMxMjM0NTY3ODkwLXh5eg9Q8w7E", "eyZ0b2tlbi1hYmMxMjM0NTY3ODkwLXh5eg9Q8w7E"),
            // A JWT with a payload and a signature of HS256's length, and an unsigned one.
            ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMtcmVwb3J0In0.Qm9xV3RnN2tYcEw0ZHJZOGZtSzJ2cVpjMW5XczNIa",
             "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMtcmVwb3J0In0.Qm9xV3RnN2tYcEw0ZHJZOGZtSzJ2cVpjMW5XczNIa"),
            ("Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJzdmMtcmVwb3J0In0.", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzdmMtcmVwb3J0In0."),
            // Empty claims (`{}` is `e30`) with a real signature (found by review).
            ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.Qm9xV3RnN2tYcEw0ZHJZOGZtSzJ2cVpjMW5XczNIa", "eyJhbGciOiJIUzI1NiJ9.e30.Qm9xV3RnN2tYcEw0ZHJZOGZtSzJ2cVpjMW5XczNIa"),
            // Basic credentials: base64 of user:password, in a header or a header map.
            ("Authorization: Basic ZGVwbG95OlM5dnEyTG1YdzhSdA==", "ZGVwbG95OlM5dnEyTG1YdzhSdA=="),
            (#"headers = {"Authorization": "Basic YWRtaW46czNjcjN0UGFzcw=="}"#, "YWRtaW46czNjcjN0UGFzcw=="),
            // Newlines encoded with the pair, UTF-8 passwords, a tab, a header set by subscript.
            ("Authorization: Basic YWRtaW46VHIwdWI0ZG9yJjN4cQo=", "YWRtaW46VHIwdWI0ZG9yJjN4cQo="),
            ("Authorization:\tBasic YWRtaW46cMOkc3N3w7ZyZDEyMw==", "YWRtaW46cMOkc3N3w7ZyZDEyMw=="),
            ("headers['Authorization'] = 'Basic ZGVwbG95OlM5dnEyTG1YdzhSdA=='", "ZGVwbG95OlM5dnEyTG1YdzhSdA=="),
            ("Authorization: Basic\tZGVwbG95OlM5dnEyTG1YdzhSdA==", "ZGVwbG95OlM5dnEyTG1YdzhSdA=="),
            // Unquoted values: `#` and `;` inside them are not comments when the value cut there is refused.
            ("API_TOKEN=Qm9#vX2;kLp8Rz5Tw7Yn", "Qm9#vX2;kLp8Rz5Tw7Yn"),
            ("export API_TOKEN=f3Kq8ZpT1xW7nB4mR9sD2vL6; run", "f3Kq8ZpT1xW7nB4mR9sD2vL6"),
            // ...and the value cut at them is kept when it is a secret by itself (review: what follows
            // is often a comment or the next field, and the finding's fingerprint must not change).
            ("PASSWORD=Sup3rS3cret!;Server=db.example.com;Database=app", "Sup3rS3cret!"),
            ("API_TOKEN=Xk9mQ2vL7pwR4tZ8#TODO(rotate)", "Xk9mQ2vL7pwR4tZ8"),
            ("db_password: Xk9mQ2vL7pw#{env}", "Xk9mQ2vL7pw"),
            ("API_KEY=Xk9mQ2vL7pwR4tZ8,[x]", "Xk9mQ2vL7pwR4tZ8"),
            // URL query and fragment parameters (found by helper-115: only provider formats were found).
            ("curl https://api.example.com/v1?access_token=Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6Jd5Fs0G&x=1", "Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6Jd5Fs0G"),
            ("GET /v1?x=1&password=Hx7pQ2vLm9Rt4kWz HTTP/1.1", "Hx7pQ2vLm9Rt4kWz"),
            // .npmrc is INI: spaces around its `=` (Left undone: only `:_authToken=` was found).
            ("//registry.npmjs.org/:_authToken = Kf8Lq2Vx9Mn4Tb7Wz3Rp", "Kf8Lq2Vx9Mn4Tb7Wz3Rp"),
            ("//npm.example.com/repo/:_password\t=\tWm5Rx8Kq2Tz7Vn4Lp9", "Wm5Rx8Kq2Tz7Vn4Lp9"),
            ("https://app.example.com/cb#access_token=Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6&state=1", "Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6"),
            ("//npm.example.com/repo/:_authToken=Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6", "Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6"),
            ("[x](https://a.example/cb#access_token=Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6)", "Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6"),
            ("see https://a.example/?access_token=Zq8Wm2Nc,7Vb4Xk1Lp9Rt3Hy6, then", "Zq8Wm2Nc,7Vb4Xk1Lp9Rt3Hy6"),
            // Kubernetes env entries: the name on one line, the value on the next (helper-115).
            ("env:\n  - name: DB_PASSWORD\n    value: \"Hx7pQ2vLm9Rt4kWz\"\n", "Hx7pQ2vLm9Rt4kWz"),
            ("- name: \"API_TOKEN\"\r\n  value: Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6  # rotated\r\n", "Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6"),
            // YAML's `''` inside single quotes is one `'` of the value, which is masked whole (helper-119).
            ("- name: API_TOKEN\n  value: 'Zq8Wm2Nc7Vb4Xk1L''p9Rt3Hy6'\n", "Zq8Wm2Nc7Vb4Xk1L''p9Rt3Hy6"),
            (#"<a href="/x?a=1&amp;access_token=Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6">"#, "Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6"),
        ]
        for (text, secret) in real {
            let found = Self.scan(text)
            #expect(found.map { Self.value(text, $0) } == [secret], "\(text)")
        }
        let innocent = [
            #"password = "password""#, "password = getpass.getpass()", #"PASSWORD = "FORCE_CHANGE_PASSWORD""#,
            #"api_key = "${API_KEY}""#, #"token = "<your-token>""#, "secret: changeme", #"if password == "Xk9#mQ2$vL7p!w":"#,
            #"key = "Ec2SubnetIds""#, #"sort_key = "a8f3k2m9x7q1w5e4r6t""#, #"token = "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d""#,
            #"password_file = "/etc/app/secret.txt""#, #"tokenizer = "bert-base-uncased-v2""#, "secret_key = os.environ['SECRET_KEY']",
            #"api_key = "xxxxxxxxxxxxxxxxxxxxxxxx""#, #"password: "" "#,
            #"WWW-Authenticate: Basic realm="api""#, "Authorization: Basic realm", "Authorization: Basic dXNlcjo=",
            "Authorization: Basic bm90IGEgcGFpcg==", "The basic dXNlcjpTOXZxMkxtWHc4UnQ= test",
            "api_key=# not set", "SECRET_KEY=src/main/java/com/Example3/Thing4/Other5",
            "AUTH_TOKEN=https://vault.example.com/v1/Kx9q/Zt4Lm8VbNw2RpQ7", "secret_key = /var/run/Kx9qZt4L/m8VbNw2Rp/Q7sYhJ3dF",
            "kms_key: projects/acme-prod-4711/locations/global/keyRings/prodRing/cryptoKeys/dbKey",
            "Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", "token: #Xk9mQ2vL7pwR4tZ8Xk9", "api_key: ;Xk9mQ2vL7pwR4tZ8Xk9",
            "https://example.com/?token=${TOKEN}&x=1", "https://example.com/?password=changeme", "/login?next=/home&api_key=",
            "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef: {name: db, key: password}", "- name: API_TOKEN\n  value: ${API_TOKEN}",
            "- name: DB_PASSWORD\n  value: \"\"", "- name: SECRET_KEY\n  value: changeme", "name: DB_PASSWORD\nimage: postgres:16",
            "secret-name: api-token\nvalue: Zq8Wm2Nc7Vb4Xk1Lp9Rt3Hy6", "- name: API_TOKEN\n  value: api-token-prod-01",
        ]
        for text in innocent { #expect(Self.scan(text).isEmpty, "flagged: \(text)") }
    }

    @Test func documentationExamplesAndPlaceholdersAreNotFound() {
        #expect(Self.scan("aws_access_key_id = AKIAIOSFODNN7EXAMPLE").isEmpty)
        #expect(Self.scan("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").isEmpty)
        for text in ["AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX", "stripe_key = sk_live_xxxx", #"password = "<your-password>""#, "Authorization: Bearer <token>",
                     #"password = "{{ .Values.password }}""#, "postgres://app:${DB_PASSWORD}@db:5432/x", "api_token: \"********************\"",
                     // A JWT's shape around filler: no JSON payload, or a signature no algorithm makes.
                     "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.xxxxx.yyyyy",
                     "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.aaaaa",
                     "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.PAYLOAD.SIGNATURE",
                     "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.<payload>.<signature>",
                     "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"] {
            #expect(Self.scan(text).isEmpty, "flagged: \(text)")
        }
    }

    /// A marker anywhere in a value made it a placeholder: a PEM key whose random body holds `xxxx`
    /// (about one in 600) was neither found nor redacted, nor a password holding `<`, `>` or `{{`
    /// (found by helper-166). The marks count only when they are much of the value.
    @Test func realValuesHoldingPlaceholderMarksAreFound() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var body = (0..<1600).map { _ in alphabet[Int.random(in: 0..<64, using: &rng)] }
        body.replaceSubrange(700..<704, with: Array("xXxx".utf8))
        let lines = stride(from: 0, to: body.count, by: 64).map { String(decoding: body[$0..<min($0 + 64, body.count)], as: UTF8.self) }
        let pem = "-----BEGIN PRIVATE KEY-----\n" + lines.joined(separator: "\n") + "\n-----END PRIVATE KEY-----"
        #expect(Self.scan(pem).map(\.ruleID) == ["pem-private-key"])
        for pw in ["Zq8<Lm3Vx9Rt2Kp7wQ4", "Zq8>Lm3Vx9Rt2Kp7wQ4", "Zq8Lm3Vx9Rt2Kp7w{{Q4", "Zq8....Lm3Vx9Rt2Kp7wQ4"] {
            let url = "DATABASE_URL=postgres://app:\(pw)@db.internal:5432/prod"
            #expect(Self.scan(url).map { Self.value(url, $0) } == [pw], "\(pw)")
        }
    }

    @Test func keywordsAreFoundInAnyCaseAndAcrossTheWholeBuffer() {
        let a = KeywordAutomaton(keywords: ["ghp_", "she", "shed", "hers", "ers"])
        var hits: [(String, Int)] = []
        Array("uSHErs ghp_ shed".utf8).withUnsafeBytes { buf in a.scan(buf) { hits.append((String(decoding: a.keywords[$0], as: UTF8.self), $1)) } }
        #expect(hits.map(\.0) == ["she", "hers", "ers", "ghp_", "she", "shed"])
        #expect(hits.map(\.1) == [4, 6, 6, 11, 15, 16])
        // A keyword at the very end, and input shorter than any keyword.
        var tail: [Int] = []
        Array("xGHP_".utf8).withUnsafeBytes { buf in a.scan(buf) { tail.append($1) } }
        #expect(tail == [5])
        Array("gh".utf8).withUnsafeBytes { buf in a.scan(buf) { _, _ in Issue.record("hit in 2 bytes") } }
    }

    @Test func aSecretCutByEveryReadBoundaryIsStillFound() throws {
        let token = "ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"
        let engine = Self.engine
        for pad in stride(from: 4000, to: 4200, by: 3) {
            let text = Array((String(repeating: "a", count: pad) + " token " + token + " tail\n").utf8)
            var offset = 0
            var found: [SecretMatch] = []
            ChunkedScan(engine: engine, chunkSize: 4096).run(read: { (buf: inout [UInt8], max: Int) -> Int in
                let n = min(max, 7, text.count - offset)   // tiny reads: every cut position is exercised
                buf += text[offset..<(offset + n)]; offset += n
                return n
            }) { _, base, _, matches in found += matches.map { var m = $0; m.value = (base + m.value.lowerBound)..<(base + m.value.upperBound); return m }; return true }
            #expect(found.count == 1, "pad \(pad): \(found.map(\.ruleID))")
            #expect(found.first.map { String(decoding: text[$0.value], as: UTF8.self) } == token)
        }
    }

    /// Private keys longer than 8,000 characters (RSA 16384 as PEM, base64 of that PEM, escaped in
    /// JSON) were missed: the PEM rules stopped at 8,000 (Left undone). Each form is found whole, in one
    /// buffer and across chunk boundaries, and a body past the new bound is still not matched in part.
    @Test func privateKeysOfSixteenKilobitsAreFound() throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        func body(_ count: Int) -> String {
            String(decoding: (0..<count).map { _ in alphabet[Int.random(in: 0..<64, using: &rng)] }, as: UTF8.self)
        }
        func lines(_ b: String, _ sep: String) -> String {
            let chars = Array(b); return stride(from: 0, to: chars.count, by: 64).map { String(chars[$0..<min($0 + 64, chars.count)]) }.joined(separator: sep)
        }
        let b = body(12_700)
        let pem = "-----BEGIN RSA PRIVATE KEY-----\n" + lines(b, "\n") + "\n-----END RSA PRIVATE KEY-----"
        let pkcs8 = "-----BEGIN PRIVATE KEY-----\n" + lines(b, "\n") + "\n-----END PRIVATE KEY-----"
        let escaped = #"{"key": "-----BEGIN PRIVATE KEY-----\n"# + lines(b, #"\n"#) + #"\n-----END PRIVATE KEY-----\n"}"#
        let b64 = "tls.key: " + Data((pem + "\n").utf8).base64EncodedString() + "\n"
        #expect(b64.count > 17_000)
        for (name, text, whole) in [("pem", pem, pem), ("pkcs8", pkcs8, pkcs8), ("escaped", escaped, String(escaped.dropFirst(9).dropLast(4))),
                                    ("base64", b64, String(b64.dropFirst(9).dropLast()))] {
            let found = Self.scan("x\n" + text + "\ny\n")
            #expect(found.count == 1 && found.first.map { Self.value("x\n" + text + "\ny\n", $0) } == whole, "\(name): \(found.map(\.ruleID))")
            // Read in small chunks: the overlap between them holds a whole key.
            let bytes = Array(("x\n" + text + "\ny\n").utf8)
            var chunked: [SecretMatch] = []
            ChunkedScan(engine: Self.engine, chunkSize: 4096).run(read: Self.pieces(bytes, of: 1000)) { _, _, _, matches in chunked += matches; return true }
            #expect(chunked.count == 1, "\(name) chunked: \(chunked.map(\.ruleID))")
        }
    }

    @Test func redactionReplacesSecretsSplitBetweenReads() throws {
        let token = "ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"
        var text = ""
        for i in 0..<2000 { text += "line \(i) user=bob\n"; if i % 97 == 0 { text += "auth ok token \(token)\n" } }
        let input = Array(text.utf8)
        for chunk in [4096, 5000] {
            var offset = 0
            var out: [UInt8] = []
            let n = StreamRedactor(engine: Self.engine, chunkSize: chunk).run(read: { (buf: inout [UInt8], max: Int) -> Int in
                let k = min(max, 333, input.count - offset)
                buf += input[offset..<(offset + k)]; offset += k
                return k
            }, write: { out += $0 })
            let result = String(decoding: out, as: UTF8.self)
            #expect(!result.contains(token))
            #expect(n == 21)
            #expect(result == text.replacingOccurrences(of: token, with: "[REDACTED:github-personal-access-token]"))
        }
    }

    /// A token right after an escape whose decoded character is no word character (`%3D`, `=3D`,
    /// `\n`, `\t`, `\u003d`, `\x20`) was missed, its `\b` seeing the escape's last letter (found by
    /// helper-132). After an escape of a word character (`%41` is `A`) it is still inside a word.
    @Test func tokensRightAfterAnEscapeAreFound() throws {
        let tokens = [("ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe", "github-personal-access-token"),
                      ("sk_live_4eC39HqLyjWDarjtT1zdp7dc9XyZ", "stripe-live-secret-key"),
                      ("AKIAQ3EGRT5YXB7WKZ4N", "aws-access-key-id"),
                      ("glpat-R7wQ2bX9kLm4Np8sT1vY", "gitlab-personal-access-token")]
        for (token, rule) in tokens {
            for escape in ["%3D", "=3D", "%20", "\\n", "\\t", "\\u003d", "\\x20"] {
                let found = Self.scan("url?a=1&t" + escape + token + "%26x=1\n")
                #expect(found.contains { $0.ruleID == rule }, "\(escape)\(rule): \(found.map(\.ruleID))")
            }
            #expect(!Self.scan("x%41" + token + " \n").contains { $0.ruleID == rule }, "after %41 (A) the token is inside a word")
            #expect(!Self.scan("xQ" + token + " \n").contains { $0.ruleID == rule })
            // After a terminal colour code, as the byte or as a log's escapes, the token is found whole;
            // a letter `m` before it with no code is still a word (helper-183).
            for code in ["\u{1B}[1m", "\u{1B}[0;32m", "\u{1B}[1;38;2;255;255;255m", "\\u001b[1m", "\\u001B[31m", "\\x1b[1m", "\\X1B[1m", "\\033[1m", "\\e[1m", "\\E[1m"] {
                let text = "token: " + code + token + "\u{1B}[0m\n"
                let found = Self.scan(text)
                #expect(found.contains { $0.ruleID == rule && Self.value(text, $0) == token }, "\(code.debugDescription) \(rule): \(found.map(\.ruleID))")
            }
            #expect(!Self.scan("token: [1m" + token + "\n").contains { $0.ruleID == rule }, "no ESC before the bracket")
        }
        // A double-quoted value with escapes in it is the escaped text as written (PHP's `\/`, `\"`, a
        // shell's `\$`); a regular expression is still no password (helper-183).
        for (text, value) in [(#"{"password":"Xk9\/mQ2vL7pR4wZ5tA=="}"#, #"Xk9\/mQ2vL7pR4wZ5tA=="#), (#"{"password":"Xk9#mQ2\"vL7pR4wZ"}"#, #"Xk9#mQ2\"vL7pR4wZ"#),
                              (#"export DB_PASSWORD="Xk9mQ2\$vL7pR4wZ5t""#, #"Xk9mQ2\$vL7pR4wZ5t"#)] {
            #expect(Self.scan(text + "\n").contains { $0.ruleID == "generic-password" && Self.value(text + "\n", $0) == value }, "\(text)")
        }
        #expect(!Self.scan(#"password_re = "(?P<pw>\S+)""# + "\n").contains { $0.ruleID.hasPrefix("generic-") })
        // Escaped non-ASCII text (a translated label) and a Windows path are no password (helper-184).
        for text in [#"{"password": "\u5bc6\u7801"}"#, #"{"password": "\u041f\u0430\u0440\u043e\u043b\u044c"}"#, #"db_password = "C:\Users\admin\AppData\pw1.txt""#] {
            #expect(!Self.scan(text + "\n").contains { $0.ruleID.hasPrefix("generic-") }, "\(text)")
        }
        // A coloured assignment's value starts after its code and ends before the next.
        let v = "Xk9mQ2vL7pR4wZ5t"
        for (open, close) in [("\u{1B}[1m", "\u{1B}[0m"), ("\\u001b[1m", "\\u001b[0m"), (" \u{1B}[1m ", "\u{1B}[0m"), ("\\E[1m\\E[32m", "\\E[0m"),
                              (String(repeating: "\u{1B}[1m", count: 6), "\u{1B}[0m")] {
            let text = "DB_PASSWORD=" + open + v + close + "\n"
            #expect(Self.scan(text).contains { $0.ruleID == "generic-password" && Self.value(text, $0) == v }, "\(open.debugDescription)")
        }
    }

    /// Bare assignments were taken only where a line starts: log lines, logfmt, coloured and
    /// carriage-return output, JSON inside a JSON string, a Dockerfile's ENV and ARG, cmd's set and a
    /// `--password VALUE` option passed `secrets redact` readable (found by helper-132).
    @Test func assignmentsInLogLinesAreFound() throws {
        let v = "Zq8Wm2Nc7Vb4Xk1Lp9RtQw3E"
        let anywhere = try SecretEngine.standard(minimumConfidence: .high, assignmentsAnywhere: true)
        let both = ["level=info msg=x api_key=\(v)", "\u{1B}[32mDB_PASSWORD=\(v)\u{1B}[0m", "progress 10%\rDB_PASSWORD=\(v)",
                    #"{\"api_key\":\"\#(v)\"}"#, "ENV API_TOKEN=\(v)", "ARG NPM_TOKEN=\(v)", "set PASSWORD=\(v)",
                    "mysql -u root --password \(v) db", "A=1 DB_PASSWORD=\(v) ./run.sh", "RUN export API_TOKEN=\(v)"]
        for line in both {
            for engine in [Self.engine, anywhere] {
                let found = Self.scan("x\n" + line + "\n", engine)
                #expect(found.contains { $0.ruleID.hasPrefix("generic-") && Self.value("x\n" + line + "\n", $0) == v }, "\(line): \(found.map(\.ruleID))")
            }
        }
        // Mid-line after any field boundary: in streams that are redacted only.
        for line in ["2024-05-01T10:00:00Z INFO connect db password=\(v)", "Server=db;User Id=app;Password=\(v);"] {
            #expect(Self.scan(line + "\n", anywhere).contains { $0.ruleID == "generic-password" }, "\(line)")
            #expect(!Self.scan(line + "\n").contains { $0.ruleID == "generic-password" }, "\(line)")
        }
        // Code is still no assignment list.
        for code in ["if (x) password=\(v)", "f(a < b) token=\(v)", "x == y password=\(v)"] {
            #expect(!Self.scan(code + "\n").contains { $0.ruleID.hasPrefix("generic-") }, "\(code)")
        }
    }

    /// A named match inside a wider generic one won, and redaction covered only it: the 40-character
    /// half after `AKIA…:` was printed (found by helper-132). Redaction covers both values.
    @Test func redactionCoversEveryOverlappingMatch() throws {
        let secret = "Kd8sPq2Lm7Vx9Rt4Wz1Nc6Bh3Fj5Gy0Ta2Qe8Uo"
        let text = "AWS_CREDENTIALS=AKIAQ3EGRT5YXB7WKZ4N:\(secret)\nSTRIPE_SECRET=sk_live_4eC39HqLyjWDarjtT1zdp7dc9XyZ|\(secret.prefix(25))\n"
        let input = Array(text.utf8)
        var offset = 0, out: [UInt8] = []
        StreamRedactor(engine: Self.engine).run(read: { (buf: inout [UInt8], max: Int) -> Int in
            let k = min(max, input.count - offset)
            buf += input[offset..<(offset + k)]; offset += k
            return k
        }, write: { out += $0 })
        let result = String(decoding: out, as: UTF8.self)
        #expect(!result.contains(secret.prefix(12)), "\(result)")
        #expect(result == "AWS_CREDENTIALS=[REDACTED:aws-access-key-id]\nSTRIPE_SECRET=[REDACTED:stripe-live-secret-key]\n", "\(result)")
        // The finding is still the named one, with its own value.
        let found = Self.scan(text)
        #expect(found.first?.ruleID == "aws-access-key-id" && found.first?.covering != nil, "\(found)")
    }

    /// The named match that won covers the generic value before it; when a round of the stream ended
    /// between the two values' starts, the generic part passed in clear (found by helper-133).
    @Test func redactionCoversAnOverlapAcrossTheRoundsEdge() throws {
        let line = "api_key=Qm7vR2xLp9Tz4Wk8-AKIANDIBHUAPMDGOH542\n"
        let chunk = 4096
        for d in [1, 5, 10, 20] {
            // The value (after `api_key=`) starts d bytes before the first round's end.
            let before = chunk - d - 8
            var text = String(repeating: String(repeating: "w", count: 63) + "\n", count: before / 64)
            text += String(repeating: "w", count: before % 64)
            text = String(text.dropLast()) + "\n"
            text += line + String(repeating: String(repeating: "z", count: 63) + "\n", count: 4 * Self.engine.overlap / 64)
            let input = Array(text.utf8)
            var offset = 0, out: [UInt8] = []
            StreamRedactor(engine: Self.engine, chunkSize: chunk).run(read: { (buf: inout [UInt8], max: Int) -> Int in
                let k = min(max, 700, input.count - offset)
                buf += input[offset..<(offset + k)]; offset += k
                return k
            }, write: { out += $0 })
            let result = String(decoding: out, as: UTF8.self)
            #expect(!result.contains("Qm7v") && !result.contains("AKIAND"), "d=\(d): \(result.split(separator: "\n").first { $0.contains("api_key") } ?? "")")
            #expect(result.filter { $0 == "\n" }.count == text.filter { $0 == "\n" }.count)
        }
    }

    /// A chain of overlapping matches across a round's edge: a token, the Bearer value it widens
    /// over, a generic password starting inside that, and a second token inside the password. The
    /// password started in the first round's redacted part, so no round took it, and the second
    /// token passed whole (found by helper-156).
    @Test func aChainOfOverlappingMatchesAcrossTheRoundsEdgeIsRedacted() throws {
        let line = "Authorization: Bearer ghp_Xk9mQ2vL7pR4tY8wB3nC6dF1hJ5zA0sE2gUi.db_pwd=S3cr3tV4lu3Xy:ghp_Pq7Rt2Wx9Zb4Nc6Md8Lf1Kg3Jh5Hs0Vy2Ea4\n"
        let chunk = 4 << 20
        // As `secrets redact` builds it.
        let engine = try SecretEngine.standard(minimumConfidence: .high, assignmentsAnywhere: true)
        let lead = Array(line.utf8).firstIndex(of: UInt8(ascii: "g"))!   // where the first token starts in the line
        let filler = "INFO request handled ok id=12345 path=/api/v1/items status=200\n"
        for d in [6, 14, 30] {
            // The first token starts d bytes before the first round's end.
            let before = chunk - d - lead
            var text = String(repeating: filler, count: before / filler.utf8.count + 1)
            text = String(decoding: Array(text.utf8).prefix(before - 1), as: UTF8.self) + "\n"
            text += line + "after line\n" + String(repeating: "trailing filler line 0123456789\n", count: 2000)
            let input = Array(text.utf8)
            var offset = 0, out: [UInt8] = []
            StreamRedactor(engine: engine, chunkSize: chunk).run(read: { (buf: inout [UInt8], max: Int) -> Int in
                let k = min(max, 1 << 16, input.count - offset)
                buf += input[offset..<(offset + k)]; offset += k
                return k
            }, write: { out += $0 })
            let result = String(decoding: out, as: UTF8.self)
            let shown = result.split(separator: "\n").first { $0.contains("Authorization") } ?? ""
            #expect(!result.contains("Xk9mQ2vL7pR4") && !result.contains("Pq7Rt2Wx9Zb4") && !result.contains("S3cr3tV4"), "d=\(d): \(shown)")
            #expect(result.filter { $0 == "\n" }.count == text.filter { $0 == "\n" }.count)
        }
    }

    /// The baseline digest of a weak value is PBKDF2-HMAC-SHA256 as RFC 8018 defines it (values from
    /// Python's hashlib), so baselines stay readable whichever implementation computes it.
    /// A stream read as text from its head may carry UTF-16 after it (a shell's `OK`, a pause, then
    /// PowerShell's output; or a log's text, then a UTF-16 dump): the token in it passed `secrets
    /// redact` whole (found by helper-156). Runs of UTF-16 code units are scanned as the text they encode.
    @Test func utf16AfterATextHeadIsRedacted() throws {
        let token = "ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"
        func utf16(_ s: String, little: Bool) -> [UInt8] { Array(s.utf16).flatMap { little ? [UInt8($0 & 0xFF), UInt8($0 >> 8)] : [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
        func holds(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.count >= b.count && (0...(a.count - b.count)).contains { a[$0..<($0 + b.count)].elementsEqual(b) } }
        let engine = try SecretEngine.standard(minimumConfidence: .high, assignmentsAnywhere: true)
        let longHead = Array(String(repeating: "INFO request ok\n", count: 40).utf8)
        for (head, little, pause) in [(longHead, true, false), (longHead, false, false), (Array("OK\r\n".utf8), true, true)] {
            let body = utf16("PS> Get-Secret\r\ntoken: \(token)\r\nPS> exit\r\n", little: little)
            let input = head + body + Array("\ndone\n".utf8)
            var offset = 0, out: [UInt8] = [], paused = false
            StreamRedactor(engine: engine).runDetecting(read: { (buf: inout [UInt8], max: Int) -> Int in
                if pause, offset == head.count, !paused { paused = true; return -1 }
                let k = min(max, pause && offset < head.count ? head.count - offset : 700, input.count - offset)
                buf += input[offset..<(offset + k)]; offset += k
                return k
            }, write: { out += $0 })
            let what = "little \(little), pause \(pause)"
            #expect(!holds(out, utf16(String(token.dropFirst(4)), little: little)), "\(what): the token passed")
            #expect(holds(out, utf16("[REDACTED:github-personal-access-token]", little: little)), "\(what): no mark in the stream's order")
            #expect(out.starts(with: head) && holds(out, utf16("PS> exit\r\n", little: little)) && holds(out, Array("\ndone\n".utf8)), "\(what): the rest is kept")
        }
        // Text without UTF-16 in it comes out as before.
        let plain = Array("user=bob token \(token) ok\n".utf8)
        var at = 0, out: [UInt8] = []
        StreamRedactor(engine: engine).runDetecting(read: { (buf: inout [UInt8], max: Int) -> Int in
            let k = min(max, plain.count - at); buf += plain[at..<(at + k)]; at += k; return k
        }, write: { out += $0 })
        #expect(String(decoding: out, as: UTF8.self) == "user=bob token [REDACTED:github-personal-access-token] ok\n")
    }

    /// Found by helper-184: after a terminal colour code, rules whose match starts before their
    /// prefix (EasyPost's `EZAK`), rules that want their value straight after `=` or `":"` (AWS
    /// secret keys), and a coloured name (`ESC[32mDB_PASSWORD ESC[0m=`) missed the value. The text is
    /// read without its codes too, and what that finds is placed where it stood.
    @Test func valuesAmongColourCodesAreFoundWhereTheyStand() throws {
        let engine = try SecretEngine.standard()
        let e = "\u{1B}"
        let cases: [(coloured: String, value: String)] = [
            ("\(e)[32mDB_PASSWORD\(e)[0m=Kq8zR2pLm5Xw9Tv3\n", "Kq8zR2pLm5Xw9Tv3"),
            ("EASYPOST key \(e)[1mEZAK1234abcd5678efgh9012ijkl3456mnop7890qrst1234uvwx5678yz\(e)[0m\n", "EZAK1234abcd5678efgh9012ijkl3456mnop7890qrst1234uvwx5678yz"),
            ("foo.backup.archive.aws.secretkey=\(e)[31msBmHlDFrNcsz35N+LRjwlUxF8/wypT4tiJCQ0wP4\(e)[0m\n", "sBmHlDFrNcsz35N+LRjwlUxF8/wypT4tiJCQ0wP4"),
            (#""awsSecretKey":"\e[2m3lyTWqHMt5UySny2drdPYheRTEzrNux8Cn5JWFHL\e[0m""# + "\n", "3lyTWqHMt5UySny2drdPYheRTEzrNux8Cn5JWFHL"),
            (#"{"log":"token=\u001b[33mghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\u001b[0m"}"# + "\n", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
        ]
        for (coloured, value) in cases {
            let plainText = Array(Self.withoutColour(coloured).utf8), text = Array(coloured.utf8)
            let expected = plainText.withUnsafeBytes { engine.scan($0) }.first { Array(plainText[$0.value]) == Array(value.utf8) }
            let rule = try #require(expected?.ruleID, "the case's value is found without colour: \(coloured)")
            let found = text.withUnsafeBytes { engine.scan($0) }
            let m = found.first { $0.ruleID == rule }
            #expect(m.map { Array(text[$0.value]) } == Array(value.utf8), "\(rule) in \(coloured.debugDescription): \(found.map(\.ruleID))")
        }
        // Text without a code is read once, as it was.
        let plain = Array("DB_PASSWORD=Kq8zR2pLm5Xw9Tv3 \\d \\e[ \\x1b".utf8)
        #expect(plain.withUnsafeBytes { ColourlessText($0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count) } == nil)
        // And a view maps back across the codes it dropped.
        let text = Array("a\(e)[1mbc\\e[0md".utf8)
        let view = try #require(text.withUnsafeBytes { ColourlessText($0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count) })
        #expect(view.bytes == Array("abcd".utf8))
        #expect(view.original(1..<3) == 5..<7 && view.original(0..<4) == 0..<13 && view.original(2..<4) == 6..<13)
    }

    /// Found by helper-183 #9: JSON's escapes changed a secret's characters, and scan and redact read
    /// only the text as written, as the proxy did not: a Slack webhook from PHP's `json_encode`
    /// (`https:\/\/hooks…`) and a Gson `\u003d` before a password passed. The escapes are decoded
    /// in a view, and what it finds is placed over the escapes it stood at.
    @Test func valuesBehindJSONEscapesAreFoundOverTheEscapes() throws {
        let engine = try SecretEngine.standard(minimumConfidence: .high, assignmentsAnywhere: true)
        let hook = #"https:\/\/hooks.slack.com\/services\/T0ABCDEFG\/B0ABCDEFG\/abcdefghijklmnopqrstuvwx"#
        let cases: [(text: String, value: String, decoded: String?)] = [
            (#"{"url":""# + hook + #""}"#, hook, hook.replacingOccurrences(of: "\\/", with: "/")),
            (#"{"msg":"env DB_PASSWORD\u003dXq9vT2mLp8Rz4Kw7Jh ok"}"#, "Xq9vT2mLp8Rz4Kw7Jh", "Xq9vT2mLp8Rz4Kw7Jh"),
            // A string that is the assignment, as Gson writes a command, a compose list or an exec
            // array holds it, and one that goes on (helper-188).
            (#"{"cmd":"DB_PASSWORD\u003dXq9vT2mLp8Rz4Kw7Jh"}"#, "Xq9vT2mLp8Rz4Kw7Jh", "Xq9vT2mLp8Rz4Kw7Jh"),
            (#"{"k":"DB_PASSWORD\u003dXq9vT2mLp8Rz4Kw7Jh ok"}"#, "Xq9vT2mLp8Rz4Kw7Jh", "Xq9vT2mLp8Rz4Kw7Jh"),
            ("environment:\n  - \"DB_PASSWORD=Xq9vT2mLp8Rz4Kw7Jh\"\n", "Xq9vT2mLp8Rz4Kw7Jh", "Xq9vT2mLp8Rz4Kw7Jh"),
            (#"CMD ["env", "API_TOKEN=f3Kq8ZpT1xW7nB4mR9sD2vL6"]"#, "f3Kq8ZpT1xW7nB4mR9sD2vL6", "f3Kq8ZpT1xW7nB4mR9sD2vL6"),
            // An escape far from the value: read in a window around the escape, the value as written.
            (#"{"a":"x\/y"}"# + String(repeating: " ", count: 20_000) + #"{"msg":"env DB_PASSWORD=Xq9vT2mLp8Rz4Kw7Jh ok"}"#, "Xq9vT2mLp8Rz4Kw7Jh", "Xq9vT2mLp8Rz4Kw7Jh"),
            // (The value as written is taken too; which of the two is kept, the escape is covered.)
            (#"{"msg":"env DB_PASSWORD=Xq9vT2mLp8Rz4Kw7J\u0068 ok"}"#, #"Xq9vT2mLp8Rz4Kw7J\u0068"#, nil),
        ]
        for (text, value, decoded) in cases {
            let bytes = Array(text.utf8)
            let found = bytes.withUnsafeBytes { engine.scan($0) }
            let m = try #require(found.first, "\(text): nothing found")
            #expect(Array(bytes[m.value]) == Array(value.utf8), "\(text): \(String(decoding: bytes[m.value], as: UTF8.self))")
            if let decoded { #expect((m.decodedValue ?? Array(bytes[m.value])) == Array(decoded.utf8), "\(text)") }
        }
        // `\\/` is a backslash and a slash, `\u005c` and control characters stay escaped, and text
        // without an escape is read once.
        func view(_ s: String) -> String? {
            Array(s.utf8).withUnsafeBytes { raw in UnescapedText(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), raw.count).map { String(decoding: $0.bytes, as: UTF8.self) } }
        }
        #expect(view(#"a\\/b \u005c \u001b[0m \n"#) == nil)
        #expect(view(#"x\\\/y \u00e4\u0041"#) == #"x\\/y äA"#)
        let text = Array(#"ab\/c\u0041d"#.utf8)
        let v = try #require(text.withUnsafeBytes { UnescapedText($0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count) })
        #expect(v.bytes == Array("ab/cAd".utf8))
        text.withUnsafeBytes { raw in
            let b = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            #expect(v.original(0..<3, in: b, raw.count) == 0..<4 && v.original(3..<5, in: b, raw.count) == 4..<11 && v.original(5..<6, in: b, raw.count) == 11..<12)
        }
    }

    /// Found by helper-184: a value with two or more `/` was always taken for a path, and base64 secrets
    /// (an AWS-style secret key under a password's name) passed. Paths, URLs and file names still do not count.
    @Test func base64WithSlashesIsNoPath() {
        let secrets = [#"password: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vT2mLp""#, #"secret_key = "Xq9vT2mLp8/Rz4Kw7J/hAb3Cd5Ef""#,
                       // Random segments that change case seldom (helper-189).
                       "DB_PASSWORD=XA43PMQdv8i+ewQOkuN2N/Bnrrpzm2lsrMQa91/l", "SECRET_KEY=1jPo7Bca/hXKJi0vCY4YB/LHEChg5b6jEXm/mKqj",
                       #"client_secret: "UWrVME3Y917YgW19Pzsj3u8w1i6bMR/uNpk/UQFh""#]
        for t in secrets { #expect(Self.scan(t).contains { $0.ruleID.hasPrefix("generic-") }, "\(t)") }
        let paths = [#"password: "src/Main2/App.swift""#, #"token = "config/secrets/prod-01.yaml""#, #"api_key = "/usr/local/Bin9x/tool""#,
                     #"secret = "./keys/Prod2Key/current""#, #"password = "~/x/Ab3Cd5Ef/y""#, #"secret = "vault:kv/Data9Prod/app""#,
                     // Names in AWS Secrets Manager, S3 keys, Vault paths and git refs (helper-188).
                     "SECRET=prod/PaymentService2/Database", "DB_SECRET=staging/Billing2Svc/rds", #"aws_secret = "prod/MyApp2/DbCreds""#,
                     #"secret_key = "uploads/UserAvatars2/original""#, #"password: "kv/Team42/Service""#, #"token = "refs/heads/Feature2Branch""#,
                     // With a `+`, or numbers in two places (helper-190).
                     "UPLOAD_KEY=uploads/2024/05/Quarterly+Report+Q1", "CACHE_TOKEN=builds/gcc12+clang17/linux", "VAULT_SECRET=kv/data/Team1/Postgres14Replica2",
                     "DB_PASSWORD=ops/rds/Mysql8Primary1", "BACKUP_SECRET=backups/2024-05-01/Snapshot01of12"]
        for t in paths { #expect(Self.scan(t).isEmpty, "\(t)") }
    }

    /// A log with a token, a colour code and an escaped slash on every line is read whole: one budget
    /// for the text and its views made it "not fully checked" at 450 KB (helper-189).
    @Test func viewsOfEveryLineAreReadWithinTheBudget() {
        let engine = try! SecretEngine.standard(minimumConfidence: .high, assignmentsAnywhere: true)
        var seed: UInt64 = 7
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 33 }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        func b64(_ n: Int) -> String { String(decoding: (0..<n).map { _ in alphabet[Int(next() % 64)] }, as: UTF8.self) }
        var text = ""
        for i in 1..<2000 {
            let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI" + b64(30) + "." + b64(43)
            text += "\u{1B}[90m2024-05-01T12:00:\(i % 60)\u{1B}[0m {\"path\":\"\\/api\\/v1\\/users\\/\(i)\",\"status\":200,\"auth\":\"Bearer \(jwt)\"}\n"
        }
        var complete = true
        let found = Array(text.utf8).withUnsafeBytes { engine.scan($0, complete: &complete) }
        #expect(complete, "not every candidate was checked")
        #expect(found.count >= 1999, "\(found.count)")
    }

    /// A value in a YAML block scalar (`password: |` then the value on the next, deeper line) was no
    /// value at all (helper-183 #9). Its first line is the value; a line no deeper, a placeholder, or
    /// a block under a name that names no secret stays clean.
    @Test func yamlBlockScalarsHoldTheirValue() {
        for t in ["db:\n  password: |\n    Xq9vT2mLp8Rz4Kw7Jh\n", "- name: x\n  password: >-\n      Xq9vT2mLp8Rz4Kw7Jh  \r\n", "api_token: |2\n  f3Kq8ZpT1xW7nB4mR9sD2vL6\n"] {
            let m = Self.scan(t)
            #expect(m.contains { $0.ruleID.hasPrefix("generic-") && ["Xq9vT2mLp8Rz4Kw7Jh", "f3Kq8ZpT1xW7nB4mR9sD2vL6"].contains(Self.value(t, $0)) }, "\(t.debugDescription): \(m.map(\.ruleID))")
        }
        // A value that starts with `|` or `>` on the key's line is a value still (helper-190).
        #expect(Self.scan("db_password: |Xk9mP2vLq8w\napi_token: >Zq7Lm2Np9Xw4Rt8Vb3Kc\n").count == 2)
        for t in ["password: |\nXq9vT2mLp8Rz4Kw7Jh\n", "password: |\n  ${DB_PASSWORD}\n", "description: |\n  Xq9vT2mLp8Rz4Kw7Jh\n", "password: |\n\n"] {
            #expect(Self.scan(t).isEmpty, "\(t.debugDescription)")
        }
    }

    static func withoutColour(_ s: String) -> String {
        s.replacing(#/(\u{1B}|\\e|\\u001b|\\x1b|\\033)\[[0-9;]*[@-~]/#, with: "")
    }

    /// Found by helper-183: a stream that starts as UTF-16 and goes on in UTF-8 (a PowerShell log a
    /// UTF-8 program then wrote to) was decoded as UTF-16 whole, and the token in its UTF-8 came out
    /// as it went in. Redaction is now in place: the UTF-8 is text, and ASCII in UTF-16 is read as the
    /// text it encodes, its mark written in UTF-16 in the same byte order.
    @Test func utf16ThenUTF8IsRedactedBothWays() throws {
        let engine = try SecretEngine.standard(minimumConfidence: .high, assignmentsAnywhere: true)
        let mark = "[REDACTED:github-personal-access-token]"
        for little in [true, false] {
            for bom in [true, false] {
                let order: [UInt8] = !bom ? [] : little ? [0xFF, 0xFE] : [0xFE, 0xFF]
                let input = order + Self.utf16("PS> Get-Secret\r\ntoken: \(Self.token(1))\r\n", little: little)
                    + Array("then in UTF-8: token \(Self.token(2)) ok\n".utf8)
                let expected = order + Self.utf16("PS> Get-Secret\r\ntoken: \(mark)\r\n", little: little) + Array("then in UTF-8: token \(mark)  ok\n".utf8)
                // The mark in UTF-8 has a space after it, to keep the stream's parity (helper-185).
                let out = Self.redact(input, engine, reads: [700])
                #expect(out == expected, "little \(little), mark \(bom): \(String(decoding: out.filter { $0 != 0 }, as: UTF8.self))")
            }
        }
    }

    /// Found by helper-185: redacting UTF-16 in place read only runs of ASCII, so a value next to a
    /// character of another script or a colour code passed where decoding had replaced it; and a mark
    /// in UTF-8 between two UTF-16 parts shifted the second by a byte. Stretches now read through other
    /// scripts (`UTF16Runs`), and a mark in bytes keeps the stream's parity.
    @Test func utf16BesideOtherScriptsAndCodesIsRedacted() throws {
        let engine = try SecretEngine.standard(minimumConfidence: .high, assignmentsAnywhere: true)
        let token = Self.token(7)
        let e = "\u{1B}"
        let lines = [
            "token=\(e)[33m\(token)\(e)[0m\r\n",
            "password=P\u{E4}sswort_Geheim_2024x\r\n",
            "password=\u{201C}S3cr3tP4ssw0rdXyz\u{201D}\r\n",
            "secret=Zq8vLp3x\u{20AC}W9tRk2Nm\r\n",
            "\u{5BC6}\u{7801}\u{FF1A}\(token)\r\n",
            // More than eight characters of another script in a row (helper-186).
            "password = \"\u{41F}\u{430}\u{440}\u{43E}\u{43B}\u{44C}-\u{441}\u{443}\u{43F}\u{435}\u{440}\u{441}\u{435}\u{43A}\u{440}\u{435}\u{442}-2024\"\r\n",
        ]
        let secrets = [String(token.dropFirst(4)), "sswort_Geheim", "S3cr3tP4ssw0rd", "Zq8vLp3x", String(token.dropFirst(4)), "\u{441}\u{443}\u{43F}\u{435}\u{440}"]
        for (line, secret) in zip(lines, secrets) {
            for little in [true, false] {
                let out = Self.redact(Self.utf16(line, little: little), engine, reads: [4096])
                let text = String(decoding: UTF16Text.decode(out, little ? .little : .big), as: UTF8.self)
                #expect(!text.contains(secret) && text.contains("[REDACTED:") && out.count % 2 == 0, "little \(little): \(text.debugDescription)")
            }
        }
        // Parts of either order with a short odd piece between them (UTF-8, or one stray byte): the
        // token at the start of the second part was read with the piece's last byte glued to it.
        for (first, piece, little) in [(Self.utf16("PS> dir\r\n", little: false), Array(" \n ok \n".utf8), true),
                                       (Self.utf16("PS> dir\r\n", little: true), Array(" \n ok \n".utf8), false),
                                       (Self.utf16("lorem ipsum ", little: false), [UInt8(1)], true),
                                       (Self.utf16("lorem ipsum ", little: true), [UInt8(1)], false)] {
            let out = Self.redact(first + piece + Self.utf16("\(token) ok\r\n", little: little), engine, reads: [4096])
            #expect(!out.filter { $0 != 0 }.starts(with: Array(token.utf8)) && !String(decoding: out.filter { $0 != 0 }, as: UTF8.self).contains(String(token.dropFirst(4))),
                    "little \(little), piece \(piece): \(out)")
        }
        // UTF-16, a UTF-8 line with a token, UTF-16 again: the last part keeps its code units.
        let input = Self.utf16("PS> one\r\n", little: true) + Array("tok \(token) \n".utf8) + Self.utf16("PS> three after\r\n", little: true)
        let out = Self.redact(input, engine, reads: [4096])
        #expect(out.count % 2 == 0 && out.suffix(34) == Self.utf16("PS> three after\r\n", little: true)[...], "\(out)")
        #expect(!String(decoding: out, as: UTF8.self).contains(String(token.dropFirst(4))))
    }

    /// UTF-16 redacted in place stays in its code units wherever a round or a pause cuts it: a long
    /// stream after an odd-length text head (so its code units start at odd offsets), read in pieces
    /// of many sizes with pauses between some, comes out as the input with each token's characters
    /// replaced by the mark's, byte for byte. Marks over whole code units, placed from where a round's
    /// buffer started, shifted the rest of the stream by a byte when a round began a byte into a unit.
    @Test func utf16RedactedInPlaceKeepsItsCodeUnitsAcrossRounds() throws {
        let engine = try SecretEngine.standard(minimumConfidence: .high, assignmentsAnywhere: true)
        let mark = "[REDACTED:github-personal-access-token]"
        for little in [true, false] {
            for pauses in [false, true] {
                var text = "", redacted = ""
                for k in 0..<300 {
                    let line = "line \(k) " + String(repeating: "x", count: k % 37) + " id "
                    text += line + Self.token(k) + " end\r\n"
                    redacted += line + mark + " end\r\n"
                }
                let head = Array("ok\n".utf8)
                let input = head + Self.utf16(text, little: little), expected = head + Self.utf16(redacted, little: little)
                let out = Self.redact(input, engine, reads: [1, 7, 700, 4093, 13, 2048], pauseEvery: pauses ? 3 : nil)
                #expect(out == expected, "little \(little), pauses \(pauses): \(out.count) bytes out of \(expected.count) expected")
            }
        }
        // A mark that starts or ends on a code unit's zero keeps the zero there.
        let inner = ChunkedScan.interleaved(Array("[REDACTED:r]".utf8))
        #expect(inner.count == 23 && inner[1] == 0 && inner.last == UInt8(ascii: "]"))
        #expect(StreamRedactor.wideMark("r", from: 10, to: 15, lowBytes: 0) == inner)
        #expect(StreamRedactor.wideMark("r", from: 9, to: 15, lowBytes: 0) == [0] + inner)
        #expect(StreamRedactor.wideMark("r", from: 10, to: 16, lowBytes: 0) == inner + [0])
        #expect(StreamRedactor.wideMark("r", from: 11, to: 16, lowBytes: 1) == inner)
    }

    static func utf16(_ s: String, little: Bool) -> [UInt8] {
        Array(s.utf16).flatMap { little ? [UInt8($0 & 0xFF), UInt8($0 >> 8)] : [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// A GitHub token of its real shape, different for each `k`.
    static func token(_ k: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var state = UInt64(k) &* 6364136223846793005 &+ 1442695040888963407
        return "ghp_" + String((0..<36).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return alphabet[Int(state >> 33) % alphabet.count]
        })
    }

    /// `secrets redact` over `input` read in pieces of the sizes in `reads`, in turn, with the source
    /// idle (a live stream's pause) before every `pauseEvery`th read.
    static func redact(_ input: [UInt8], _ engine: SecretEngine, reads: [Int], pauseEvery: Int? = nil) -> [UInt8] {
        var offset = 0, n = 0, out: [UInt8] = [], paused = false
        StreamRedactor(engine: engine, chunkSize: 4096).runDetecting(read: { (buf: inout [UInt8], max: Int) -> Int in
            if let p = pauseEvery, n % p == p - 1, !paused, offset < input.count { paused = true; return -1 }
            paused = false
            let k = min(max, reads[n % reads.count], input.count - offset)
            n += 1
            buf += input[offset..<(offset + k)]; offset += k
            return k
        }, write: { out += $0 })
        return out
    }

    /// A match a round takes from the last round's part starts before what the line count has
    /// reached; it was given the line the count had got to (found by review).
    @Test func aPlaceBeforeTheCountHasItsOwnLineAndColumn() {
        let text = Array("ab\ncd\nefg\nhi".utf8)
        text.withUnsafeBytes { buffer in
            do {
                let base = 0
                var lines = LineCounter()
                lines.advance(buffer, base: base, to: 9)   // into "efg", line 3
                #expect(lines.position(of: 7, in: buffer, base: base) == (3, 2))
                #expect(lines.position(of: 4, in: buffer, base: base) == (2, 2))
                #expect(lines.position(of: 1, in: buffer, base: base) == (1, 2))
                #expect(lines.position(of: 3, in: buffer, base: base) == (2, 1))
                lines.advance(buffer, base: base, to: 12)
                #expect(lines.position(of: 11, in: buffer, base: base) == (4, 2))
                #expect(lines.position(of: 5, in: buffer, base: base) == (2, 3))
            }
        }
    }

    /// A weak value escaped or encoded was judged by its encoded bytes, which are long and varied,
    /// and shown with a plain SHA-256 a wordlist reverses (found by helper-156).
    @Test func aWeakValueIsWeakInAnyEncoding() {
        let weak = "Summer2024!"
        let forms = [
            weak.unicodeScalars.map { "\\u" + String(repeating: "0", count: 4 - String($0.value, radix: 16).count) + String($0.value, radix: 16) }.joined(),
            weak.utf8.map { "\\x" + Hex.encode([$0]) }.joined(),
            weak.utf8.map { "%" + Hex.encode([$0]).uppercased() }.joined(),
            Data("deploy-bot@example.com:\(weak)".utf8).base64EncodedString(),
            Hex.encode(Array("deploy-bot:\(weak)".utf8)),
            // Two layers, and the escapes of other languages (review).
            weak.utf8.map { "%25" + Hex.encode([$0]).uppercased() }.joined(),
            weak.unicodeScalars.map { "\\U000000" + Hex.encode([UInt8($0.value)]) }.joined(),
            weak.unicodeScalars.map { "&#\($0.value);" }.joined(),
            weak.unicodeScalars.map { "&#x" + Hex.encode([UInt8($0.value)]) + ";" }.joined(),
            Data(Data("deploy-bot:\(weak)".utf8).base64EncodedString().utf8).base64EncodedString(),
        ]
        #expect(forms.filter { MaskedSecret.isStrong(Array($0.utf8)) }.count >= 3, "most encoded forms alone look strong")
        for f in forms {
            let m = MaskedSecret(Array(f.utf8))
            #expect(m.valueDigest == nil && m.prefix.isEmpty, "\(f): \(m)")
        }
        // Strong values stay strong: tokens, random base64 and hex (binary when decoded), and the
        // base64 of a strong password.
        var rng = SplitMix(state: 7)
        let randomBytes = (0..<30).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let strong = ["ghp_R8x2Kq9ZpL4mT7vW1nB5cY3hJ6dF0sA2gE8k", "xoxb-2048123456-1234567890123-Qz8xK2mN7pR4tV1wY6bC3dF9",
                      Data(randomBytes).base64EncodedString(), Hex.encode(randomBytes),
                      Data("user:Qm7vR2xLp9Tz4Wk8Yb3Nc6Df1Hj5Ks0Le".utf8).base64EncodedString()]
        for t in strong { #expect(MaskedSecret(Array(t.utf8)).valueDigest != nil, "\(t)") }
    }

    @Test func theBaselineDigestIsStandardPBKDF2() {
        #expect(MaskedSecret.pbkdf2(Array("passwd".utf8), salt: Array("salt".utf8), rounds: 1).map { Hex.encode($0) }
                == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
        #expect(MaskedSecret(Array("Summer2024!x".utf8), baselineSalt: Array(0..<16)).baselineDigest
                == "11a1dd773b3904ded234088f4b6de0c6578292ea627373628cc1a60f37f407af")
    }

    @Test func awsSecretIsPairedWithItsKeyIDNearby() throws {
        let text = """
        [default]
        aws_access_key_id = AKIAZ4X7Q2MN5PLR3KW6
        aws_secret_access_key = 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
        """
        let found = Self.scan(text)
        let secret = try #require(found.first { Self.value(text, $0) == "wJ8rXUtnF3MI/K7QDENG+bPxRfiCYz2kLm9Tq4Vs" })
        #expect(secret.pairedWith == "aws-access-key-id")
        #expect(secret.confidence == .high)
    }
}

@Suite struct RulePatternTests {
    @Test func matchesStartingWithAKeywordAreTriedOnlyAtItsHits() {
        #expect(RulePattern(#"\b(ghp_[A-Za-z0-9]{36})\b"#, keywords: ["ghp_"]).anchoredKeywords == ["ghp_"])
        let provider = RulePattern(#"(?i)(?:\b|_)(?:box|box\.com)[\w.-]{0,30}?key\s*=\s*([A-Za-z0-9]{32})"#, keywords: ["box", "box.com"])
        #expect(provider.anchoredKeywords == ["box", "box.com"] && provider.startsOneBefore)
        let boundary = RulePattern(#"(?:^|[^A-Za-z0-9+/_-])(EAA[A-Za-z0-9]{30,300})"#, keywords: ["eaa"])
        #expect(boundary.anchoredKeywords == ["eaa"] && boundary.startsOneBefore)
        // A match may start with text that is no keyword: such rules keep their windows.
        #expect(RulePattern(#"(?i)(?:aws[\w.-]{0,20}?secret|secret_?-?access_?-?key)=(\w{40})"#, keywords: ["secret"]).anchoredKeywords.isEmpty)
        #expect(RulePattern(#"(?i)(?:discord|bot|token)[\w.-]{0,25}=([MNO]\w{23})"#, keywords: ["discord", "token", "bot_token"]).anchoredKeywords.isEmpty)
        #expect(RulePattern(#"ab|ghp_\w+"#, keywords: ["ghp_"]).anchoredKeywords.isEmpty)
        #expect(RulePattern(#"[A-Z]{4}ghp_"#, keywords: ["ghp_"]).anchoredKeywords.isEmpty)
    }

    @Test func aStartOfTextAnchorDoesNotMatchInsideABase64Run() throws {
        let rule = Rule(id: "meta", title: "t", severity: .high, keywords: ["eaa"], pattern: #"(?:^|[^A-Za-z0-9+/_-])(EAA[A-Za-z0-9]{30,300})(?![A-Za-z0-9+/=_-])"#)
        let engine = try SecretEngine(rules: [rule], generic: false)
        let token = "EAAB" + String(repeating: "x7Kq9", count: 8)
        let inside = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg" + token + "AAAAElFTkSuQmCC"
        #expect(Array(inside.utf8).withUnsafeBytes { engine.scan($0) }.isEmpty)
        for text in [token, "t=" + token, String(repeating: "-", count: 300) + " " + token] {
            #expect(Array(text.utf8).withUnsafeBytes { engine.scan($0) }.count == 1, "\(text.prefix(20))")
        }
    }
}

import Catalog

@Suite struct DirectoryOpenTests {
    /// The fast open (one openat in a held directory) must not follow a link that replaced a file
    /// after the walk: the link is resolved inside the root, where /etc/passwd does not exist.
    @Test func aFileSwappedForALinkOutsideTheRootIsNotRead() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rooted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "ok\n".write(to: root.appendingPathComponent("sub/plain.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("sub/link.txt").path, withDestinationPath: "/etc/passwd")
        let dir = RootedDirectory(root: root.path)
        let fd = try dir.openDirectory("sub")
        defer { close(fd) }
        let plain = try dir.open("plain.txt", in: fd, fullPath: "sub/plain.txt")
        close(plain)
        #expect(throws: FileAccessError.self) { try dir.open("link.txt", in: fd, fullPath: "sub/link.txt") }
        #expect(throws: FileAccessError.self) { try dir.openDirectory("../..") }
    }
}

@Suite struct RuleGuardTests {
    @Test func theClassAfterALiteralRejectsHitsCheaply() {
        func may(_ r: RulePattern, _ s: String) -> Bool { Array(s.utf8).withUnsafeBufferPointer { r.mayMatch($0.baseAddress!, $0.count, at: 0) } }
        let p = RulePattern(#"(?:^|[^A-Za-z0-9+/_-])(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b"#, keywords: ["pat"])
        #expect(p.startsOneBefore && !may(p, "path = os.path.join(a, b)      ") && may(p, "patAbCdEfGhIjKlMn.0123"))
        let q = RulePattern(#"\b(ion_[A-Za-z0-9]{42})\b"#, keywords: ["ion_"])
        #expect(may(q, "ion_" + String(repeating: "a", count: 42)))
        #expect(!may(q, "ion_name = 1" + String(repeating: " ", count: 40)))
        #expect(!may(q, "ion_abc"))
        let ci = RulePattern(#"(?i)\bglpat-[\w-]{20}"#, keywords: ["glpat-"])
        #expect(may(ci, "GLPAT-abcdefghij0123456789"))
        #expect(!may(ci, "glpat-short"))
    }
}

import TestSupport

@Suite struct PolicySecretTests {
    /// `policy check` asks the secrets engine about every literal env value, whatever its name: an Adafruit
    /// IO key (a prefix the old hand-kept list lacked) under NOTIFY_HOOK is plaintext, a build flag is not.
    @Test func aCredentialUnderAnInnocentNameIsAPlaintextSecret() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policy-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        apiVersion: v1
        kind: Pod
        metadata:
          name: agent
        spec:
          containers:
          - name: agent
            image: registry.example.com/agent@sha256:\(String(repeating: "a", count: 64))
            env:
            - name: NOTIFY_HOOK
              value: "aio_Hq4Zt8Lm2Rx7Vn3Kc9Wb5Yd1Pf6J"
            - name: BUILD_FLAVOR
              value: "release-2024-amd64"
        """.write(to: dir.appendingPathComponent("pod.yaml"), atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["policy", "check", dir.path, "--level", "baseline", "--format", "json"])
        let hits = r.out.components(separatedBy: "hygiene:plaintext-secret").count - 1
        #expect(hits == 1, "\(r.out)")
        #expect(r.out.contains("NOTIFY_HOOK") && !r.out.contains("Hq4Zt8Lm2Rx7Vn3Kc9Wb5Yd1Pf6J"))
    }

    @Test func theSpotterReportsOnlySureFindingsInIdentityFields() {
        let text = Array("pkg 1.0 token xoxb-2048123456-1234567890123-Qz8xK2mN7pR4tV1wY6bC3dF9 and password = 'Xk9#mQ2$vL7p!w'".utf8)
        let all = EngineSpotter().secretRanges(in: text, identityField: false)
        let sure = EngineSpotter().secretRanges(in: text, identityField: true)
        #expect(all.count == 2 && sure.count == 1)
        #expect(String(decoding: text[sure[0]], as: UTF8.self).hasPrefix("xoxb-"))
    }
}
