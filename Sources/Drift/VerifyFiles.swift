import Catalog
import Foundation
import ProvenantCore

/// Why `verify-files` could not run at all.
public enum VerifyFilesError: Error, Sendable, Equatable, CustomStringConvertible {
    case rootUnreadable(String, reason: String)
    /// No dpkg status, apk database or Python RECORD: nothing says what should be installed.
    case noDatabase(String)

    public var description: String {
        switch self {
        case .rootUnreadable(let p, let reason): "'\(Redactor.redact(p))' cannot be read as a root: \(reason)"
        case .noDatabase(let p):
            "'\(Redactor.redact(p))' holds no package database (var/lib/dpkg/status, lib/apk/db/installed, or a *.dist-info/RECORD under a bin or lib directory)"
        }
    }
}

/// Every installed file of a root checked against the digest its package database records (dpkg's
/// md5sums and conffiles, apk's `Z:` SHA-1, Python's RECORD SHA-256), and the executables and shared
/// libraries under the bin, sbin and lib directories that no package claims. Every read goes through
/// `RootedDirectory`: nothing outside the root is opened, and a link is resolved inside it only.
public struct VerifyFiles: Sendable {
    public let root: String
    /// Files hashed at once.
    public let width: Int

    /// Bytes of package databases (dpkg's status and info files, apk's installed, RECORDs) read in all;
    /// a real system's are a few MiB. What does not fit is not read, and is NOT CHECKED.
    let databaseBudget: Int

    /// Lines of the databases that list paths, in all (see `DpkgFiles.maxPaths`).
    let maxPaths: Int

    /// Bytes above which an installed file is not hashed (NOT CHECKED instead).
    let maxFileSize: Int
    /// 4 GiB: far above any file a distribution package ships, far below what would stall a run.
    public static let defaultMaxFileSize = 4 << 30

    public init(root: String, width: Int = Parallel.cores, databaseBudget: Int = 512 << 20, maxPaths: Int = DpkgFiles.maxPaths,
                maxFileSize: Int = VerifyFiles.defaultMaxFileSize) {
        self.root = root
        self.maxFileSize = max(0, maxFileSize)
        self.width = max(1, width)
        self.databaseBudget = databaseBudget
        self.maxPaths = maxPaths
    }

    public func run() throws(VerifyFilesError) -> VerifyFilesReport {
        // The budget covers the databases only: installed files are hashed through open descriptors, never read whole.
        let rooted = RootedDirectory(root: root, budget: ReadBudget(total: databaseBudget))
        do { close(try rooted.openDirectory("")) } catch { throw .rootUnreadable(root, reason: error.description) }

        var timer = PhaseTimer()
        // The walk of the program directories runs beside the databases and the hashing: it only lists
        // and stats, and its result is needed for Python's RECORDs and the unowned files at the end.
        let walking = Background { ProgramWalk(rooted: rooted) }
        var os = CheckPlan()
        let paths = ReadBudget(total: maxPaths)
        let hasDpkg = DpkgFiles.plan(&os, rooted: rooted, width: width, paths: paths)
        let hasApk = ApkFiles.plan(&os, rooted: rooted, paths: paths)
        timer.lap("read dpkg and apk databases (\(os.items.count) paths)")
        var tally = Tally()
        let osChecked = FileChecker(rooted: rooted, plan: os, width: width, maxFileSize: maxFileSize).run()
        timer.lap("check dpkg and apk files")
        let walk = walking.value
        timer.lap("wait for the walk of bin and lib directories (\(walk.files.count) files)")
        guard hasDpkg || hasApk || !walk.records.isEmpty else { throw .noDatabase(root) }
        tally.collect(os, osChecked)
        // Python's RECORDs second: one the OS packages installed only claims its files.
        var owned = Self.owned(os, osChecked)
        var python = CheckPlan()
        PythonFiles.plan(&python, records: walk.records, distInfos: walk.distInfos, eggLists: walk.eggLists, osOwned: owned, rooted: rooted, paths: paths)
        let pythonChecked = FileChecker(rooted: rooted, plan: python, width: width, maxFileSize: maxFileSize).run()
        tally.collect(python, pythonChecked)
        timer.lap("read and check \(walk.records.count) Python RECORDs (\(python.items.count) paths)")

        owned.formUnion(Self.owned(python, pythonChecked))
        let digested = Self.digestChecked(os, osChecked).union(Self.digestChecked(python, pythonChecked))
        let unowned = Self.unowned(walk, owned: owned, digested: digested, rooted: rooted, width: width)
        timer.lap("find unowned programs")
        var findings = tally.findings + unowned.findings
        var notChecked = tally.notChecked + walk.notChecked + unowned.notChecked
        findings.sort(by: FileDrift.order)
        // Locations name files the databases list, so they are input too: redacted, one line each.
        let shown = { (d: Diagnostic) -> Diagnostic in
            var d = d
            d.location.path = Redactor.escapeControls(Redactor.redact(d.location.path))
            return d
        }
        notChecked = notChecked.map(shown).sorted()
        return VerifyFilesReport(root: root, findings: findings, notChecked: notChecked, diagnostics: (os.diagnostics + python.diagnostics).map(shown).sorted(),
                                 filesChecked: tally.filesChecked, pathsPresent: tally.present,
                                 packages: os.packages.merging(python.packages, uniquingKeysWith: +), filesWalked: walk.files.count)
    }

