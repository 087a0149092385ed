import Advisories
import ArgumentParser
import Foundation
import ProvenantCore

/// The `--db` option every database command shares.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: "Advisory database file. Default: $PROVENANT_DB, else ~/.cache/provenant/osv.sqlite.")
    var db: String?

    var path: String { db ?? AdvisoryStore.defaultPath() }
}

struct DBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the offline OSV advisory database.",
        subcommands: [DBImport.self, DBUpdate.self, DBStatus.self]
    )
}

struct DBImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import OSV records from JSON or YAML files, directories of them, or all.zip archives.",
        discussion: "The import is one transaction: if it fails or is interrupted, the previous database stays as it was. A record replaces a stored one when its 'modified' is newer, or the same with other content. Malformed or unreadable records are skipped and named, the rest imported, and the run exits 2."
    )
    @OptionGroup var database: DatabaseOption
    @Argument(help: "OSV JSON or YAML files, directories, or .zip archives in OSV's all.zip layout.")
    var paths: [String]
    @Option(name: .long, help: ArgumentHelp("With --ecosystem: the files are whole exports fetched at this time (RFC 3339, or a day YYYY-MM-DD), so those ecosystems count as current from then (see scan --max-db-age). Without it, the import leaves how current they are as it was (unknown for an ecosystem never updated).", valueName: "time"))
    var asOf: String?
    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("With --as-of: an OSV ecosystem (PyPI, Debian, Debian:12) the files are whole exports of (repeatable). A file counts for it only when every one of its records names it.", valueName: "name"))
    var ecosystem: [String] = []

    /// `--as-of` as an RFC 3339 time: a day is its midnight, UTC.
    var asOfTime: String? { asOf.flatMap { try? AdvisoryImporter.fetchedTime($0).get() } }

    func validate() throws {
        if asOf != nil, ecosystem.isEmpty { throw ValidationError("--as-of needs --ecosystem: which ecosystems the files are whole exports of") }
        if asOf == nil, !ecosystem.isEmpty { throw ValidationError("--ecosystem needs --as-of: when the exports were fetched") }
        if let t = asOf, case .failure(let e) = AdvisoryImporter.fetchedTime(t) { throw ValidationError("--as-of \(e.message)") }
    }

    func run() async throws {
        let store = try AdvisoryStore(path: database.path)
        let report = try await AdvisoryImporter.importPaths(paths, into: store,
                                                            asOf: asOfTime.map { .fetched($0, ecosystems: ecosystem) } ?? .unsaid) {
            CLI.stderr("writing to \(store.path)")
        }
        for e in ecosystem where !report.current.contains(e) {
            CLI.stderr("warning: --ecosystem \(Redactor.quote(e, max: 60)): no file given is a whole export of it (read without error, and every record naming it), so how current it is was left as it was")
        }
        try DBReport.print(report, path: store.path)
    }
}

struct DBUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Download per-ecosystem OSV archives (<source>/<ecosystem>/all.zip) and import them."
    )
    @OptionGroup var database: DatabaseOption
    @Option(name: .long, help: "Base URL laid out like OSV's export bucket.")
    var source: String = AdvisoryUpdater.defaultSource
    @Option(name: .long, parsing: .singleValue, help: "Ecosystem to download, as OSV spells it (repeatable). Default: those already in the database, else the ones Provenant catalogs.")
    var ecosystem: [String] = []
    @Flag(name: .long, help: "Accept a plain http --source (only for a trusted local mirror; anyone on the path can rewrite advisories).")
    var insecure = false
    @Option(name: .long, help: ArgumentHelp("Refuse the update when its archives together pass this: bytes, or a number with K, M or G.", valueName: "size"))
    var maxDownloadSize: String = "4G"
    @Option(name: .long, help: ArgumentHelp("Give up when the downloads take longer than this (90s, 10m, 2h; 0 for no limit). Importing what was downloaded is not timed.", valueName: "duration"))
    var timeout: String = "30m"

    func validate() throws {
        guard let n = DownloadLimits.bytes(maxDownloadSize), n > 0 else {
            throw ValidationError("--max-download-size takes a size such as 500M or 4G, not '\(Redactor.quote(maxDownloadSize, max: 40))'")
        }
        guard ImageAccessOptions.seconds(timeout) != nil else {
            throw ValidationError("--timeout takes a duration such as 90s, 10m or 2h (0 for no limit), not '\(Redactor.quote(timeout, max: 40))'")
        }
    }

    func run() async throws {
        do { try AdvisoryUpdater.checkSource(source, insecure: insecure) } catch { CLI.fail("error: \(error)") }
        let store = try AdvisoryStore(path: database.path)
        var ecos = ecosystem
        if ecos.isEmpty {
            ecos = Array(Set(try store.status().ecosystems.map(\.ecosystem))).sorted()
            if ecos.isEmpty { ecos = AdvisoryUpdater.defaultEcosystems }
        }
        let report = try await AdvisoryUpdater.update(store: store, source: source, ecosystems: ecos, insecure: insecure,
                                                      limits: DownloadLimits(maxBytes: DownloadLimits.bytes(maxDownloadSize) ?? DownloadLimits.defaultMaxBytes,
                                                                             seconds: ImageAccessOptions.seconds(timeout))) { CLI.stderr($0) }
        try DBReport.print(report, path: store.path)
    }
}

struct DBStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print the database path, its ecosystems with record counts and as-of days, and the newest 'modified' date."
    )
    @OptionGroup var database: DatabaseOption

    func run() async throws {
        guard AdvisoryStore.exists(at: database.path) else {
            CLI.fail("error: \(database.path): no advisory database; `provenant scan` imports the bundled snapshot, or run `provenant db import PATH`")
        }
        let store = try AdvisoryStore(path: database.path)
        let s = try store.status()
        let asOf = try store.asOf(Set(s.ecosystems.map(\.ecosystem)))
        var out = "database: \(s.path)\nrecords: \(s.records) (\(s.withdrawn) withdrawn, kept but never matched)\nnewest modified: \(s.newestModified ?? "none")\n"
        let w = max(9, s.ecosystems.map(\.ecosystem.count).max() ?? 0)
        out += "\n" + "ECOSYSTEM".padding(toLength: w, withPad: " ", startingAt: 0) + "  RECORDS  AS OF       NEWEST MODIFIED\n"
        for e in s.ecosystems {
            out += e.ecosystem.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + String(e.records).leftPad(7) + "  "
                + (asOf[e.ecosystem].map { String($0.prefix(10)) } ?? "unknown   ") + "  " + (e.newestModified ?? "-") + "\n"
        }
        print(out, terminator: "")
    }
}

enum DBReport {
    /// Prints what an import did; what it skipped is an input error, exit 2, once the rest is in
    /// (a run that skipped every file it was given exited 0: found by helper-155).
    static func print(_ r: AdvisoryImporter.Report, path: String) throws {
        let l = r.loaded
        Swift.print("imported \(l.files) file\(l.files == 1 ? "" : "s") into \(path): \(r.result.added) added, \(r.result.updated) updated, \(r.result.unchanged) unchanged, \(l.skipped.count) skipped")
        for d in l.skipped.prefix(5) { CLI.stderr("skipped: \(d)") }
        if l.skipped.count > 5 { CLI.stderr("skipped: … and \(l.skipped.count - 5) more") }
        if !l.skipped.isEmpty { throw ExitCode(2) }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
