import Catalog
import Foundation
import ProvenantCore

/// Installed Python distributions: every row of a `*.dist-info/RECORD` below a `site-packages` or
/// `dist-packages` directory, its path relative to the directory holding the `.dist-info` (an absolute
/// one is taken from the root, as in a chroot). A row that climbs out of the root is refused and never
/// read; a row without a hash (RECORD itself, `.pyc` files) only claims its file. A RECORD that dpkg or apk
/// installed only claims its files too: the OS package's own digests vouch for them, and distributions
/// change such files after the wheel's RECORD was written (Debian strips `.so` files, moves scripts).
enum PythonFiles {
    static let limit = 64 << 20

    /// Whether `path` (relative to the root) is a RECORD this reads.
    static func isRecord(_ path: String) -> Bool {
        path.hasSuffix(".dist-info/RECORD") && isBelowSitePackages(path)
    }

    /// `osOwned`: the real paths of every file dpkg and apk claim.
    /// `distInfos`: the `.dist-info` directories holding any file. One without a RECORD the walk found
    /// as a regular file (deleted, a link, a FIFO, a directory) is NOT CHECKED, unless dpkg or apk
    /// installed its METADATA (Debian drops RECORDs; the OS package vouches for those files): a
    /// distribution whose RECORD was taken away must not vanish from the check (found by helper-73).
    /// Whether `path` (relative to the root) is a legacy `*.egg-info/installed-files.txt` this reads.
    static func isEggList(_ path: String) -> Bool { path.hasSuffix(".egg-info/installed-files.txt") && isBelowSitePackages(path) }

    /// Whether `path` lies below a `site-packages` or `dist-packages` directory.
    static func isBelowSitePackages(_ path: String) -> Bool { path.contains("/site-packages/") || path.contains("/dist-packages/") }

    /// Whether imports find `path` (relative to the root): below site-packages or dist-packages, or in
    /// an interpreter's own library directory (`usr/lib/python3.11/`), where a planted
    /// `sitecustomize.py` runs at every start (found by helper-170).
    static func isOnImportPath(_ path: String) -> Bool {
        if isBelowSitePackages(path) { return true }
        var rest = Substring("/" + path)
        while let r = rest.range(of: "/lib/python") {
            rest = rest[r.upperBound...]
            if let c = rest.first, c == "2" || c == "3" { return rest.contains("/") }
        }
        return false
    }

    /// Python code imports load: source, path files, compiled modules outside `__pycache__` (imported
    /// when no source is beside them), and extension modules when `extensions`.
    static func isCode(_ path: String, extensions: Bool = true) -> Bool {
        if path.hasSuffix(".py") || path.hasSuffix(".pth") || (extensions && path.hasSuffix(".so")) { return true }
        return path.hasSuffix(".pyc") && !path.contains("/__pycache__/")
    }

    /// The files installers list in a RECORD without a hash: this RECORD itself and its signatures,
    /// in its own `.dist-info`, and compiled modules below site-packages. By name alone, a program
    /// named `RECORD` or an ELF `x.pyc` anywhere in the root was claimed unread (helper-143).
    static func isUnhashedByInstallers(_ path: String, distInfo: String) -> Bool {
        if [distInfo + "/RECORD", distInfo + "/RECORD.jws", distInfo + "/RECORD.p7s"].contains(path) { return true }
        // Below this RECORD's own site-packages, in a `__pycache__` (any directory named site-packages
        // did, helper-144).
        let site = PathText.parent(distInfo)
        return path.hasSuffix(".pyc") && path.hasPrefix(site + "/") && path.contains("/__pycache__/")
    }

