import Catalog
import Foundation
import ProvenantCore

/// dpkg's installed files, planned as `dpkg --verify` checks them: every package whose state is not
/// `not-installed`, every path of its `.list` (each is looked for, directories too), the digest from its
/// `md5sums` or else from the status record's `Conffiles:` field, and a path diverted away from the
/// package looked for where the diversion put it.
///
/// One difference, on purpose: `dpkg --verify` looks a diverted file's digest up under the new name,
/// where no package records one, so it never checks a diverted file's content. Here the file at the
/// new name is checked against the digest its package recorded for the old one.
public enum DpkgFiles {
    static let admin = "var/lib/dpkg"
    /// The largest info or status file read; Debian's largest `.list` is a few MiB.
    static let limit = 64 << 20
    /// Lines of every database that lists paths (dpkg's `.list` files, apk's `installed`, Python's
    /// RECORDs) together. Each path costs about 150 bytes planned, and a real system has about 100,000;
    /// a database beyond this is NOT CHECKED rather than filling memory. Lines are counted before a
    /// database is parsed, so nothing is built for one that does not fit.
    public static let maxPaths = 4_000_000

    /// Charges a database's lines (newlines, plus one for a last line without one) to the shared
    /// budget before it is parsed. nil when they fit; else the NOT CHECKED entry naming `path` and
    /// what goes unchecked (`"the files of 'foo' are"`).
    static func overBudget<C: Collection>(_ bytes: C, _ paths: ReadBudget, _ path: String, _ unchecked: String) -> Diagnostic? where C.Element == UInt8 {
        var n = 0
        var last: UInt8 = 10
        for b in bytes { if b == 10 { n += 1 }; last = b }
        if paths.take(last == 10 ? n : n + 1) { return nil }
        return Diagnostic(Location(path), "the package databases list more than \(paths.total) paths in all; \(unchecked) not checked", unscanned: .input)
    }

    /// The packages `info/*.list` files are there for (`name` of `name.list` or `name:arch.list`), sorted.
    static func listedPackages(_ rooted: RootedDirectory) -> [String] {
        guard let fd = try? rooted.openDirectory("\(admin)/info") else { return [] }
        defer { close(fd) }
        let names = (try? RootedDirectory.names(in: fd, fullPath: "/\(admin)/info", limit: 1 << 20)) ?? []
        var out = Set<String>()
        for n in names where n.count > 5 && n.suffix(5).elementsEqual(".list".utf8) {
            let base = String(decoding: n.dropLast(5), as: UTF8.self)
            out.insert(String(base.split(separator: ":", maxSplits: 1).first ?? Substring(base)))
        }
        return out.sorted()
    }

