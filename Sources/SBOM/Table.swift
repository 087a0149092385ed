import Foundation
import ProvenantCore
import Catalog

/// The human view: one row per package, then a count per ecosystem and any problems.
public enum TableWriter {
    public static func render(_ inv: Inventory) -> String {
        let header = ["ECOSYSTEM", "NAME", "VERSION", "SCOPE", "LOCATION"]
        // Names, versions and paths come from the input: shown with their control characters escaped.
        let rows = inv.packages.map { p in
            [p.ecosystem.osvName, p.name, p.version, p.scope.rawValue,
             (p.locations.first?.description ?? "") + (p.locations.count > 1 ? " (+\(p.locations.count - 1))" : "")].map(Redactor.escapeTableCell)
        }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], min(c.count, 60)) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        var out = line(header) + "\n"
        for r in rows { out += line(r) + "\n" }
        out += "\n"
        var counts: [String: Int] = [:]
        for p in inv.packages { counts[p.ecosystem.osvName, default: 0] += 1 }
        for k in counts.keys.sorted() { out += "\(k): \(counts[k] ?? 0) packages\n" }
        out += "total: \(inv.packages.count) packages"
        if !inv.diagnostics.isEmpty { out += ", \(inv.diagnostics.count) inputs skipped or partly read (see warnings)" }
        return out + "\n"
    }
}

/// Provenant's own lossless inventory.
public enum InventoryJSON {
    public static func render(_ inv: Inventory, info: DocumentInfo) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        struct Doc: Encodable {
            var tool: String; var version: String; var timestamp: String; var inventory: Inventory
        }
        // The catalogue keeps the paths it read as they are (layer attribution reads them again); written
        // out, they are input like every other path: a token as a directory name was printed whole
        // (found by helper-164).
        var inv = inv
        inv.sources = Dictionary(inv.sources.sorted { PathKey.byBytes($0.key, $1.key) }.map { (Redactor.redactField($0.key), $0.value) },
                                 uniquingKeysWith: { a, b in a + "," + b })
        let d = try enc.encode(Doc(tool: info.toolName, version: info.toolVersion, timestamp: info.isoTimestamp, inventory: inv))
        return String(decoding: d, as: UTF8.self) + "\n"
    }
}

public enum OutputFormat: String, CaseIterable, Sendable {
    case cyclonedxJSON = "cyclonedx-json", spdxJSON = "spdx-json", table, json

    /// Streams the document in chunks, so a large SBOM is never held whole in memory.
    public func write(_ inv: Inventory, info: DocumentInfo, to flush: ([UInt8]) -> Void) throws {
        switch self {
        case .cyclonedxJSON: CycloneDXWriter.document(inv, info: info).write(to: flush)
        case .spdxJSON: SPDXWriter.document(inv, info: info).write(to: flush)
        case .table: flush(Array(TableWriter.render(inv).utf8))
        case .json: flush(Array(try InventoryJSON.render(inv, info: info).utf8))
        }
    }

    public func render(_ inv: Inventory, info: DocumentInfo) throws -> String {
        var out: [UInt8] = []
        try write(inv, info: info) { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }
}
