import Foundation
import Permissions
import Secrets
import Testing
@testable import Guard

/// The decisions of `guard exec` that need no exec: which word is the script, whether it may run,
/// the environment, the labels file, the scrub, the proxy address, the Landlock plan.
@Suite struct ExecPolicyTests {
    @Test func theScriptIsTheCommandOrTheInterpretersFirstOperand() {
        func ref(_ words: [String]) -> ScriptReference { ScriptReference.of(words, names: [(words[0] as NSString).lastPathComponent]) }
        #expect(ref(["./cleanup.sh", "--all"]) == .command)
        #expect(ref(["/usr/bin/cat", "x"]) == .command)
        #expect(ref(["sh", "cleanup.sh", "--all"]) == .file(index: 1, searchPATH: false))
        #expect(ref(["bash", "-e", "-o", "pipefail", "+o", "nounset", "--norc", "--", "c.sh"]) == .file(index: 8, searchPATH: false))
        #expect(ref(["/bin/sh", "-c", "rm -rf /"]) == .inline("sh -c"))
        #expect(ref(["bash", "-ec", "true"]) == .inline("bash -c"))
        #expect(ref(["sh"]) == .inline("sh reading standard input"))
        #expect(ref(["python3", "-u", "-W", "ignore", "job.py"]) == .file(index: 4, searchPATH: false))
        #expect(ref(["python3.11", "-Wignore", "job.py"]) == .file(index: 2, searchPATH: false))
        #expect(ref(["python3", "-c", "print(1)"]) == .inline("python3 -c"))
        #expect(ref(["python3", "-"]) == .inline("python3 -"))
        #expect(ref(["perl", "-we", "1"]) == .inline("perl -e"))
        #expect(ref(["perl", "-w", "x.pl"]) == .file(index: 2, searchPATH: false))
        #expect(ref(["node", "--no-warnings", "app.js"]) == .file(index: 2, searchPATH: false))
        #expect(ref(["node", "--eval=1"]) == .inline("node --eval"))
        #expect(ref(["env", "A=1", "python3", "-su", "job.py"]) == .file(index: 4, searchPATH: false))
        // A cleared environment loses PYTHONNOUSERSITE and gets shells' built-in PATH, which ends in '.':
        // refused, as are unsetting PATH and HOME (found by review).
        for words in [["env", "-i", "A=1", "python3", "-su", "job.py"], ["env", "-", "bash", "x.sh"], ["env", "-u", "PATH", "bash", "x.sh"], ["env", "-uHOME", "zsh", "x.zsh"]] {
            guard case .refused = ref(words) else { Issue.record("\(words) must be refused"); continue }
        }
        #expect(ref(["env", "-u", "LANG", "cleanup.sh"]) == .file(index: 3, searchPATH: true))
        #expect(ref(["env", "sh", "-c", "x"]) == .inline("sh -c"))
        // HOME chooses Node's module folders, and the user site is kept out by a variable the launcher
        // sets: env may change neither (found by helper-81).
        for words in [["env", "HOME=/tmp/h", "node", "app.js"], ["env", "-u", "PYTHONNOUSERSITE", "python3", "x.py"],
                      ["env", "-uPYTHONNOUSERSITE", "python3", "x.py"], ["env", "--unset=PYTHONNOUSERSITE", "python3", "x.py"],
                      ["env", "OPENSSL_CONF=/w/evil.cnf", "python3", "x.py"], ["env", "GIT_CONFIG_KEY_0=core.sshCommand", "sh", "x.sh"]] {
            guard case .refused = ref(words) else { Issue.record("\(words) must be refused"); continue }
        }
        #expect(ref(["env", "-uLANG", "--unset=X", "bash", "-eu", "x.sh"]) == .file(index: 5, searchPATH: false))
        // A link named like a script that is bash underneath is read as bash.
        #expect(ScriptReference.of(["cleanup.sh", "-c", "evil"], names: ["cleanup.sh", "bash"]) == .inline("cleanup.sh -c"))
        #expect(ref(["pythonista", "x"]) == .command, "only python, python3, python3.11 are python")
        // A name of one interpreter for the file of another: its options would be read with the wrong
        // grammar (python's -s is bash's "read standard input"), so it is refused (found by helper-81).
        for (words, real) in [(["python3", "-s", "rotate.sh"], "bash"), (["perl", "-X", "rotate.sh"], "python3.11"),
                              (["python3", "-W", "x", "rotate.sh"], "perl5.36.0"), (["bash", "rotate.sh"], "env"), (["python3", "rotate.sh"], "id")] {
            guard case .refused(let why) = ScriptReference.of(words, names: [words[0], real]) else {
                Issue.record("\(words) running \(real) must be refused"); continue
            }
            #expect(why.contains("'\(words[0])' is \(real)"), "\(why)")
        }
        #expect(ScriptReference.of(["sh", "x.sh"], names: ["sh", "dash"]) == .file(index: 1, searchPATH: false))
        #expect(ScriptReference.of(["python3", "-u", "x.py"], names: ["python3", "python3.11"]) == .file(index: 2, searchPATH: false))
        #expect(ScriptReference.of(["sh", "x.sh"], names: ["sh", "busybox"]) == .file(index: 1, searchPATH: false), "busybox runs the applet it is named as")
        #expect(ScriptReference.of(["ksh", "x.sh"], names: ["ksh", "ksh93"]) == .file(index: 1, searchPATH: false))
    }

