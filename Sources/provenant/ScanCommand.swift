import Advisories
import ArgumentParser
import Catalog
import Foundation
import ProvenantCore
import SBOM

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Find known vulnerabilities in a directory, file or SBOM, offline.",
        discussion: """
        TARGET is catalogued as `provenant sbom` does, or read as an SBOM when it is a CycloneDX or SPDX \
        JSON document (Provenant's, syft's, trivy's). The first scan without a database imports the bundled \
        OSV snapshot. Packages of an ecosystem the database holds no advisories for, and packages whose purl no \
        advisory database covers (pkg:generic, unversioned), SBOM components without a readable purl, and input files \
        that could not be read (a lockfile that fails to parse, a damaged archive) are reported as NOT CHECKED, and fail --fail-on unless --allow-unchecked is given. \
        A finding whose advisory gives no severity is unrated and fails any --fail-on level unless --allow-unrated is given. Exit codes: 0 success, 1 a finding reached --fail-on \
        (or was unrated, or packages went unchecked), 2 usage or input error.
        """
    )

    @Argument(help: "A directory, a lockfile or binary, a CycloneDX/SPDX JSON SBOM, or an image (oci-dir:, oci-archive:, docker-archive:, registry:HOST/REPO[:TAG][@sha256:DIGEST]).")
    var target: String

    @Option(name: .long, help: "Output format: table, json, sarif (2.1.0) or cyclonedx-json (the BOM with a vulnerabilities section).")
    var format: String = "table"

    @Option(name: .shortAndLong, help: "Write the report to this file instead of standard output.")
    var output: String?

    @OptionGroup var database: DatabaseOption

    @OptionGroup var failOn: FailOnOption

    @Option(name: .long, parsing: .singleValue, help: "OpenVEX or CycloneDX VEX file (repeatable). Per finding the newest statement across all files decides; not_affected (with a justification the spec lists) and fixed suppress.")
    var vex: [String] = []

    @Flag(name: .long, help: "With --fail-on, do not fail because packages went unchecked: their ecosystem has no advisories in the database, no database covers their purl, they have no purl, or the file listing them could not be read.")
    var allowUnchecked = false

    @Flag(name: .long, help: "With --fail-on, do not fail because of unrated findings (their advisory gives no severity). Without it they fail any --fail-on level.")
    var allowUnrated = false

    @Option(name: .long, help: ArgumentHelp("Packages of an ecosystem whose advisories are older than DAYS are NOT CHECKED, and so are those whose age is not known. An ecosystem is as of its last `db update`, its `db import --as-of`, or (the bundled snapshot) its newest record. Without it any age is used, and one past \(Scanner.oldAfterDays) days or unknown is warned of.", valueName: "DAYS"))
    var maxDBAge: Int?

    @Option(name: .long, help: "Ignore file. Default: .provenant-ignore.yaml in TARGET (a directory) or the current directory, when present.")
    var ignoreFile: String?

    @OptionGroup var catalog: CatalogOptions

    func validate() throws {
        if let d = maxDBAge, d < 0 { throw ValidationError("--max-db-age must be 0 or more days, got \(d)") }
    }

    func run() async throws {
        guard let fmt = ScanFormat(rawValue: format) else {
            throw ValidationError("unknown --format '\(format)'; use one of: \(ScanFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var timer = PhaseTimer()
        let inventory = try await loadInventory()
        timer.lap("read inventory (\(inventory.packages.count) packages)")
        let vexDocs = try vex.map { path throws(InputError) in try VEXDocument.load(path) }
        // Refused statements: said on stderr, and kept with the report's warnings.
        let vexWarnings = zip(vex, vexDocs).flatMap { path, doc in doc.warnings.map { Diagnostic(Location(path), $0) } }
        for w in vexWarnings { CLI.stderr("warning: \(w.message)") }
        let foundIgnore = ignorePath()
        let ignore = try foundIgnore.map { found throws(InputError) in try IgnoreFile.load(found.path, within: found.within) }
        let store = try await Snapshot.openOrSeed(path: database.path) { CLI.stderr("note: \($0)") }
        timer.lap("open database")
        let result = try Scanner(store: store, maxAgeDays: maxDBAge).scan(inventory.packages)
        timer.lap("scan")
        let info = try DocumentInfo(toolVersion: Provenant.version)
        let report = ScanReport(target: target, database: try store.status(perEcosystem: false), result: result, vex: vexDocs, ignore: ignore,
                                today: CalendarDate.utcDay(), diagnostics: inventory.diagnostics + vexWarnings, subject: VEXDocument.Subject(inventory))
        timer.lap("suppress and status")
        catalog.warn(inventory)
        for n in report.notChecked { CLI.stderr("warning: " + n.message) }
        for w in report.suppressionWarnings { CLI.stderr("warning: " + w) }
        if maxDBAge == nil {
            for a in report.ages where (a.days ?? Int.max) > Scanner.oldAfterDays {
                let said = a.asOf == nil ? "how current the database's \(a.ecosystem) advisories are is not known (no `db update`, or `db import` without --as-of)"
                    : "the database's \(a.ecosystem) advisories are as of \(a.day)" + (a.days.map { ", \($0) days ago" } ?? ", later than this machine's clock")
                CLI.stderr("warning: \(said): advisories published since may be missing; run `provenant db update --ecosystem \(a.ecosystem)`, "
                    + "or pass --max-db-age DAYS so that packages judged on older data are reported as not checked")
            }
        }
        for e in report.expiredIgnores.prefix(ScanReport.expiredListed) { CLI.stderr("warning: \(e.origin): ignore entry for \(e.id) expired on \(e.expires ?? "") and no longer suppresses") }
        if report.expiredIgnores.count > ScanReport.expiredListed {
            CLI.stderr("warning: \(report.expiredIgnores.count - ScanReport.expiredListed) more ignore entries expired and no longer suppress (the JSON report lists every one)")
        }
        // The scanned tree's own ignore file, read by default, is said where a reviewer sees it: a
        // change to the tree could otherwise silence an advisory with only the report listing it
        // (found by helper-214).
        if let found = foundIgnore, found.within != nil {
            let byTree = report.suppressed.filter { $0.by.hasPrefix("ignore ") }.count
            if byTree > 0 {
                CLI.stderr("note: \(byTree) finding\(byTree == 1 ? " is" : "s are") suppressed by '\(Redactor.quote(found.path, max: 200))', which the scanned tree supplies; pass --ignore-file to use another")
            }
        }
        try CLI.withOutput(output) { sink in report.write(fmt, info: info, inventory: inventory, to: sink) }
        timer.lap("write \(fmt.rawValue)")
        if let t = failOn.threshold {
            // Fail closed: packages nobody checked are not a pass.
            if report.reaches(t) { throw ExitCode(1) }
            // Fail closed: a finding whose advisory gives no severity may be at any level.
            let unrated = report.unrated.count
            if unrated > 0 && !allowUnrated {
                CLI.stderr("--fail-on: \(unrated) finding\(unrated == 1 ? " is" : "s are") unrated (the advisory gives no severity), so it cannot be ruled below \(t); "
                           + "pass --allow-unrated to judge by rated findings only")
                throw ExitCode(1)
            }
            if report.packagesNotChecked > 0 && !allowUnchecked {
                let fix = report.notChecked.contains { $0.command != nil } ? "update the database as the warnings say, or" : "no database update can check them;"
                CLI.stderr("--fail-on: \(report.notCheckedPhrase) not checked; \(fix) pass --allow-unchecked to accept that")
                throw ExitCode(1)
            }
        }
    }

    func loadInventory() async throws -> Inventory {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: target, isDirectory: &isDir), !isDir.boolValue,
           let inventory = try SBOMReader.readIfSBOM(target) {
            return inventory
        }
        return await catalog.catalog(target)
    }

    /// The ignore file, and the directory it is confined to when it was found by default.
    func ignorePath() -> (path: String, within: String?)? {
        if let p = ignoreFile { return (p, nil) }
        var isDir: ObjCBool = false
        let base = FileManager.default.fileExists(atPath: target, isDirectory: &isDir) && isDir.boolValue ? target : FileManager.default.currentDirectoryPath
        let p = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/.provenant-ignore.yaml"
        // A link counts as there (it is then refused if it leads out of the directory).
        var st = stat()
        return lstat(p, &st) == 0 ? (p, base) : nil
    }
}
