import Foundation
import Secrets
import Testing
import TestSupport

/// UTF-16 text is recognised and read as the UTF-8 it stands for: files Windows tools write are not
/// skipped as binary.
@Suite struct UTF16TextTests {
    static let text = "key: \u{1F511} café\r\ntoken = value\r\n"

    @Test func detectsByteOrderMarksAndASCIIText() {
        let le = Array(Self.text.data(using: .utf16LittleEndian)!), be = Array(Self.text.data(using: .utf16BigEndian)!)
        #expect(UTF16Text.detect([0xFF, 0xFE] + le) == .little)
        #expect(UTF16Text.detect([0xFE, 0xFF] + be) == .big)
        #expect(UTF16Text.detect(le) == .little && UTF16Text.detect(be) == .big)
        // Not text: a NUL after a mark, short inputs, UTF-8 and ordinary binary.
        #expect(UTF16Text.detect([0xFF, 0xFE, 0x41, 0x00, 0x00, 0x00]) == nil)
        #expect(UTF16Text.detect(Array("a\0b\0".utf8)) == nil)
        #expect(UTF16Text.detect(Array("plain UTF-8 text, nothing else here".utf8)) == nil)
        #expect(UTF16Text.detect((0..<512).map { UInt8(truncatingIfNeeded: $0 &* 7919) }) == nil)
        // Text mostly in another script, with no mark: Japanese and Russian notes holding a token.
        let japanese = "設定ファイルの説明です。本番環境の接続情報を以下に記載します。管理者以外は編集しないでください。\r\ntoken = ghp_Zq8vN3xK1mP7rT2wY5bC9dF4gH6jL0sA1uE3\r\n"
        let russian = "Настройки подключения к базе данных для рабочего окружения приложения и служб мониторинга.\r\npassword = Xk9mQ2vL7pw\r\n"
        for t in [japanese, russian] {
            #expect(UTF16Text.detect(Array(t.data(using: .utf16LittleEndian)!)) == .little, "\(t.prefix(10))")
            #expect(UTF16Text.detect(Array(t.data(using: .utf16BigEndian)!)) == .big, "\(t.prefix(10))")
        }
        // Big-endian text that is mostly ASCII, with ideographic spaces (which read as ASCII the other
        // way round), stays big-endian (found by review).
        let spaced = String(repeating: "Deploy\u{3000}notes\u{3000}for\u{3000}the\u{3000}staging\u{3000}cluster\u{3000}", count: 8) + "\ntoken = x\n"
        #expect(UTF16Text.detect(Array(spaced.data(using: .utf16BigEndian)!)) == .big)
        #expect(UTF16Text.detect(Array(spaced.data(using: .utf16LittleEndian)!)) == .little)
        // Below 80% ASCII too: kana and ideographic spaces with the ASCII.
        let kana = String(repeating: "deploy\u{3000}ひらがな\u{3000}notes\u{3000}", count: 6) + "\ntoken = x\n"
        #expect(UTF16Text.detect(Array(kana.data(using: .utf16BigEndian)!)) == .big)
        #expect(UTF16Text.detect(Array(kana.data(using: .utf16LittleEndian)!)) == .little)
        // Binary made of 16-bit values stays binary: small integers, and values spread over the range.
        let table = (0..<512).flatMap { i -> [UInt8] in [UInt8(i % 200), 0] }
        #expect(UTF16Text.detect(table) == nil)
        var seed: UInt32 = 12345
        let spread = (0..<4096).map { _ -> UInt8 in seed = seed &* 1103515245 &+ 12345; return UInt8(truncatingIfNeeded: seed >> 16) } + [0, 0x41]
        #expect(UTF16Text.detect(spread) == nil)
    }

    @Test func decodesWhole() throws {
        for (order, encoding) in [(UTF16Text.ByteOrder.little, String.Encoding.utf16LittleEndian), (.big, .utf16BigEndian)] {
            let bytes = (order == .little ? [0xFF, 0xFE] : [0xFE, 0xFF]) + Array(Self.text.data(using: encoding)!)
            #expect(String(decoding: UTF16Text.decode(bytes, order), as: UTF8.self) == Self.text, "the mark is dropped, the surrogate pair joined")
        }
        // Unpaired surrogates and a last odd byte become U+FFFD.
        #expect(String(decoding: UTF16Text.decode([0x00, 0xD8, 0x41, 0x00, 0x00, 0xDC, 0x42], .little), as: UTF8.self) == "\u{FFFD}A\u{FFFD}\u{FFFD}")
    }

