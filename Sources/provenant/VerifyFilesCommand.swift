import ArgumentParser
import Drift
import Foundation
import ProvenantCore

struct VerifyFilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-files",
        abstract: "Check every installed file against the digest its package database records, and find unowned programs.",
        discussion: """
        Reads ROOT's dpkg database (md5sums, with conffiles reported apart, as `dpkg --verify` does), apk's \
        installed database (Z: SHA-1) and every *.dist-info/RECORD below a site-packages or dist-packages \
        directory under the bin and lib directories (SHA-256), and reports modified and missing files; and the \
        executables and shared libraries in bin, sbin and lib* directories (at the root, in usr and usr/local) \
        that no package claims. A dpkg file's table line is the line `dpkg --verify` prints. Nothing outside \
        ROOT is read: links are resolved inside it. Files that cannot be read are NOT CHECKED, never clean, \
        and fail --fail-on unless --allow-unchecked is given. Exit codes: 0 success, 1 a finding reached \
        --fail-on (or files went unchecked), 2 usage or input error.
        """
    )

    @Argument(help: "The root filesystem to check: / for this system, or an unpacked image or chroot.")
    var root: String
    @Option(name: .long, help: "Output format: table, json or sarif (2.1.0).")
    var format: String = "table"
    @Option(name: .shortAndLong, help: "Write the report here instead of stdout.")
    var output: String?
    @OptionGroup var failOn: FailOnOption
    @Flag(name: .long, help: "With --fail-on, do not fail because files could not be checked.")
    var allowUnchecked = false
    @Flag(name: .long, help: "Do not print the database problems that did not stop the run (malformed lines).")
    var quiet = false
    @Option(name: .long, help: ArgumentHelp("Installed files larger than this many MiB are not hashed, and are reported NOT CHECKED.", valueName: "MiB"))
    var maxFileSize = VerifyFiles.defaultMaxFileSize >> 20

    func validate() throws {
        guard ["table", "json", "sarif"].contains(format) else { throw ValidationError("unknown --format '\(format)'; use table, json or sarif") }
        guard maxFileSize > 0, maxFileSize <= 1 << 30 else { throw ValidationError("--max-file-size must be from 1 to \(1 << 30) MiB") }
    }

    func run() throws {
        let report: VerifyFilesReport
        do { report = try VerifyFiles(root: root, maxFileSize: maxFileSize << 20).run() } catch { CLI.fail("error: \(error)") }
        if !quiet { for d in report.diagnostics { CLI.stderr("warning: \(d)") } }
        for d in report.notChecked.prefix(200) { CLI.stderr("warning: NOT CHECKED: \(d)") }
        if report.notChecked.count > 200 { CLI.stderr("warning: NOT CHECKED: \(report.notChecked.count - 200) more (every one is in --format json)") }
        try CLI.withOutput(output) { write in
            switch format {
            case "json": report.json.write(to: write)
            case "sarif": report.sarif(toolVersion: Provenant.version, to: write)
            default: write(Array(report.table.utf8))
            }
        }
        if let t = failOn.threshold {
            if report.reaches(t) { throw ExitCode(1) }
            if !report.notChecked.isEmpty && !allowUnchecked {
                CLI.stderr("--fail-on: \(report.notChecked.count) file\(report.notChecked.count == 1 ? "" : "s") or input\(report.notChecked.count == 1 ? "" : "s") not checked; pass --allow-unchecked to accept that")
                throw ExitCode(1)
            }
        }
    }
}
