import Catalog
import Foundation
import ProvenantCore
import SBOM

/// A side of `diff` given as a document: a CycloneDX or SPDX JSON SBOM, or Provenant's own inventory
/// (`sbom --format json`). Directories and images are catalogued by the caller instead.
public enum DriftInput {
    /// The largest document read; an SBOM of 2,400 packages is a few MiB.
    public static let maxDocumentBytes = 512 << 20

    /// The inventory the file holds, or nil when it is no SBOM or inventory (a lockfile, an archive:
    /// the caller catalogues those).
    public static func read(_ path: String) throws(InputError) -> Inventory? {
        try read(try bytes(path), path: path)
    }

    /// The file's bytes, read once, for a caller that also verifies them (`--baseline-attestation`).
    public static func bytes(_ path: String) throws(InputError) -> [UInt8] {
        try NamedInputFile.read(path, limit: maxDocumentBytes, what: "the inventory", regularOnly: true)
    }

    /// The inventory `bytes` (read from `path`, named in messages) hold, as `read(_:)`.
    public static func read(_ bytes: [UInt8], path: String) throws(InputError) -> Inventory? {
        guard bytes.first(where: { !($0 == 32 || $0 == 9 || $0 == 10 || $0 == 13) }) == UInt8(ascii: "{") else { return nil }
        let json: JSONValue
        do { json = try JSONParser.parse(Data(bytes)) } catch {
            throw InputError("not valid JSON: \(error.reason)", at: Location(path, line: error.line))
        }
        if json["inventory"]?.objectFields != nil, json["tool"]?.stringValue == "provenant" {
            return try inventory(bytes, path: path)
        }
        // A JSON lockfile (package-lock.json, composer.lock…) is catalogued by the caller.
        guard json["bomFormat"] != nil || json["spdxVersion"] != nil else { return nil }
        return try SBOMReader.read(Data(bytes), path: path, keepingComponentsWithoutPurl: true)
    }

    /// Provenant's inventory, decoded (its JSON already parsed once by the bounded parser above), then
    /// redacted as any other input.
    static func inventory(_ bytes: [UInt8], path: String) throws(InputError) -> Inventory {
        struct Doc: Decodable { var inventory: Inventory }
        var inv: Inventory
        do { inv = try JSONDecoder().decode(Doc.self, from: Data(bytes)).inventory } catch {
            throw InputError("a Provenant inventory that cannot be read: \(Self.reason(error))", at: Location(path))
        }
        InputRedaction.scrub(&inv.packages)
        inv.image = inv.image.map(InputRedaction.scrub)
        return inv
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let k, let c): "missing '\(k.stringValue)' at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            "unexpected value at \(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: "\(error)"
        }
    }
}
