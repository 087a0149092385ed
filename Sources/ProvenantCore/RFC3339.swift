import Foundation

/// UTC timestamps in RFC 3339, by arithmetic: Foundation's date formatters load ICU on first use,
/// which cost ~30 ms of every short command.
public enum RFC3339 {
    /// `2024-03-19T17:26:26Z`, whole seconds, rounded down.
    /// Dates outside years 0001 to 9999 (and NaN) are clamped to those bounds rather than trapping.
    public static func string(from date: Date) -> String {
        let t = date.timeIntervalSince1970
        let secs = t.isNaN ? 0 : Int(min(max(t, Double(minimumSeconds)), Double(maximumSeconds)).rounded(.down))
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rem = secs - days * 86_400
        let (y, m, d) = civil(days)
        func pad(_ v: Int, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem % 3600 / 60, 2)):\(pad(rem % 60, 2))Z"
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`; nil for anything else, including other offsets.
    public static func date(from s: String) -> Date? {
        let b = Array(s.utf8)
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116, b[13] == 58, b[16] == 58,
              b.last == 90 || b.last == 122 else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { guard (48...57).contains(b[i]) else { return nil }; v = v * 10 + Int(b[i] - 48) }
            return v
        }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16), let sec = num(17..<19),
              (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y), h < 24, mi < 60, sec < 61 else { return nil }
        var frac = 0.0
        if b.count > 20 {
            // Any number of fraction digits is valid; only the first nine (nanoseconds) can matter
            // to a Double, so the rest are checked to be digits but never accumulated.
            let digits = 20..<(b.count - 1)
            guard b[19] == 46, !digits.isEmpty, digits.allSatisfy({ (48...57).contains(b[$0]) }),
                  let f = num(20..<min(b.count - 1, 29)) else { return nil }
            frac = Double(f) / pow(10, Double(min(digits.count, 9)))
        } else if b.count != 20 { return nil }
        return date(year: y, month: mo, day: d, hour: h, minute: mi, second: sec, fraction: frac)
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range four year digits can write.
    static let minimumSeconds = -62_135_596_800, maximumSeconds = 253_402_300_799

    /// A UTC date from calendar fields the caller has already range-checked (month 1...12, day within the month).
    public static func date(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: Double = 0) -> Date {
        let secs = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: TimeInterval(secs) + fraction)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// (year, month, day) of a count of days since 1970-01-01 (H. Hinnant's civil_from_days).
    public static func civil(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