    /// Adds dpkg's files to `plan`; false when the root has no dpkg database.
    static func plan(_ plan: inout CheckPlan, rooted: RootedDirectory, width: Int, paths: ReadBudget) -> Bool {
        let statusPath = "/\(admin)/status", diversionsPath = "/\(admin)/diversions"
        let text: String
        switch DatabaseText(rooted, statusPath) {
        case .absent:
            // No status, but dpkg's info directory lists packages' files: the database was damaged or
            // its status taken away, and its packages are not checked, not absent (found by helper-73).
            if !Self.listedPackages(rooted).isEmpty {
                plan.notChecked.append(Diagnostic(Location(statusPath), "dpkg status is missing (or a link that leads nowhere) while /\(admin)/info lists packages' files; no dpkg package was checked", unscanned: .input))
                return true
            }
            return false
        case .unreadable(let why):
            plan.notChecked.append(Diagnostic(Location(statusPath), "dpkg status not read, so no dpkg package was checked: \(why)", unscanned: .input))
            return true
        case .text(let t): text = t
        }
        let (records, statusDiags) = DpkgDatabase.status(text, path: statusPath)
        // A record the parser could not read (`unscanned`) is NOT CHECKED; the rest are notes.
        for d in statusDiags { if d.unscanned != nil { plan.notChecked.append(d) } else { plan.diagnostics.append(d) } }
        // A package whose info/*.list is there but whose record is not (an emptied status, a stanza cut
        // out) installed files nobody checks: NOT CHECKED, each, not absent (found by review).
        // Only a record that keeps files counts: dpkg deletes a package's .list when it purges it, so one
        // beside `not-installed`, a record without a Status, or none at all is a damaged database
        // (found by review).
        let recorded = Set(records.filter(\.hasFiles).map(\.name))
        for name in Self.listedPackages(rooted) where !recorded.contains(name) {
            plan.notChecked.append(Diagnostic(Location("/\(admin)/info/\(name).list"),
                                              "lists files of package '\(name)', which the dpkg status does not record as keeping files (missing, not-installed, or unreadable); its files are not checked", unscanned: .input))
        }

        var diverted: [String: DpkgDatabase.Diversion] = [:]
        switch DatabaseText(rooted, diversionsPath) {
        case .absent: break
        case .unreadable(let why):
            plan.notChecked.append(Diagnostic(Location(diversionsPath), "dpkg diversions not read, so diverted files may be reported missing: \(why)", unscanned: .input))
        case .text(let t):
            let (list, diags) = DpkgDatabase.diversions(t, path: diversionsPath)
            plan.diagnostics += diags
            for d in list { diverted[key(d.from)] = d }
        }

        // The info files are read, parsed and matched with the conffiles and diversions on every core;
        // the plan is then built in status order.
        let installed = records.filter(\.hasFiles)
        let claims = Parallel.Claims(count: installed.count, chunk: 8)
        let divertedNow = diverted
        let parts = Parallel.map(width: width) { _ in
            var out: [(Int, PackageFiles)] = []
            while let r = claims.claim() { for i in r { out.append((i, read(installed[i], diverted: divertedNow, rooted: rooted, paths: paths))) } }
            return out
        }
        var files = [PackageFiles?](repeating: nil, count: installed.count)
        for part in parts { for (i, f) in part { files[i] = f } }

        for (record, pf) in zip(installed, files) {
            guard let pf else { continue }
            plan.diagnostics += pf.diagnostics
            plan.notChecked += pf.notChecked
            guard pf.listed else { continue }
            let owner = plan.owner(.dpkg, record.name, origin: pf.listPath)
            for e in pf.entries {
                plan.append(dir: e.dir, name: e.name, shown: e.shown, expected: e.hash.map { ExpectedDigest(algorithm: .md5, text: $0) },
                            owner: owner, conffile: e.conffile)
            }
        }
        return true
    }

    /// The lookup key dpkg gives a path: without leading `/` and `./`.
    static func key(_ path: String) -> String {
        var s = Substring(path)
        while true {
            if s.hasPrefix("/") { s = s.dropFirst(); continue }
            if s.hasPrefix("./") { s = s.dropFirst(2); continue }
            break
        }
        return String(s)
    }

    /// One path of a package, placed inside the root, with the digest dpkg checks it against.
    struct Entry: Sendable {
        var dir: String
        var name: String
        var shown: String
        var hash: String?
        var conffile: Bool
    }

    struct PackageFiles: Sendable {
        /// false when the `.list` could not be read: the package's files are unknown.
        var listed = false
        var listPath: String
        var entries: [Entry] = []
        var diagnostics: [Diagnostic] = []
        var notChecked: [Diagnostic] = []
    }