    /// perl's -l -i -x -0 -C -d -D and ruby's -l -i -x -0 -T -K -F take only an attached value: the next
    /// word is not theirs but the script. None of them is harmless; all are refused.
    @Test func perlAndRubyOptionsWithAttachedValuesAreRefusedNotSkipped() {
        func ref(_ words: [String]) -> ScriptReference { ScriptReference.of(words, names: [words[0]]) }
        for letter in ["l", "i", "x", "0", "C", "d", "D"] {
            guard case .refused(let why) = ref(["perl", "-\(letter)", "ws/evil.pl", "app/deploy.pl"]) else {
                Issue.record("perl -\(letter) was not refused"); continue
            }
            #expect(why == "interpreter option -\(letter) of perl could run code the manifest does not declare")
        }
        for letter in ["l", "i", "x", "0", "T", "K", "F"] {
            guard case .refused = ref(["ruby", "-\(letter)", "ws/evil.rb", "app/deploy.rb"]) else { Issue.record("ruby -\(letter) was not refused"); continue }
        }
        #expect(ref(["perl", "-wT", "app/deploy.pl"]) == .file(index: 2, searchPATH: false))
        #expect(ref(["ruby", "-w", "-W0", "app/deploy.rb"]) == .file(index: 3, searchPATH: false))
    }

    /// Options that carry, load or read code besides the script, and any option not known to be
    /// harmless, refuse the command.
    @Test func optionsThatLoadOrRunCodeRefuseTheCommand() {
        func ref(_ words: [String]) -> ScriptReference { ScriptReference.of(words, names: [words[0]]) }
        let refused: [[String]] = [
            ["perl", "-MPOSIX;print \"EVIL\\n\";", "app/deploy.pl"], ["perl", "-Ilib", "x.pl"], ["perl", "-mstrict", "x.pl"],
            ["python3", "-i", "app/deploy.py"], ["python3", "-m", "http.server"], ["python3", "-Bmpip"], ["python3", "-X", "importtime", "x.py"],
            ["python3", "-W", "ignore::evil.Warning", "x.py"], ["python3", "--check-hash-based-pycs", "always", "x.py"], ["python3", "-ui", "x.py"],
            ["ruby", "-r", "evil", "app/deploy.rb"], ["ruby", "-revil", "app/deploy.rb"], ["ruby", "-I", "lib", "x.rb"],
            ["node", "-r", "evil", "app.js"], ["node", "--require", "evil", "app.js"], ["node", "--import", "data:text/javascript,1", "app.js"],
            ["node", "--import=data:text/javascript,1", "app.js"], ["node", "--loader", "x", "app.js"], ["node", "--input-type=module", "app.js"],
            ["bash", "-i", "app/deploy.sh"], ["bash", "--rcfile", "evil", "-i", "app/deploy.sh"], ["bash", "--init-file", "evil", "app/deploy.sh"],
            ["bash", "-o", "history", "x.sh"], ["bash", "-ei", "x.sh"], ["bash", "-ci", "x"],  ["sh", "-p", "x.sh"], ["bash", "--login", "x.sh"],
            ["perl", "-e", "1", "-MEvil"],
        ]
        for words in refused {
            guard case .refused(let why) = ref(words) else { Issue.record("\(words) was not refused: \(ref(words))"); continue }
            #expect(why.hasPrefix("interpreter option ") && why.hasSuffix(" could run code the manifest does not declare"), "\(why)")
        }
        #expect(ref(["python3", "-uBsSIOOq", "-W", "ignore", "-Wdefault::DeprecationWarning", "x.py"]) == .file(index: 5, searchPATH: false))
        #expect(ref(["bash", "-eux", "-o", "errexit", "x.sh"]) == .file(index: 4, searchPATH: false))
        // -E ignores PYTHONNOUSERSITE, and with it the launcher's guard on the user site (found by review).
        guard case .refused = ref(["python3", "-E", "x.py"]) else { Issue.record("python3 -E"); return }
    }

