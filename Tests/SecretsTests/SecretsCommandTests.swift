import Foundation
import Catalog
import ProvenantCore
import Testing
@testable import Secrets
import TestSupport

/// `provenant secrets` end to end, through the built binary.
@Suite struct SecretsCommandTests {
    static let token = "ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"
    static let slack = "xoxb-2048123456-1234567890123-Qz8xK2mN7pR4tV1wY6bC3dF9"

    static func tree(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-cli-\(UUID().uuidString)")
        for (path, text) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// Runs the Python `script` in an empty directory, after a prelude that gives it the token (`tok`)
    /// and `tar(format, link, pax)`, a tar of one small file (`etc/motd`); then `secrets scan` on that
    /// directory as JSON, which must exit 0 and print no token whole: the run, the findings' paths
    /// relative to the directory, and the document.
    static func scanMade(_ script: String) throws -> (run: (code: Int32, out: String, err: String), paths: [String], doc: [String: Any]) {
        let dir = try Self.tree([:])
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let prelude = """
        import gzip, io, tarfile, sys
        tok = sys.argv[1]
        def tar(fmt=tarfile.PAX_FORMAT, link='', pax=None):
            b = io.BytesIO()
            with tarfile.open(fileobj=b, mode='w', format=fmt) as t:
                info = tarfile.TarInfo('etc/motd'); data = b'hello\\n'; info.size = len(data); info.linkname = link
                info.pax_headers = pax or {}
                t.addfile(info, io.BytesIO(data))
            return bytearray(b.getvalue())

        """
        try (prelude + script).write(to: dir.appendingPathComponent("make.py"), atomically: true, encoding: .utf8)
        let made = try Self.sh("python3 make.py \(Self.token) && rm make.py", in: dir)
        #expect(made.code == 0, "\(made.err)")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"])
        #expect(r.code == 0 && !r.out.contains(Self.token) && !r.err.contains(Self.token), "\(r.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let paths = ((doc["findings"] as? [[String: Any]]) ?? []).map { ($0["path"] as? String ?? "").replacingOccurrences(of: dir.path + "/", with: "") }
        return (r, paths, doc)
    }

    static func sh(_ script: String, in dir: URL) throws -> (code: Int32, out: String, err: String) {
        try runProcess("/bin/sh", ["-c", "cd '\(dir.path)' && \(script)"], env: ["PROVENANT": provenantBinary])
    }

    @Test func noFormatEverCarriesTheValueAndExitCodesFollowFailOn() throws {
        let dir = try Self.tree(["app/config.yaml": "github:\n  token: \(Self.token)\n", "README.md": "nothing here\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        for format in ["table", "json", "sarif"] {
            let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", format])
            #expect(r.code == 0, "\(format): \(r.err)")
            #expect(r.out.contains("ghp_"), "\(format) shows the first four characters")
            #expect(!r.out.contains(Self.token) && !r.out.contains(String(Self.token.dropFirst(4))), "\(format) printed the secret")
            #expect(!r.err.contains(String(Self.token.dropFirst(4))))
            // scripts/test validates every SARIF log left here against the OASIS schema.
            if format == "sarif", let out = ProcessInfo.processInfo.environment["PROVENANT_SBOM_OUT"] {
                try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try r.out.write(toFile: out + "/secrets-scan.sarif", atomically: true, encoding: .utf8)
            }
        }
        let json = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"]).out
        #expect(json.contains("\"path\" : \"\(dir.path)/app/config.yaml\"") || json.contains("\"path\": \"\(dir.path)/app/config.yaml\""))
        #expect(json.contains("\"line\": 2") || json.contains("\"line\" : 2"))
        #expect(try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--fail-on", "critical"]).code == 1)
        #expect(try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("README.md").path, "--fail-on", "low"]).code == 0)
        #expect(try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "xml"]).code == 2)
        // A path that is not there is an input error, not a clean scan.
        let missing = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("nothing-here").path, "--fail-on", "low"])
        #expect(missing.code == 2 && missing.err.contains("nothing-here") && missing.err.split(separator: "\n").count == 1, "\(missing.err)")
    }

