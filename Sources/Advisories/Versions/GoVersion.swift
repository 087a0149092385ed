/// Go module versions: SemVer with a `v` (or toolchain `go`) prefix. Pseudo-versions are
/// pre-releases and `+incompatible` is build metadata, so SemVer already orders both; two-number
/// toolchain versions (`1.19`) read as `1.19.0`.
public struct GoVersion: VersionScheme {
    public var name: String { "Go" }
    public init() {}
    public func parse(_ raw: String) throws(VersionError) -> SemVer.Parsed {
        var s = raw.trimmed[...]
        if s.utf8.starts(with: "go".utf8) { s = s.dropFirst(2) }
        let rest = Self.toolchainPrerelease(s.trimmed) ?? s.trimmed
        let parsed: SemVer.Parsed
        do { parsed = try SemVer().parse(rest[...], raw: rest) } catch { throw VersionError(raw, name, error.reason) }
        // Go's semver has three numbers; `v1.2.3.4` is no module version.
        guard parsed.core.count <= 3 else { throw VersionError(raw, name, "has more than three numbers") }
        return parsed
    }

    /// A Go toolchain pre-release as OSV writes it: `1.24rc1` is `1.24.0-rc.1`, `1.9beta2` is
    /// `1.9.0-beta.2` (Go's own reading of its release names); nil for anything else.
    static func toolchainPrerelease(_ s: String) -> String? {
        let u = Array((s.hasPrefix("v") ? s.dropFirst() : s[...]).utf8)
        func digits(_ from: Int) -> Int { var i = from; while i < u.count, (48...57).contains(u[i]) { i += 1 }; return i }
        var numbers: [String] = []
        var i = 0
        while true {
            let end = digits(i)
            guard end > i else { return nil }
            numbers.append(String(decoding: u[i..<end], as: UTF8.self))
            i = end
            guard i < u.count, u[i] == UInt8(ascii: "."), numbers.count < 3 else { break }
            i += 1
        }
        guard numbers.count >= 2 else { return nil }
        for kind in ["rc", "beta", "alpha"] where u[i...].starts(with: kind.utf8) {
            let n = i + kind.utf8.count, end = digits(n)
            guard end > n, end == u.count else { return nil }
            let patch = numbers.count == 3 ? numbers[2] : "0"
            return "\(numbers[0]).\(numbers[1]).\(patch)-\(kind).\(String(decoding: u[n..<end], as: UTF8.self))"
        }
        return nil
    }
    public func compare(_ a: SemVer.Parsed, _ b: SemVer.Parsed) -> Int { SemVer().compare(a, b) }
}
