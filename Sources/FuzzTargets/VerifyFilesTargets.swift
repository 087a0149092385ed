import Catalog
import Drift
import Foundation
import ProvenantCore

/// The package databases `verify-files` reads, each through its parser and then through a whole run on a
/// scratch root holding it, so the plan, the checks and the report see what the parser let through.
enum VerifyFilesTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("verify-files-dpkg", "dpkg's status (Conffiles), diversions, .list and md5sums, split at NUL bytes, then verify-files on them") { bytes in
            let parts = bytes.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false).map(Array.init)
            let text = String(decoding: bytes, as: UTF8.self)
            _ = DpkgDatabase.status(text, path: "status")
            _ = DpkgDatabase.diversions(text, path: "diversions")
            _ = DpkgDatabase.fileList(bytes)
            _ = DpkgDatabase.md5sums(bytes)
            Scratch.withFile(parts[0], target: "verify-files-dpkg", as: "var/lib/dpkg/status") { _, dir in
                let names = ["var/lib/dpkg/diversions", "var/lib/dpkg/info/p.list", "var/lib/dpkg/info/p.md5sums"]
                for (name, part) in zip(names, parts.dropFirst()) {
                    _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(part))
                }
                // A packaged file for the digests to be checked against.
                try? FileManager.default.createDirectory(atPath: dir + "/usr/bin", withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: dir + "/usr/bin/p", contents: Data("p\n".utf8))
                _ = try? VerifyFiles(root: dir, width: 1).run()
            }
        },
        FuzzTarget("verify-files-apk", "lib/apk/db/installed records and their F/R/Z file lists, then verify-files on them") { bytes in
            _ = ApkDatabase.records(String(decoding: bytes, as: UTF8.self)).map(\.files)
            Scratch.withFile(bytes, target: "verify-files-apk", as: "lib/apk/db/installed") { _, dir in
                _ = try? VerifyFiles(root: dir, width: 1).run()
            }
        },
        FuzzTarget("verify-files-record", "a *.dist-info/RECORD (CSV rows, hex and urlsafe base64 digests, paths out of the root), then verify-files on it") { bytes in
            _ = PythonRecord.rows(String(decoding: bytes, as: UTF8.self))
            Scratch.withFile(bytes, target: "verify-files-record", as: "usr/lib/python3/site-packages/p-1.0.dist-info/RECORD") { _, dir in
                _ = try? VerifyFiles(root: dir, width: 1).run()
            }
        },
    ]
}
