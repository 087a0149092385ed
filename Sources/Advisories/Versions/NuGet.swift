/// NuGet: up to four numbers, case-insensitive pre-release labels, build metadata ignored.
public struct NuGetVersion: VersionScheme {
    public var name: String { "NuGet" }
    public init() {}
    public struct Parsed: Sendable { var nums: [Substring]; var pre: [Substring] }

    public func parse(_ raw: String) throws(VersionError) -> Parsed {
        var s = raw.trimmed[...]
        if s.first == "v" || s.first == "V" { s = s.dropFirst() }
        s = s.prefix { $0 != "+" }
        let main = s.prefix { $0 != "-" }
        let nums = main.split(separator: ".", omittingEmptySubsequences: false)
        guard !nums.isEmpty, nums.count <= 4, nums.allSatisfy(Digits.isDigits) else {
            throw VersionError(raw, name, "expected one to four dot-separated numbers")
        }
        let pre = main.count < s.count ? s.dropFirst(main.count + 1).split(separator: ".", omittingEmptySubsequences: false) : []
        return Parsed(nums: nums, pre: pre)
    }

    public func compare(_ a: Parsed, _ b: Parsed) -> Int {
        for i in 0..<4 {
            let c = Digits.compare(i < a.nums.count ? a.nums[i] : "0", i < b.nums.count ? b.nums[i] : "0")
            if c != 0 { return c }
        }
        return SemVer.comparePre(a.pre, b.pre, caseInsensitive: true)
    }
}