    /// Whatever a plan's databases claim, by its real path inside the root.
    static func owned(_ plan: CheckPlan, _ checked: FileChecker.Result) -> Set<String> {
        var owned = Set<String>()
        owned.reserveCapacity(plan.items.count)
        for item in plan.items {
            guard let dir = checked.canonicalDirs[item.dir] else { continue }
            owned.insert(dir.isEmpty ? item.name : dir + "/" + item.name)
        }
        return owned
    }

    /// The real paths of the files a plan hashed against a recorded digest.
    static func digestChecked(_ plan: CheckPlan, _ checked: FileChecker.Result) -> Set<String> {
        var out = Set<String>()
        for (item, outcome) in zip(plan.items, checked.outcomes) {
            guard case .present(hashed: true, _) = outcome, let dir = checked.canonicalDirs[item.dir] else { continue }
            out.insert(dir.isEmpty ? item.name : dir + "/" + item.name)
        }
        return out
    }

    /// Outcomes turned into findings, NOT CHECKED entries and counts.
    struct Tally {
        var findings: [FileDrift] = []
        var notChecked: [Diagnostic] = []
        var filesChecked = 0, present = 0

        mutating func collect(_ plan: CheckPlan, _ checked: FileChecker.Result) {
            notChecked += plan.notChecked
            // Regular files a package installed without recording a digest: there, but nobody can say what they hold.
            var undigested = [Int](repeating: 0, count: plan.owners.count)
            for (item, outcome) in zip(plan.items, checked.outcomes) {
                let owner = plan.owners[item.owner]
                switch outcome {
                case .skipped: continue
                case .present(let hashed, let regular):
                    if hashed { filesChecked += 1 } else { present += 1 }
                    if !hashed && regular { undigested[item.owner] += 1 }
                case .missing(let reason):
                    if item.expected != nil { filesChecked += 1 } else { present += 1 }
                    findings.append(FileDrift(rule: .fileMissing, path: item.shown, source: owner.source, package: owner.shown, check: "missing",
                                              conffile: item.conffile, note: reason,
                                              message: "\(owner.source.rawValue) package '\(owner.shown)' installed it and it is gone" + (reason.map { " (\($0))" } ?? "")))
                case .modified(let typeChanged, let differs, let reason):
                    filesChecked += 1
                    let digest = differs == true ? "5" : differs == false ? "." : "?"
                    var message = item.conffile ? "configuration file" : "file"
                    message += typeChanged ? " replaced by something that is not a regular file" : " differs from the digest"
                    message += " '\(owner.shown)' (\(owner.source.rawValue)) records"
                    if typeChanged { message += differs == true ? "; what it leads to differs too" : differs == false ? "; what it leads to has the recorded digest" : "" }
                    if let reason { message += "; digest not computed: \(reason)" }
                    findings.append(FileDrift(rule: item.conffile ? .conffileModified : .fileModified, path: item.shown, source: owner.source,
                                              package: owner.shown, check: "?" + (typeChanged ? "M" : "?") + digest + "??????",
                                              conffile: item.conffile, note: owner.source == .dpkg ? nil : reason, message: message))
                case .notChecked(let reason):
                    notChecked.append(Diagnostic(Location(item.shown), "not checked: \(reason)", unscanned: .input))
                }
            }
            for (i, n) in undigested.enumerated() where n > 0 {
                let o = plan.owners[i]
                notChecked.append(Diagnostic(Location(o.origin), "\(n) regular file\(n == 1 ? "" : "s") of \(o.source.rawValue) package '\(o.shown)' \(n == 1 ? "has" : "have") no recorded digest: present, content not checked",
                                             unscanned: .input))
            }
        }
    }