    /// `info/<package>[:<arch>].list` and `.md5sums`, named as dpkg names them (with the architecture
    /// for `Multi-Arch: same` packages), the other spelling tried when that one is absent.
    static func read(_ record: DpkgDatabase.Record, diverted: [String: DpkgDatabase.Diversion], rooted: RootedDirectory,
                     paths: ReadBudget) -> PackageFiles {
        let name = record.name
        var out = PackageFiles(listPath: "/\(admin)/info/\(name).list")
        guard !name.contains("/"), name != ".", name != ".." else {
            out.notChecked.append(Diagnostic(Location("/\(admin)/status", line: record.line), "package name '\(name)' is not a file name; its files are not checked", unscanned: .input))
            return out
        }
        var stems = ["\(name)"]
        if let arch = record.architecture, !arch.contains("/") {
            if record.multiArch == "same" { stems.insert("\(name):\(arch)", at: 0) } else { stems.append("\(name):\(arch)") }
        }
        func info(_ kind: String) -> (path: String, bytes: [UInt8])? {
            var firstError: (String, FileAccessError)?
            for stem in stems {
                let rel = "\(admin)/info/\(stem).\(kind)"
                do { return ("/" + rel, try rooted.read(rel, limit: limit)) } catch {
                    if case .notFound = error { continue }
                    if firstError == nil { firstError = ("/" + rel, error) }
                }
            }
            if let (path, error) = firstError {
                out.notChecked.append(Diagnostic(Location(path), "not read, so the files of '\(name)' are not all checked: \(error)", unscanned: .input))
            }
            return nil
        }
        var list: [String] = []
        if let (path, bytes) = info("list") {
            out.listPath = path
            // Every line counts, undecodable ones too: each is a path planned or a diagnostic.
            if let refused = overBudget(bytes, paths, path, "the files of '\(name)' are") {
                out.notChecked.append(refused)
                return out
            }
            out.listed = true
            let (listed, undecodable) = DpkgDatabase.fileList(bytes)
            list = listed
            out.notChecked += DpkgDatabase.perLine(undecodable, path, "path is not UTF-8; not checked", unscanned: true)
        } else if out.notChecked.isEmpty {
            // dpkg says the same and assumes the package has no files.
            out.notChecked.append(Diagnostic(Location(out.listPath), "files list of '\(name)' is missing, so its files are not checked", unscanned: .input))
        }
        var sums: [String: String] = [:]
        if let (path, bytes) = info("md5sums") {
            // Charged before parsing too, as the lists are: each line is a digest held or a diagnostic.
            if let refused = overBudget(bytes, paths, path, "the files of '\(name)' are") {
                out.listed = false
                out.notChecked.append(refused)
                return out
            }
            let (lines, malformed) = DpkgDatabase.md5sums(bytes)
            sums.reserveCapacity(lines.count)
            for l in lines { sums[key(l.path)] = l.hash }
            out.diagnostics += DpkgDatabase.perLine(malformed, path, "md5sums line is not '<md5>  <path>', skipped", unscanned: false)
        }
        var conffiles: [String: DpkgDatabase.Conffile] = [:]
        for c in record.conffiles { conffiles[key(c.path)] = c }
        out.entries.reserveCapacity(list.count)
        for (n, path) in list.enumerated() {
            let k = key(path)
            var target = path
            // A diversion by another package (or a local one) moved this package's file.
            if let d = diverted[k], d.package != record.name { target = d.to }
            guard let place = CheckPlan.place(target) else {
                out.notChecked.append(Diagnostic(Location(out.listPath, line: n + 1), "'\(target)' leaves the root; not read", unscanned: .input))
                continue
            }
            guard let (dir, file) = place else { continue }
            let conffile = conffiles[k]
            out.entries.append(Entry(dir: dir, name: file, shown: target, hash: sums[k] ?? conffile?.hash, conffile: conffile != nil))
        }
        return out
    }
}

/// A database file read whole through the root-scoped reader and decoded as text.
enum DatabaseText {
    case absent
    case unreadable(String)
    case text(String)

    /// `path` is taken from the root.
    init(_ rooted: RootedDirectory, _ path: String, limit: Int = DpkgFiles.limit) {
        do {
            self = .text(try TextDecoding.string(try rooted.read(String(path.drop(while: { $0 == "/" })), limit: limit)))
        } catch let e as FileAccessError {
            if case .notFound = e { self = .absent } else { self = .unreadable(e.description) }
        } catch {
            self = .unreadable("\(error)")
        }
    }
}
