import Foundation
import ProvenantCore
import Testing
@testable import Secrets

@Suite struct KnownSecretsTests {
    static let secret = "s3cr3t-Agent/Token+42?&x"   // has characters every encoding changes
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func engine(_ values: [(String, String)] = [("token", secret)]) throws -> SecretEngine {
        let known = try KnownSecrets(values.map { .init(name: .init(source: "agent-creds", key: $0.0), bytes: Array($0.1.utf8)) })
        return try SecretEngine(rules: [], known: known, generic: false)
    }

    static func found(_ text: String, _ engine: SecretEngine) -> [String] {
        Array(text.utf8).withUnsafeBytes { engine.scan($0) }.map(\.ruleID)
    }

    @Test func aKnownValueIsFoundInEveryEncoding() throws {
        let e = try Self.engine()
        let v = Array(Self.secret.utf8)
        var texts = [
            "log: " + Self.secret + " end",
            "hex " + v.map { String(format: "%02x", $0) }.joined(),
            "HEX " + v.map { String(format: "%02X", $0) }.joined(),
            "url " + Self.secret.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"))!,
            "q=" + Self.secret.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/"))! + "&x=1",
            #"{"t":"s3cr3t-Agent\/Token+42?\u0026x"}"#,
            String(Self.secret.utf16.map { String(format: "\\u%04x", $0) }.joined()),
            // Case lost on the way, as in a host name: all lower or all upper.
            "dns " + Self.secret.lowercased() + ".evil.example",
            "TR " + Self.secret.uppercased(),
            // Encoded twice (a URL in another URL's query), every byte encoded, and HTML-escaped
            // (found by helper-115).
            "next=" + Self.secret.addingPercentEncoding(withAllowedCharacters: Self.unreserved)!.addingPercentEncoding(withAllowedCharacters: Self.unreserved)! + "&x=1",
            "q=" + v.map { String(format: "%%%02X", $0) }.joined(),
            "q=" + v.map { String(format: "%%%02x", $0) }.joined(),
            #"<input value="s3cr3t-Agent/Token+42?&amp;x">"#,
        ]
        // Base64 and URL-safe base64 inside a longer payload, at each of the three byte alignments.
        for lead in ["", "a", "ab", "abc", "abcd"] {
            let payload = Data((#"{"user":"x","pad":"\#(lead)","key":"\#(Self.secret)","n":1}"#).utf8)
            texts.append("body=" + payload.base64EncodedString())
            texts.append("body=" + payload.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"))
        }
        for t in texts { #expect(Self.found(t, e) == ["known:agent-creds/token"], "\(t)") }
        #expect(Self.found("s3cr3t-Agent/Token+41?&x and other text", e).isEmpty)
        // JavaScript's encodeURIComponent keeps !*'() as they are; Python's json.dumps escapes only non-ASCII.
        let js = try Self.engine([("token", "agent token!(v1)*x y")])
        #expect(Self.found("GET /cb?q=agent%20token!(v1)*x%20y&z=1", js) == ["known:agent-creds/token"])
        // A short value is not looked for in other case: folded, it is a word (`postgres`).
        let short = try Self.engine([("token", "Postgres")])
        #expect(Self.found("user: postgres, host: POSTGRES", short).isEmpty && Self.found("pw Postgres", short) == ["known:agent-creds/token"])
        // A short value mixing letters and digits is no word: in one case it is still found.
        let mixed = try Self.engine([("token", "k9Xq2mL7tR")])
        #expect(Self.found("dns k9xq2ml7tr.evil.example", mixed) == ["known:agent-creds/token"])
        #expect(Self.found("TR K9XQ2ML7TR", mixed) == ["known:agent-creds/token"])
        // A word and a number folded is still a word and a number (`postgres16`): not looked for.
        let wordAndNumber = try Self.engine([("token", "Postgres16"), ("other", "Welcome2024")])
        #expect(Self.found("image postgres16 and WELCOME2024", wordAndNumber).isEmpty)
        #expect(Self.found("pw Postgres16", wordAndNumber) == ["known:agent-creds/token"])
        let accented = try Self.engine([("token", "pässwörd-1234")])
        #expect(Self.found(#"{"p": "p\u00e4ssw\u00f6rd-1234"}"#, accented) == ["known:agent-creds/token"])
    }

    /// A known value's base64 form leaves out the character that holds its last bits with the next
    /// byte's (24 bytes here, at offsets 1 and 2): where the payload decodes to text, the mark takes
    /// the whole quanta that encode the value, so nothing around it decodes to any of its bytes.
    @Test func aKnownValueInABase64PayloadIsMarkedToItsLastQuantum() throws {
        let e = try Self.engine()
        for lead in 0..<3 {
            let payload = String(repeating: "#", count: lead) + "key=" + Self.secret + " and some more text"
            let encoded = Data(payload.utf8).base64EncodedString()
            let text = "d: " + encoded + "\n"
            let m = try #require(Array(text.utf8).withUnsafeBytes { e.scan($0) }.first, "\(lead)")
            let at = lead + 4, r = m.redacted.shifted(by: -3)
            // From the quantum holding the value's first byte to the one holding its last.
            #expect(r.lowerBound <= at / 3 * 4 && r.upperBound >= (at + Self.secret.utf8.count + 2) / 3 * 4, "\(lead): \(r)")
        }
    }

    /// Base64 wrapped at any width, with CRLF, indented as in a YAML block, quoted as in a reply, or
    /// joined with spaces, is joined back for known values (helper-183 #5): the match spans the breaks
    /// where they stand, and its value is the joined form, fingerprinted as the unwrapped one is.
    @Test func aKnownValueInWrappedBase64IsFoundAcrossTheBreaks() throws {
        let e = try Self.engine()
        let payload = Data(#"{"user":"x","key":"\#(Self.secret)","n":1}"#.utf8).base64EncodedString()
        func wrapped(_ width: Int, _ sep: String) -> String {
            var lines: [Substring] = []
            var rest = payload[...]
            while !rest.isEmpty { lines.append(rest.prefix(width)); rest = rest.dropFirst(width) }
            return lines.joined(separator: sep)
        }
        let plain = Array(("v: " + payload).utf8).withUnsafeBytes { e.scan($0) }
        let plainValue = try #require(plain.first.map { Array(Array(("v: " + payload).utf8)[$0.value]) })
        for (width, sep) in [(76, "\n"), (64, "\r\n"), (12, "\n"), (20, "\n      "), (24, "\n> "), (16, " "), (20, "\\n")] {
            let text = "data: |\n  " + wrapped(width, sep) + "\nend\n"
            let bytes = Array(text.utf8)
            let m = bytes.withUnsafeBytes { e.scan($0) }
            #expect(m.map(\.ruleID) == ["known:agent-creds/token"], "\(width) \(sep.debugDescription)")
            guard let hit = m.first else { continue }
            // (Unsplit, where the form falls inside one line, it is found as written.)
            #expect((hit.decodedValue ?? Array(bytes[hit.value])) == plainValue, "\(width) \(sep.debugDescription)")
            // The mark runs from the form's first character to its last, the breaks between included,
            // so masking it leaves none of the form; and out to the whole quanta at its ends, where a
            // line holding the form decodes to text (`aKnownValueInABase64PayloadIsMarkedToItsLastQuantum`).
            let spanned = String(decoding: bytes[hit.redacted], as: UTF8.self).replacingOccurrences(of: "\\n", with: "").filter { !" \n\r>".contains($0) }
            #expect(spanned.contains(String(decoding: plainValue, as: UTF8.self)) && spanned.utf8.count <= plainValue.count + 6, "\(width) \(sep.debugDescription): \(spanned)")
        }
        // Wrapped in a JSON string by PHP, whose `\/` must be decoded before the lines are joined (helper-188).
        let php = #"{"blob":""# + wrapped(20, #"\n"#).replacingOccurrences(of: "/", with: #"\/"#) + #"\n"}"#
        #expect(Self.found(php, e) == ["known:agent-creds/token"], "\(php)")
        // Where a text ends in the beginning of a base64 form: the longest such ending, from 3 characters
        // (helper-191); a value of 100 KB is taken in and looked for in one pass each.
        let b64form = Array(Data(Self.secret.utf8).base64EncodedString().utf8.dropLast(4))
        #expect(e.known?.base64FormStart(in: Array("data: ".utf8) + Array(b64form.prefix(11))) == 11)
        #expect(e.known?.base64FormStart(in: Array("data: ".utf8) + Array(b64form.prefix(3))) == 3)
        #expect(e.known?.base64FormStart(in: Array("data: ".utf8) + Array(b64form.prefix(2))) == nil)
        #expect(e.known?.base64FormStart(in: Array("data: plain words".utf8)) == nil)
        var big = [UInt8](repeating: 0, count: 100_000)
        var x: UInt64 = 99
        for i in big.indices { x = x &* 6364136223846793005 &+ 1; big[i] = UInt8(truncatingIfNeeded: x >> 40) }
        let bigKnown = try KnownSecrets([.init(name: .init(source: "ca", key: "bundle"), bytes: big)])
        let bigForm = Array(Data(big).base64EncodedString().utf8.dropLast(4))
        #expect(bigKnown.base64FormStart(in: Array(bigForm.prefix(50_000))) == 50_000)
        // Only known values are looked for joined: two words of a pattern's prefix and body are not one.
        let rules = try SecretEngine.standard()
        #expect(Array("ghp_A1b2C3d4E5f6G7h8\nI9j0K1l2M3n4O5p6Q7r8\n".utf8).withUnsafeBytes { rules.scan($0) }.allSatisfy { $0.ruleID != "github-personal-access-token" })
        // Prose split at a space is not one word; a value in the clear beside wrapped text is found once.
        #expect(Self.found("Super Secret words " + Self.secret, e) == ["known:agent-creds/token"])
    }

    /// The engine finds known forms during its keyword pass, only where the prefilter passes; that must
    /// find exactly what testing every position finds, on noise full of near-misses and plants.
    @Test func theKeywordPassFindsWhatAFullPassFinds() throws {
        let values: [(String, String)] = [("token", Self.secret), ("db", "correct horse battery"), ("api", "AbCdEfGh12345678")]
        let known = try KnownSecrets(values.map { .init(name: .init(source: "s", key: $0.0), bytes: Array($0.1.utf8)) })
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghABCDEFGH0123456789+/=-_%\\ \n".utf8)
        for rules in [[Rule](), try RuleCatalog.load().filter { $0.confidence >= .high }] {
            let engine = try SecretEngine(rules: rules, known: known, generic: false)
            var text = (0..<200_000).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            var planted = 0
            for (_, v) in values {
                for (_, form) in KnownEncodings.forms(of: Array(v.utf8)) where form.count >= 8 {
                    let at = Int(rng.next() % UInt64(text.count - form.count))
                    text.replaceSubrange(at..<(at + form.count), with: form)
                    planted += 1
                    // A near-miss: the form with its last byte changed.
                    let miss = Int(rng.next() % UInt64(text.count - form.count))
                    text.replaceSubrange(miss..<(miss + form.count), with: form.dropLast() + [form.last! ^ 1])
                }
            }
            let full = text.withUnsafeBytes { engine.resolve(known.scan($0)) }
            let fused = text.withUnsafeBytes { engine.scan($0) }.filter { $0.ruleID.hasPrefix("known:") }
            // (A form whose run decodes to text has its mark widened to whole quanta: the values and
            // matches are the same.)
            #expect(fused.map { "\($0.ruleID) \($0.value) \($0.match)" } == full.map { "\($0.ruleID) \($0.value) \($0.match)" })
            #expect(full.count >= planted / 2, "most plants survive the later plants written over them")
        }
    }

    @Test func valuesShorterThanEightBytesAreRefused() {
        #expect(throws: KnownSecretsError.self) { try Self.engine([("pin", "1234567")]) }
    }

    @Test func secretFilesOfEachKindAreRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("known-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let k8s = dir.appendingPathComponent("secret.yaml")
        try """
        apiVersion: v1
        kind: Secret
        metadata:
          name: agent-creds
        data:
          token: \(Data("tok-1234567890".utf8).base64EncodedString())
        stringData:
          password: "pa55-word-xyz"
        """.write(to: k8s, atomically: true, encoding: .utf8)
        let env = dir.appendingPathComponent("agent.env")
        try "# comment\nexport API_TOKEN=\"abcdefgh12345\"\nDB_PASS='zz-top-secret-1'\n".write(to: env, atomically: true, encoding: .utf8)
        let json = dir.appendingPathComponent("creds.json")
        try #"{"key": "json-value-123456"}"#.write(to: json, atomically: true, encoding: .utf8)
        let values = try KnownSecretsFile.read(path: k8s.path) + KnownSecretsFile.read(path: env.path) + KnownSecretsFile.read(path: json.path)
        #expect(values.map(\.name.ruleID) == ["known:agent-creds/token", "known:agent-creds/password", "known:agent/API_TOKEN",
                                              "known:agent/DB_PASS", "known:creds/key"])
        #expect(values.map { String(decoding: $0.bytes, as: UTF8.self) } == ["tok-1234567890", "pa55-word-xyz", "abcdefgh12345", "zz-top-secret-1", "json-value-123456"])
        // What cannot be read as values is an error, never a file that silently protects less.
        let nested = dir.appendingPathComponent("nested.json")
        try #"{"key": "json-value-123456", "more": {"a": "b"}}"#.write(to: nested, atomically: true, encoding: .utf8)
        #expect(throws: KnownSecretsError.self) { try KnownSecretsFile.read(path: nested.path) }
        let empty = dir.appendingPathComponent("empty.env")
        try "# nothing\n".write(to: empty, atomically: true, encoding: .utf8)
        #expect(throws: KnownSecretsError.self) { try KnownSecretsFile.read(path: empty.path) }
        let laughs = dir.appendingPathComponent("laughs.yaml")
        try "kind: Secret\nmetadata: {name: x}\nstringData:\n  a: &a abcdefghij\n  b: *a\n".write(to: laughs, atomically: true, encoding: .utf8)
        #expect(throws: KnownSecretsError.self) { try KnownSecretsFile.read(path: laughs.path) }
        let commented = dir.appendingPathComponent("commented.env")
        try "TOKEN=abcdefgh12345 # rotated monthly\n".write(to: commented, atomically: true, encoding: .utf8)
        #expect(try KnownSecretsFile.read(path: commented.path).map { String(decoding: $0.bytes, as: UTF8.self) } == ["abcdefgh12345"])
        // A quoted value ends at its closing quote, comment or not, and takes dotenv's escapes
        // (found by helper-115: the quotes stayed in the value, which then matched nothing).
        try "A=\"Hq7vLm2XpR9z\" # db\nB=\"Tz4\\\"Wq8pLn3K\"\nC='Lk9#x yz2 Qw' # not part\n".write(to: commented, atomically: true, encoding: .utf8)
        #expect(try KnownSecretsFile.read(path: commented.path).map { String(decoding: $0.bytes, as: UTF8.self) } == ["Hq7vLm2XpR9z", "Tz4\"Wq8pLn3K", "Lk9#x yz2 Qw"])
        try "A=\"Hq7vLm2XpR9z\"\r\nB=Tz4Wq8pLn3Kx\r\n".write(to: commented, atomically: true, encoding: .utf8)
        #expect(try KnownSecretsFile.read(path: commented.path).map { String(decoding: $0.bytes, as: UTF8.self) } == ["Hq7vLm2XpR9z", "Tz4Wq8pLn3Kx"], "CRLF lines")
        try "A=\"unterminated-value-1\n".write(to: commented, atomically: true, encoding: .utf8)
        #expect(throws: KnownSecretsError.self) { try KnownSecretsFile.read(path: commented.path) }
        let short = dir.appendingPathComponent("short.env")
        try "PIN=1234\n".write(to: short, atomically: true, encoding: .utf8)
        #expect(throws: KnownSecretsError.self) { try KnownSecrets(try KnownSecretsFile.read(path: short.path)) }
        // A bad document after a good one: the reader stopped there quietly, and the Secrets after it
        // were never looked for (found by helper-88). The error names the line and quotes no value.
        let multi = dir.appendingPathComponent("multi.yaml")
        try "kind: Secret\nmetadata: {name: first}\nstringData: {db: first-value-123}\n---\nkind: Secret\nmetadata: {name: second}\nstringData: {api: [second-value-456\n---\nkind: Secret\nmetadata: {name: third}\nstringData: {x: third-value-789}\n"
            .write(to: multi, atomically: true, encoding: .utf8)
        let e = #expect(throws: KnownSecretsError.self) { try KnownSecretsFile.read(path: multi.path) }
        #expect(e?.line ?? 0 > 4 && !"\(String(describing: e))".contains("value-"), "\(String(describing: e))")
    }
}