    /// The UTF-16 stretches redact and scan read where they stand (helper-185): through characters of
    /// other scripts, typographic quotes and colour codes, in either byte order after any bytes, to
    /// no more than `maximumGap` units with a high byte in a row; UTF-8 is none.
    @Test func utf16StretchesAreReadThroughOtherScripts() throws {
        func le(_ s: String) -> [UInt8] { Array(s.data(using: .utf16LittleEndian)!) }
        func be(_ s: String) -> [UInt8] { Array(s.data(using: .utf16BigEndian)!) }
        func stretches(_ b: [UInt8], lead: UTF16Runs.Reading? = nil) -> [(text: String, bytes: Range<Int>, little: Bool)] {
            var out: [(text: String, bytes: Range<Int>, little: Bool)] = []
            b.withUnsafeBytes { raw in UTF16Runs.find(raw, lead: lead) { out.append((String(decoding: $0.text, as: UTF8.self), $0.bytes, $0.reading.little)) } }
            return out
        }
        let line = "password=\u{201C}P\u{E4}sswort\u{20AC}\u{201D} \u{1B}[1mok\u{1B}[0m \u{5BC6}\u{7801}"
        let utf8 = Array("plain UTF-8 before, ".utf8)
        // Little-endian after text, at an odd offset; big-endian from the start (after a character it
        // would read as little-endian from that character: a limit).
        for (bytes, little) in [(utf8 + [0x21] + le(line), true), (be(line), false)] {
            // A byte, a zero, a byte could start either order: both are read.
            let found = stretches(bytes + Array(" and after".utf8))
            #expect(found.contains { $0.little == little && $0.text.contains("password=\u{201C}P\u{E4}sswort\u{20AC}\u{201D} \u{1B}[1mok") }, "\(found)")
        }
        #expect(stretches(utf8 + Array("caf\u{E9} \u{5BC6}\u{7801} no zero here".utf8)).isEmpty, "UTF-8 has no zero byte")
        // Nine units that read as ASCII the other way round end a stretch before them, and the search
        // goes on from a byte before them; text in another script, however long, does not (helper-186).
        let nine = stretches(le("token=abc") + be("ghp_1234567890abc"))
        #expect(nine.contains { $0.little && $0.text == "token=abc" } && nine.contains { !$0.little && $0.text == "ghp_1234567890abc" }, "\(nine)")
        let cyrillic = stretches(le("password = \"\u{41F}\u{430}\u{440}\u{43E}\u{43B}\u{44C}-\u{441}\u{443}\u{43F}\u{435}\u{440}\u{441}\u{435}\u{43A}\u{440}\u{435}\u{442}-2024\""))
        #expect(cyrillic.filter(\.little).count == 1 && cyrillic.first?.text.hasSuffix("2024\"") == true, "\(cyrillic)")
        // Big-endian, an odd-length piece of UTF-8, then little-endian: the stretch reads on through
        // the UTF-8 and takes the second part a byte out, its first character in the unit before;
        // from that turn it is read the other way too.
        let turned = stretches(be("PS> dir\r\n") + Array(" \n ok \n".utf8) + le("ghp_1234567890 ok"))
        #expect(turned.contains { $0.little && $0.text.hasPrefix("ghp_1234567890") }, "\(turned)")
        // Little-endian, then big-endian: the second part is read from its first character, not as
        // the first part's units a byte out.
        let orders = stretches(le("PS> dir\r\n") + be("ghp_1234567890 ok"))
        #expect(orders.contains { !$0.little && $0.text.hasPrefix("ghp_1234567890") }, "\(orders)")
        // A stretch the buffer starts inside is read the way the round before read it: from a byte
        // into `ab密码cdefgh` in little-endian, the units with a high byte decode as they did.
        let text = le("xab\u{5BC6}\u{7801}cdefghij")
        let carried = stretches(Array(text.dropFirst(3)), lead: UTF16Runs.Reading(little: true, start: 1))
        #expect(carried.first?.text == "b\u{5BC6}\u{7801}cdefghij", "\(carried)")
        // A range of a stretch's text covers its units' low bytes, high bytes too where they are not zero.
        let bytes = [0x41] + le("key=\u{E4}\u{5BC6}z123456")
        bytes.withUnsafeBytes { raw in
            UTF16Runs.find(raw, lead: nil) { run in
                guard run.reading.little else { return }
                #expect(run.bytes == 1..<bytes.count)
                #expect(UTF16Runs.bytes(0..<4, of: run, in: raw) == 1..<8, "k to =: low byte of k to low byte of =")
                // `ä` is two UTF-8 bytes from one unit with a zero high byte; `密` three from one whose high byte is not zero.
                #expect(UTF16Runs.bytes(4..<9, of: run, in: raw) == 9..<13, "ä and 密: through 密's high byte")
            }
        }
    }