    /// The walked files no database claims that are programs or libraries. Telling an ELF shared
    /// object by its header reads every unowned file without an execute bit or a library name (compiled
    /// Python files left by installers are thousands), so that is spread over the cores.
    ///
    /// Compiled caches where imports look (`__pycache__/*.pyc`) that no database hashed are read too,
    /// claimed or not: imports load them in place of their checked source, and a planted one ran its
    /// own code while this said all checked (found by helper-170). One that Python loads without
    /// looking at its source (an unchecked hash-based cache) is unowned code; one it checks against the
    /// source's time and size, or hash, may still hold other code, which only compiling the source
    /// would show: those are NOT CHECKED, counted on one line.
    static func unowned(_ walk: ProgramWalk, owned: Set<String>, digested: Set<String> = [], rooted: RootedDirectory, width: Int) -> (findings: [FileDrift], notChecked: [Diagnostic]) {
        // Python code inside an egg (easy_install's, with its EGG-INFO) is the egg's, which lists no
        // files and records no digests: not unowned, but not checked either.
        var eggsWithCode = Set<String>()
        let candidates = walk.files.indices.filter {
            if ProgramWalk.isPythonCache(walk.files[$0]) { return !digested.contains(walk.files[$0].path) }
            guard !owned.contains(walk.files[$0].path) else { return false }
            if ProgramWalk.isPythonCode(walk.files[$0]), let egg = walk.egg(holding: walk.files[$0].path) { eggsWithCode.insert(egg); return false }
            return true
        }
        let claims = Parallel.Claims(count: candidates.count, chunk: 256)
        let parts = Parallel.map(width: width) { _ in
            var chain = DirectoryChain(rooted: rooted)
            defer { chain.close() }
            var out: [(Int, ProgramWalk.Kind)] = []
            while let r = claims.claim() {
                for k in r {
                    let file = walk.files[candidates[k]]
                    if let known = ProgramWalk.kindByName(file) { out.append((k, known)); continue }
                    do {
                        let (fd, _) = try chain.enter(walk.dirs[file.dir])
                        out.append((k, ProgramWalk.kind(file, rooted: rooted, dirFD: fd)))
                    } catch {
                        out.append((k, .unreadable("its directory cannot be opened: \(error)")))
                    }
                }
            }
            return out
        }
        var kinds = [ProgramWalk.Kind](repeating: .other, count: candidates.count)
        for part in parts { for (k, kind) in part { kinds[k] = kind } }
        var findings: [FileDrift] = []
        var notChecked: [Diagnostic] = []
        let caches = kinds.filter { $0 == .pythonCache }.count
        if caches > 0 {
            notChecked.append(Diagnostic(Location("/"), "\(caches) compiled Python cache\(caches == 1 ? "" : "s") where imports look (__pycache__/*.pyc) that no package records a digest of: imports load \(caches == 1 ? "it" : "them") in place of the checked source, so \(caches == 1 ? "its" : "their") code is not checked", unscanned: .input))
        }
        for egg in eggsWithCode.sorted() {
            notChecked.append(Diagnostic(Location("/" + egg), "an egg: its Python files have no digests to check against; not checked", unscanned: .input))
        }
        // A link below site-packages that nobody claims, to Python code or to a directory (a package
        // imports load through it): the walk follows no link, so an added module behind one went
        // unreported (found by helper-96).
        // A compiled cache is never installed as a link: one there, claimed or not, loads whatever it
        // leads to in place of a checked source (found by review: the cache check read regular files only).
        for link in walk.pythonLinks where ProgramWalk.isPythonCache(link) {
            findings.append(FileDrift(rule: .fileUnowned, path: "/" + link, source: nil, package: nil, check: "unowned", conffile: false,
                                      note: "symbolic link as a compiled Python cache",
                                      message: "symbolic link where imports load a compiled Python cache, which no package installs as a link"))
        }
        for link in walk.pythonLinks where !owned.contains(link) && walk.egg(holding: link) == nil && !ProgramWalk.isPythonCache(link) {
            let what: String
            if PythonFiles.isCode(link) || link.contains(".so.") {
                what = "symbolic link to Python code"
            } else if let (fd, _) = try? rooted.openDirectoryResolved(link) {
                close(fd)
                what = "symbolic link to a directory, which imports load as a package"
            } else {
                continue
            }
            findings.append(FileDrift(rule: .fileUnowned, path: "/" + link, source: nil, package: nil, check: "unowned", conffile: false,
                                      note: what, message: "\(what) that no package database claims"))
        }
        linksOut(walk, owned: owned, rooted: rooted, &findings, &notChecked)
        for (k, kind) in kinds.enumerated() {
            let file = walk.files[candidates[k]]
            let shown = "/" + file.path
            switch kind {
            case .program(let what):
                // A cache a RECORD lists without a hash is claimed, but nothing vouches for its bytes.
                let whose = owned.contains(file.path) ? "whose bytes no package database records a digest of" : "that no package database claims"
                findings.append(FileDrift(rule: .fileUnowned, path: shown, source: nil, package: nil, check: "unowned", conffile: false,
                                          note: what, message: "\(what) \(whose)"))
            case .other, .pythonCache: continue
            case .unreadable(let reason):
                notChecked.append(Diagnostic(Location(shown), "unowned file not read, so whether it is a library is unknown: \(reason)", unscanned: .input))
            }
        }
        return (findings, notChecked)
    }
}

