import Foundation
import ProvenantCore

/// Proleptic Gregorian calendar arithmetic for `YYYY-MM-DD` dates.
public enum CalendarDate {
    /// Whether `s` is `YYYY-MM-DD` naming a day that exists (no month 13, no February 30th).
    public static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 10, u[4] == 45, u[7] == 45 else { return false }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { guard u[i] >= 48 && u[i] <= 57 else { return nil }; v = v * 10 + Int(u[i] - 48) }
            return v
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10) else { return false }
        return y >= 1 && (1...12).contains(m) && d >= 1 && d <= daysIn(month: m, year: y)
    }

    /// `YYYY-MM-DD` of `date` in UTC. Expiry is judged on the wall clock (`Date()`), never on
    /// SOURCE_DATE_EPOCH, which only sets the timestamps written into documents: a reproducible
    /// build must not bring expired ignore entries back.
    public static func utcDay(_ date: Date = Date()) -> String {
        let (y, m, d) = RFC3339.civil(Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
        func pad(_ n: Int, _ w: Int) -> String { let s = String(n); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    public static func daysIn(month: Int, year: Int) -> Int { RFC3339.daysIn(month: month, year: year) }

    /// Days since 1970-01-01.
    static func days(year: Int, month: Int, day: Int) -> Int { RFC3339.days(year: year, month: month, day: day) }
}