    @Test func aBaselineSuppressesWhatItRecordsAndNamesWhatIsGone() throws {
        let dir = try Self.tree(["a.env": "SLACK=\(Self.slack)\n", "b.txt": "t \(Self.token)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("baseline.json").path
        let first = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("a.env").path, dir.appendingPathComponent("b.txt").path, "--write-baseline", base])
        #expect(first.code == 0)
        let baseline = try String(contentsOfFile: base, encoding: .utf8)
        #expect(!baseline.contains(Self.token) && !baseline.contains(Self.slack) && baseline.contains("fingerprint"))
        try "t nothing now\n".write(to: dir.appendingPathComponent("b.txt"), atomically: true, encoding: .utf8)
        let second = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("a.env").path, dir.appendingPathComponent("b.txt").path,
                                                      "--baseline", base, "--format", "json", "--fail-on", "low"])
        #expect(second.code == 0, "suppressed findings do not fail the run")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(second.out.utf8)) as? [String: Any])
        #expect((doc["findings"] as? [Any])?.count == 0)
        #expect((doc["suppressed"] as? [Any])?.count == 1)
        #expect((doc["baselineEntriesNotFound"] as? [[String: Any]])?.first?["rule"] as? String == "github-personal-access-token")
        #expect((doc["baselineEntriesNotFound"] as? [[String: Any]])?.first?["fingerprint"] == nil, "no value digest of an entry gone")
    }

    /// A baseline is input: an entry no longer found is shown through the redactor and escaped,
    /// whatever a hand edit put in its rule or path.
    @Test func baselineEntriesAreShownRedacted() throws {
        let dir = try Self.tree(["a.env": "SLACK=\(Self.slack)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("baseline.json").path
        let file = dir.appendingPathComponent("a.env").path
        #expect(try runProcess(provenantBinary, ["secrets", "scan", file, "--write-baseline", base]).code == 0)
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base))) as? [String: Any])
        var entries = try #require(doc["findings"] as? [[String: Any]])
        var edited = try #require(entries.first)
        edited["path"] = "dir/\(Self.token).env\u{1B}[2J"
        edited["rule"] = "password=Xq9vT2mLp8Rz4Kw7Jh \(Self.slack)"
        entries.append(edited)
        doc["findings"] = entries
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: base))
        for format in ["table", "json"] {
            let r = try runProcess(provenantBinary, ["secrets", "scan", file, "--baseline", base, "--format", format])
            #expect(r.code == 0)
            #expect(r.out.contains("no longer found") || r.out.contains("baselineEntriesNotFound"))
            for secret in [Self.token, Self.slack, "Xq9vT2mLp8Rz4Kw7Jh"] { #expect(!r.out.contains(secret) && !r.err.contains(secret), "\(format): \(secret)") }
            #expect(!r.out.contains("\u{1B}"), "\(format)")
        }
    }

    /// A keyword repeated every 21 bytes cannot stall a scan or a redaction: both stop checking at
    /// the engine's budget and say so, the scan counting the file as partly scanned.
    @Test func denseKeywordsAreReportedAsPartlyScanned() throws {
        let dir = try Self.tree(["dense.txt": String(repeating: "eyJhbGciOiJIUzI1NiJ9 ", count: 100_000)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("dense.txt").path
        let scan = try runProcess(provenantBinary, ["secrets", "scan", file])
        #expect(scan.code == 0 && scan.out.contains("1 partly scanned") && !scan.out.contains("No secrets found.") && scan.out.contains("1 input was NOT CHECKED") && scan.err.contains("too densely"), "\(scan.out) \(scan.err)")
        // Fail closed: with --fail-on, a file not read to its end fails the run unless that is accepted.
        let failing = try runProcess(provenantBinary, ["secrets", "scan", file, "--fail-on", "critical"])
        #expect(failing.code == 1 && failing.err.contains("--fail-on: 1 input was not checked (0 unreadable, 1 partly scanned)"), "\(failing.err)")
        #expect(try runProcess(provenantBinary, ["secrets", "scan", file, "--fail-on", "critical", "--allow-unchecked"]).code == 0)
        let clean = dir.appendingPathComponent("clean.txt").path
        try Data("nothing to see\n".utf8).write(to: URL(fileURLWithPath: clean))
        #expect(try runProcess(provenantBinary, ["secrets", "scan", clean, "--fail-on", "low"]).code == 0)
        let redact = try runProcess("/bin/sh", ["-c", "\"$0\" secrets redact < \"$1\" > /dev/null", provenantBinary, file])
        // Fail closed here too: the output is written, but the run says not all of it was checked.
        #expect(redact.code == 1 && redact.err.contains("too densely") && redact.err.contains("not fully checked"), "\(redact.err)")
        let accepted = try runProcess("/bin/sh", ["-c", "\"$0\" secrets redact --allow-unchecked < \"$1\" | wc -c", provenantBinary, file])
        #expect(accepted.code == 0 && accepted.out.trimmingCharacters(in: .whitespacesAndNewlines) == "2100000", "\(accepted.out) \(accepted.err)")
    }

    /// Passwords in URLs are redacted from streams too, though their rules are rated medium.
    @Test func redactRemovesPasswordsInURLs() throws {
        let input = "postgres://admin:S3cr3tPassw0rd@db.internal:5432/app\nhttps://ci:Xy7pQ2mN9vB4kL8s@git.example.com/a.git\nDATABASE_URL=mysql://root:hunter2hunter2@localhost/db\nplain https://example.com/x\n"
        let dir = try Self.tree(["in.log": input])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runProcess("/bin/sh", ["-c", "\"$0\" secrets redact < \"$1\"", provenantBinary, dir.appendingPathComponent("in.log").path])
        #expect(r.code == 0, "\(r.err)")
        for secret in ["S3cr3tPassw0rd", "Xy7pQ2mN9vB4kL8s", "hunter2hunter2"] { #expect(!r.out.contains(secret), "\(secret): \(r.out)") }
        #expect(r.out.contains("@db.internal:5432/app") && r.out.contains("plain https://example.com/x"), "\(r.out)")
    }

    @Test func archivesAreOpenedWithinLimitsAndBinariesSkipped() throws {
        let dir = try Self.tree([:])
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let make = """
        import io, tarfile, zipfile, sys
        tok = sys.argv[1]
        with zipfile.ZipFile('app.jar', 'w', zipfile.ZIP_DEFLATED) as z:
            z.writestr('META-INF/app.properties', 'github.token=' + tok + '\\n')
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, 'w') as z: z.writestr('deep/creds.txt', 'x ' + tok)
        with tarfile.open('bundle.tar.gz', 'w:gz') as t:
            data = inner.getvalue(); info = tarfile.TarInfo('lib/inner.zip'); info.size = len(data); t.addfile(info, io.BytesIO(data))
        # Nested five deep: past the limit, reported and not opened.
        data = ('y ' + tok).encode()
        for i in range(6):
            b = io.BytesIO()
            with zipfile.ZipFile(b, 'w') as z: z.writestr(f'level{i}', data)
            data = b.getvalue()
        open('deep.zip', 'wb').write(data)
        # A bomb: 64 MiB of zeros in about 64 KiB, past the 16 MiB a small archive may inflate.
        with zipfile.ZipFile('bomb.zip', 'w', zipfile.ZIP_DEFLATED) as z:
            z.writestr('zeros.txt', b'0' * (64 << 20))
        open('blob.bin', 'wb').write(b'\\x7fELF\\x02\\x01\\x01\\x00' + b'\\x00\\x01\\x02\\x03' * 64 + tok.encode())
        # A log that logrotate's copytruncate left starting with NULs is text, as is a stray NUL.
        open('rotated.log', 'wb').write(b'\\x00' * 9000 + ('after rotation ' + tok + '\\n').encode())
        open('stray.log', 'wb').write(('line one\\n\\x00line two ' + tok + '\\n').encode())
        # Two gzip members back to back (rotated logs concatenated): the secret is in the second.
        import gzip
        open('two.log.gz', 'wb').write(gzip.compress(b'first member\\n') + gzip.compress(('second ' + tok + '\\n').encode()))
        # A complete member, then a damaged one: the first is still scanned.
        open('damaged.log.gz', 'wb').write(gzip.compress(('first ' + tok + '\\n').encode()) + b'\\x1f\\x8b\\x08\\x00junk')
        # A zlib stream (helper-165), and one whose checksum is wrong: NOT CHECKED, not clean.
        import zlib
        open('blob.zlib', 'wb').write(zlib.compress(('key ' + tok + '\\n').encode(), 5))
        bad = zlib.compress(('key ' + tok + '\\n').encode()); open('badsum.zlib', 'wb').write(bad[:-4] + bytes(4))
        # Found by review: what follows a zlib stream, in clear or as a second stream, is scanned; text
        # that starts like a zlib or LZMA header is text.
        open('trailer.zlib', 'wb').write(zlib.compress(b'hello\\n') + ('\\nGITHUB_TOKEN=' + tok + '\\n').encode())
        open('two.zlib', 'wb').write(zlib.compress(b'first\\n') + zlib.compress(('key ' + tok + '\\n').encode()))
        open('math.txt', 'w').write('x^2 + y^2\\nGITHUB_TOKEN=' + tok + '\\n')
        open('section.txt', 'w').write(']] end of section\\nGITHUB_TOKEN=' + tok + '\\n')
        """
        try make.write(to: dir.appendingPathComponent("make.py"), atomically: true, encoding: .utf8)
        let made = try Self.sh("python3 make.py \(Self.token) && rm make.py", in: dir)
        #expect(made.code == 0, "\(made.err)")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"])
        #expect(r.code == 0, "\(r.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let paths = ((doc["findings"] as? [[String: Any]]) ?? []).map { ($0["path"] as? String ?? "").replacingOccurrences(of: dir.path + "/", with: "") }
        #expect(paths == ["app.jar!META-INF/app.properties", "blob.zlib", "bundle.tar.gz!lib/inner.zip!deep/creds.txt", "damaged.log.gz", "math.txt",
                          "rotated.log", "section.txt", "stray.log", "trailer.zlib", "two.log.gz", "two.zlib"], "\(paths)")
        #expect(r.err.contains("damaged.log.gz") && r.err.contains("badsum.zlib"), "\(r.err)")
        #expect(r.err.contains("deep.zip") && r.err.contains("nested more than 4 deep"))
        #expect(r.err.contains("bomb.zip") && r.err.contains("zip bomb"))
        #expect(((doc["summary"] as? [String: Any])?["skippedBinary"] as? Int) == 1)
    }

    /// Found by helper-168: in a tar, in a file or in a gzip, only the entries were scanned: a pax
    /// `comment=` record and a token appended after the tar's end marker went unseen, though whoever
    /// gets the archive gets them. They are scanned now, named by what they are; zeros after the end
    /// (the padding writers add) are not.
    @Test func tarBytesNoEntryHoldsAreScanned() throws {
        let (r, paths, doc) = try Self.scanMade("""
        marked = bytes(tar(pax={'comment': 'GITHUB_TOKEN=' + tok})) + ('\\nGITHUB_TOKEN=' + tok + '\\n').encode()
        open('plain.tar', 'wb').write(marked)
        open('packed.tar.gz', 'wb').write(gzip.compress(marked))
        open('clean.tar', 'wb').write(tar())
        # Found by review: a second tar after the first's end and its zero padding, and a token followed
        # by zeros, read as binary and were dropped without a word.
        second = io.BytesIO()
        with tarfile.open(fileobj=second, mode='w') as t:
            data = ('GITHUB_TOKEN=' + tok + '\\n').encode(); info = tarfile.TarInfo('etc/secret.env'); info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        open('appended.tar', 'wb').write(tar() + second.getvalue())
        open('padded.tar', 'wb').write(tar() + ('GITHUB_TOKEN=' + tok).encode() + bytes(600))
        """)
        #expect(paths == ["appended.tar (bytes after the tar's end)!etc/secret.env", "packed.tar.gz (bytes after the tar's end)", "packed.tar.gz (tar extended header)",
                          "padded.tar (bytes after the tar's end)", "plain.tar (bytes after the tar's end)", "plain.tar (tar extended header)"], "\(paths)")
        #expect(((doc["summary"] as? [String: Any])?["files"] as? Int) == 5, "the archives' one file each: \(r.out)")
    }

    /// Found by helper-173 and re-reading: a plain tar's header fields that no runtime reads (a regular
    /// file's link field) and the padding after an entry's data were not scanned, where an image
    /// layer's were. They are now, named by what they are.
    @Test func tarHeaderFieldsAndPaddingAreScanned() throws {
        let (r, paths, doc) = try Self.scanMade("""
        open('fields.tar', 'wb').write(tar(tarfile.USTAR_FORMAT, link='GITHUB_TOKEN=' + tok))
        raw = tar(tarfile.USTAR_FORMAT); pad = ('GITHUB_TOKEN=' + tok + '\\n').encode()
        raw[518:518 + len(pad)] = pad
        open('padding.tar', 'wb').write(raw)
        open('clean.tar', 'wb').write(tar(tarfile.USTAR_FORMAT))
        # The padding after a directory's data, which this reader steps over as it does a file's (helper-176).
        d = tarfile.TarInfo('etc/'); d.type = tarfile.DIRTYPE; d.size = 6
        open('dirpad.tar', 'wb').write(d.tobuf(tarfile.USTAR_FORMAT) + b'hello\\n' + pad + bytes(506 - len(pad)) + bytes(1024))
        # A zip in the first padding said nothing of the token in the second (helper-177).
        import zipfile
        z = io.BytesIO()
        with zipfile.ZipFile(z, 'w') as zf: zf.writestr('a', 'hi')
        z = z.getvalue()
        one = tar(tarfile.USTAR_FORMAT); one[518:518 + len(z)] = z
        two = tar(tarfile.USTAR_FORMAT); two[518:518 + len(pad)] = pad
        open('zippad.tar', 'wb').write(one[:1024] + two)
        # A token that begins the owner name, after a ustar header's usual version `00` (helper-177).
        u = tarfile.TarInfo('etc/motd'); u.uname = 'AKIAQ3EGRTXW5ZKL7YUP'
        open('owner.tar', 'wb').write(u.tobuf(tarfile.USTAR_FORMAT) + bytes(1024))
        # Two weak values of one rule and length, one in a (deflated) zip in the first padding and one
        # in the second: the second was taken for the first and dropped (helper-178).
        z = io.BytesIO()
        with zipfile.ZipFile(z, 'w', zipfile.ZIP_DEFLATED) as zf: zf.writestr('k.env', 'AKIAQ3EGRTXW5ZKL7YUP\\n')
        z = z.getvalue(); b = b'AKIAZ7Y3KQ2WX5TRLM4P\\n'
        one = tar(tarfile.USTAR_FORMAT); one[518:518 + len(z)] = z
        two = tar(tarfile.USTAR_FORMAT); two[518:518 + len(b)] = b
        open('weak.tar', 'wb').write(one[:1024] + two)
        # A gzip's stored name and a zip's comment, which no extraction writes out (found by review).
        g = io.BytesIO()
        with gzip.GzipFile(filename='GITHUB_TOKEN=' + tok, mode='wb', fileobj=g, mtime=0) as f: f.write(b'hello\\n')
        open('named.log.gz', 'wb').write(g.getvalue())
        c = io.BytesIO()
        with zipfile.ZipFile(c, 'w') as zf: zf.writestr('x.txt', 'hi'); zf.comment = ('GITHUB_TOKEN=' + tok).encode()
        open('commented.zip', 'wb').write(c.getvalue())
        """)
        #expect(paths == ["commented.zip (zip comments)", "dirpad.tar (tar padding after entries' data)", "fields.tar (tar header fields no runtime reads)", "named.log.gz (gzip header)",
                          "owner.tar (tar header fields no runtime reads)",
                          "padding.tar (tar padding after entries' data)", "weak.tar (tar padding after entries' data)",
                          // The second weak value follows the zip's end record in the padding kept: read there
                          // too, and a weak value has no digest to tell it is the one the raw pass found.
                          "weak.tar (tar padding after entries' data) (bytes after the zip's end)",
                          "weak.tar (tar padding after entries' data)!k.env",
                          // The token after the zip is found by its reading first; the raw pass knows the value.
                          "zippad.tar (tar padding after entries' data) (bytes after the zip's end)"], "\(paths)")
        #expect(((doc["summary"] as? [String: Any])?["files"] as? Int) == 10, "the archives' files: one each, two in zippad.tar and weak.tar: \(r.out)")
    }

    /// The bytes of a zip no extraction writes out: an entry's name (said once, though both headers
    /// hold it), a local header's own name, an extra field, a local entry the directory does not list
    /// and what follows the end record. Each passed a scan that `grep` failed (found by helper-179).
    @Test func zipBytesOutsideItsEntriesAreScanned() throws {
        let (r, paths, doc) = try Self.scanMade("""
        import struct, zipfile
        def z(build):
            b = io.BytesIO()
            with zipfile.ZipFile(b, 'w') as zf: build(zf)
            return bytearray(b.getvalue())
        open('name.zip', 'wb').write(z(lambda zf: zf.writestr('cfg/' + tok + '.txt', 'hello\\n')))
        # The local header names the entry differently from the directory, which readers go by.
        other = 'cfg/' + 'x' * 40 + '.txt'
        d = z(lambda zf: zf.writestr(other, 'hello\\n'))
        d[30:30 + len(other)] = ('cfg/' + tok + '.txt').encode()
        open('local.zip', 'wb').write(d)
        def extra(zf):
            i = zipfile.ZipInfo('a.txt'); i.extra = b'\\x99\\x99' + struct.pack('<H', len(tok)) + tok.encode()
            zf.writestr(i, 'hello\\n')
        open('extra.zip', 'wb').write(z(extra))
        open('after.zip', 'wb').write(z(lambda zf: zf.writestr('a.txt', 'hello\\n')) + b'\\nGITHUB_TOKEN=' + tok.encode() + b'\\n')
        # Two stored entries, the first then dropped from the central directory: its bytes stay.
        d = z(lambda zf: (zf.writestr('gone.env', 'GITHUB_TOKEN=' + tok + '\\n'), zf.writestr('b.txt', 'hi')))
        end = d.rindex(b'PK\\x05\\x06'); size, at = struct.unpack('<II', d[end + 12:end + 20])
        first = 46 + sum(struct.unpack('<HHH', d[at + 28:at + 34]))
        kept = d[at + first:at + size]
        open('unlisted.zip', 'wb').write(d[:at] + kept + d[end:end + 8] + struct.pack('<HHII', 1, 1, len(kept), at) + d[end + 20:])
        # A name that is the token, or ends with it: the next record's signature follows it (helper-180).
        open('bare.zip', 'wb').write(z(lambda zf: (zf.writestr(tok, 'hello'), zf.writestr('keys/' + tok, 'hello'))))
        # A deflated entry the directory does not list, as `jar x <` extracts it; two zips joined (the
        # first one's entries are unlisted); a gzip after the end record (helper-180).
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as zf: zf.writestr('hidden.env', 'GITHUB_TOKEN=' + tok + '\\n' + 'x' * 200)
        hidden = b.getvalue(); hidden = hidden[:hidden.index(b'PK\\x01\\x02')]
        plain = z(lambda zf: zf.writestr('b.txt', 'hi'))
        shifted = bytearray(plain); end = shifted.rindex(b'PK\\x05\\x06')
        shifted[end + 16:end + 20] = struct.pack('<I', struct.unpack('<I', plain[end + 16:end + 20])[0] + len(hidden))
        cd = struct.unpack('<I', plain[end + 16:end + 20])[0]
        shifted[cd + 42:cd + 46] = struct.pack('<I', len(hidden))
        open('deflated.zip', 'wb').write(hidden + shifted)
        open('joined.zip', 'wb').write(bytes(z(lambda zf: zf.writestr('a.env', 'GITHUB_TOKEN=' + tok + '\\n'))) + plain)
        open('gzafter.zip', 'wb').write(plain + gzip.compress(line := ('GITHUB_TOKEN=' + tok + '\\n').encode(), mtime=0))
        # Names as a jar has them, with no value in them: nothing is found.
        open('clean.jar', 'wb').write(z(lambda zf: [zf.writestr(n, 'x') for n in ('META-INF/MANIFEST.MF', 'com/example/auth/PasswordEncoder.class', 'com/example/auth/SecretKeyTokenProvider$Builder.class', 'application.properties')]))
        """)
        #expect(paths == ["after.zip (bytes after the zip's end)", "bare.zip (zip bytes outside its entries)", "bare.zip (zip bytes outside its entries)",
                          "deflated.zip!(not in the zip's directory) hidden.env", "extra.zip (zip bytes outside its entries)", "gzafter.zip (bytes after the zip's end)",
                          "joined.zip!(not in the zip's directory) a.env", "local.zip (zip bytes outside its entries)",
                          "name.zip (zip bytes outside its entries)", "unlisted.zip!(not in the zip's directory) gone.env"], "\(paths)")
        let summary = doc["summary"] as? [String: Any]
        #expect(summary?["partlyScanned"] as? Int == 0 && summary?["unreadable"] as? Int == 0, "\(r.out)")
    }

    /// A gzip's stored name over 1 MiB is scanned whole: the file is in memory already, and a cap made
    /// ordinary files with many members partly scanned (helper-180). So are a zip's comments past
    /// 1 MiB, which 17 entries of 65,000 bytes of comment pass.
    @Test func longGzipNamesAndZipCommentsAreScannedWhole() throws {
        let (r, paths, doc) = try Self.scanMade("""
        import zipfile
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w') as zf:
            for n in range(18):
                i = zipfile.ZipInfo('f%02d.txt' % n); i.comment = (b'x' * 65000) if n < 17 else b'GITHUB_TOKEN=' + tok.encode(); zf.writestr(i, 'hi')
        open('comments.zip', 'wb').write(b.getvalue())
        g = io.BytesIO()
        with gzip.GzipFile(filename='x' * (1 << 20) + ' GITHUB_TOKEN=' + tok, mode='wb', fileobj=g, mtime=0) as f: f.write(b'hello\\n')
        open('long.log.gz', 'wb').write(g.getvalue())
        many = b''
        for i in range(120000): many += gzip.compress(b'x', mtime=0)[:3] + b'\\x08' + bytes(6) + b'file%06d.log\\x00' % i + gzip.compress(b'x', mtime=0)[10:]
        open('appended.log.gz', 'wb').write(many)
        """)
        #expect(paths == ["comments.zip (zip comments)", "long.log.gz (gzip header)"], "\(paths)")
        #expect(((doc["summary"] as? [String: Any])?["partlyScanned"] as? Int) == 0, "\(r.out)")
    }

    /// Hidden bytes whose first part reads as UTF-16 are scanned as the bytes they are too: a token in
    /// a later, ASCII part was garbled by the decoding alone (`8e095b8`, which had no test of its own).
    @Test func aUTF16FirstHiddenPartHidesNothingAfterIt() throws {
        let (r, paths, _) = try Self.scanMade("""
        import zipfile
        # An entry's comment in UTF-16, then the archive's with the token: two parts of the comments kept.
        for name, u in (('bom.zip', 'hello world, in UTF-16'.encode('utf-16')), ('plain.zip', 'hello world, in UTF-16'.encode('utf-16-le'))):
            c = io.BytesIO()
            with zipfile.ZipFile(c, 'w') as zf:
                i = zipfile.ZipInfo('x.txt'); i.comment = u; zf.writestr(i, 'hi')
                zf.comment = b'GITHUB_TOKEN=' + tok.encode()
            open(name, 'wb').write(c.getvalue())
        # A token in UTF-16 in a tar's padding, with and without a byte-order mark: the zeros to the
        # block's end hid that it was UTF-16 (helper-177).
        for name, enc in (('bompad.tar', 'utf-16'), ('lepad.tar', 'utf-16-le'), ('bepad.tar', 'utf-16-be')):
            u = ('GITHUB_TOKEN=' + tok).encode(enc)
            one = tar(tarfile.USTAR_FORMAT); one[518:518 + len(u)] = u
            open(name, 'wb').write(one)
        """)
        #expect(paths == ["bepad.tar (tar padding after entries' data)", "bom.zip (zip comments)", "bompad.tar (tar padding after entries' data)",
                          "lepad.tar (tar padding after entries' data)", "plain.zip (zip comments)"], "\(paths) \(r.err)")
    }

    /// UTF-16 anywhere in hidden bytes is read, not only a first part's: after a one-byte first part
    /// (at an odd offset), in a later block's padding, after an ASCII comment, and in a zip's extra
    /// field, each hid a token (helper-180). Each is found by its own rule, whole: the comments' first
    /// part misread the rest as UTF-16 a byte out, which gave only a generic assignment of a garbled value.
    /// Big-endian text after a printable byte or a character whose low byte is printable is found whole
    /// too, as is a weak value once, with no second, truncated credential beside a token; and a finding
    /// is placed on its line in the hidden bytes (helper-182).
    @Test func utf16AnywhereInHiddenBytesIsRead() throws {
        let (r, _, doc) = try Self.scanMade("""
        import struct, zipfile
        le = ('GITHUB_TOKEN=' + tok).encode('utf-16-le')
        one = tar(tarfile.USTAR_FORMAT); one[518:519] = b'x'; one[519:519 + len(le)] = le
        open('odd.tar', 'wb').write(one)
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode='w', format=tarfile.USTAR_FORMAT) as t:
            for name in ('a.txt', 'b.txt'):
                info = tarfile.TarInfo(name); info.size = 6; t.addfile(info, io.BytesIO(b'hello\\n'))
        two = bytearray(b.getvalue()); two[518:530] = b'hello world!'; two[1542:1542 + len(le)] = le
        open('later.tar', 'wb').write(two)
        def z(build):
            b = io.BytesIO()
            with zipfile.ZipFile(b, 'w') as zf: build(zf)
            return b.getvalue()
        def mixed(zf):
            i = zipfile.ZipInfo('x.txt'); i.comment = b'an ASCII comment first'; zf.writestr(i, 'hi')
            zf.comment = ('GITHUB_TOKEN=' + tok).encode('utf-16-be')
        open('mixed.zip', 'wb').write(z(mixed))
        def extra(zf):
            i = zipfile.ZipInfo('a.txt'); i.extra = b'\\x99\\x99' + struct.pack('<H', len(le)) + le
            zf.writestr(i, 'hello\\n')
        open('extra16.zip', 'wb').write(z(extra))
        def comment(name, c):
            open(name, 'wb').write(z(lambda zf: (zf.writestr('a.txt', 'hi'), setattr(zf, 'comment', c))))
        comment('hash.zip', b'#' + ('GITHUB_TOKEN=' + tok).encode('utf-16-be'))
        comment('spaces.zip', b'  ' + ('GITHUB_TOKEN=' + tok).encode('utf-16-be'))
        comment('han.zip', ('\\u4e2dtoken ' + tok).encode('utf-16-be'))
        comment('lines.zip', b'one\\ntwo\\nthree\\n' + ('GITHUB_TOKEN=' + tok).encode('utf-16-le'))
        comment('pem.zip', b'\\xff\\xfe' + ('-----BEGIN RSA PRIVATE KEY-----\\r\\n' + 'MIIEowIBAAKCAQEAx7' * 4 + '\\r\\n' + 'q' * 64 + '\\r\\n-----END RSA PRIVATE KEY-----\\r\\n').encode('utf-16-le'))
        comment('weak.zip', 'db_password=Summer2024!x'.encode('utf-16-le'))
        pad = tar(tarfile.USTAR_FORMAT); u = ('token ' + tok + '\\u0141').encode('utf-16-be'); pad[518:518 + len(u)] = u
        open('ell.tar', 'wb').write(pad)
        # A reading with a printable byte at one end holds the other (helper-184): a big-endian token
        # then zeros, a little-endian one before a printable byte, one after a printable length byte,
        # and an assignment whose longer reading is only a generic token.
        for name, u in (('zeros.tar', b'\\x07Z' + tok.encode('utf-16-be') + b'\\x00\\x00'), ('pk.tar', b'\\x07\\x07\\x00' + le[26:] + b'AB\\x01'),
                        ('len.tar', b'\\x07\\x07P\\x00' + le[26:] + b'\\x01\\x02'), ('sev.tar', b'\\x07\\x07P\\x00' + le + b'AB\\x07')):
            pad = tar(tarfile.USTAR_FORMAT); pad[518:518 + len(u)] = u
            open(name, 'wb').write(pad)
        """)
        let findings = (doc["findings"] as? [[String: Any]]) ?? []
        let seen = findings.map { ($0["path"] as? String ?? "").components(separatedBy: "/").last! + " " + ($0["rule"] as? String ?? "") }
        let pat = " github-personal-access-token"
        #expect(seen == ["ell.tar (tar padding after entries' data)" + pat, "extra16.zip (zip bytes outside its entries)" + pat, "han.zip (zip comments)" + pat,
                         "hash.zip (zip comments)" + pat, "later.tar (tar padding after entries' data)" + pat, "len.tar (tar padding after entries' data)" + pat,
                         "lines.zip (zip comments)" + pat, "mixed.zip (zip comments)" + pat, "odd.tar (tar padding after entries' data)" + pat, "pem.zip (zip comments) pem-private-key",
                         "pk.tar (tar padding after entries' data)" + pat, "sev.tar (tar padding after entries' data)" + pat, "spaces.zip (zip comments)" + pat,
                         "weak.zip (zip comments) generic-password", "zeros.tar (tar padding after entries' data)" + pat], "\(seen) \(r.err)")
        let lines = try #require(findings.first { ($0["path"] as? String ?? "").hasSuffix("lines.zip (zip comments)") })
        // Its column counts characters, as a UTF-16 file's does: `GITHUB_TOKEN=` is 13 of them.
        #expect(lines["line"] as? Int == 4 && lines["column"] as? Int == 14, "\(lines)")
    }

    /// xz, `.lzma` and zstd files, and `.deb` packages (ar archives whose members are tars in any of
    /// them), are opened: each was NOT CHECKED before. A zstd skippable frame is read as hidden bytes,
    /// and damage, a dictionary too large to decode and a bomb make the file partly scanned.
    @Test func compressedFilesAndDebPackagesAreOpened() throws {
        let (r, paths, doc) = try Self.scanMade("""
        import lzma, struct
        line = ('GITHUB_TOKEN=' + tok + '\\n').encode()
        def zst(data):
            # One frame of one raw block: what a zstd decoder reads, written without a zstd library.
            n = len(data)
            head = bytes([0x20, n]) if n < 256 else bytes([0x60]) + struct.pack('<H', n - 256)
            return b'\\x28\\xb5\\x2f\\xfd' + head + struct.pack('<I', 1 | (n << 3))[:3] + data
        def ar(members):
            out = b'!<arch>\\n'
            for name, data in members:
                out += ('%-16s%-12d%-6d%-6d%-8d%-10d' % (name, 0, 0, 0, 100644, len(data))).encode() + b'`\\n' + data + (b'\\n' if len(data) % 2 else b'')
            return out
        def tarred(name, data):
            b = io.BytesIO()
            with tarfile.open(fileobj=b, mode='w', format=tarfile.GNU_FORMAT) as t:
                i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
            return b.getvalue()
        open('a.txt.xz', 'wb').write(lzma.compress(line))
        open('a.txt.lzma', 'wb').write(lzma.compress(line, format=lzma.FORMAT_ALONE))
        open('a.txt.zst', 'wb').write(zst(line))
        skippable = b'\\x50\\x2a\\x4d\\x18' + struct.pack('<I', len(line)) + line
        open('skip.zst', 'wb').write(zst(b'hello\\n') + skippable + zst(b'bye\\n'))
        open('skipfirst.zst', 'wb').write(skippable + zst(b'hello\\n'))
        control = lzma.compress(tarred('./control', b'Package: demo\\nVersion: 1.0\\n'))
        open('demo_1.0_all.deb', 'wb').write(ar([('debian-binary', b'2.0\\n'), ('control.tar.xz', control), ('data.tar.zst', zst(tarred('./etc/app/env', line)))]))
        # Cut inside its data: what was read before the cut is scanned, and the file is partly scanned.
        x = lzma.compress(b'hello\\n' * 10000 + line)
        open('cut.txt.xz', 'wb').write(x[:len(x) - 40])
        open('bigdict.xz', 'wb').write(lzma.compress(line, filters=[{'id': lzma.FILTER_LZMA2, 'dict_size': 1 << 30}]))
        open('bomb.xz', 'wb').write(lzma.compress(bytes(40 << 20), preset=1))
        open('cut.deb', 'wb').write(ar([('debian-binary', b'2.0\\n'), ('data.tar.zst', zst(tarred('./etc/app/env', line)))])[:200])
        """)
        #expect(paths == ["a.txt.lzma", "a.txt.xz", "a.txt.zst", "cut.txt.xz", "demo_1.0_all.deb!data.tar.zst!./etc/app/env", "skip.zst (zstd skippable frames)",
                          "skipfirst.zst (zstd skippable frames)"], "\(paths) \(r.err)")
        let summary = doc["summary"] as? [String: Any]
        #expect(summary?["partlyScanned"] as? Int == 4, "\(r.out)")
        for said in ["cut.txt.xz' has damaged xz data", "bigdict.xz' has damaged xz data: it needs more than 128 MiB of memory to decode",
                     "bomb.xz: archive inflates to more than", "cut.deb: member 2 ("] {
            #expect(r.out.contains(said), "\(said): \(r.out)")
        }
        #expect(!r.out.contains("which this scanner cannot open"), "\(r.out)")
    }

    /// Found by helper-181 in the new formats: a token after an `.lzma` stream, a zipapp or a bzip2
    /// file inside xz, a BSD ar member's name, and clear text behind a zip local header met by chance
    /// between entries each passed clean.
    @Test func whatFollowsOrHidesInTheNewFormatsIsRead() throws {
        let (r, paths, doc) = try Self.scanMade("""
        import lzma, struct, zipfile
        line = ('GITHUB_TOKEN=' + tok + '\\n').encode()
        open('after.lzma', 'wb').write(lzma.compress(b'hello\\n', format=lzma.FORMAT_ALONE) + line)
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w') as zf: zf.writestr('__main__.py', line)
        open('app.pyz.xz', 'wb').write(lzma.compress(b'#!/usr/bin/env python3\\n' + b.getvalue()))
        open('t.bz2.xz', 'wb').write(lzma.compress(b'BZh91AY&SY' + bytes(40)))
        name = 'GITHUB_TOKEN=' + tok + '.txt'
        open('bsd.a', 'wb').write(b'!<arch>\\n' + ('%-16s%-12d%-6d%-6d%-8d%-10d' % ('#1/' + str(len(name)), 0, 0, 0, 100644, len(name) + 2)).encode() + b'`\\n' + name.encode() + b'hi')
        # A stored local header with no size, then binary bytes and the token in clear, between entries.
        fake = struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b'x' + b'\\x01\\x00' * 64 + line
        plain = io.BytesIO()
        with zipfile.ZipFile(plain, 'w') as zf: zf.writestr('b.txt', 'hi')
        plain = bytearray(plain.getvalue()); end = plain.rindex(b'PK\\x05\\x06')
        cd = struct.unpack('<I', plain[end + 16:end + 20])[0]
        open('fakegap.zip', 'wb').write(plain[:cd] + fake + plain[cd:end + 16] + struct.pack('<I', cd + len(fake)) + plain[end + 20:])
        # An unlisted deflated entry that inflates past the ratio: said, as for a listed one.
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as zf: zf.writestr('hidden.env', b'A' * (3 << 20) + line)
        hidden = b.getvalue()
        open('bomb.zip', 'wb').write(hidden[:hidden.index(b'PK\\x01\\x02')] + bytes(plain))
        """)
        #expect(paths == ["after.lzma (its bytes as they are)", "app.pyz.xz!__main__.py", "bsd.a (ar header fields)", "fakegap.zip (zip bytes outside its entries)"], "\(paths) \(r.err)")
        #expect((r.out + r.err).contains("after.lzma' has damaged lzma data: 54 bytes follow the end of the stream"), "\(r.out)")
        #expect((r.out + r.err).contains("t.bz2.xz: bzip2-compressed"), "\(r.out)")
        #expect((r.out + r.err).contains("bomb.zip!(not in the zip's directory) hidden.env: not read (zip bomb?)"), "\(r.out)")
        #expect(((doc["summary"] as? [String: Any])?["partlyScanned"] as? Int) == 3, "\(r.out)")
    }

    /// A later member's stored name, as `cat a.gz b.gz` keeps it, is scanned as the first member's is,
    /// also when that member is damaged after its header (found by helper-179).
    @Test func laterGzipMembersHeadersAreScanned() throws {
        let (r, paths, doc) = try Self.scanMade("""
        def gz(name, data=b'hello\\n'):
            g = io.BytesIO()
            with gzip.GzipFile(filename=name, mode='wb', fileobj=g, mtime=0) as f: f.write(data)
            return g.getvalue()
        open('joined.log.gz', 'wb').write(gz('a.log') + gz('GITHUB_TOKEN=' + tok))
        cut = gz('GITHUB_TOKEN=' + tok, b'x' * 4096)
        open('damaged.log.gz', 'wb').write(gz('a.log') + cut[:len(cut) - 12])
        """)
        #expect(paths == ["damaged.log.gz (gzip header)", "joined.log.gz (gzip header)"], "\(paths)")
        #expect(((doc["summary"] as? [String: Any])?["partlyScanned"] as? Int) == 1, "\(r.out)")
    }

    @Test func gitHistoryFindsATokenThatWasLaterRemovedAndNamesTheCommit() throws {
        let dir = try Self.tree(["README.md": "hello\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let setup = """
        git init -q . && git config user.email t@example.com && git config user.name t && git add . && git commit -qm init &&
        printf 'deploy:\\n  token: \(Self.token)\\n' > ci.yaml && git add ci.yaml && git commit -qm 'add ci' &&
        git rev-parse HEAD > /tmp/leak-commit-$$ && cat /tmp/leak-commit-$$ && rm /tmp/leak-commit-$$ &&
        printf 'deploy:\\n  token: ${TOKEN}\\n' > ci.yaml && git commit -qam 'use a variable'
        """
        let s = try Self.sh(setup, in: dir)
        #expect(s.code == 0, "\(s.err)")
        let leak = s.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let plain = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"])
        #expect(!plain.out.contains("github-personal-access-token"), "the working tree no longer has it")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git", "--format", "json", "--fail-on", "high"])
        #expect(r.code == 1, "\(r.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let f = try #require((doc["findings"] as? [[String: Any]])?.first { $0["rule"] as? String == "github-personal-access-token" })
        #expect(f["commit"] as? String == leak)
        #expect(f["line"] as? Int == 2)
        #expect((f["path"] as? String)?.hasSuffix("/ci.yaml") == true)
    }

    /// Found by helper-132: `log.showRoot=false` in the repository's config hid everything the root
    /// commit added, and a commit amended away (left only in the reflog) was never read.
    @Test func gitHistoryReadsTheRootCommitAndTheReflogWhateverTheConfigSays() throws {
        let dir = try Self.tree(["README.md": "hello\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let setup = """
        git init -q . && git config user.email t@example.com && git config user.name t &&
        git config log.showRoot false && git config diff.noprefix true && git config diff.interHunkContext 5 &&
        printf 'token: \(Self.token)\n' > root.env && git add . && git commit -qm root && git rm -q root.env && git commit -qm rm &&
        printf 'slack: \(Self.slack)\n' > amended.env && git add amended.env && git commit -qm cfg &&
        git rm -q --cached amended.env && rm amended.env && echo ok > b && git add b && git commit -q --amend -m cfg
        """
        let s = try Self.sh(setup, in: dir)
        #expect(s.code == 0, "\(s.err)")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git", "--format", "json", "--fail-on", "high"])
        #expect(r.code == 1, "\(r.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.err)")
        let found = Set(((doc["findings"] as? [[String: Any]]) ?? []).compactMap { f in
            (f["path"] as? String).map { ($0.split(separator: "/").last.map(String.init) ?? "") + " " + (f["rule"] as? String ?? "") }
        })
        #expect(found.contains("root.env github-personal-access-token"), "\(found)")
        #expect(found.contains { $0.hasPrefix("amended.env slack") }, "\(found)")
    }

    /// Found by helper-132: `secrets redact` held its output until 4 MiB had come or the input ended,
    /// so `tail -f log | provenant secrets redact` showed nothing. A pause settles what came up to its
    /// last whole line; a PEM block that has begun waits for its end.
    @Test(.timeLimit(.minutes(1))) func redactPassesLinesOfALiveStreamAsTheyCome() throws {
        let driver = #"""
        import subprocess, sys, select, time
        p = subprocess.Popen([sys.argv[1], "secrets", "redact"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        def line(timeout=10):
            r, _, _ = select.select([p.stdout], [], [], timeout)
            return p.stdout.readline().decode() if r else "TIMEOUT"
        p.stdin.write(b"line one\n"); p.stdin.flush()
        print(line().strip())
        p.stdin.write(("tok " + sys.argv[2] + "\n").encode()); p.stdin.flush()
        print(line().strip())
        p.stdin.write(b"-----BEGIN OPENSSH PRIVATE KEY-----\n"); p.stdin.flush()
        print(line(1.5).strip())
        p.stdin.close(); p.wait()
        """#
        let r = try runProcess("/usr/bin/env", ["python3", "-c", driver, provenantBinary, Self.token])
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.count >= 3 && lines[0] == "line one" && lines[1] == "tok [REDACTED:github-personal-access-token]", "\(r.out) \(r.err)")
        #expect(lines.count >= 3 && lines[2] == "TIMEOUT", "a PEM block that has begun is held until it ends: \(r.out)")
    }

    /// Found by helper-141: a pause inside a PuTTY key, or after a line a backslash continues, let
    /// the lines before it out unredacted. Such a block is held until it closes, as a PEM block was.
    @Test(.timeLimit(.minutes(1))) func redactHoldsMultiLineSecretsAcrossAPause() throws {
        let ppk = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy@build\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIhPQpaP6dNvHPThBB4q6VaB+Yk8Pfz6vmZRvg/Wty\ns7ZWGTgKMfH1wO9CphUx\nPrivate-Lines: 1\nAAAAIu1ouclS3nA0EeAvL4hUMgEjqIgFhVOK292sdVqkvR0E\n"
        let mac = "Private-MAC: e78f86c7ee2ef83d1e1ca3567cd21421588dea66da489284ff0f0349409632ba\n"
        let driver = #"""
        import subprocess, sys, time
        p = subprocess.Popen([sys.argv[1], "secrets", "redact"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        p.stdin.write(sys.argv[2].encode()); p.stdin.flush(); time.sleep(0.8)
        p.stdin.write(sys.argv[3].encode()); p.stdin.close()
        sys.stdout.write(p.stdout.read().decode())
        """#
        let r = try runProcess("/usr/bin/env", ["python3", "-c", driver, provenantBinary, ppk, mac])
        #expect(r.out.contains("[REDACTED:putty-private-key]") && !r.out.contains("AAAAIu1ouclS3nA0"), "\(r.out) \(r.err)")
        // With known values, a base64 form wrapped over lines is held across a pause after its first
        // line, not written half in clear (helper-188).
        let knownDriver = #"""
        import base64, subprocess, sys, tempfile, time
        k = tempfile.NamedTemporaryFile("w", suffix=".env", delete=False); k.write("API_TOKEN=agent-Secret-Value-123\n"); k.close()
        p = subprocess.Popen([sys.argv[1], "secrets", "redact", "--known", k.name], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        p.stdin.write(b'eyJub3RlIjoicHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwIiwidG9rZW4iOiJhZ2VudC1TZWNy\n'); p.stdin.flush(); time.sleep(0.8)
        p.stdin.write(b'ZXQtVmFsdWUtMTIzIn0=\nINFO done\n'); p.stdin.close()
        sys.stdout.write(p.stdout.read().decode())
        """#
        let w = try runProcess("/usr/bin/env", ["python3", "-c", knownDriver, provenantBinary])
        #expect(w.out.contains("[REDACTED:known:") && !w.out.contains("dG9rZW4iOiJhZ2VudC1TZWNy") && w.out.hasSuffix("INFO done\n"), "\(w.out) \(w.err)")
        // ChunkedScan's idle limit, directly: a continued line is held, with the lines it continues.
        let text = Array("done\ncurl -H 'Authorization: Bearer x' \\\n  -d a \\\r\n".utf8)
        #expect(ChunkedScan.idleLimit(text, from: 0) == 5)
        #expect(ChunkedScan.idleLimit(Array("a\nb\n".utf8), from: 0) == 4)
        // A line naming the format is no key's start; a close inside a key's comment is no close (helper-143).
        let named = Array("warn: PuTTY-User-Key-File-3 keys are not supported\nline 1\n".utf8)
        #expect(ChunkedScan.idleLimit(named, from: 0) == named.count)
        let commented = Array("PuTTY-User-Key-File-3: ssh-ed25519\nComment: see Private-MAC: below\nPublic-Lines: 2\n".utf8)
        #expect(ChunkedScan.idleLimit(commented, from: 0) == 0)
        // An opening after a prefix (a dotenv value) holds too (helper-144).
        #expect(ChunkedScan.idleLimit(Array("ok\nPPK=\"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n".utf8), from: 0) == 3)
        // Held at most 64 KiB: an opening never closed does not hold a stream for good.
        let endless = Array(("PuTTY-User-Key-File-3: x\n" + String(repeating: "line\n", count: 20_000)).utf8)
        #expect(ChunkedScan.idleLimit(endless, from: 0) == endless.count)
        // But a stray opening that far back does not stop a later real key from being held (helper-183).
        let stray = Array(("-----BEGIN in a log line\n" + String(repeating: "line\n", count: 20_000)).utf8)
        let later = stray + Array("ok\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n".utf8)
        #expect(ChunkedScan.idleLimit(later, from: 0) == stray.count + 3)
        // With known values, the base64 the last lines end in, joined across their breaks, is held from
        // where a known form begins in it; nothing else is (helper-188, helper-189, helper-190).
        let first = "eyJub3RlIjoicHBwcHBwcHBwcHBwcHBwcHBwcHBwIiwidG9r", second = "ZW4iOiJhZ2VudC1TZWNy"
        let form = String(first.dropFirst(10)) + second + "ZXQtVmFsdWU"
        func begins(_ f: String) -> ([UInt8]) -> Int? {
            { j in
                let f = Array(f.utf8)
                for l in stride(from: min(j.count, f.count), through: 6, by: -1) where Array(j.suffix(l)) == Array(f.prefix(l)) { return l }
                return nil
            }
        }
        let wrapped = Array(("log line\ndata: " + first + "\n" + second + " \n").utf8)
        #expect(ChunkedScan.idleLimit(wrapped, from: 0, base64Reach: 4096, formStart: begins(form)) == 25)
        #expect(ChunkedScan.idleLimit(wrapped, from: 0, base64Reach: 30, formStart: begins(form)) == wrapped.count)
        #expect(ChunkedScan.idleLimit(wrapped, from: 0, base64Reach: 4096) == wrapped.count)
        // Across blank lines, a CR alone and a quote's `>` (helper-191).
        let spaced = Array(("log line\ndata: " + first + "\n\n\r\n>\n" + second + "\n").utf8)
        #expect(ChunkedScan.idleLimit(spaced, from: 0, base64Reach: 4096, formStart: begins(form)) == 25)
        // A short first line after a prefix is held as well; lines ending in ids, paths or words are not.
        let short = Array(("INFO backup key: " + form.prefix(12) + "\n").utf8)
        #expect(ChunkedScan.idleLimit(short, from: 0, base64Reach: 4096, formStart: begins(form)) == 17)
        for quiet in ["INFO started ok\nline two\n", "commit 3f2a9c1b7e4d5a6f8b0c1d2e3f4a5b6c7d8e9f01\n", "----------------------------------------\n"] {
            #expect(ChunkedScan.idleLimit(Array(quiet.utf8), from: 0, base64Reach: 4096, formStart: begins(form)) == quiet.utf8.count, "\(quiet)")
        }
        // In UTF-16, the zero of each unit is passed over.
        let wide = Array(("ok\n" + form.prefix(20) + "\n").data(using: .utf16LittleEndian)!)
        #expect(ChunkedScan.idleLimit(wide, from: 0, base64Reach: 4096, formStart: begins(form)) == 6)
    }

    /// Found by helper-141: UTF-16 input came out of `secrets redact` byte for byte, token and all, and
    /// so did a gzipped log. UTF-16 is redacted and written back in UTF-16; a compressed or archived
    /// input is refused with nothing written.
    @Test func redactRewritesUTF16AndRefusesCompressedInput() throws {
        let dir = try Self.tree(["README": "inputs for redact\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try runProcess("/usr/bin/env", ["python3", "-c", """
            import gzip, sys
            d, t = sys.argv[1], sys.argv[2]
            open(d + "/le.txt", "wb").write(b"\\xff\\xfe" + ("caf\\u00e9 \\U0001F600\\ntoken=" + t + "\\n").encode("utf-16-le"))
            open(d + "/be.txt", "wb").write(('{"token":"' + t + '","note":"plain words here"}').encode("utf-16-be"))
            open(d + "/log.gz", "wb").write(gzip.compress(("token=" + t + "\\n").encode(), mtime=0))
            open(d + "/mixed.txt", "wb").write(b"\\xff\\xfe" + "PS> whoami\\r\\nadmin\\r\\n".encode("utf-16-le") + ("then UTF-8: token " + t + "\\n").encode())
            """, dir.path, Self.token])
        try #require(made.code == 0, "\(made.err)")
        // UTF-16, then UTF-8 (helper-183): the token in the UTF-8 is redacted, and found by a scan.
        let mixed = try Self.sh("\"$PROVENANT\" secrets redact < mixed.txt | tail -c 80; \"$PROVENANT\" secrets scan mixed.txt --fail-on high", in: dir)
        #expect(mixed.out.contains("then UTF-8: token [REDACTED:github-personal-access-token]") && !mixed.out.contains("R7wQ2bX9"), "\(mixed.out) \(mixed.err)")
        #expect(mixed.code == 1 && mixed.out.contains("mixed.txt:3:"), "\(mixed.out) \(mixed.err)")
        // Each token once, wherever its part stands (helper-185): a UTF-8 token on a line the decoded
        // reading numbered as a UTF-16 token's was dropped; UTF-16 after text, and little-endian
        // then big-endian, were not read at all.
        let second = "ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
        let parts = try runProcess("/usr/bin/env", ["python3", "-c", """
            import sys
            d, t, u = sys.argv[1], sys.argv[2], sys.argv[3]
            le = lambda s: s.encode('utf-16-le')
            open(d + '/lines.txt', 'wb').write(b'\\xff\\xfe' + le('l1\\r\\n') + ('a\\nb\\nc\\nB ' + u + ' \\n').encode() + le('x\\r\\ny\\r\\nz\\r\\nA ' + t + '\\r\\n'))
            open(d + '/after.log', 'wb').write(('INFO started\\n' * 600).encode() + ('token ' + t + '\\r\\n').encode('utf-16-be'))
            open(d + '/orders.txt', 'wb').write(le('first part\\r\\n') + ('then ' + u + '\\r\\n').encode('utf-16-be'))
            """, dir.path, Self.token, second])
        try #require(parts.code == 0, "\(parts.err)")
        let found = try Self.sh("\"$PROVENANT\" secrets scan lines.txt after.log orders.txt --format json", in: dir)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(found.out.utf8)) as? [String: Any], "\(found.err)")
        let seen = ((doc["findings"] as? [[String: Any]]) ?? []).map { "\(($0["path"] as? String) ?? "") \(($0["line"] as? Int) ?? 0)" }.sorted()
        #expect(seen == ["after.log 601", "lines.txt 5", "lines.txt 9", "orders.txt 2"], "\(seen) \(found.err)")
        // A weak value in UTF-16 is judged, measured and fingerprinted as the text it encodes: from its
        // bytes, the zeros made it strong and its plain SHA-256 was printed (helper-186).
        try Data("password = \"Summer2024!Summer2024!Summer2024!\"\n".data(using: .utf16LittleEndian)!).write(to: dir.appendingPathComponent("weak16.txt"))
        let weak = try Self.sh("\"$PROVENANT\" secrets scan weak16.txt --format json", in: dir)
        #expect(weak.out.contains("\"length\": 33") && weak.out.contains("\"prefix\": \"\"") && !weak.out.contains("\"fingerprintOf\": \"value\""), "\(weak.out)")
        let strong = try Self.sh("\"$PROVENANT\" secrets scan mixed.txt --format json", in: dir)
        #expect(strong.out.contains(FileDigest.sha256(Array(Self.token.utf8)).value), "a token's fingerprint is its text's, in either encoding: \(strong.out)")
        for (name, encoding) in [("le.txt", String.Encoding.utf16LittleEndian), ("be.txt", .utf16BigEndian)] {
            let r = try Self.sh("\"$PROVENANT\" secrets redact < \(name) > \(name).red", in: dir)
            #expect(r.code == 0, "\(r.err)")
            var out = try Data(contentsOf: dir.appendingPathComponent(name + ".red"))
            let input = try Data(contentsOf: dir.appendingPathComponent(name))
            #expect(out.prefix(2) == input.prefix(2), "the byte order mark, or its absence, is kept")
            if name == "le.txt" { out = out.dropFirst(2) }
            let text = String(data: out, encoding: encoding) ?? ""
            #expect(text.contains("[REDACTED:github-personal-access-token]") && !text.contains("R7wQ2bX9"), "\(name): \(text)")
            #expect(name != "le.txt" || text.hasPrefix("caf\u{e9} \u{1F600}\n"), "\(text)")
        }
        // A short first write, then a pause: the form is told from more than it (helper-143).
        let paused = try Self.sh("( printf 'OK\\r\\n' | iconv -t utf-16le; sleep 1; printf 'GITHUB_TOKEN=\(Self.token)\\r\\n' | iconv -t utf-16le ) | \"$PROVENANT\" secrets redact | iconv -f utf-16le -t utf-8", in: dir)
        #expect(paused.out.contains("[REDACTED:github-personal-access-token]") && !paused.out.contains("R7wQ2bX9"), "\(paused.out) \(paused.err)")
        // Nor when it holds no NUL: UTF-16 of CJK text (helper-144).
        let cjk = try Self.sh("( printf '\\350\\277\\233\\345\\272\\246' | iconv -f utf-8 -t utf-16le; sleep 1; printf ' ok\\r\\nGITHUB_TOKEN=\(Self.token)\\r\\n' | iconv -t utf-16le ) | \"$PROVENANT\" secrets redact | iconv -f utf-16le -t utf-8", in: dir)
        #expect(cjk.out.contains("[REDACTED:github-personal-access-token]") && !cjk.out.contains("R7wQ2bX9"), "\(cjk.out) \(cjk.err)")
        let gz = try Self.sh("\"$PROVENANT\" secrets redact < log.gz > log.red", in: dir)
        let written = try Data(contentsOf: dir.appendingPathComponent("log.red"))
        #expect(gz.code == 2 && gz.err.contains("gzip-compressed") && written.isEmpty, "\(gz.err)")
    }

    /// Found by helper-132: a weak value's first characters, length and plain SHA-256 were in the
    /// report and the baseline, and a six-word wordlist recovered it. A weak value shows neither its
    /// start nor a hash of it, and is fingerprinted by rule, path and length, so a baseline still
    /// suppresses it.
    @Test func aWeakValueIsNeitherStartedNorHashedInReports() throws {
        let weak = "Summer2024!x"
        let dir = try Self.tree(["app.env": "DB_PASSWORD=\(weak)\nGITHUB=\(Self.token)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Self.sh("\"$PROVENANT\" secrets scan app.env --format json --write-baseline base.json; \"$PROVENANT\" secrets scan app.env --format sarif > out.sarif; \"$PROVENANT\" secrets scan app.env > out.txt", in: dir)
        let everything = r.out + (try String(contentsOf: dir.appendingPathComponent("base.json"), encoding: .utf8))
            + (try String(contentsOf: dir.appendingPathComponent("out.sarif"), encoding: .utf8)) + (try String(contentsOf: dir.appendingPathComponent("out.txt"), encoding: .utf8))
        let weakHash = FileDigest.sha256(Array(weak.utf8)).value
        #expect(!everything.contains(weakHash) && !everything.contains(String(weakHash.prefix(16))), "no hash of the weak value")
        #expect(!everything.contains("\"Sum\"") && !everything.contains("Sum…"), "no start of the weak value")
        #expect(everything.contains("weak, so neither its start nor a hash is shown"))
        let strongHash = FileDigest.sha256(Array(Self.token.utf8)).value
        #expect(everything.contains(strongHash), "a strong value keeps its hash")
        let again = try Self.sh("\"$PROVENANT\" secrets scan app.env --baseline base.json --fail-on low", in: dir)
        #expect(again.code == 0, "the baseline suppresses both: \(again.out) \(again.err)")
        // A rotated weak value of the same length, and a new one, are not the accepted one (found by
        // helper-133: rule, path and length alone matched them).
        try "DB_PASSWORD=Wint3r2025?y\nAPI_PASSWORD=Kq8!zR2#pLm5\nGITHUB=\(Self.token)\n".write(to: dir.appendingPathComponent("app.env"), atomically: true, encoding: .utf8)
        let rotated = try Self.sh("\"$PROVENANT\" secrets scan app.env --baseline base.json --fail-on low --format json", in: dir)
        #expect(rotated.code == 1, "\(rotated.out) \(rotated.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(rotated.out.utf8)) as? [String: Any], "\(rotated.err)")
        #expect(((doc["findings"] as? [[String: Any]]) ?? []).count == 2, "both weak values are new; the token stays accepted: \(rotated.out)")
        let base = try String(contentsOf: dir.appendingPathComponent("base.json"), encoding: .utf8)
        #expect(base.contains("\"salt\"") && base.contains("\"version\": 2"), "\(base)")
    }

    /// Found by helper-132: `.git` directories were skipped whole, so a token in a remote's URL in
    /// `.git/config` (as CI checkouts write it) was never read. The config is read, at every depth.
    @Test func aGitConfigIsScanned() throws {
        let dir = try Self.tree(["README.md": "hello\n", "vendor/lib/README.md": "x\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let setup = """
        git init -q . && git remote add origin https://x-access-token:\(Self.token)@github.com/acme/app.git &&
        git init -q vendor/lib && git -C vendor/lib remote add origin https://x-access-token:\(Self.token)@github.com/acme/lib.git &&
        printf '#!/bin/sh\\ncurl -H "Authorization: token \(Self.token)" https://ci.example.com/hook\\n' > .git/hooks/pre-push && chmod +x .git/hooks/pre-push
        """
        #expect(try Self.sh(setup, in: dir).code == 0)
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.err)")
        let paths = Set(((doc["findings"] as? [[String: Any]]) ?? []).compactMap { ($0["path"] as? String)?.replacingOccurrences(of: dir.path + "/", with: "") })
        // Hooks are scripts git runs, and were never read (found by helper-141).
        #expect(paths == [".git/config", "vendor/lib/.git/config", ".git/hooks/pre-push"], "\(paths)")
        // A hooks directory past the listing bound is NOT CHECKED, not cut short in silence (helper-143).
        #expect(try Self.sh("python3 -c \"import os\nfor i in range(10001): os.mkdir('vendor/lib/.git/hooks/d%d' % i)\"", in: dir).code == 0)
        let crowded = try runProcess(provenantBinary, ["secrets", "scan", dir.path + "/vendor", "--fail-on", "high"])
        #expect(crowded.code == 1 && crowded.err.contains("more than 10000 entries"), "\(crowded.out) \(crowded.err)")
    }

    /// Found by helper-132: an archive piped to standard input was scanned as bytes and passed clean.
    @Test func archivesOnStandardInputAreOpened() throws {
        let dir = try Self.tree(["s.env": "t=\(Self.token)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        for pipe in ["gzip -c s.env", "tar czf - s.env", "tar cf - s.env"] {
            let r = try Self.sh("\(pipe) | \"$PROVENANT\" secrets scan - --format json --fail-on high", in: dir)
            #expect(r.code == 1 && r.out.contains("github-personal-access-token"), "\(pipe): \(r.out) \(r.err)")
        }
        let xz = try Self.sh("printf '\\375\\067\\172\\130\\132\\000rest' | \"$PROVENANT\" secrets scan - --fail-on high", in: dir)
        // xz is opened now: these bytes are no xz stream, so the input is NOT CHECKED.
        #expect(xz.code == 1 && xz.err.contains("has damaged xz data"), "\(xz.err)")
    }

    /// Found by helper-132: an encrypted entry stored uncompressed was scanned as if its bytes were its
    /// content, and passed clean. It is not read, and the archive is partly scanned. (The entry here
    /// holds plain text under the encryption flag, so reading it would find the token.)
    @Test func encryptedZipEntriesAreNotCheckedNotClean() throws {
        let dir = try Self.tree(["README.md": "hello\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let make = """
        python3 -c "import zipfile; z=zipfile.ZipFile('enc.zip','w'); z.writestr('s.env','token=\(Self.token)\\n'); z.close(); b=bytearray(open('enc.zip','rb').read()); [b.__setitem__(i+o, b[i+o] | 1) for sig, o in ((b'PK\\x03\\x04', 6), (b'PK\\x01\\x02', 8)) for i in [b.find(sig)]]; open('enc.zip','wb').write(b)"
        """
        let m = try Self.sh(make, in: dir)
        #expect(m.code == 0, "\(m.err)")
        let r = try Self.sh("\"$PROVENANT\" secrets scan enc.zip --fail-on low --format json", in: dir)
        #expect(r.code == 1, "\(r.out) \(r.err)")
        #expect(r.err.contains("is encrypted; not read"), "\(r.err)")
        #expect(!r.out.contains("github-personal-access-token"))
    }

    /// Found by helper-115: a zip entry named like a known value was printed in full in the warning
    /// that it could not be read.
    @Test func unreadableArchiveEntriesNamedLikeKnownValuesAreMasked() throws {
        let dir = try Self.tree(["known.env": "K=SuperSecretValue123\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let make = #"""
        python3 -c "import zipfile; z=zipfile.ZipFile('k.zip','w'); z.writestr('a'*110+'SuperSecretValue123.txt','x'); z.close(); b=bytearray(open('k.zip','rb').read()); i=b.find(b'PK\x01\x02'); b[i+10:i+12]=(99).to_bytes(2,'little'); b[8:10]=(99).to_bytes(2,'little'); open('k.zip','wb').write(b)"
        """#
        #expect(try Self.sh(make, in: dir).code == 0)
        let r = try Self.sh("\"$PROVENANT\" secrets scan k.zip --known known.env --format json", in: dir)
        #expect(r.err.contains("compression method 99") || r.out.contains("compression method 99"), "\(r.err)")
        // Masked before it is shortened: a value across the 120-character cut was partly printed (helper-117).
        #expect(!(r.out + r.err).contains("SuperSecre"), "\(r.err)")
    }

    /// A UTF-16 file's history is read as the file is: a PowerShell log that a UTF-8 program appended a
    /// token to was decoded whole as UTF-16, and the token in its tail passed (helper-183 #2, in `--git`).
    @Test func gitHistoryReadsUTF16WhereItStands() throws {
        let dir = try Self.tree(["README.md": "hello\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = Self.token
        let setup = """
        git init -q . && git config user.email t@example.com && git config user.name t &&
        python3 -c "
        open('mixed.log', 'wb').write(b'\\xff\\xfe' + 'PS> whoami\\r\\nadmin\\r\\n'.encode('utf-16-le') + b'then UTF-8: token \(t)\\n')
        open('wide.log', 'wb').write(('line one\\r\\nGITHUB_TOKEN=\(t)\\r\\n').encode('utf-16-be'))
        " && git add . && git commit -qm add && rm mixed.log wide.log && git commit -qam remove
        """
        let s = try Self.sh(setup, in: dir)
        #expect(s.code == 0, "\(s.err)")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git", "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.err)")
        let found = ((doc["findings"] as? [[String: Any]]) ?? []).map { "\(($0["path"] as? String ?? "").split(separator: "/").last ?? "") \($0["line"] ?? "") \($0["rule"] ?? "")" }
        #expect(found.sorted() == ["mixed.log 3 github-personal-access-token", "wide.log 2 github-personal-access-token"], "\(found) \(r.err)")
        #expect(!r.out.contains(t) && !r.err.contains(t))
    }

    /// Found by helper-115: git C-quotes a name holding a quote and ends one holding a space with a
    /// tab; findings showed `"b/sp ace\"q.env"` and a trailing tab.
    @Test func gitHistoryPathsAreUnquoted() throws {
        let dir = try Self.tree(["README.md": "hello\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let setup = """
        git init -q . && git config user.email t@example.com && git config user.name t &&
        printf 'token: \(Self.token)\n' > 'sp ace"q.env' && printf 'token: \(Self.token)\n' > 'two words.env' && git add . && git commit -qm add
        """
        #expect(try Self.sh(setup, in: dir).code == 0)
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git", "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.err)")
        let paths = ((doc["findings"] as? [[String: Any]]) ?? []).compactMap { ($0["path"] as? String)?.split(separator: "/").last.map(String.init) }
        #expect(Set(paths) == ["sp ace\"q.env", "two words.env"], "\(paths)")
    }

    /// Found by helper-115: a shallow clone (as CI checks out), grafts and replace refs hid the commit
    /// that added a secret, and the scan said "No secrets found" with exit 0.
    @Test func gitHistoryCutShortIsNotCheckedAndReplaceRefsAreNotObeyed() throws {
        let dir = try Self.tree(["README.md": "hello\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let setup = """
        git init -q . && git config user.email t@example.com && git config user.name t && git add . && git commit -qm init &&
        printf 'token: \(Self.token)\n' > s.env && git add s.env && git commit -qm add && git rm -q s.env && git commit -qm remove
        """
        #expect(try Self.sh(setup, in: dir).code == 0)
        // A depth-1 clone holds only the last commit: what it cut is not checked, so --fail-on fails.
        let shallow = dir.path + "-shallow"
        defer { try? FileManager.default.removeItem(atPath: shallow) }
        #expect(try Self.sh("git clone -q --depth 1 file://\(dir.path) \(shallow)", in: dir).code == 0)
        let cut = try runProcess(provenantBinary, ["secrets", "scan", shallow, "--git", "--fail-on", "low"])
        #expect(cut.code == 1 && cut.err.contains("is a shallow clone") && cut.err.contains("NOT CHECKED"), "\(cut.out) \(cut.err)")
        // A replace ref that swaps the adding commit for its parent does not hide it.
        #expect(try Self.sh("git replace $(git rev-parse HEAD~1) $(git rev-parse HEAD~2)", in: dir).code == 0)
        let replaced = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git", "--format", "json", "--fail-on", "high"])
        #expect(replaced.code == 1 && replaced.out.contains("github-personal-access-token"), "\(replaced.err)")
    }

    @Test func redactFiltersAStreamAndKnownValuesShorterThanEightBytesAreRefused() throws {
        let dir = try Self.tree(["creds.env": "API_TOKEN=agent-Secret-Value-123\n", "short.env": "PIN=1234\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let payload = Data(#"{"k":"agent-Secret-Value-123"}"#.utf8).base64EncodedString()
        let log = "user=bob token=\(Self.token)\nbody=\(payload)\nplain agent-Secret-Value-123 end\n"
        try log.write(to: dir.appendingPathComponent("in.log"), atomically: true, encoding: .utf8)
        let r = try Self.sh("\"$PROVENANT\" secrets redact --known creds.env < in.log", in: dir)
        #expect(r.code == 0, "\(r.err)")
        #expect(!r.out.contains(Self.token) && !r.out.contains("agent-Secret-Value-123"))
        #expect(r.out.contains("[REDACTED:github-personal-access-token]"))
        #expect(r.out.contains("plain [REDACTED:known:creds/API_TOKEN] end"))
        #expect(!r.out.contains(payload) && r.out.contains("body="))
        // Wrapped as `base64` wraps it, with CRLF: the lines the form runs over are redacted, the breaks
        // inside it with them, and scan finds it on the line it starts (helper-183 #5).
        let b64 = Array(Data(#"{"user":"bob","key":"agent-Secret-Value-123","n":1}"#.utf8).base64EncodedString())
        let chunks = stride(from: 0, to: b64.count, by: 12).map { String(b64[$0..<min(b64.count, $0 + 12)]) }
        try ("dump:\r\n" + chunks.joined(separator: "\r\n") + "\r\nend\r\n").write(to: dir.appendingPathComponent("wrapped.log"), atomically: true, encoding: .utf8)
        let w = try Self.sh("\"$PROVENANT\" secrets redact --known creds.env < wrapped.log", in: dir)
        // The value's bytes 21..<43 of the JSON are base64 characters 28 to 58: chunk 3 (36..<48) lies inside.
        #expect(w.code == 0 && w.out.contains("[REDACTED:known:creds/API_TOKEN]") && !w.out.contains(chunks[3]), "\(w.out) \(w.err)")
        #expect(w.out.hasPrefix("dump:\r\n" + chunks[0] + "\r\n") && w.out.hasSuffix("\r\nend\r\n"), "\(w.out)")
        let ws = try Self.sh("\"$PROVENANT\" secrets scan wrapped.log --known creds.env --format json", in: dir)
        #expect(ws.out.contains("known:creds/API_TOKEN") && !ws.out.contains("agent-Secret"), "\(ws.out) \(ws.err)")
        let short = try Self.sh("\"$PROVENANT\" secrets redact --known short.env < in.log", in: dir)
        #expect(short.code == 2)
        #expect(short.err.contains("known:short/PIN") && short.err.contains("at least 8"))
    }

    /// Several megabytes through a pipe (short reads) and from a file: secrets placed across the read-ahead
    /// blocks (1 MiB) and the scan chunks (4 MiB) are replaced, every other byte comes through unchanged,
    /// and a write error ends the run with exit 2 and a message instead of a silent truncation.
    @Test func redactStreamsMegabytesUnchangedExceptTheSecrets() throws {
        let dir = try Self.tree(["creds.env": "API_TOKEN=agent-Secret-Value-123\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        var input = "", expected = ""
        let filler = "2026-11-30T10:00:00Z info request id=7f3a path=/v1/items status=200 bytes=913\n"
        let edges = [1 << 20, 2 << 20, 4 << 20, 8 << 20]
        var next = 0
        while input.utf8.count < 9 << 20 {
            if next < edges.count, input.utf8.count + 120 >= edges[next] {
                // Start the secret a few bytes before the edge, so it straddles it.
                let pad = String(repeating: "x", count: max(0, edges[next] - input.utf8.count - 10)) + " "
                let secretLine = next % 2 == 0 ? "auth \(Self.token) ok\n" : "plain agent-Secret-Value-123 end\n"
                let redacted = next % 2 == 0 ? "auth [REDACTED:github-personal-access-token] ok\n" : "plain [REDACTED:known:creds/API_TOKEN] end\n"
                input += pad + secretLine; expected += pad + redacted
                next += 1
            } else { input += filler; expected += filler }
        }
        try input.write(to: dir.appendingPathComponent("in.log"), atomically: true, encoding: .utf8)
        for command in ["cat in.log | \"$PROVENANT\" secrets redact --known creds.env", "\"$PROVENANT\" secrets redact --known creds.env < in.log"] {
            let r = try Self.sh(command + " > out.log", in: dir)
            #expect(r.code == 0, "\(r.err)")
            let out = try String(contentsOf: dir.appendingPathComponent("out.log"), encoding: .utf8)
            #expect(out.utf8.count == expected.utf8.count && out == expected, "\(command)")
        }
        let closed = try Self.sh("\"$PROVENANT\" secrets redact < in.log >&-", in: dir)
        #expect(closed.code == 2)
        #expect(closed.err.contains("cannot write standard output"), "\(closed.err)")
    }
}

@Suite struct SecretsHistoryHardeningTests {
    /// A scanned repository's own config must not run anything: log.showSignature with a gpg.program
    /// on a (fake) signed commit would, if git checked signatures.
    @Test func gitHistoryNeverRunsTheRepositorysSignaturePrograms() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("git-sig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("ran").path
        let script = """
        git init -q . && git config user.email t@example.com && git config user.name t &&
        printf '#!/bin/sh\\ntouch %s\\nexit 1\\n' '\(marker)' > prog.sh && chmod +x prog.sh &&
        printf 'token: \(SecretsCommandTests.token)\\n' > a.yaml && git add a.yaml && git commit -qm one &&
        tree=$(git rev-parse HEAD^{tree}) &&
        c=$(printf 'tree %s\\nauthor t <t@example.com> 1 +0000\\ncommitter t <t@example.com> 1 +0000\\ngpgsig -----BEGIN PGP SIGNATURE-----\\n \\n AAAA\\n -----END PGP SIGNATURE-----\\n\\nsigned\\n' "$tree" | git hash-object -t commit -w --stdin) &&
        git update-ref refs/heads/signed "$c" &&
        git config log.showSignature true && git config gpg.program "$PWD/prog.sh" && git config core.pager "$PWD/prog.sh"
        """
        let s = try runProcess("/bin/sh", ["-c", "cd '\(dir.path)' && \(script)"])
        #expect(s.code == 0, "\(s.err)")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git", "--format", "json"])
        #expect(r.code == 0, "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: marker), "git ran the repository's program")
        #expect(r.out.contains("github-personal-access-token"))
    }

    /// `--git` reads the target's own repository only: a directory inside another repository read the
    /// whole enclosing history, outside the target, under paths that do not exist (found by helper-88).
    @Test func historyIsReadOnlyFromTheTargetsOwnRepository() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("git-outer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = """
        git init -q . && git config user.email t@example.com && git config user.name t &&
        printf 'GITHUB_TOKEN=\(SecretsCommandTests.token)\\n' > outside.env && mkdir target && echo hi > target/readme.txt &&
        git add -A && git commit -qm x && mkdir other && (cd other && git init -q . && git config user.email t@example.com && git config user.name t &&
        echo 'hello' > a.txt && git add a.txt && git commit -qm a) && printf 'gitdir: %s/.git\\n' "$PWD" > target2.git
        """
        let s = try runProcess("/bin/sh", ["-c", "cd '\(dir.path)' && \(script)"])
        #expect(s.code == 0, "\(s.err)")
        let inner = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("target").path, "--git"])
        #expect(inner.code == 2 && inner.err.contains("not the top of a git repository") && !inner.out.contains("outside.env"), "\(inner.out)\(inner.err)")
        // A .git file naming a repository outside the target is not followed.
        try FileManager.default.moveItem(atPath: dir.appendingPathComponent("target2.git").path, toPath: dir.appendingPathComponent("other/.git-file").path)
        try FileManager.default.removeItem(atPath: dir.appendingPathComponent("other/.git").path)
        try FileManager.default.moveItem(atPath: dir.appendingPathComponent("other/.git-file").path, toPath: dir.appendingPathComponent("other/.git").path)
        let linked = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("other").path, "--git"])
        #expect(linked.code == 2 && linked.err.contains("lies outside it") && !linked.out.contains("outside.env"), "\(linked.out)\(linked.err)")
        // The top of the repository is read as before, named as '.' too (which crashed: found by review).
        let top = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git"])
        #expect(top.code == 0 && top.out.contains("outside.env"), "\(top.out)\(top.err)")
        let dot = try runProcess("/bin/sh", ["-c", "cd \"$1\" && \"$0\" secrets scan . --git", provenantBinary, dir.path])
        #expect(dot.code == 0 && dot.out.contains("outside.env"), "\(dot.out)\(dot.err)")
        // A git directory sharing another's (a linked worktree's commondir) is not read.
        try "../elsewhere\n".write(toFile: dir.path + "/.git/commondir", atomically: true, encoding: .utf8)
        let common = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git"])
        #expect(common.code == 2 && common.err.contains("commondir"), "\(common.out)\(common.err)")
        // A link anywhere inside the git directory that leads out of the target is refused too.
        try FileManager.default.removeItem(atPath: dir.path + "/.git/commondir")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/.git/objects/zz", withDestinationPath: FileManager.default.temporaryDirectory.path)
        let linked2 = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git"])
        #expect(linked2.code == 2 && linked2.err.contains("objects/zz") && linked2.err.contains("leads outside it"), "\(linked2.out)\(linked2.err)")
    }

    /// Lines that are easy to lose: one added by a merge, and one that itself starts with "++ ".
    @Test func mergesAndPlusPlusLinesAreScanned() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("git-merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let slack = SecretsCommandTests.slack
        let script = """
        git init -q -b main . && git config user.email t@example.com && git config user.name t &&
        echo base > base.txt && git add . && git commit -qm base &&
        git checkout -qb side && echo side > side.txt && git add . && git commit -qm side &&
        git checkout -q main && echo other > other.txt && git add . && git commit -qm other &&
        git merge -q --no-ff --no-commit side && printf 'hook: \(slack)\\n' > merged.txt && git add merged.txt && git commit -qm merge &&
        printf '++ \(SecretsCommandTests.token)\\n' > plus.txt && git add plus.txt && git commit -qm plus && rm merged.txt plus.txt && git commit -qam gone
        """
        let s = try runProcess("/bin/sh", ["-c", "cd '\(dir.path)' && \(script)"])
        #expect(s.code == 0, "\(s.err)")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--git", "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let paths = ((doc["findings"] as? [[String: Any]]) ?? []).compactMap { ($0["path"] as? String).map { ($0 as NSString).lastPathComponent } }
        #expect(Set(paths) == ["merged.txt", "plus.txt"], "\(paths)")
    }

    @Test func aKnownValueInAFileNameIsNotPrinted() throws {
        let dir = try SecretsCommandTests.tree(["creds.env": "T=correct-horse-battery-staple-42\n", "logs/correct-horse-battery-staple-42.txt": "x \(SecretsCommandTests.token)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        for format in ["table", "json", "sarif"] {
            let r = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("logs").path, "--known", dir.appendingPathComponent("creds.env").path, "--format", format])
            #expect(r.code == 0 && r.out.contains("REDACTED") && !r.out.contains("battery-staple") && !r.err.contains("battery-staple"), "\(format)")
        }
    }
}

@Suite struct SecretsVolumeTests {
    /// A file of tokens cannot hold a run's memory and time: past 1,000 findings an input is reported as
    /// partly scanned, with a warning naming it.
    @Test func oneInputYieldsAtMostAThousandFindings() throws {
        let line = "t \(SecretsCommandTests.token)\n"
        let dir = try SecretsCommandTests.tree(["many.txt": String(repeating: line, count: 1500)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.path, "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect((doc["findings"] as? [Any])?.count == 1000)
        #expect(((doc["summary"] as? [String: Any])?["partlyScanned"] as? Int) == 1)
        #expect(r.err.contains("many.txt: more than 1000 findings; the rest of this input was not scanned"))
    }

    /// A `--known` value in a file name the walk could not read (not UTF-8) was printed whole in the
    /// warning and the JSON report; a finding's path masked it (found by helper-166).
    @Test func knownValuesInNamesTheWalkReportsAreMasked() throws {
        let secret = "Tr0ub4dor-and-3-horses-XYZ"
        let dir = try SecretsCommandTests.tree(["known.env": "DB_PASSWORD=\(secret)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try SecretsCommandTests.sh("mkdir t && python3 -c \"open(b't/backup-\(secret)-\\xff.sql','wb').write(b'hello')\"", in: dir)
        #expect(made.code == 0, "\(made.err)")
        let r = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("t").path, "--known", dir.appendingPathComponent("known.env").path, "--format", "json"])
        #expect(r.err.contains("not valid UTF-8") && !r.err.contains(secret) && !r.out.contains(secret), "\(r.out)\(r.err)")
    }

    /// Files the scanner said were clean that hold a secret (found by helper-88): a zip behind a `#!`
    /// line (python -m zipapp), an archive over the size that is opened, and compressed formats no
    /// reader here opens. Each is read, or NOT CHECKED, never clean.
    @Test func containersTheScannerCannotSkipAsBinary() throws {
        typealias Self_ = SecretsCommandTests
        let dir = try Self_.tree(["app/__main__.py": "print(1)\n", "app/settings.env": "GITHUB_TOKEN=\(Self_.token)\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try Self_.sh("""
            python3 -m zipapp app -o tool.pyz -p '/usr/bin/env python3' && rm -rf app && mkdir xz big && \
            printf 'GITHUB_TOKEN=%s\\n' \(Self_.token) > xz/s.env && xz xz/s.env && \
            printf 'GITHUB_TOKEN=%s\\n' \(Self_.token) > t.env && tar cf big/release.tar t.env && rm t.env && truncate -s 3M big/release.tar
            """, in: dir)
        #expect(made.code == 0, "\(made.err)")
        let pyz = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("tool.pyz").path, "--fail-on", "low"])
        #expect(pyz.code == 1 && pyz.out.contains("tool.pyz!settings.env:1"), "\(pyz.out)\(pyz.err)")
        // The script in front of a zip is scanned too, and a .pyz inside a tar is opened (found by review).
        let more = try Self_.sh("""
            printf '#!/bin/sh\\nexport GITHUB_TOKEN=%s\\nexit 0\\n' \(Self_.token) > sfx.sh && cat tool.pyz >> sfx.sh && mkdir nested && cp tool.pyz nested/ && tar cf nested.tar nested && rm -rf nested
            """, in: dir)
        #expect(more.code == 0, "\(more.err)")
        let sfx = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("sfx.sh").path, "--fail-on", "low"])
        #expect(sfx.code == 1 && sfx.out.contains("sfx.sh:2") && sfx.out.contains("sfx.sh!settings.env:1"), "\(sfx.out)\(sfx.err)")
        let nested = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("nested.tar").path, "--fail-on", "low"])
        #expect(nested.code == 1 && nested.out.contains("tool.pyz!settings.env:1"), "\(nested.out)\(nested.err)")
        // A script whose last 22 bytes only look like an end record (a directory of 5 entries at an
        // offset the file does not hold) is scanned as the text it is, and the zip it may be is NOT CHECKED.
        var fake = Array("#!/bin/sh\nexport GITHUB_TOKEN=\(Self_.token)\n".utf8)
        // Two records, as review found: the NULs of the first must not make the script binary.
        for _ in 0..<2 { fake += [0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0, 5, 0, 5, 0, 0x2E, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0] }
        try Data(fake).write(to: dir.appendingPathComponent("fake.sh"))
        let fakeScan = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("fake.sh").path, "--fail-on", "low"])
        #expect(fakeScan.code == 1 && fakeScan.out.contains("fake.sh:2") && fakeScan.err.contains("not a readable zip archive"), "\(fakeScan.out)\(fakeScan.err)")
        let xz = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent("xz").path, "--fail-on", "low"])
        // xz is opened now: the token inside is found.
        #expect(xz.code == 1 && xz.out.contains("s.env.xz:1:14") && !xz.out.contains("NOT CHECKED"), "\(xz.out)\(xz.err)")
        // More formats counted as clean binaries (helper-166): LZMA-alone, lz4's legacy frame, compress's
        // .Z, lzip and ar (a .deb). Written by hand, as their tools may not be installed. LZMA-alone and
        // ar are opened now: these are damaged, and an ar's bytes after the damage are scanned as they are.
        let headers: [(String, [UInt8], String)] = [
            ("s.lzma", [0x5D, 0x00, 0x00, 0x80, 0x00] + [UInt8](repeating: 0xFF, count: 8) + [0x00, 0x21, 0x9A, 0x4C], "has damaged lzma data"),
            ("s.lz4", [0x02, 0x21, 0x4C, 0x18, 0x20, 0x00, 0x00, 0x00, 0x9F], "lz4-compressed"),
            ("s.Z", [0x1F, 0x9D, 0x90, 0x47, 0x49, 0x54], "compress (.Z)-compressed"),
            ("s.lz", Array("LZIP".utf8) + [0x01, 0x0C, 0x00, 0x33], "lzip-compressed"),
            ("s.deb", Array("!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n".utf8), "the header of member 2 runs past the end of the file"),
        ]
        for (name, bytes, said) in headers {
            try Data(bytes + Array("GITHUB_TOKEN=\(Self_.token)\n".utf8)).write(to: dir.appendingPathComponent(name))
            let r = try runProcess(provenantBinary, ["secrets", "scan", dir.appendingPathComponent(name).path, "--fail-on", "low"])
            // The damaged ar's bytes after its first member, and the damaged lzma file's bytes as they
            // are, are scanned: the token is found there.
            let shown = ["s.deb": "s.deb (ar bytes from the damage on):1:14", "s.lzma": "s.lzma (its bytes as they are):1:"][name] ?? "NOT CHECKED"
            #expect(r.code == 1 && r.err.contains(said) && r.out.contains(shown), "\(name): \(r.out)\(r.err)")
        }
        // Over the size archives are opened to (256 MiB; 1 MiB here): its bytes are scanned, and it is NOT CHECKED.
        var options = SecretsScanOptions()
        options.maxArchiveBytes = 1 << 20
        let big = SecretsScanner(engine: try SecretEngine.standard(), options: options).scan(targets: [dir.appendingPathComponent("big").path])
        #expect(big.partial == 1 && big.skippedBinary == 0 && big.findings.contains { $0.ruleID == "github-personal-access-token" }, "\(big)")
    }

    /// A package's file list is asked of the redactor only where its joined paths hold a byte rule or
    /// a keyword: a key only the secrets engine knows (no `@ : = %`, no prefix of the redactor's own),
    /// written as one path among hundreds, is still removed, and the paths around it are kept whole.
    @Test func aKeyOnlyTheEngineKnowsIsRedactedFromALongFileList() throws {
        let key = "aio_v9O5yqeZ1LGKN9bemzYumle29nmw"
        var byteRule = false
        Array("foo/\(key)/x.py".utf8).withUnsafeBufferPointer { b in Redactor.FieldPrefilter().byteRules(b, stopAtFirst: true) { _ in byteRule = true } }
        #expect(!byteRule, "only the engine can find this key")
        var rows = (0..<400).map { "foo/module_\($0).py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0" }
        rows[213] = "foo/\(key)/x.py,,"
        rows[350] = "foo/api_token_helpers.py,,"
        let dir = try SecretsCommandTests.tree(["lib/python3.11/site-packages/foo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
                                 "lib/python3.11/site-packages/foo-1.0.dist-info/RECORD": rows.joined(separator: "\n") + "\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runProcess(provenantBinary, ["sbom", dir.path, "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("foo/module_399.py") && r.out.contains("foo/api_token_helpers.py"), "the other paths are kept")
        #expect(!r.out.contains(String(key.dropFirst(4))) && !r.err.contains(String(key.dropFirst(4))), "the key reached the SBOM")
    }
}