    /// env takes only -i, -u NAME (separate or attached) and NAME=VALUE with a NAME that loads no code.
    @Test func envTakesOnlyIgnoreUnsetAndHarmlessAssignments() {
        func ref(_ words: [String]) -> ScriptReference { ScriptReference.of(words, names: [words[0]]) }
        let refused: [[String]] = [
            ["env", "-vu", "/path/deploy.sh", "sh", "-c", "echo EVIL"], ["env", "-iu", "/path/deploy.sh", "sh", "-c", "echo EVIL"],
            ["env", "-S", "sh -c x"], ["env", "-vS", "sh -c x"], ["env", "--split-string=sh -c x"], ["env", "-a", "x", "bash", "d.sh"],
            ["env", "--argv0=x", "bash", "d.sh"], ["env", "-C", "/tmp", "bash", "d.sh"], ["env", "--chdir=/tmp", "bash", "d.sh"],
            ["env", "BASH_ENV=/tmp/evil.sh", "bash", "app/deploy.sh"], ["env", "LD_PRELOAD=/tmp/x.so", "deploy"], ["env", "PERL5OPT=-MEvil", "perl", "x.pl"],
            ["env", "PYTHONSTARTUP=/x", "python3", "x.py"], ["env", "NODE_OPTIONS=--require=x", "node", "a.js"], ["env", "RUBYOPT=-revil", "ruby", "x.rb"],
            ["env", "PATH=/tmp/ws", "bash", "x.sh"], ["env", "-u"], ["env", "env", "-S", "x"],
        ]
        for words in refused {
            guard case .refused = ref(words) else { Issue.record("\(words) was not refused: \(ref(words))"); continue }
        }
        #expect(ref(["env", "-u", "X", "-uY", "--unset=Z", "A=1", "deploy.sh"]) == .file(index: 6, searchPATH: true))
        var interpreters: [Int] = []
        #expect(ScriptReference.of(["env", "A=1", "bash", "x.sh"], names: ["env"], interpreters: &interpreters) == .file(index: 3, searchPATH: false))
        #expect(interpreters == [2])
    }

    /// Variables that load code are removed from the child's environment, even when the manifest names them.
    @Test func codeLoadingVariablesAreAlwaysRemoved() {
        let names = ["BASH_ENV", "ENV", "PERL5OPT", "PERL5LIB", "PERLLIB", "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PYTHONINSPECT",
                     "NODE_OPTIONS", "NODE_PATH", "RUBYOPT", "RUBYLIB", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_FUNC_ls%%", "SHELLOPTS", "PS4",
                     // Another repository's config through GIT_COMMON_DIR ran core.fsmonitor (helper-101).
                     "GIT_COMMON_DIR", "GIT_SEQUENCE_EDITOR", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "npm_config_node_options", "RUSTC_WRAPPER", "SSLKEYLOGFILE",
                     // RUSTC ran a program from the write directory under a pinned cargo build (review).
                     "RUSTC", "RUSTFLAGS", "GOENV", "JAVA_HOME", "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER",
                     // MAKEFILES and MAKEFLAGS ran a makefile's $(shell) under a pinned build script (helper-146).
                     "MAKEFILES", "MAKEFLAGS", "CC", "CFLAGS", "CGO_CFLAGS", "YARN_YARN_PATH", "RSYNC_RSH", "CMAKE_C_COMPILER_LAUNCHER",
                     // ...and yarn's lower-cased settings, configure's site script, clang's override and the cc crate's (helper-149).
                     "yarn_yarn_path", "CONFIG_SITE", "CCC_OVERRIDE_OPTIONS", "CC_x86_64-unknown-linux-gnu", "TARGET_CFLAGS"]
        let scrub = EnvironmentScrub(named: ["BASH_ENV"], engine: nil)
        let r = scrub.scrub((names + ["HOME", "PYTHONUNBUFFERED"]).map { Array("\($0)=x".utf8) })
        #expect(r.removed == names)
        #expect(r.kept == [Array("HOME=x".utf8), Array("PYTHONUNBUFFERED=x".utf8)])
    }

