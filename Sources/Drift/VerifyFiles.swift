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

    public init(root: String, width: Int = Parallel.cores) {
        self.root = root
        self.width = max(1, width)
    }

    public func run() throws(VerifyFilesError) -> VerifyFilesReport {
        let rooted = RootedDirectory(root: root)
        do { close(try rooted.openDirectory("")) } catch { throw .rootUnreadable(root, reason: error.description) }

        var timer = PhaseTimer()
        let walk = ProgramWalk(rooted: rooted)
        timer.lap("walk bin and lib directories (\(walk.files.count) files)")
        var os = CheckPlan()
        let hasDpkg = DpkgFiles.plan(&os, rooted: rooted, width: width)
        let hasApk = ApkFiles.plan(&os, rooted: rooted)
        guard hasDpkg || hasApk || !walk.records.isEmpty else { throw .noDatabase(root) }
        timer.lap("read dpkg and apk databases (\(os.items.count) paths)")
        var tally = Tally()
        let osChecked = FileChecker(rooted: rooted, plan: os, width: width).run()
        timer.lap("check dpkg and apk files")
        tally.collect(os, osChecked)
        // Python's RECORDs second: one the OS packages installed only claims its files.
        let osOwned = Self.owned(os, osChecked)
        var python = CheckPlan()
        PythonFiles.plan(&python, records: walk.records, osOwned: osOwned, rooted: rooted)
        let pythonChecked = FileChecker(rooted: rooted, plan: python, width: width).run()
        tally.collect(python, pythonChecked)
        timer.lap("read and check \(walk.records.count) Python RECORDs (\(python.items.count) paths)")

        let unowned = Self.unowned(walk, owned: osOwned.union(Self.owned(python, pythonChecked)), rooted: rooted)
        timer.lap("find unowned programs")
        var findings = tally.findings + unowned.findings
        var notChecked = tally.notChecked + walk.notChecked + unowned.notChecked
        findings.sort(by: FileDrift.order)
        notChecked.sort()
        return VerifyFilesReport(root: root, findings: findings, notChecked: notChecked, diagnostics: (os.diagnostics + python.diagnostics).sorted(),
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

    /// The walked files no database claims that are programs or libraries.
    static func unowned(_ walk: ProgramWalk, owned: Set<String>, rooted: RootedDirectory) -> (findings: [FileDrift], notChecked: [Diagnostic]) {
        var findings: [FileDrift] = []
        var notChecked: [Diagnostic] = []
        var dir = -1
        var dirFD: Int32 = -1
        defer { if dirFD >= 0 { close(dirFD) } }
        for file in walk.files where file.rawName != nil || !owned.contains(file.path) {
            if file.dir != dir {
                if dirFD >= 0 { close(dirFD); dirFD = -1 }
                dir = file.dir
                dirFD = (try? rooted.openDirectory(walk.dirs[dir])) ?? -1
            }
            let shown = "/" + file.path
            switch dirFD >= 0 ? ProgramWalk.kind(file, rooted: rooted, dirFD: dirFD) : .unreadable("its directory cannot be opened") {
            case .program(let kind):
                let suffix = file.rawName == nil ? "" : "; its name is not UTF-8"
                findings.append(FileDrift(rule: .fileUnowned, path: shown, source: nil, package: nil, check: "unowned", conffile: false,
                                          note: kind + suffix, message: "\(kind) that no package database claims\(suffix)"))
            case .other: continue
            case .unreadable(let reason):
                notChecked.append(Diagnostic(Location(shown), "unowned file not read, so whether it is a library is unknown: \(reason)", unscanned: .input))
            }
        }
        return (findings, notChecked)
    }
}
