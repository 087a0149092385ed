#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Room for more open files, asked before an event loop starts: SwiftNIO stops the process (a trap,
/// not an error) when it cannot open the three descriptors each event-loop thread needs, as under
/// `ulimit -n 12`. A command that is about to start one says so first and exits 2 instead.
public enum DescriptorHeadroom {
    /// Descriptors an event-loop thread opens for itself: its epoll, an eventfd and a timerfd.
    public static let perEventLoop = 3
    /// Beside the loops: a listener, a few connections, a file or two.
    public static let margin = 8

    #if os(Linux)
    private static let resource = Int32(RLIMIT_NOFILE.rawValue)
    /// As high as the soft limit is raised, whatever the hard one.
    private static let ceiling: rlim_t = 65_536
    #else
    private static let resource = RLIMIT_NOFILE
    /// macOS refuses a soft limit above OPEN_MAX however high the hard one.
    private static let ceiling = rlim_t(OPEN_MAX)
    #endif

    /// Raises the soft limit on open files to the hard one (up to `ceiling`), as Go programs do: a low
    /// soft limit is a default, not a choice. Only commands that start event loops do this (through
    /// `shortfall`); a child such a command started would inherit it, and none starts one.
    public static func raiseSoftLimit() {
        var l = rlimit()
        guard getrlimit(resource, &l) == 0 else { return }
        let want = min(l.rlim_max, ceiling)
        guard l.rlim_cur < want else { return }
        l.rlim_cur = want
        _ = setrlimit(resource, &l)
    }

    /// The soft limit on open files, nil when it cannot be read or has none.
    public static var limit: Int? {
        var l = rlimit()
        guard getrlimit(resource, &l) == 0, l.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: l.rlim_cur)
    }

    /// Descriptors open now, counted in `/proc/self/fd` (the listing's own aside); nil when it cannot
    /// be listed for another reason than having no descriptor left to list it with (then it is the
    /// limit itself: none is free).
    public static var open: Int? {
        guard let dir = opendir("/proc/self/fd") else {
            return errno == EMFILE || errno == ENFILE ? limit : nil
        }
        defer { closedir(dir) }
        var count = 0
        while let e = readdir(dir) {
            if DirectoryEntry.name(e).first != UInt8(ascii: ".") { count += 1 }
        }
        return max(0, count - 1)
    }

    /// Why `eventLoops` event-loop threads (and `margin` descriptors besides) cannot be started, or nil
    /// when they can (or the count is unknown: then the start goes ahead, as it did before this check).
    /// Raises the soft limit first. Asked before the loops start: once they run, their own descriptors
    /// would be counted against them.
    public static func shortfall(eventLoops: Int, for what: String) -> String? {
        raiseSoftLimit()
        // Clamped: a library caller's count is not trusted not to overflow the product.
        let needed = perEventLoop * min(max(1, eventLoops), 1 << 20) + margin
        guard let limit, let open else { return nil }
        let free = limit - open
        guard free < needed else { return nil }
        return "\(what) needs about \(needed) more open files, but only \(max(0, free)) of the \(limit) allowed are free "
            + "(ulimit -n); raise the limit"
    }
}
