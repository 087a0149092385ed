import Foundation

/// The one reader of `SOURCE_DATE_EPOCH` (reproducible-builds.org): a decimal count of seconds since
/// 1970-01-01T00:00:00Z. Only ASCII digits are accepted: no sign, no fraction, no exponent, no
/// `nan`/`inf`, no spaces, nothing past the year 9999. A malformed value is an input error, never a
/// silent fallback to the current time, because the timestamp is what makes output reproducible.
public enum SourceDateEpoch {
    public static let variable = "SOURCE_DATE_EPOCH"
    /// 9999-12-31T23:59:59Z: the last second RFC 3339 and GeneralizedTime can write with four year digits.
    public static let maximum: Int64 = 253_402_300_799

    /// The value set in `environment`, nil when the variable is not set at all.
    public static func date(from environment: [String: String]) throws(InputError) -> Date? {
        guard let raw = environment[variable] else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(try seconds(raw)))
    }

    /// Seconds since the epoch, or an error naming the variable and what is wrong with `raw`.
    public static func seconds(_ raw: String) throws(InputError) -> Int64 {
        func bad(_ why: String) -> InputError {
            let shown = raw.unicodeScalars.count > 32 ? String(String.UnicodeScalarView(raw.unicodeScalars.prefix(32))) + "…" : raw
            return InputError("\(variable) '\(Redactor.escapeControls(shown))' is invalid: \(why)")
        }
        guard !raw.isEmpty else { throw bad("it is empty; set it to whole seconds since 1970-01-01T00:00:00Z or unset it") }
        var value: Int64 = 0
        for u in raw.utf8 {
            guard u >= 48, u <= 57 else { throw bad("it must be a non-negative whole number of seconds since 1970-01-01T00:00:00Z, digits only") }
            value = value * 10 + Int64(u - 48)
            guard value <= maximum else { throw bad("it is past 9999-12-31T23:59:59Z (\(maximum))") }
        }
        return value
    }
}