    /// Found by helper-187: after a U+0000 little-endian text was read only as big-endian a byte out,
    /// which glued each character with a high byte to the next (`д` made a token 37 characters long);
    /// an emoji was two U+FFFD, so two secrets differing in one shared a fingerprint; and CJK text
    /// with English words made a turn every few units, each read anew (a 200 KB log took 13 s).
    @Test func zerosEmojiAndTurnsAreReadOnce() throws {
        func le(_ s: String) -> [UInt8] { Array(s.data(using: .utf16LittleEndian)!) }
        func texts(_ b: [UInt8]) -> [(text: String, little: Bool, bytes: Range<Int>)] {
            var out: [(text: String, little: Bool, bytes: Range<Int>)] = []
            b.withUnsafeBytes { raw in UTF16Runs.find(raw, lead: nil) { out.append((String(decoding: $0.text, as: UTF8.self), $0.reading.little, $0.bytes)) } }
            return out
        }
        let token = SecretsCommandTests.token
        for lead in [le("\u{0}"), le("a\u{0}b\n"), [0]] {
            let found = texts(lead + le("line ghp \(token)\u{434} end"))
            #expect(found.contains { $0.little && $0.text.contains(token + "\u{434} end") }, "\(lead): \(found)")
        }
        // An emoji decodes whole, and a range ending on it covers both its units.
        let emoji = le("password=Xq9vT2mLp8\u{1F600}Ab3Cd5")
        let run = try #require(texts(emoji).first { $0.little })
        #expect(run.text == "password=Xq9vT2mLp8\u{1F600}Ab3Cd5", "\(run.text)")
        emoji.withUnsafeBytes { raw in
            UTF16Runs.find(raw, lead: nil) { r in
                guard r.reading.little, r.bytes.lowerBound == 0 else { return }
                // Text bytes 0..<23 end with the emoji's four: units 0 to 19, the pair's second included.
                #expect(UTF16Runs.bytes(0..<23, of: r, in: raw) == 0..<42)
            }
        }
        // Turns every nine units: what is read is a small multiple of the text (two readings from an
        // ambiguous start, a third more for turns), not 28 times it.
        let cjk = le(String(repeating: "\u{4E2D} Bearer ", count: 2000))
        let read = texts(cjk).reduce(0) { $0 + $1.bytes.count }
        #expect(read <= 6 * cjk.count, "\(read) bytes read for \(cjk.count)")
        // Through the commands: the token after a U+0000 is redacted and found, an emoji secret's
        // fingerprint is its UTF-8 one, and a file that starts with a U+0000 or goes on in UTF-8 is
        // no binary file.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("utf16-zero-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let files: [String: [UInt8]] = [
            "zero.txt": le("\u{0}token: \(token)\u{434}\n"),
            "tail.txt": le("token: \(token)\n") + Array(String(repeating: "build finished ok, 3 warnings\n", count: 3).utf8),
            "cjk-tail.txt": le("token: \(token)") + Array("\u{65E5}\u{672C}\u{8A9E}\u{306E}\u{30C6}\u{30AD}\u{30B9}\u{30C8}\r\n\u{4E2D}\u{6587} ok\n".utf8),
            "emoji16.txt": le("password = \"Xq9vT2mLp8Rz4Kw7Jh\u{1F600}Ab3Cd5Ef7Gh\"\n"),
            "emoji8.txt": Array("password = \"Xq9vT2mLp8Rz4Kw7Jh\u{1F600}Ab3Cd5Ef7Gh\"\n".utf8),
            // A value ending in a lone high surrogate, then one byte: its range ended past the bytes (helper-188).
            "surrogate-end.txt": Array("password=Xq9vT2mLp8Rz4Kw7Jh".data(using: .utf16BigEndian)!) + [0xD8, 0x3D, 0xDC],
            "key16.txt": le("password = \"Xq9vT2mLp8Rz4Kw7Jh\u{1F511}Ab3Cd5Ef7Gh\"\n"),
        ]
        for (name, bytes) in files { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.err)")
        var print: [String: String] = [:]
        for f in (doc["findings"] as? [[String: Any]]) ?? [] {
            let name = (f["path"] as? String ?? "").components(separatedBy: "/").last ?? ""
            print[name + " " + (f["rule"] as? String ?? "")] = (f["secret"] as? [String: Any])?["fingerprint"] as? String
        }
        #expect(print["zero.txt github-personal-access-token"] != nil && print["tail.txt github-personal-access-token"] != nil
                && print["cjk-tail.txt github-personal-access-token"] != nil, "\(print.keys.sorted())")
        let e16 = print["emoji16.txt generic-password"], e8 = print["emoji8.txt generic-password"], k16 = print["key16.txt generic-password"]
        #expect(e16 != nil && e16 == e8 && k16 != nil && k16 != e16, "\(print)")
        #expect(!r.out.contains(token))
        #expect(r.code == 0 && print["surrogate-end.txt generic-password"] != nil, "\(r.err)")
        let redacted = try runProcess("/bin/sh", ["-c", "\"$0\" secrets redact < \"$1\"", provenantBinary, dir.appendingPathComponent("zero.txt").path])
        let back = String(data: Data(redacted.out.utf8), encoding: .utf16LittleEndian) ?? ""
        #expect(!back.contains(token) && back.contains("[REDACTED:github-personal-access-token]"), "\(back)")
    }

    @Test func secretsInUTF16FilesArchivesAndCompressedFilesAreFound() throws {
        let token = SecretsCommandTests.token
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("utf16-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let make = """
        import gzip, sys, zipfile
        text = '# settings\\r\\nsecond line\\r\\ngithub_token = ' + sys.argv[1] + '\\r\\n'
        open('profile.ps1', 'wb').write(text.encode('utf-16'))
        open('export.reg', 'wb').write(text.encode('utf-16-le'))
        open('big-endian.txt', 'wb').write(text.encode('utf-16-be'))
        with zipfile.ZipFile('bundle.zip', 'w') as z: z.writestr('conf/app.ps1', text.encode('utf-16'))
        open('log.txt.gz', 'wb').write(gzip.compress(text.encode('utf-16-le')))
        """
        let made = try runProcess("/bin/sh", ["-c", "cd \"$1\" && python3 -c \"$0\" \"$2\"", make, dir.path, token])
        try #require(made.code == 0, "\(made.err)")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"])
        #expect(r.code == 0, "\(r.err)")
        for name in ["profile.ps1", "export.reg", "big-endian.txt", "bundle.zip!conf/app.ps1", "log.txt.gz"] {
            #expect(r.out.contains("\(dir.path)/\(name)\""), "\(name) not found: \(r.out)")
        }
        #expect(!r.out.contains(token) && r.out.components(separatedBy: "\"line\": 3,").count - 1 == 5, "\(r.out)")
    }

    /// A finding's line counts line feeds, not bytes 10: in UTF-16 a byte 10 is as often half of
    /// another character (`上` is `0A 4E` little-endian, `ഊ` is `0A 0D` one way and `0D 0A` the other,
    /// `Ċ` is `0A 01`), and each added a line. Only a byte order mark is believed: guessing UTF-16 from
    /// the bytes lost the lines of UTF-8 after a stray zero, and of UTF-8 after a UTF-16 start
    /// (helper-192), which keep the lines a count of bytes 10 gives. A column counts characters from
    /// the line's start, not the mark.
    @Test func linesAndColumnsInUTF16CountCharacters() throws {
        let token = SecretsCommandTests.token
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("utf16-lines-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = "\u{4E0A}\u{6D77} \u{4E0A}\u{4E0A}\u{0D0A} config\r\n\u{010A}\u{4E0A} second \u{0D0A}\n"
            + "github_token = \(token)\r\n" + "\u{4E0A}\n" + "token \(token)\n"
        let chinese = "\u{4E00}\u{3001}\u{603B}\u{5219}\r\n\u{7B2C}\u{4E00}\u{6761} \u{4E3A}\u{4E86}\u{3002}\r\n\u{7B2C}\u{4E8C}\u{6761}\u{3002}\r\ntoken=\(token)\r\n"
        var deploy = Array("PS> .\\deploy.ps1\r\nOK\r\n".data(using: .utf16LittleEndian)!)
        deploy += Array((Array(repeating: "2024-05-01 \u{90E8}\u{7F72}\n\u{670D}\u{52A1}\u{5668}\u{FF1A}\u{4E0A}\u{6D77}", count: 24).joined(separator: "\n") + "\ngithub_token=" + token + "\n").utf8)
        let files: [(String, [UInt8], [String])] = [
            ("le-bom.txt", [0xFF, 0xFE] + Array(text.data(using: .utf16LittleEndian)!), ["3:16", "5:7"]),
            ("be-bom.txt", [0xFE, 0xFF] + Array(text.data(using: .utf16BigEndian)!), ["3:16", "5:7"]),
            ("chinese-bom.txt", [0xFF, 0xFE] + Array(chinese.data(using: .utf16LittleEndian)!), ["4:7"]),
            // UTF-8 columns count bytes, as for any UTF-8 file.
            ("utf8-bom.txt", [0xEF, 0xBB, 0xBF] + Array(text.utf8), ["3:16", "5:7"]),
            ("utf8-zero.txt", Array("a\u{0}b\u{0}".utf8) + Array(text.utf8), ["3:16", "5:7"]),
            ("utf8-zero-cyrillic.txt", Array("ab\u{0}\u{43F}\u{43F}\n\u{43F}\u{43F}\n\u{43F}\u{43F}\n\u{43F}\u{43F}\n token=\(token)\n".utf8), ["5:8"]),
            ("utf16-then-utf8.txt", deploy, ["51:14"]),
        ]
        for (name, bytes, _) in files { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.err)")
        let findings = (doc["findings"] as? [[String: Any]]) ?? []
        for (name, _, expected) in files {
            let mine = findings.filter { ($0["path"] as? String ?? "").hasSuffix("/" + name) }
                .map { "\($0["line"] as? Int ?? 0):\($0["column"] as? Int ?? 0)" }.sorted()
            #expect(mine == expected, "\(name): \(mine)")
        }
    }

    /// Standard input and `--git` history decode UTF-16 too (found by review).
    @Test func standardInputAndGitHistoryDecodeUTF16() throws {
        let token = SecretsCommandTests.token
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("utf16-git-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = "# settings\r\ngithub_token = \(token)\r\n"
        try (text.data(using: .utf16LittleEndian).map { Data([0xFF, 0xFE]) + $0 })!.write(to: dir.appendingPathComponent("profile.ps1"))
        let stdin = try runProcess("/bin/sh", ["-c", "\"$0\" secrets scan - --fail-on low < \"$1\"", provenantBinary, dir.path + "/profile.ps1"])
        #expect(stdin.code == 1 && stdin.out.contains("-:2:") && !stdin.out.contains(token), "\(stdin.out) \(stdin.err)")
        // A stream that starts as UTF-16 and goes on in UTF-8 (`cat *`) loses neither part (found by review).
        let slack = SecretsCommandTests.slack
        try Data("SLACK_TOKEN=\(slack)\n".utf8).write(to: dir.appendingPathComponent("later.env"))
        let mixed = try runProcess("/bin/sh", ["-c", "cat \"$1\" \"$2\" | \"$0\" secrets scan - --format json", provenantBinary, dir.path + "/profile.ps1", dir.path + "/later.env"])
        #expect(mixed.out.contains("github-personal-access-token") && mixed.out.contains("slack"), "\(mixed.out) \(mixed.err)")
        let git = try runProcess("/bin/sh", ["-c", "cd \"$0\" && git init -q && git -c user.email=t@e -c user.name=t add profile.ps1 && git -c user.email=t@e -c user.name=t commit -qm add && rm profile.ps1", dir.path])
        try #require(git.code == 0, "\(git.err)")
        let history = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git", "--format", "json"])
        #expect(history.out.contains("github-personal-access-token") && history.out.contains("profile.ps1") && !history.out.contains(token), "\(history.out) \(history.err)")
    }
}