    /// A name given twice keeps its first value, which the checks read; a shell would keep the last, so a
    /// second HOME= carried a .node_modules past the check (found by review).
    @Test func aNameGivenTwiceKeepsItsFirstValue() {
        let r = EnvironmentScrub(named: [], engine: nil).scrub([Array("HOME=/clean".utf8), Array("PATH=/usr/bin".utf8), Array("HOME=/planted".utf8)])
        #expect(r.kept == [Array("HOME=/clean".utf8), Array("PATH=/usr/bin".utf8)])
        #expect(r.removed == ["HOME"])
    }

    /// Only a name that is exactly a known non-production environment is not production.
    @Test func anEnvironmentThatIsNotKnownToBeNonProductionIsProduction() {
        for name in ["production", "prod", "Production", "PROD", "live", "prd", "Staging", "staging2", "tset", ""] {
            #expect(ExecEnvironment(name: name, source: "--environment").isProduction, "\(name)")
        }
        for name in ["test", "staging", " test ", "dev\n"] {
            #expect(!ExecEnvironment(name: name, source: "--environment").isProduction, "\(name)")
        }
        #expect(ExecEnvironment.resolve(option: " staging ", variable: nil, labelsFile: nil).name == "staging")
        #expect(ExecEnvironment.resolve(option: "  ", variable: nil, labelsFile: nil).name == "production")
    }

    /// The real path of an opened file is the file's, whatever its path is made to point at later.
    @Test func theOpenedPathIsTheOpenedFilesAfterTheLinkIsSwapped() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("opened-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "good".write(toFile: dir + "/deploy.sh", atomically: false, encoding: .utf8)
        try "evil".write(toFile: dir + "/evil.sh", atomically: false, encoding: .utf8)
        symlink(dir + "/evil.sh", dir + "/link")
        let fd = open(dir + "/link", O_RDONLY)
        defer { close(fd) }
        unlink(dir + "/link")
        symlink(dir + "/deploy.sh", dir + "/link")
        #expect(ExecLauncher.openedPath(fd) == ExecLauncher.realPath(dir + "/evil.sh"))
    }

    static let digest = String(repeating: "ab", count: 32)
    static func policy() -> ExecPolicy {
        var m = AgentManifest(name: "a")
        m.scripts = ["cleanup.sh": ["test"], "rotate.sh": ["production", "test"], "/opt/jobs/migrate": ["staging"], "jobs/report.py": ["production"]]
        m.scriptDigests = ["rotate.sh": digest]
        return ExecPolicy(manifest: m)
    }
    static let production = ExecEnvironment(name: "production", source: "default")
    static let test = ExecEnvironment(name: "test", source: "--environment")

    @Test func declaredScriptsRunOnlyInTheirEnvironmentsAndWithTheirDigest() {
        let p = Self.policy()
        let cleanup = ExecPolicy.Script(name: "cleanup.sh", paths: ["/w/cleanup.sh"])
        #expect(p.decide(cleanup, in: Self.test).allowed)
        let refused = p.decide(cleanup, in: Self.production)
        #expect(!refused.allowed && refused.reason == "'cleanup.sh' is declared for test, not for production" && refused.declaredAs == "cleanup.sh")
        #expect(!p.wantsDigest(cleanup))
        var rotate = ExecPolicy.Script(name: "rotate.sh", paths: ["/w/rotate.sh"])
        #expect(p.wantsDigest(rotate))
        #expect(!p.decide(rotate, in: Self.production).allowed, "a digest is declared and nothing was hashed")
        rotate.sha256 = Self.digest
        #expect(p.decide(rotate, in: Self.production).allowed)
        rotate.sha256 = String(repeating: "cd", count: 32)
        let changed = p.decide(rotate, in: Self.production)
        #expect(!changed.allowed && changed.reason.contains("has sha256 \(rotate.sha256!), the manifest declares \(Self.digest)"))
    }

