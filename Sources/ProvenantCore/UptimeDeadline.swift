import Dispatch

/// A point on the monotonic uptime clock a given number of seconds from now, for the time limits of
/// runs that make many requests (`--timeout`, `--registry-timeout`).
public enum UptimeDeadline {
    /// Uptime nanoseconds `seconds` from now; nil for no limit: 0 or less, or a time past what uptime
    /// can count (`6000000h` overflowed and trapped; found by helper-113).
    public static func after(seconds: Int) -> UInt64? {
        guard seconds > 0 else { return nil }
        let (ns, tooLong) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (end, past) = DispatchTime.now().uptimeNanoseconds.addingReportingOverflow(ns)
        return tooLong || past ? nil : end
    }

    /// Whether the uptime clock has reached `deadline` (never, for nil).
    public static func passed(_ deadline: UInt64?) -> Bool {
        deadline.map { DispatchTime.now().uptimeNanoseconds >= $0 } ?? false
    }
}
