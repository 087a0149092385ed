import Crypto
import Foundation
import ProvenantCore
import Catalog

/// What every output format needs besides the inventory: who wrote it, with what, and when.
public struct DocumentInfo: Sendable {
    public var toolName = "provenant"
    public var toolVersion: String
    public var author: String
    public let timestamp: Date
    /// RFC 3339 in UTC, as both formats write it; formatted once.
    public let isoTimestamp: String

    /// Throws when SOURCE_DATE_EPOCH is set but is not a whole number of seconds (see `SourceDateEpoch`).
    public init(toolVersion: String, author: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws(InputError) {
        self.toolVersion = toolVersion
        // An empty author or one with a control character (a newline) made an SPDX creator no reader
        // takes (found by helper-148): empty is unset, a control character an input error.
        let given = (author ?? environment["PROVENANT_AUTHOR"])?.trimmingCharacters(in: .whitespaces)
        if let given, given.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.value == 0x2028 || $0.value == 0x2029 }) {
            throw InputError("the author holds a control character; an SBOM's author is one line", at: Location(author == nil ? "PROVENANT_AUTHOR" : "author"))
        }
        // Parentheses would read as an SPDX creator's email part (`Organization: Acme (Inc`).
        self.author = given.flatMap { $0.isEmpty ? nil : $0.replacingOccurrences(of: "(", with: "[").replacingOccurrences(of: ")", with: "]") } ?? "Provenant"
        // SOURCE_DATE_EPOCH makes the timestamp, and so the whole document, reproducible.
        let t = try SourceDateEpoch.date(from: environment) ?? Date()
        timestamp = t
        isoTimestamp = RFC3339.string(from: t)
    }
}

public enum UUIDv5 {
    /// RFC 4122 name-based UUID (SHA-1) under the URL namespace.
    public static func make(_ name: String) -> String { make(bytes: Array(name.utf8)) }

    public static func make(bytes name: [UInt8]) -> String {
        let ns: [UInt8] = [0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8]
        var h = Insecure.SHA1()
        h.update(data: ns)
        h.update(data: name)
        var b = Array(h.finalize().prefix(16))
        b[6] = (b[6] & 0x0F) | 0x50
        b[8] = (b[8] & 0x3F) | 0x80
        let x = Hex.encode(b)
        let c = Array(x)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}

extension Inventory {
    /// The scanned target's display name: a directory's base name.
    var rootName: String {
        if let image { return image.name }
        let n = URL(fileURLWithPath: target).standardizedFileURL.lastPathComponent
        return n.isEmpty || n == "/" ? "root" : n
    }

    /// Refs the root depends on: packages marked direct, plus those of unknown directness nothing else pulls in.
    var rootDependencies: [String] {
        var incoming = Set<String>()
        for p in packages { incoming.formUnion(p.dependsOn) }
        return packages.filter { $0.isDirect == true || ($0.isDirect == nil && !incoming.contains($0.ref)) }.map(\.ref)
    }

