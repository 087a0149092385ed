import Foundation
import ProvenantCore

/// The advisory snapshot shipped with Provenant, and the first-use import that makes scans work
/// offline on a machine that never ran `db update`.
public enum Snapshot {
    public static var archivePath: String? {
        Bundle.module.url(forResource: "Resources/osv-snapshot", withExtension: "zip")?.path
    }

    /// Opens the database at `path`, first filling it from the snapshot when it does not exist.
    /// `notice` hears one line when that happens.
    /// `archive`: the snapshot to seed from (tests give their own).
    public static func openOrSeed(path: String, archive: String? = archivePath, notice: (String) -> Void) async throws(InputError) -> AdvisoryStore {
        if AdvisoryStore.exists(at: path) { return try AdvisoryStore(path: path) }
        guard let zip = archive else { throw InputError("no advisory database and no bundled snapshot; run `provenant db update` or `provenant db import PATH`", at: Location(path)) }
        // Build beside the target and rename, so an interrupted seed never leaves a half database.
        let temp = path + ".seeding-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: temp)
        let report: AdvisoryImporter.Report
        do {
            // The store closes when it goes out of scope, before the file is renamed.
            let store = try AdvisoryStore(path: temp)
            // Each ecosystem is as current as its newest record (`SNAPSHOT.md`): the day the snapshot was
            // taken is not known, and one date for all made PyPI's 2024 data current in 2026 (helper-219).
            report = try await AdvisoryImporter.importPaths([zip], into: store, asOf: .newestRecords)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        }
        let added = report.result.added
        do {
            try FileManager.default.moveItem(atPath: temp, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            if !AdvisoryStore.exists(at: path) { throw InputError("cannot create advisory database (\(error))", at: Location(path)) }
        }
        notice("no advisory database at \(path): imported the bundled snapshot (\(added) advisories); run `provenant db update` for current data")
        // Records of the snapshot that could not be read were left out without a word, and with them
        // what they would have matched.
        if let first = report.loaded.skipped.first {
            let n = report.loaded.skipped.count
            notice("\(n) record\(n == 1 ? "" : "s") of the bundled snapshot could not be read and were left out (first: \(first)); this build's snapshot is damaged, so run `provenant db update`")
        }
        return try AdvisoryStore(path: path)
    }
}
