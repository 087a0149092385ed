/// A VEX statement's or document's time, as RFC 3339 writes it, with any offset (`vexctl` writes
/// local offsets such as `-06:00`) and a fraction of any length. Ordered by the instant.
public struct VEXTimestamp: Sendable, Comparable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int
    /// The fraction's digits without trailing zeros, compared as a decimal fraction.
    public var fraction: String
    public var description: String

    public static func < (a: VEXTimestamp, b: VEXTimestamp) -> Bool {
        if a.seconds != b.seconds { return a.seconds < b.seconds }
        // "5" < "50001": equal-length prefixes compare as digits; a shorter one is padded with zeros.
        let n = max(a.fraction.count, b.fraction.count)
        func padded(_ s: String) -> String { s + String(repeating: "0", count: n - s.count) }
        return padded(a.fraction) < padded(b.fraction)
    }

    public static func == (a: VEXTimestamp, b: VEXTimestamp) -> Bool { !(a < b) && !(b < a) }

    /// `YYYY-MM-DDTHH:MM:SS[.digits](Z|±HH:MM)`; nil for anything else or an impossible date.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        func num(_ r: Range<Int>) -> Int? {
            guard r.upperBound <= b.count else { return nil }
            var v = 0
            for i in r { guard b[i] >= 48 && b[i] <= 57 else { return nil }; v = v * 10 + Int(b[i] - 48) }
            return v
        }
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116, b[13] == 58, b[16] == 58,
              let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16), let s = num(17..<19),
              (1...12).contains(mo), d >= 1, d <= CalendarDate.daysIn(month: mo, year: y), h < 24, mi < 60, s < 61 else { return nil }
        var i = 19
        var digits: [UInt8] = []
        if b[i] == 46 {
            i += 1
            while i < b.count, b[i] >= 48 && b[i] <= 57 { digits.append(b[i]); i += 1 }
            // Digits past nanoseconds carry no meaning and are cut, so no length is unbounded.
            guard !digits.isEmpty else { return nil }
            if digits.count > 9 { digits = Array(digits.prefix(9)) }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 {
            guard i + 1 == b.count else { return nil }
        } else {
            guard b[i] == 43 || b[i] == 45, i + 6 == b.count, b[i + 3] == 58, let oh = num(i + 1..<i + 3), let om = num(i + 4..<i + 6),
                  oh < 24, om < 60 else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
        }
        while digits.last == 48 { digits.removeLast() }
        seconds = CalendarDate.days(year: y, month: mo, day: d) * 86_400 + h * 3600 + mi * 60 + s - offset
        fraction = String(decoding: digits, as: UTF8.self)
        description = text
    }
}
