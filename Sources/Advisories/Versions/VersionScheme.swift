import Foundation

/// Why a version string could not be read under a scheme.
public struct VersionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var version: String
    public var scheme: String
    public var reason: String
    public init(_ version: String, _ scheme: String, _ reason: String) {
        self.version = version; self.scheme = scheme; self.reason = reason
    }
    public var description: String { "invalid \(scheme) version '\(version)': \(reason)" }
}

/// One ecosystem's ordering rules. Parsing is separate from comparing so a matcher can parse a
/// package's version once and compare it against every range event.
public protocol VersionScheme: Sendable {
    associatedtype Parsed: Sendable
    var name: String { get }
    func parse(_ s: String) throws(VersionError) -> Parsed
    /// Negative, zero or positive, as `a` sorts before, equal to or after `b`.
    func compare(_ a: Parsed, _ b: Parsed) -> Int
}

extension VersionScheme where Parsed: Comparable {
    public func compare(_ a: Parsed, _ b: Parsed) -> Int { a < b ? -1 : (a == b ? 0 : 1) }
}

/// A scheme with its parsed type erased, so callers can pick one by ecosystem name at run time.
/// A class: it holds closures, and a struct copy retained each of them.
public final class AnyVersionScheme: Sendable {
    public let name: String
    private let _parsed: @Sendable (String) throws(VersionError) -> ParsedVersion
    private let _compareParsed: @Sendable (ParsedVersion, ParsedVersion) -> Int

    private init<S: VersionScheme>(_ s: S, parsed: @escaping @Sendable (String) throws(VersionError) -> ParsedVersion) {
        name = s.name
        _parsed = parsed
        // Both sides come from this scheme's `parsed`, so the downcast always holds.
        _compareParsed = { a, b in s.compare(unsafeDowncast(a, to: TypedVersion<S.Parsed>.self).value, unsafeDowncast(b, to: TypedVersion<S.Parsed>.self).value) }
    }

    public convenience init<S: VersionScheme>(_ s: S) {
        self.init(s) { (v: String) throws(VersionError) -> ParsedVersion in TypedVersion(try s.parse(v)) }
    }

    /// Parses each distinct string once: a scan compares the same advisory versions against many
    /// packages, and parsing costs far more than comparing.
    public convenience init<S: VersionScheme>(memoizing s: S) {
        let memo = Memo<ParsedVersion>()
        self.init(s) { (v: String) throws(VersionError) -> ParsedVersion in
            if let hit = memo.get(v) { return try hit.get() }
            let r: Result<ParsedVersion, VersionError>
            do throws(VersionError) { r = .success(TypedVersion(try s.parse(v))) } catch { r = .failure(error) }
            memo.set(v, r)
            return try r.get()
        }
    }

    /// A version parsed once, to compare many times without parsing or looking it up again.
    func parsed(_ v: String) throws(VersionError) -> ParsedVersion { try _parsed(v) }
    func compare(_ a: ParsedVersion, _ b: ParsedVersion) -> Int { _compareParsed(a, b) }

    public func compare(_ a: String, _ b: String) throws(VersionError) -> Int { compare(try parsed(a), try parsed(b)) }

    /// The scheme for an OSV ecosystem name (`PyPI`, `Debian:12`, `Red Hat`…), or nil when OSV
    /// defines no ordering for it.
    public static func forEcosystem(_ ecosystem: String, memoizing: Bool = false) -> AnyVersionScheme? {
        func make<S: VersionScheme>(_ s: S) -> AnyVersionScheme { memoizing ? AnyVersionScheme(memoizing: s) : AnyVersionScheme(s) }
        switch Ecosystems.split(ecosystem).0 {
        case "npm", "crates.io", "Hex", "SwiftURL", "Bitnami": return make(SemVer())
        case "Pub": return make(SemVer(buildOrders: true))
        case "Go": return make(GoVersion())
        case "PyPI": return make(PEP440())
        case "Maven": return make(MavenVersion())
        case "RubyGems": return make(RubyGemsVersion())
        case "NuGet": return make(NuGetVersion())
        case "Packagist": return make(PackagistVersion())
        case "Debian", "Ubuntu": return make(DebianVersion())
        case "Alpine", "Wolfi", "Chainguard": return make(AlpineVersion())
        case "Red Hat", "Rocky Linux", "AlmaLinux", "openSUSE", "SUSE", "Mageia": return make(RPMVersion())
        case "CRAN": return make(DottedVersion(name: "CRAN"))
        case "Hackage": return make(DottedVersion(name: "Hackage"))
        default: return nil
        }
    }
}

/// Decimal digit strings of any length, compared as numbers without overflow.
enum Digits {
    /// On UTF-8 bytes: the version schemes compare digit runs constantly, and walking
    /// Characters was most of the cost.
    static func compare(_ a: Substring, _ b: Substring) -> Int {
        var x = a.utf8[...], y = b.utf8[...]
        while x.first == 48 { x = x.dropFirst() }
        while y.first == 48 { y = y.dropFirst() }
        let nx = x.count, ny = y.count
        if nx != ny { return nx < ny ? -1 : 1 }
        for (p, q) in zip(x, y) where p != q { return p < q ? -1 : 1 }
        return 0
    }
    static func compare(_ a: String, _ b: String) -> Int { compare(a[...], b[...]) }
    static func isDigits<S: StringProtocol>(_ s: S) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
}

/// Three-way comparison of byte strings, for identifiers compared in ASCII order.
@inline(__always) func cmp<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }

/// Lexicographic three-way comparison, for byte and code-point strings.
func lex<S: Sequence, T: Sequence>(_ a: S, _ b: T) -> Int where S.Element: Comparable, S.Element == T.Element {
    var x = a.makeIterator(), y = b.makeIterator()
    while true {
        switch (x.next(), y.next()) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (p?, q?): if p != q { return p < q ? -1 : 1 }
        }
    }
}

/// A parsed version with its scheme's type erased; only that scheme compares it.
class ParsedVersion: @unchecked Sendable {}
final class TypedVersion<P>: ParsedVersion, @unchecked Sendable {
    let value: P
    init(_ v: P) { value = v }
}

/// A lock-guarded parse cache, so a memoizing scheme stays `Sendable`.
final class Memo<P>: @unchecked Sendable {
    private var map: [String: Result<P, VersionError>] = [:]
    private let lock = NSLock()
    func get(_ k: String) -> Result<P, VersionError>? { lock.lock(); defer { lock.unlock() }; return map[k] }
    func set(_ k: String, _ v: Result<P, VersionError>) { lock.lock(); map[k] = v; lock.unlock() }
}
