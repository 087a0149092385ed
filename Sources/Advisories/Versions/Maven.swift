/// Maven's ComparableVersion: a tree of numbers, qualifiers and sub-lists, where `-` opens a
/// sub-list, a switch between digits and letters opens one too, and trailing "null" items
/// (0, "", ga, final, release) are dropped so `1` = `1.0` = `1-ga`.
public struct MavenVersion: VersionScheme {
    public var name: String { "Maven" }
    public init() {}

    public indirect enum Item: Sendable {
        case int(Substring)            // digits without leading zeros
        case string(String)            // qualifier after aliasing
        case list([Item])

        var isNull: Bool {
            switch self {
            case .int(let d): return d.isEmpty
            case .string(let s): return s.isEmpty
            case .list(let l): return l.isEmpty
            }
        }
    }

    /// Nested parts a version may have: real ones have a handful (`1.0-alpha-1-SNAPSHOT` has four).
    static let maximumDepth = 64

    public func parse(_ raw: String) throws(VersionError) -> Item {
        let v = Array(raw.trimmed.lowercased().utf8)
        guard !v.isEmpty else { throw VersionError(raw, name, "empty version") }
        // Lists under construction; the last is the one being filled.
        var stack: [[Item]] = [[]]
        var isDigit = false
        var start = 0
        func text(_ a: Int, _ b: Int) -> String { String(decoding: v[a..<b], as: UTF8.self) }
        func item(_ digit: Bool, _ s: String, followedByDigit: Bool = false) -> Item {
            if digit { return .int(s.drop { $0 == "0" }) }
            var q = s
            if followedByDigit && q.count == 1 { q = ["a": "alpha", "b": "beta", "m": "milestone"][q] ?? q }
            q = ["ga": "", "final": "", "release": "", "cr": "rc"][q] ?? q
            return .string(q)
        }
        func add(_ it: Item) { stack[stack.count - 1].append(it) }
        // Each switch between digits and letters, and each `-`, nests a list, which compare and free
        // recursively: 20,000 of them overflowed the stack (found by helper-102).
        func openList() throws(VersionError) {
            guard stack.count < Self.maximumDepth else { throw VersionError(raw, name, "more than \(Self.maximumDepth) nested parts") }
            stack.append([])
        }
        for i in 0..<v.count {
            let c = v[i]
            if c == UInt8(ascii: ".") {
                add(i == start ? .int("") : item(isDigit, text(start, i)))
                start = i + 1
            } else if c == UInt8(ascii: "-") {
                add(i == start ? .int("") : item(isDigit, text(start, i)))
                start = i + 1
                // `1-ga-1` is `1-1`: a sub-list holding only null items is reused, not nested.
                if stack.count > 1, stack[stack.count - 1].allSatisfy(\.isNull) { stack[stack.count - 1].removeAll() } else { try openList() }
            } else if c >= 48 && c <= 57 {
                if !isDigit && i > start {
                    add(item(false, text(start, i), followedByDigit: true))
                    start = i
                    try openList()
                }
                isDigit = true
            } else {
                if isDigit && i > start {
                    add(item(true, text(start, i)))
                    start = i
                    try openList()
                }
                isDigit = false
            }
        }
        if v.count > start { add(item(isDigit, text(start, v.count))) }
        // Close the lists innermost first, normalising each as Maven does when it pops them.
        while stack.count > 1 {
            let inner = Self.normalize(stack.removeLast())
            stack[stack.count - 1].append(.list(inner))
        }
        return .list(Self.normalize(stack[0]))
    }

    /// Drops null items from the end, looking past sub-lists that are not themselves null.
    static func normalize(_ items: [Item]) -> [Item] {
        var l = items
        var i = l.count - 1
        while i >= 0 {
            if l[i].isNull { l.remove(at: i) } else if case .list = l[i] {} else { break }
            i -= 1
        }
        return l
    }

    public func compare(_ a: Item, _ b: Item) -> Int { Self.compare(a, b) }

    static let qualifiers = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"]
    static func qualifierKey(_ q: String) -> String {
        if let i = qualifiers.firstIndex(of: q) { return String(i) }
        return "\(qualifiers.count)-\(q)"
    }

    /// Compares with `nil` standing for "nothing here", as Maven's `compareTo(null)` does.
    static func compare(_ a: Item?, _ b: Item?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, let y?): return -compare(y, nil)
        case (.int(let x)?, nil): return x.isEmpty ? 0 : 1
        case (.string(let x)?, nil): return lex(qualifierKey(x).utf8, "5".utf8)
        case (.list(let l)?, nil): return l.isEmpty ? 0 : compare(l[0], nil)
        case (.int(let x)?, .int(let y)?): return Digits.compare(x, y)
        case (.int?, _): return 1
        case (.string?, .int?): return -1
        case (.string(let x)?, .string(let y)?): return lex(qualifierKey(x).utf8, qualifierKey(y).utf8)
        case (.string?, .list?): return -1
        case (.list?, .int?): return -1
        case (.list?, .string?): return 1
        case (.list(let x)?, .list(let y)?):
            for i in 0..<max(x.count, y.count) {
                let c = compare(i < x.count ? x[i] : nil, i < y.count ? y[i] : nil)
                if c != 0 { return c }
            }
            return 0
        }
    }
}