    static func plan(_ plan: inout CheckPlan, records: [String], distInfos: [String] = [], eggLists: [String] = [], osOwned: Set<String>,
                     rooted: RootedDirectory, paths: ReadBudget) {
        // Legacy installs (`setup.py install`) list their files, relative to the `.egg-info`, without
        // digests: they only claim them, so their modules are not unowned.
        for list in eggLists {
            guard case .text(let text) = DatabaseText(rooted, list, limit: limit), DpkgFiles.overBudget(text.utf8, paths, "/" + list, "these files are") == nil else { continue }
            let base = PathText.parent(list)
            let owner = plan.owner(.python, distribution(PathText.lastComponent(base)), origin: "/" + list, counted: false)
            var code = 0
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let entry = line.trimmingCharacters(in: .whitespaces)
                guard !entry.isEmpty, let rel = try? RootPath.resolve(entry, from: base) else { continue }
                if isCode(rel) { code += 1 }
                _ = plan.add(rel, shown: "/" + rel, expected: nil, owner: owner, presence: false, origin: Location("/" + list, line: n + 1))
            }
            // Claimed, but with nothing to check them against: not checked, never clean (found by review).
            if code > 0, !osOwned.contains(list) {
                plan.notChecked.append(Diagnostic(Location("/" + list), "a legacy install listing \(code) Python file\(code == 1 ? "" : "s") without digests; their content is not checked", unscanned: .input))
            }
        }
        let recorded = Set(records.map(PathText.parent))
        for dir in Set(distInfos).sorted() where !recorded.contains(dir) && !osOwned.contains(dir + "/METADATA") && !osOwned.contains(dir) {
            plan.notChecked.append(Diagnostic(Location("/" + dir + "/RECORD"),
                                              "no RECORD that is a regular file (it is missing, a link, or another kind of file), so this distribution's files are not checked",
                                              unscanned: .input))
        }
        for record in records {
            let shown = "/" + record
            let text: String
            switch DatabaseText(rooted, record, limit: limit) {
            case .text(let t): text = t
            case .unreadable(let why):
                plan.notChecked.append(Diagnostic(Location(shown), "RECORD not read, so its distribution's files are not checked: \(why)", unscanned: .input))
                continue
            case .absent:
                // The walk found it; it went away since.
                plan.notChecked.append(Diagnostic(Location(shown), "RECORD went away while the root was read; its files are not checked", unscanned: .input))
                continue
            }
            if let refused = DpkgFiles.overBudget(text.utf8, paths, shown, "this distribution's files are") {
                plan.notChecked.append(refused)
                continue
            }
            let distInfo = PathText.parent(record)
            let base = PathText.parent(distInfo)
            let vouched = !osOwned.contains(record)
            // A real RECORD lists at least itself: an empty one was emptied (found by review).
            if vouched, PythonRecord.rows(text).isEmpty {
                plan.notChecked.append(Diagnostic(Location(shown), "RECORD lists no file (a real one lists itself), so this distribution's files are not checked", unscanned: .input))
                continue
            }
            let owner = plan.owner(.python, distribution(PathText.lastComponent(distInfo)), origin: shown, counted: vouched)
            for row in PythonRecord.rows(text) {
                let origin = Location(shown, line: row.line)
                let rel: String
                do {
                    rel = row.path.hasPrefix("/") ? try RootPath.resolve(String(row.path.drop(while: { $0 == "/" })))
                        : try RootPath.resolve(row.path, from: base == "/" ? "" : base)
                } catch {
                    if vouched { plan.notChecked.append(Diagnostic(origin, "'\(row.path)' leaves the root; not read", unscanned: .input)) }
                    continue
                }
                // pip hashes every file it installs but the RECORD (and its signatures) and compiled
                // files: code without a hash would be claimed unread (found by review), and so would any
                // other file (`/usr/bin/implant,,` claimed an unowned program, found by helper-142).
                if vouched, row.digest == nil, row.unreadableHash == nil, isCode(rel) || !isUnhashedByInstallers(rel, distInfo: distInfo) {
                    plan.notChecked.append(Diagnostic(origin, "'\(row.path)' has no hash, so its content is not checked", unscanned: .input))
                }
                if vouched, let bad = row.unreadableHash {
                    plan.notChecked.append(Diagnostic(origin, "'\(row.path)': hash '\(bad)' is not sha256, sha384 or sha512 in urlsafe base64; not checked", unscanned: .input))
                }
                plan.add(rel, shown: "/" + rel, expected: row.digest.map { ExpectedDigest(algorithm: $0.algorithm, text: $0.value) }, owner: owner,
                         presence: vouched && row.digest != nil, origin: origin)
            }
        }
    }

    /// `requests-2.31.0.dist-info` → `requests 2.31.0` (wheel names escape `-` in both parts).
    static func distribution(_ dir: String) -> String {
        let stem = dir.hasSuffix(".dist-info") ? String(dir.dropLast(".dist-info".count))
            : dir.hasSuffix(".egg-info") ? String(dir.dropLast(".egg-info".count)) : dir
        guard let dash = stem.firstIndex(of: "-") else { return stem }
        return stem[..<dash] + " " + stem[stem.index(after: dash)...]
    }
}