extension VerifyFiles {
    /// Names walked through the program directories' links, at most.
    static let maxLinkSteps = 1_000_000

    /// Links in the program directories that lead out of them: `/usr/bin/sudo -> /opt/implant` or a
    /// claimed `libpam.so.0` turned to `/var/tmp/.x.so` ran a file no database claims and nothing
    /// walked, and passed (found by helper-142; dpkg records no link targets). A link whose target,
    /// resolved inside the root, is a file no database claims outside the walked directories is
    /// unowned; one to a directory out there is not checked, as its files are not walked. A link to a
    /// name in its own directory, or into the walked directories, leads to what the walk judges itself.
    /// Links below site-packages that a package claims are followed too: `dist-packages/foo -> /srv/x`
    /// or `bar.py -> /srv/evil.py` made imports load code nothing walked, and passed (found by
    /// helper-170); those nobody claims are findings already.
    static func linksOut(_ walk: ProgramWalk, owned: Set<String>, rooted: RootedDirectory, _ findings: inout [FileDrift], _ notChecked: inout [Diagnostic]) {
        var steps = maxLinkSteps
        var buf = [CChar](repeating: 0, count: 4097)
        let spent = Diagnostic(Location("/"), "the program directories' symbolic links walked \(maxLinkSteps) names; where the rest lead is not checked", unscanned: .input)
        let claimedPython = walk.pythonLinks.filter { owned.contains($0) && !ProgramWalk.isPythonCache($0) }
        for (link, python) in walk.programLinks.map({ ($0, false) }) + claimedPython.map({ ($0, true) }) {
            // A target naming a file in the link's own directory leads into the walk; a link whose
            // text cannot be read is looked up as any other.
            let host = rooted.root == "/" ? "/" + link : rooted.root + "/" + link
            let n = readlink(host, &buf, buf.count - 1)
            if n > 0 {
                let target = String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !target.contains("/"), target != "..", target != "." { continue }
            }
            guard steps > 0 else { notChecked.append(spent); break }
            let canonical: String, st: stat
            do { (canonical, st) = try rooted.lookUp(link, steps: &steps) } catch {
                switch error {
                // Nothing there, or a loop: nothing the loader or PATH could run through it.
                case .notFound, .tooManyLinks where steps > 0: continue
                case .tooManyLinks: notChecked.append(spent); return
                // Where it leads could not be told: not checked, never passed over as clean.
                default:
                    notChecked.append(Diagnostic(Location("/" + link), "symbolic link not followed, so whether it leads to an unowned program is not known: \(error)", unscanned: .input))
                    continue
                }
            }
            guard !walk.isWalked(canonical), !owned.contains(canonical) else { continue }
            let claimed = owned.contains(link)
            switch st.st_mode & S_IFMT {
            case S_IFREG where python:
                // Imports load it by the link's name, whatever the target is called.
                guard PythonFiles.isCode(link) || PathText.lastComponent(link).contains(".so") else { continue }
                let how = "symbolic link a package claims, leading out of site-packages"
                findings.append(FileDrift(rule: .fileUnowned, path: "/" + link, source: nil, package: nil, check: "unowned", conffile: false,
                                          note: how, message: "\(how) to /\(canonical), Python code no package database claims"))
            case S_IFREG:
                // A program or library, as an unowned file in the walk is told: by its mode, either
                // name (the loader loads `libx.so.1` whatever it leads to), or its ELF header.
                let parent = PathText.parent(canonical)
                var file = ProgramWalk.File(dir: 0, name: PathText.lastComponent(canonical), executable: st.st_mode & 0o111 != 0, path: canonical)
                if PathText.lastComponent(link).contains(".so") { file.name = PathText.lastComponent(link) }
                let kind: ProgramWalk.Kind
                if let known = ProgramWalk.kindByName(file) { kind = known } else if let (fd, _) = try? rooted.openDirectoryResolved(parent) {
                    defer { close(fd) }
                    file.name = PathText.lastComponent(canonical)
                    kind = ProgramWalk.kind(file, rooted: rooted, dirFD: fd)
                } else { kind = .unreadable("its directory cannot be opened") }
                switch kind {
                case .program(let what):
                    let how = claimed ? "symbolic link a package claims, leading out of the program directories" : "symbolic link leading out of the program directories"
                    findings.append(FileDrift(rule: .fileUnowned, path: "/" + link, source: nil, package: nil, check: "unowned", conffile: false,
                                              note: how, message: "\(how) to /\(canonical), \(what == "executable" ? "an executable" : "a " + what) no package database claims"))
                case .other, .pythonCache: continue
                case .unreadable(let reason):
                    notChecked.append(Diagnostic(Location("/" + link), "symbolic link to /\(canonical), outside the program directories, not read, so whether it is a library is unknown: \(reason)", unscanned: .input))
                }
            case S_IFDIR:
                // Claimed or not: dpkg records no targets (`default-java -> /opt/evil`, helper-143). One
                // to a directory a package lists (`/usr/lib/ssl/certs -> /etc/ssl/certs`) was passed
                // over above, with its content unwalked (Left undone: `-> /var/tmp`, helper-144).
                let whose = python ? "imports load it as a package, and its files are not walked for unowned code" : "its files are not walked for unowned programs"
                notChecked.append(Diagnostic(Location("/" + link), "symbolic link to /\(canonical), a directory outside the \(python ? "walked" : "program") directories: \(whose)", unscanned: .input))
            default: continue
            }
        }
    }
}

/// A value computed on a thread of its own, waited for when it is needed.
final class Background<T: Sendable>: @unchecked Sendable {
    private var result: T?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> T) {
        let thread = Thread { [self] in
            self.result = body()
            self.done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Blocks until the value is there; call once.
    var value: T {
        done.wait()
        return result!
    }
}
