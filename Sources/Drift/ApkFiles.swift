import Catalog
import Foundation
import ProvenantCore

/// Alpine's installed files: every `R:` of `lib/apk/db/installed`, with the SHA-1 of its `Z:` line
/// (of the content, or of the target text for a symbolic link, as apk records it). Only an entry
/// apk installed as a link (`a:` mode 0777) is judged by its target text: a file swapped for a link
/// whose target text is the file's old content would otherwise pass (found by helper-73). Files under `/etc`
/// are configuration (apk's default protected path), so a changed one is reported as such.
enum ApkFiles {
    static let database = "lib/apk/db/installed"

    /// Adds apk's files to `plan`; false when the root has no apk database.
    static func plan(_ plan: inout CheckPlan, rooted: RootedDirectory, paths: ReadBudget) -> Bool {
        let shown = "/" + database
        let text: String
        switch DatabaseText(rooted, shown) {
        case .absent: return false
        case .unreadable(let why):
            plan.notChecked.append(Diagnostic(Location(shown), "apk database not read, so no apk package was checked: \(why)", unscanned: .input))
            return true
        case .text(let t): text = t
        }
        if let refused = DpkgFiles.overBudget(text.utf8, paths, shown, "apk's packages are") {
            plan.notChecked.append(refused)
            return true
        }
        for record in ApkDatabase.records(text) {
            guard let name = record.first("P"), !name.isEmpty else {
                // Files listed under no package cannot be owned or checked: NOT CHECKED, not passed over.
                if record.fields.contains(where: { $0.key == "F" || $0.key == "R" }) {
                    plan.notChecked.append(Diagnostic(Location(shown, line: record.line), "apk record without a package name (P:) lists files; they are not checked",
                                                      unscanned: .input))
                } else {
                    plan.diagnostics.append(Diagnostic(Location(shown, line: record.line), "apk record without a package name (P:), skipped"))
                }
                continue
            }
            let owner = plan.owner(.apk, name, origin: shown)
            for f in record.files {
                if let problem = f.digestProblem {
                    plan.notChecked.append(Diagnostic(Location(shown, line: f.line), "'\(f.path)': \(problem); not checked", unscanned: .input))
                }
                plan.add(f.path, shown: f.path, expected: f.digest.map { ExpectedDigest(algorithm: .sha1, text: $0.value) }, owner: owner,
                         conffile: Self.isConfiguration(f.path, isLink: f.isLink), linkDigest: f.isLink, origin: Location(shown, line: f.line))
            }
        }
        return true
    }

    /// Whether apk treats a file as configuration an admin may edit, by apk-tools' default protected
    /// paths (`+etc`, `@etc/init.d`, `!etc/apk`): everything under `/etc` but the init scripts (only
    /// their links are protected) and apk's own keys and settings. Called configuration, a changed
    /// init script or signing key was a low finding (found by helper-131); it is a modified file.
    static func isConfiguration(_ path: String, isLink: Bool) -> Bool {
        guard path.hasPrefix("/etc/"), !path.hasPrefix("/etc/apk/") else { return false }
        return isLink || !path.hasPrefix("/etc/init.d/")
    }
}
