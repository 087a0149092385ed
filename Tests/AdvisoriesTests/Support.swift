import Foundation
@testable import Advisories

/// A fresh directory under the system temp dir, unique per call.
func tempDir(_ tag: String) throws -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-\(tag)-\(getpid())-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// A minimal OSV record as JSON text.
func osv(_ id: String, modified: String = "2024-01-01T00:00:00Z", ecosystem: String, name: String,
         events: [[String: String]] = [], versions: [String]? = nil, rangeType: String = "ECOSYSTEM",
         aliases: [String] = [], withdrawn: String? = nil, severity: String? = nil, summary: String = "test advisory") -> String {
    var affected: [String: Any] = ["package": ["ecosystem": ecosystem, "name": name]]
    if !events.isEmpty { affected["ranges"] = [["type": rangeType, "events": events]] }
    if let versions { affected["versions"] = versions }
    var rec: [String: Any] = ["id": id, "modified": modified, "summary": summary, "aliases": aliases, "affected": [affected]]
    if let withdrawn { rec["withdrawn"] = withdrawn }
    if let severity { rec["severity"] = [["type": severity.hasPrefix("CVSS:4") ? "CVSS_V4" : "CVSS_V3", "score": severity]] }
    let data = (try? JSONSerialization.data(withJSONObject: rec, options: [.sortedKeys])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

func affected(_ json: String) throws -> OSVRecord.Affected {
    let r = try OSVRecord.decode(Data(json.utf8), yaml: false)
    return r.affected![0]
}
