/// CRAN and Hackage: numbers separated by `.` or `-`, compared one by one; a version that is a
/// prefix of another sorts first (`0.1.0` < `0.1.0.0`).
public struct DottedVersion: VersionScheme {
    public let name: String
    public init(name: String) { self.name = name }

    public func parse(_ raw: String) throws(VersionError) -> [Substring] {
        let parts = raw.trimmed[...].split(omittingEmptySubsequences: false) { $0 == "." || $0 == "-" }
        guard parts.allSatisfy(Digits.isDigits) else { throw VersionError(raw, name, "expected numbers separated by '.' or '-'") }
        return parts
    }

    public func compare(_ a: [Substring], _ b: [Substring]) -> Int {
        for (x, y) in zip(a, b) { let c = Digits.compare(x, y); if c != 0 { return c } }
        return cmp(a.count, b.count)
    }
}
