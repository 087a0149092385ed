/// A package URL (purl) built by the purl spec's canonical rules: lowercase type,
/// percent-encoded components and qualifiers sorted by key.
public struct PackageURL: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let type: String
    public let namespace: String?
    public let name: String
    public let version: String?
    public let qualifiers: [String: String]
    public let subpath: String?
    /// The canonical string, rendered once: it is every package's identity and is read constantly.
    public let description: String

    public init(type: String, namespace: String? = nil, name: String, version: String? = nil,
                qualifiers: [String: String] = [:], subpath: String? = nil) {
        self.type = type.lowercasedFast
        self.namespace = namespace.flatMap { $0.isEmpty ? nil : $0 }
        self.name = name
        self.version = version.flatMap { $0.isEmpty ? nil : $0 }
        self.qualifiers = qualifiers.contains { $0.value.isEmpty } ? qualifiers.filter { !$0.value.isEmpty } : qualifiers
        self.subpath = subpath
        description = Self.render(type: self.type, namespace: self.namespace, name: name, version: self.version,
                                  qualifiers: self.qualifiers, subpath: subpath)
    }

    private enum CodingKeys: String, CodingKey { case type, namespace, name, version, qualifiers, subpath }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(type: try c.decode(String.self, forKey: .type), namespace: try c.decodeIfPresent(String.self, forKey: .namespace),
                  name: try c.decode(String.self, forKey: .name), version: try c.decodeIfPresent(String.self, forKey: .version),
                  qualifiers: try c.decodeIfPresent([String: String].self, forKey: .qualifiers) ?? [:],
                  subpath: try c.decodeIfPresent(String.self, forKey: .subpath))
    }

    public static func == (a: PackageURL, b: PackageURL) -> Bool { a.description == b.description }
    public func hash(into h: inout Hasher) { h.combine(description) }

    /// Built as bytes: string concatenation was most of the cost of reading a large SBOM.
    private static func render(type: String, namespace: String?, name: String, version: String?,
                               qualifiers: [String: String], subpath: String?) -> String {
        var o: [UInt8] = []
        o.reserveCapacity(16 + type.utf8.count + (namespace?.utf8.count ?? 0) + name.utf8.count + (version?.utf8.count ?? 0))
        o.append(contentsOf: "pkg:".utf8)
        o.append(contentsOf: type.utf8)
        o.append(UInt8(ascii: "/"))
        if let ns = namespace {
            for segment in ns.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
                encode(segment, into: &o)
                o.append(UInt8(ascii: "/"))
            }
        }
        encode(name.utf8, into: &o)
        if let v = version { o.append(UInt8(ascii: "@")); encode(v.utf8, into: &o) }
        if !qualifiers.isEmpty {
            var sep = UInt8(ascii: "?")
            for key in qualifiers.keys.sorted() {
                o.append(sep); sep = UInt8(ascii: "&")
                o.append(contentsOf: key.lowercasedFast.utf8)
                o.append(UInt8(ascii: "="))
                encode((qualifiers[key] ?? "").utf8, into: &o)
            }
        }
        if let sp = subpath, !sp.isEmpty {
            o.append(UInt8(ascii: "#"))
            for (n, segment) in sp.utf8.split(separator: UInt8(ascii: "/")).enumerated() {
                if n > 0 { o.append(UInt8(ascii: "/")) }
                encode(segment, into: &o)
            }
        }
        return String(decoding: o, as: UTF8.self)
    }

    public static func < (a: PackageURL, b: PackageURL) -> Bool { a.description < b.description }

    /// Percent-encodes everything outside the purl-safe set. ':' stays literal as the spec allows.
    static func encode(_ bytes: some Collection<UInt8>, into o: inout [UInt8]) {
        PercentEncoding.encode(bytes, keeping: [UInt8(ascii: ":")], into: &o)
    }

    /// Parses a canonical or hand-written purl. Returns nil when it is not a purl.
    public init?(parsing text: String) {
        var text = text
        guard let p = text.withUTF8({ Self.parts(of: $0) }) else { return nil }
        self.init(type: p.type, namespace: p.namespace, name: p.name, version: p.version, qualifiers: p.qualifiers, subpath: p.subpath)
    }

    private struct Parts { var type: String; var namespace: String?; var name: String; var version: String?; var qualifiers: [String: String]; var subpath: String? }

    /// Splits by byte offsets: separators are ASCII, so nothing walks grapheme clusters.
    private static func parts(of b: UnsafeBufferPointer<UInt8>) -> Parts? {
        guard b.count > 4, b[0] == UInt8(ascii: "p"), b[1] == UInt8(ascii: "k"), b[2] == UInt8(ascii: "g"), b[3] == UInt8(ascii: ":") else { return nil }
        var start = 4
        while start < b.count, b[start] == UInt8(ascii: "/") { start += 1 }
        var end = b.count
        func first(_ c: Character, _ from: Int, _ to: Int) -> Int? {
            let v = c.asciiValue ?? 0
            var i = from
            while i < to { if b[i] == v { return i }; i += 1 }
            return nil
        }
        var subpath: String?
        if let h = first("#", start, end) { subpath = decode(b, h + 1, end); end = h }
        var quals: [String: String] = [:]
        if let q = first("?", start, end) {
            var i = q + 1
            while i <= end {
                let stop = first("&", i, end) ?? end
                if let eq = first("=", i, stop), eq > i {
                    quals[String(decoding: UnsafeBufferPointer(rebasing: b[i..<eq]), as: UTF8.self).lowercasedFast] = decode(b, eq + 1, stop)
                }
                i = stop + 1
            }
            end = q
        }
        guard let slash = first("/", start, end) else { return nil }
        let type = String(decoding: UnsafeBufferPointer(rebasing: b[start..<slash]), as: UTF8.self)
        var pathEnd = end
        var version: String?
        var at = end - 1
        while at > slash, b[at] != UInt8(ascii: "@") { at -= 1 }
        if at > slash { version = decode(b, at + 1, end); pathEnd = at }
        var segments: [String] = []
        var i = slash + 1
        while i < pathEnd {
            let stop = first("/", i, pathEnd) ?? pathEnd
            if stop > i { segments.append(decode(b, i, stop)) }
            i = stop + 1
        }
        guard let name = segments.last, !type.isEmpty, !name.isEmpty else { return nil }
        let ns = segments.dropLast().joined(separator: "/")
        return Parts(type: type, namespace: ns.isEmpty ? nil : ns, name: name, version: version, qualifiers: quals, subpath: subpath)
    }

    /// Percent-decodes bytes `from..<to`; a `%` not followed by two hex digits stays as it is.
    private static func decode(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> String {
        let slice = UnsafeBufferPointer(rebasing: b[from..<to])
        guard slice.contains(UInt8(ascii: "%")) else { return String(decoding: slice, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(slice.count)
        var i = 0
        while i < slice.count {
            if slice[i] == UInt8(ascii: "%"), i + 2 < slice.count, let h = Hex.nibble(slice[i + 1]), let l = Hex.nibble(slice[i + 2]) {
                out.append(h << 4 | l); i += 3
            } else {
                out.append(slice[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