    @Test func undeclaredScriptsAreRefusedInProductionOnly() {
        let p = Self.policy()
        let other = ExecPolicy.Script(name: "other.sh", paths: ["/w/other.sh"])
        let refused = p.decide(other, in: Self.production)
        #expect(!refused.allowed && refused.reason.contains("not a declared script") && refused.declaredAs == nil)
        #expect(!p.decide(other, in: ExecEnvironment(name: "Prod", source: "--environment")).allowed, "prod is production too")
        #expect(p.decide(other, in: Self.test).allowed)
        #expect(p.decide(other, in: ExecEnvironment(name: "staging", source: "--environment")).allowed)
    }

    /// Reached through a link, the file's own name is held to its declaration (helper-136), and in
    /// production an undeclared one is refused (helper-138); a path key matching the file decides alone.
    @Test func aLinkIsHeldToTheDeclarationOfItsFile() {
        let p = Self.policy()
        let toCleanup = ExecPolicy.Script(name: "rotate.sh", paths: ["/w/cleanup.sh"], sha256: Self.digest, realName: "cleanup.sh")
        let refused = p.decide(toCleanup, in: Self.production)
        #expect(!refused.allowed && refused.reason.contains("'rotate.sh' is 'cleanup.sh' under another name") && refused.declaredAs == "cleanup.sh")
        #expect(p.decide(toCleanup, in: Self.test).allowed, "both names are allowed in test")
        let toUndeclared = ExecPolicy.Script(name: "rotate.sh", paths: ["/usr/bin/id"], sha256: Self.digest, realName: "id")
        #expect(!p.decide(toUndeclared, in: Self.production).allowed)
        #expect(p.decide(toUndeclared, in: Self.test).allowed)
        let toPathKey = ExecPolicy.Script(name: "report.py", paths: ["/srv/jobs/report.py"], realName: "report.py")
        #expect(toPathKey.realName == nil, "one name is no alias")
        let aliasOfPathKey = ExecPolicy.Script(name: "run", paths: ["/srv/jobs/report.py"], realName: "report.py")
        #expect(p.decide(aliasOfPathKey, in: Self.production).allowed, "the path key decides")
    }

    @Test func pathKeysMatchPathsAndBasenameKeysMatchNames() {
        let p = Self.policy()
        #expect(p.key(for: .init(name: "migrate", paths: ["/opt/jobs/migrate"])) == "/opt/jobs/migrate")
        #expect(p.key(for: .init(name: "migrate", paths: ["/tmp/migrate"])) == nil, "a path key is not a basename key")
        #expect(p.key(for: .init(name: "report.py", paths: ["/srv/jobs/report.py"])) == "jobs/report.py")
        #expect(p.key(for: .init(name: "report.py", paths: ["/srv/myjobs/report.py"])) == nil)
        #expect(p.key(for: .init(name: "cleanup.sh", paths: ["/anywhere/cleanup.sh"])) == "cleanup.sh")
    }

    /// Of two path keys that match, the more specific decides, whatever their names' order.
    @Test func theMostSpecificPathKeyDecides() {
        var m = AgentManifest(name: "a")
        m.scripts = ["deploy/run.sh": ["production"], "test/deploy/run.sh": ["test"], "/repo/x/deploy/run.sh": ["staging"],
                     "a/b/run.sh": ["production"], "z/b/run.sh": ["test"]]
        m.scriptDigests = ["test/deploy/run.sh": String(repeating: "0", count: 64)]
        let p = ExecPolicy(manifest: m)
        let testScript = ExecPolicy.Script(name: "run.sh", paths: ["/repo/test/deploy/run.sh"], sha256: String(repeating: "1", count: 64))
        #expect(p.key(for: testScript) == "test/deploy/run.sh")
        #expect(p.wantsDigest(testScript))
        let d = p.decide(testScript, in: Self.production)
        #expect(!d.allowed && d.declaredAs == "test/deploy/run.sh", "\(d)")
        #expect(p.key(for: .init(name: "run.sh", paths: ["/repo/deploy/run.sh"])) == "deploy/run.sh")
        #expect(p.key(for: .init(name: "run.sh", paths: ["/repo/x/deploy/run.sh"])) == "/repo/x/deploy/run.sh", "an absolute key is the most specific")
        // Reached through a link: the path as written and the file it names; the longer key of either.
        #expect(p.key(for: .init(name: "run.sh", paths: ["/repo/deploy/run.sh", "/repo/test/deploy/run.sh"])) == "test/deploy/run.sh")
        // Equally specific keys can match only different paths; the choice is stable: the first by name.
        #expect(p.key(for: .init(name: "run.sh", paths: ["/z/b/run.sh", "/a/b/run.sh"])) == "a/b/run.sh")
    }