    /// A fingerprint of the content, for serial numbers and namespaces: the UTF-8 of
    /// `root|mode|` and, per package, `ref|dependsOn joined by commas|digests' values;`. Built as
    /// bytes: as a String, thousands of appends took 25 ms of the agent image's write.
    var contentKey: [UInt8] {
        var s: [UInt8] = []
        s.reserveCapacity(packages.count * 96)
        s += "\(rootName)|\(mode)|".utf8
        for p in packages {
            s += p.ref.utf8
            s.append(UInt8(ascii: "|"))
            for (i, d) in p.dependsOn.enumerated() {
                if i > 0 { s.append(UInt8(ascii: ",")) }
                s += d.utf8
            }
            s.append(UInt8(ascii: "|"))
            for d in p.digests { s += d.value.utf8 }
            s.append(UInt8(ascii: ";"))
        }
        return s
    }
}

/// What an SBOM says about an image beyond its packages, the same in both formats. Environment
/// variables are named, never valued.
public enum ImageFacts {
    public static func properties(_ i: ImageInfo) -> [(String, String)] {
        // The facts were redacted when the image was read; control characters are escaped here so each
        // stays on its line (SPDX joins them into one comment).
        func r(_ s: String) -> String { Redactor.escapeControls(s) }
        var out: [(String, String)] = [("provenant:image:reference", r(i.reference)), ("provenant:image:id", i.imageID)]
        if let p = i.platform { out.append(("provenant:image:platform", r(p))) }
        for p in i.otherPlatforms { out.append(("provenant:image:other-platform", r(p))) }
        out.append(("provenant:image:user", i.user.flatMap { $0.isEmpty ? nil : r($0) } ?? "(unset: runs as root)"))
        for port in i.exposedPorts { out.append(("provenant:image:exposed-port", r(port))) }
        if let e = i.entrypoint { out.append(("provenant:image:entrypoint", r(jsonArray(e)))) }
        if let c = i.cmd { out.append(("provenant:image:cmd", r(jsonArray(c)))) }
        if let w = i.workingDir, !w.isEmpty { out.append(("provenant:image:working-dir", r(w))) }
        for k in i.labels.keys.sorted() { out.append(("provenant:image:label:\(r(k))", r(i.labels[k] ?? ""))) }
        for n in i.environmentNames.sorted() { out.append(("provenant:image:env", r(n))) }
        for s in i.secretsInConfig { out.append(("provenant:image:secret-in-config", s)) }
        for (n, l) in i.layers.enumerated() {
            out.append(("provenant:image:layer:\(n)", l.digest + (l.createdBy.map { " " + r($0) } ?? "")))
        }
        return out
    }

    /// The image an SBOM's `provenant:image:` properties describe (the inverse of `properties`), or nil
    /// when there are none: what `diff` compares of how the image runs. Input like any other, so redacted.
    public static func info(from props: [(name: String, value: String)], name: String?, version: String?) -> ImageInfo? {
        let mine = props.filter { $0.name.hasPrefix("provenant:image:") }
        guard !mine.isEmpty else { return nil }
        func value(_ key: String) -> String? { mine.first { $0.name == "provenant:image:" + key }?.value }
        func all(_ key: String) -> [String] { mine.filter { $0.name == "provenant:image:" + key }.map(\.value) }
        // Parsed as they are and redacted as words at the end: redacting the JSON text could run a value
        // over its quote.
        func words(_ key: String) -> [String]? {
            guard let text = value(key), let parsed = try? JSONParser.parse(Array(text.utf8)), let a = parsed.arrayValue else { return nil }
            return a.compactMap(\.stringValue)
        }
        var i = ImageInfo(reference: value("reference") ?? "", name: name ?? "", imageID: value("id") ?? "")
        i.manifestDigest = version
        i.platform = value("platform")
        let user = value("user")
        i.user = user == "(unset: runs as root)" ? nil : user
        i.exposedPorts = all("exposed-port")
        i.entrypoint = words("entrypoint")
        i.cmd = words("cmd")
        i.workingDir = value("working-dir")
        i.environmentNames = all("env")
        let labelPrefix = "provenant:image:label:"
        i.labels = Dictionary(mine.filter { $0.name.hasPrefix(labelPrefix) }.map { (String($0.name.dropFirst(labelPrefix.count)), $0.value) },
                              uniquingKeysWith: { a, _ in a })
        return InputRedaction.scrub(i)
    }

    /// Each layer digest's line for evidence: the digest and the history step that made the layer.
    public static func layerLines(_ i: ImageInfo) -> [String: String] {
        var out: [String: String] = [:]
        for l in i.layers {
            out[l.digest] = "layer \(l.digest)" + (l.createdBy.map { "; created by: " + Redactor.escapeControls($0) } ?? "")
        }
        return out
    }

    static func jsonArray(_ a: [String]) -> String { JSONValue.array(a.map { .string($0) }).serialized(pretty: false) }
}
