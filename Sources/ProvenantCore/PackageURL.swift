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
        self.type = type.lowercased()
        self.namespace = namespace.flatMap { $0.isEmpty ? nil : $0 }
        self.name = name
        self.version = version.flatMap { $0.isEmpty ? nil : $0 }
        self.qualifiers = qualifiers.filter { !$0.value.isEmpty }
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

    private static func render(type: String, namespace: String?, name: String, version: String?,
                               qualifiers: [String: String], subpath: String?) -> String {
        var s = "pkg:" + type + "/"
        if let ns = namespace {
            s += ns.split(separator: "/", omittingEmptySubsequences: true)
                .map { encode(String($0)) }.joined(separator: "/") + "/"
        }
        s += encode(name)
        if let v = version { s += "@" + encode(v) }
        if !qualifiers.isEmpty {
            s += "?" + qualifiers.keys.sorted().map { "\($0.lowercased())=\(encode(qualifiers[$0] ?? ""))" }
                .joined(separator: "&")
        }
        if let sp = subpath, !sp.isEmpty {
            s += "#" + sp.split(separator: "/").map { encode(String($0)) }.joined(separator: "/")
        }
        return s
    }

    public static func < (a: PackageURL, b: PackageURL) -> Bool { a.description < b.description }

    /// Percent-encodes everything outside the purl-safe set. ':' stays literal as the spec allows.
    static func encode(_ s: String) -> String {
        func safe(_ b: UInt8) -> Bool {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"): return true
            default: return false
            }
        }
        // Nearly every component is already safe: return it as it is.
        if s.utf8.allSatisfy(safe) { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + String(b >> 4, radix: 16, uppercase: true) + String(b & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// Parses a canonical or hand-written purl. Returns nil when it is not a purl.
    public init?(parsing text: String) {
        // Separators are ASCII, so they are found on the UTF-8 view, never by walking grapheme clusters.
        guard text.utf8.starts(with: "pkg:".utf8) else { return nil }
        var rest = text[text.utf8.index(text.startIndex, offsetBy: 4)...]
        while rest.utf8.first == UInt8(ascii: "/") { rest = rest[rest.utf8.index(after: rest.startIndex)...] }
        var subpath: String?
        if let h = rest.utf8.firstIndex(of: UInt8(ascii: "#")) { subpath = Self.decode(rest[rest.utf8.index(after: h)...]); rest = rest[..<h] }
        var quals: [String: String] = [:]
        if let q = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            for pair in rest[rest.utf8.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { quals[kv[0].lowercased()] = Self.decode(kv[1]) }
            }
            rest = rest[..<q]
        }
        guard let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let type = String(rest[..<slash])
        var path = rest[rest.utf8.index(after: slash)...]
        var version: String?
        if let at = path.utf8.lastIndex(of: UInt8(ascii: "@")) { version = Self.decode(path[path.utf8.index(after: at)...]); path = path[..<at] }
        let parts = Self.splitSlashes(path).map { Self.decode($0) }
        guard let name = parts.last, !type.isEmpty, !name.isEmpty else { return nil }
        let ns = parts.dropLast().joined(separator: "/")
        self.init(type: type, namespace: ns.isEmpty ? nil : ns, name: name, version: version,
                  qualifiers: quals, subpath: subpath)
    }

    static func splitSlashes(_ s: Substring) -> [Substring] {
        var out: [Substring] = []
        var start = s.startIndex
        for i in s.utf8.indices where s.utf8[i] == UInt8(ascii: "/") {
            if start < i { out.append(s[start..<i]) }
            start = s.utf8.index(after: i)
        }
        if start < s.endIndex { out.append(s[start...]) }
        return out
    }

    static func decode(_ s: Substring) -> String {
        guard s.utf8.contains(UInt8(ascii: "%")) else { return String(s) }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2,
               let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v); it = it.dropFirst(2)
            } else { bytes.append(b) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
