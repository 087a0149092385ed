import Catalog
import Drift
import Foundation
import ProvenantCore
import Testing
import TestSupport

/// Hand-made root filesystems for verify-files, and the report read back from the built binary.
enum TestRoot {
    static func make(_ name: String) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    static func write(_ root: URL, _ rel: String, _ text: String, mode: Int = 0o644) throws {
        try write(root, rel, Array(text.utf8), mode: mode)
    }

    static func write(_ root: URL, _ rel: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        let url = root.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
    }

    static func link(_ root: URL, _ rel: String, to target: String) throws {
        let url = root.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    /// A distribution `name` 1.0 in `site` with one module, `<name>.py` holding `x = 1`, whose RECORD
    /// hashes it and lists `unhashed` paths without a hash.
    static func distribution(_ root: URL, _ site: String, _ name: String, unhashed: [String] = []) throws {
        try write(root, "\(site)/\(name).py", "x = 1\n")
        try write(root, "\(site)/\(name)-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: \(name)\nVersion: 1.0\n")
        let rows = ["\(name).py,\(recordHash("x = 1\n")),6"] + unhashed.map { "\($0),," } + ["\(name)-1.0.dist-info/RECORD,,"]
        try write(root, "\(site)/\(name)-1.0.dist-info/RECORD", rows.joined(separator: "\n") + "\n")
    }

    /// `sha256=<urlsafe base64 without padding>`, as pip writes RECORD rows.
    static func recordHash(_ text: String) -> String {
        let hex = FileDigest.sha256(Array(text.utf8)).value
        return "sha256=" + urlsafe(hex)
    }

    /// apk's `Q1` + base64 SHA-1.
    static func apkHash(_ text: String) -> String {
        let hex = FileDigest.sha1(Array(text.utf8)).value
        return "Q1" + Data(bytes(hex: hex)).base64EncodedString()
    }

    static func urlsafe(_ hex: String) -> String {
        Data(bytes(hex: hex)).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(Hex.nibble(a)! << 4 | Hex.nibble(b)!) }
        return out
    }

    static func md5(_ text: String) throws -> String {
        let dir = try make("md5")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(dir, "f", text)
        let r = try runProcess("md5sum", [dir.appendingPathComponent("f").path])
        return String(r.out.prefix(32))
    }
}

/// One finding as the JSON report gives it.
struct ReportedFile: Hashable, CustomStringConvertible {
    var path: String
    var rule: String
    var source: String?
    var check: String
    var conffile: Bool
    var note: String?
    var description: String { "\(rule) \(path) [\(source ?? "-") \(check)\(conffile ? " c" : "")\(note.map { " " + $0 } ?? "")]" }
}

struct VerifyRun {
    var code: Int32
    var findings: [ReportedFile]
    var notChecked: [String]
    var diagnostics: [String]
    var summary: [String: Any]
    var err: String

    func rule(_ r: String) -> Set<String> { Set(findings.filter { $0.rule == r }.map(\.path)) }

    /// `provenant verify-files ROOT --format json` through the built binary.
    /// `asNobody`: run as uid and gid 65534 (setpriv, util-linux), as an unprivileged user would.
    static func run(_ root: String, _ extra: [String] = [], asNobody: Bool = false) throws -> VerifyRun {
        let args = ["verify-files", root, "--format", "json"] + extra
        let r = asNobody ? try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", provenantBinary] + args)
            : try runProcess(provenantBinary, args)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "not JSON: \(r.out.prefix(300)) \(r.err)")
        let findings = (doc["findings"] as? [[String: Any]] ?? []).map { f in
            ReportedFile(path: f["path"] as? String ?? "", rule: f["rule"] as? String ?? "", source: f["source"] as? String,
                         check: f["check"] as? String ?? "", conffile: f["conffile"] as? Bool ?? false, note: f["note"] as? String)
        }
        func messages(_ key: String) -> [String] {
            (doc[key] as? [[String: Any]] ?? []).map { d in
                "\(d["path"] as? String ?? ""):\((d["line"] as? Int).map(String.init) ?? "-"): \(d["message"] as? String ?? "")"
            }
        }
        return VerifyRun(code: r.code, findings: findings, notChecked: messages("notChecked"), diagnostics: messages("diagnostics"),
                         summary: doc["summary"] as? [String: Any] ?? [:], err: r.err)
    }
}
