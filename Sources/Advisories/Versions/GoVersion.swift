/// Go module versions: SemVer with a `v` (or toolchain `go`) prefix. Pseudo-versions are
/// pre-releases and `+incompatible` is build metadata, so SemVer already orders both; two-number
/// toolchain versions (`1.19`) read as `1.19.0`.
public struct GoVersion: VersionScheme {
    public var name: String { "Go" }
    public init() {}
    public func parse(_ raw: String) throws(VersionError) -> SemVer.Parsed {
        var s = raw.trimmed[...]
        if s.utf8.starts(with: "go".utf8) { s = s.dropFirst(2) }
        let rest = s.trimmed
        do { return try SemVer().parse(rest[...], raw: rest) } catch { throw VersionError(raw, name, error.reason) }
    }
    public func compare(_ a: SemVer.Parsed, _ b: SemVer.Parsed) -> Int { SemVer().compare(a, b) }
}