    /// A PATH entry inside a write path is dropped however either is spelled: through a link too.
    @Test func pathEntriesInsideAWritePathAreDroppedThroughLinks() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guard-path-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/data/ws/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/ws", withDestinationPath: dir + "/data/ws")
        let path = "\(dir)/ws/bin:/usr/bin:\(dir)/data/ws/bin:relative/bin:\(dir)/data"
        #expect(ExecLauncher.safePath(path, write: [dir + "/data/ws"]) == ["/usr/bin", dir + "/data"])
        #expect(ExecLauncher.safePath(path, write: [dir + "/ws"]) == ["/usr/bin", dir + "/data"], "the write path given through the link")
        // An entry that does not exist yet is resolved through its existing ancestor (helper-209).
        #expect(ExecLauncher.safePath("\(dir)/ws/later/bin:/usr/bin", write: [dir + "/data/ws"]) == ["/usr/bin"])
        // A link that leads nowhere yet, and `..` the kernel would take after a link (helper-210).
        try FileManager.default.createSymbolicLink(atPath: dir + "/dangling", withDestinationPath: dir + "/data/ws/not-yet")
        #expect(ExecLauncher.safePath("\(dir)/dangling/bin:\(dir)/ws/../bin:/usr/bin/../bin:/usr/bin", write: [dir + "/data/ws"]) == ["/usr/bin"])
    }

    @Test func theEnvironmentComesFromTheOptionTheVariableOrTheLabelsFileElseProduction() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guard-env-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let labels = dir + "/labels"
        try "app=\"x\"\nenvironment=\"test\"\n".write(toFile: labels, atomically: true, encoding: .utf8)
        #expect(ExecEnvironment.resolve(option: "staging", variable: "test", labelsFile: labels).name == "staging")
        #expect(ExecEnvironment.resolve(option: nil, variable: "staging", labelsFile: nil) == ExecEnvironment(name: "staging", source: "PROVENANT_ENVIRONMENT"))
        let both = ExecEnvironment.resolve(option: nil, variable: "staging", labelsFile: labels)
        #expect(both.name == "staging" && both.note == "PROVENANT_ENVIRONMENT is set, so --environment-file \(labels) was not read")
        #expect(ExecEnvironment.resolve(option: nil, variable: "", labelsFile: labels) == ExecEnvironment(name: "test", source: "--environment-file \(labels)"))
        let none = ExecEnvironment.resolve(option: nil, variable: nil, labelsFile: nil)
        #expect(none.name == "production" && none.isProduction && none.source == "default")
        let missing = ExecEnvironment.resolve(option: nil, variable: nil, labelsFile: dir + "/absent")
        #expect(missing.name == "production" && missing.note?.contains("cannot be read") == true)
        try "environment=\"test\"\nenvironment=\"test\"\n".write(toFile: labels, atomically: true, encoding: .utf8)
        #expect(ExecEnvironment.resolve(option: nil, variable: nil, labelsFile: labels).name == "production", "a label given twice is ambiguous")
        try "environment=test\n".write(toFile: labels, atomically: true, encoding: .utf8)
        #expect(ExecEnvironment.resolve(option: nil, variable: nil, labelsFile: labels).name == "production", "an unquoted value is not the downward API's")
    }

    @Test func theLabelsFileIsReadAsTheDownwardAPIWritesIt() {
        let text = "app=\"collector\"\r\nenvironment=\"test\"\ntier=\"a \\\"b\\\" \\\\ \\u00e9\\x41\\n\\U0001F600\"\nbroken\n=\"nokey\"\nq=\"x\"y\"\nt=\"\\q\"\n"
        let l = DownwardAPILabels(parsing: Array(text.utf8))
        #expect(l.labels == ["app": "collector", "environment": "test", "tier": "a \"b\" \\ éA\n😀"])
        #expect(l.ambiguous == ["q", "t"], "a line that cannot be read withholds its key")
        // Skipped, the bad line let a later one win (found by helper-81).
        #expect(DownwardAPILabels(parsing: Array("environment=production\nenvironment=\"test\"\n".utf8)).labels.isEmpty)
        #expect(DownwardAPILabels(parsing: Array("environment =\"production\"\nenvironment=\"test\"\n".utf8)).labels.isEmpty)
        #expect(DownwardAPILabels(parsing: Array("environment=\"\\xff\"\n".utf8)).labels.isEmpty, "not UTF-8")
        #expect(DownwardAPILabels(parsing: Array("environment=\"test\\\"\n".utf8)).labels.isEmpty, "the closing quote is escaped")
        #expect(DownwardAPILabels(parsing: Array("a=\"1\"\na=\"2\"\na=\"3\"\n".utf8)).ambiguous == ["a"])
    }

    @Test func secretVariablesAreKnownByNameOrByValue() throws {
        for name in ["GITHUB_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "ghtoken", "MYSQL_PWD_PASSWD", "SSH_PRIVATE_KEY", "HTTP_AUTH", "APP_CREDENTIALS"] {
            #expect(EnvironmentScrub.nameLooksSecret(name), "\(name)")
        }
        for name in ["SECRETKEY", "PASSWORDX", "APIKEYS", "DB_PASS", "MYSQL_PWD", "PGPASSWORD"] {
            #expect(EnvironmentScrub.nameLooksSecret(name), "\(name)")
        }
        for name in ["PATH", "HOME", "GIT_AUTHOR_NAME", "TOKENIZERS_PARALLELISM", "PWD", "OLDPWD", "KEYBOARD", "LANG", "XDG_SESSION_ID", "PASSAGE", "COMPASS_DIR"] {
            #expect(!EnvironmentScrub.nameLooksSecret(name), "\(name)")
        }
        for value in ["postgresql://admin:S3cr3tPassw0rd!x@db.internal:5432/app", "Server=db;Database=app;User Id=sa;Password=Hunter22;", "host=db pwd=x1y2z3"] {
            #expect(EnvironmentScrub.valueCarriesPassword(Array(value.utf8)[...]), "\(value)")
        }
        for value in ["https://example.com/a:b@c", "https://user@example.com/", "/usr/bin:/bin", "mypassword=", "see docs:password=on"] {
            #expect(!EnvironmentScrub.valueCarriesPassword(Array(value.utf8)[...]), "\(value)")
        }
        let engine = try SecretEngine.standard(minimumConfidence: .high)
        let scrub = EnvironmentScrub(named: ["API_TOKEN"], engine: engine)
        let entries = ["PATH=/usr/bin:/bin", "API_TOKEN=keep-me-1234", "GITHUB_TOKEN=x", "NOTES=ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe", "HOME=/root", "LANG=C.UTF-8"]
        let r = scrub.scrub(entries.map { Array($0.utf8) })
        #expect(r.removed == ["GITHUB_TOKEN", "NOTES"])
        #expect(r.kept.map { String(decoding: $0, as: UTF8.self) } == ["PATH=/usr/bin:/bin", "API_TOKEN=keep-me-1234", "HOME=/root", "LANG=C.UTF-8"])
        // This process's own environment: nothing ordinary goes.
        let mine = scrub.scrub(EnvironmentScrub.current())
        for name in ["PATH", "HOME"] where ProcessInfo.processInfo.environment[name] != nil { #expect(!mine.removed.contains(name)) }
    }

    @Test func proxyAddressesAreHostColonPort() {
        #expect(ProxyAddress.parse("127.0.0.1:3128") == ProxyAddress(host: "127.0.0.1", port: 3128))
        #expect(ProxyAddress.parse("[::1]:8080")?.url == "http://[::1]:8080")
        #expect(ProxyAddress.parse("proxy.internal:80")?.host == "proxy.internal")
        for bad in ["127.0.0.1", ":3128", "host:0", "host:65536", "::1:80", "[::1:80", "a@b:80", "http://h:80", "h:8o"] {
            #expect(ProxyAddress.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func tcpConnectsGoToTheProxyOrTheDeclaredPorts() {
        var m = AgentManifest(name: "a")
        m.egress = [.init(host: "a.example", cidr: nil, ports: [443, 4317], proto: "TCP"), .init(host: nil, cidr: "10.0.0.0/8", ports: [53], proto: "UDP")]
        m.dns = true
        m.read = ["/etc/agent"]; m.write = ["/var/lib/agent"]
        m.secrets = [.init(secret: nil, keys: [], env: nil, file: "/run/secrets/token")]
        let r = ExecLauncher.ruleset(abi: 7, manifest: m, executables: ["/opt/agent"], proxy: nil)
        #expect(r.connectPorts == [53, 443, 4317])
        #expect(ExecLauncher.ruleset(abi: 7, manifest: m, executables: [], proxy: ProxyAddress(host: "127.0.0.1", port: 3128)).connectPorts == [3128])
        #expect(r.paths.contains(.init("/etc/agent", Landlock.read | Landlock.execute)))
        #expect(r.paths.contains(.init("/var/lib/agent", Landlock.write)) && Landlock.write & Landlock.execute == 0)
        #expect(r.paths.contains(.init("/run/secrets/token", Landlock.readFile)))
        #expect(r.paths.contains(.init("/opt/agent", Landlock.readFile | Landlock.execute)))
        #expect(!r.paths.contains { $0.path == "/etc" || $0.path == "/" || $0.path == "/tmp" || $0.path == "/root" })
        m.egress.append(.init(host: "b.example", cidr: nil, ports: [], proto: "TCP"))
        let open = ExecLauncher.ruleset(abi: 7, manifest: m, executables: [], proxy: nil)
        #expect(open.connectPorts == nil && open.tcpNote != nil)
        #expect(Landlock.Ruleset(abi: 3).tcpNote?.contains("ABI 3") == true)
        #expect(Landlock.handledFilesystem(abi: 1) == 0x1fff && Landlock.handledFilesystem(abi: 3) == 0x7fff && Landlock.handledFilesystem(abi: 7) == 0xffff)
    }

    /// A write path nested in a read path (or holding one) took the read path's execute right: the
    /// command ran a binary it had written (helper-146). Such read paths lose execute.
    @Test func readPathsOverlappingAWritePathAreNotExecutable() {
        var m = AgentManifest(name: "a")
        m.read = ["/srv/app", "/srv/data/cfg", "/etc/agent"]; m.write = ["/srv/app/out", "/srv/data"]
        let r = ExecLauncher.ruleset(abi: 7, manifest: m, executables: [], proxy: nil)
        #expect(r.paths.contains(.init("/srv/app", Landlock.read)))
        #expect(r.paths.contains(.init("/srv/data/cfg", Landlock.read)))
        #expect(r.paths.contains(.init("/etc/agent", Landlock.read | Landlock.execute)))
        #expect(!r.paths.contains { $0.path.hasPrefix("/srv") && $0.access & Landlock.execute != 0 })
        #expect(!ExecLauncher.overlapsWrite("/srv/application", ["/srv/app"]))
    }

    @Test func theShebangLineIsReadAsTheKernelReadsIt() throws {
        func line(_ text: String) throws -> ExecLauncher.Shebang? {
            let p = FileManager.default.temporaryDirectory.appendingPathComponent("shebang-\(UUID().uuidString)").path
            try text.write(toFile: p, atomically: false, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: p) }
            let fd = open(p, O_RDONLY)
            defer { close(fd) }
            return ExecLauncher.shebang(fd).map { ExecLauncher.Shebang(interpreter: $0.interpreter, argument: $0.argument) }
        }
        #expect(try line("#!/usr/bin/env  python3 -u \t\nprint(1)\n") == .init(interpreter: "/usr/bin/env", argument: "python3 -u"))
        #expect(try line("#! /bin/sh\n") == .init(interpreter: "/bin/sh", argument: nil))
        #expect(try line("#!\n") == nil)
        #expect(try line("echo no\n") == nil)
    }

    @Test func capabilityNamesMapToTheKernelsNumbers() {
        #expect(Capabilities.names.count == 41)
        #expect(Capabilities.number("NET_BIND_SERVICE") == 10 && Capabilities.number("CAP_NET_BIND_SERVICE") == 10)
        #expect(Capabilities.number("CHECKPOINT_RESTORE") == 40 && Capabilities.number("SYS_ADMIN") == 21 && Capabilities.number("CHOWN") == 0)
        #expect(Capabilities.number("ALL") == nil && Capabilities.mask(["NET_RAW", "BOGUS"]) == nil)
        #expect(Capabilities.mask(["KILL", "CAP_NET_BIND_SERVICE"]) == 0x420)
        #expect(Capabilities.names(in: 0x420) == ["KILL", "NET_BIND_SERVICE"])
    }
}
