import Foundation
import ProvenantCore

/// The advisory snapshot shipped with Provenant, and the first-use import that makes scans work
/// offline on a machine that never ran `db update`.
public enum Snapshot {
    public static var archivePath: String? {
        Bundle.module.url(forResource: "Resources/osv-snapshot", withExtension: "zip")?.path
    }

    /// How current the snapshot is: its newest record's time (`SNAPSHOT.md`). Its Go records carry no
    /// times of their own (golang/vulndb writes 0001-01-01), so they are counted from this too.
    public static let asOf = "2026-08-21T06:28:40Z"

    /// Opens the database at `path`, first filling it from the snapshot when it does not exist.
    /// `notice` hears one line when that happens.
    public static func openOrSeed(path: String, notice: (String) -> Void) async throws(InputError) -> AdvisoryStore {
        if AdvisoryStore.exists(at: path) { return try AdvisoryStore(path: path) }
        guard let zip = archivePath else { throw InputError("no advisory database and no bundled snapshot; run `provenant db update` or `provenant db import PATH`", at: Location(path)) }
        // Build beside the target and rename, so an interrupted seed never leaves a half database.
        let temp = path + ".seeding-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: temp)
        let added: Int
        do {
            // The store closes when it goes out of scope, before the file is renamed.
            let store = try AdvisoryStore(path: temp)
            added = try await AdvisoryImporter.importPaths([zip], into: store, asOf: asOf).result.added
        }
        do {
            try FileManager.default.moveItem(atPath: temp, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            if !AdvisoryStore.exists(at: path) { throw InputError("cannot create advisory database (\(error))", at: Location(path)) }
        }
        notice("no advisory database at \(path): imported the bundled snapshot (\(added) advisories); run `provenant db update` for current data")
        return try AdvisoryStore(path: path)
    }
}
