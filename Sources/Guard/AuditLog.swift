import Foundation
import NIOCore
import ProvenantCore

/// One decision the guard made, as a JSON line: what was asked, what was decided and by which rule,
/// never a secret's value.
public struct AuditRecord: Sendable {
    public var time: Date
    public var client: String
    public var method: String
    public var host: String
    public var port: Int
    public var address: String?
    public var decision: String
    public var rule: String
    public var reason: String
    public var bytesUp: Int = 0
    public var bytesDown: Int = 0
    public var duration: Double = 0

    public init(time: Date, client: String, method: String, host: String, port: Int, address: String? = nil,
                decision: String, rule: String, reason: String) {
        self.time = time; self.client = client; self.method = method; self.host = host; self.port = port
        self.address = address; self.decision = decision; self.rule = rule; self.reason = reason
    }

    /// The record as one line of JSON with its keys in a fixed order; every string from the client
    /// passes through the redactor first. Written with the project's JSON writer, as `guard exec`'s are.
    public var jsonLine: [UInt8] {
        var out: [UInt8] = []
        write(into: &out, redact: Redactor.redact)
        return out
    }

    /// The line appended to `out`. `redact` is `Redactor.redact` or a memo of it: the proxy writes the same
    /// client, host, rule and reason thousands of times, and the redactor's answer for a string never changes.
    func write(into out: inout [UInt8], redact: (String) -> String) {
        let stamp = AuditTime.iso8601(time)
        JSONWriter.write(into: &out, indent: 0, pretty: false) { w in
            w.object { w in
                w.field("time", stamp)
                w.field("client", redact(client))
                w.field("method", redact(method))
                w.field("host", redact(host))
                w.key("port"); w.value(.int(port))
                w.field("address", address.map { redact($0) })
                w.field("decision", decision)
                w.field("rule", redact(rule))
                w.field("reason", redact(reason))
                w.key("bytesUp"); w.value(.int(bytesUp))
                w.key("bytesDown"); w.value(.int(bytesDown))
                w.key("durationMs"); w.value(.int(Int((duration * 1000).rounded())))
            }
        }
        out.append(UInt8(ascii: "\n"))
    }
}

/// RFC 3339 UTC time with milliseconds (`2026-01-02T03:04:05.678Z`), as `ISO8601DateFormatter` writes it
/// with `.withInternetDateTime` and `.withFractionalSeconds`, without a formatter per line.
enum AuditTime {
    static func iso8601(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var secs = time_t(t.rounded(.down))
        var ms = Int(((t - Double(secs)) * 1000).rounded(.down))
        if ms >= 1000 { ms = 999 }
        if ms < 0 { ms = 0 }
        var tm = tm()
        guard gmtime_r(&secs, &tm) != nil else { return "1970-01-01T00:00:00.000Z" }
        var b = [UInt8](repeating: 0, count: 24)
        func put(_ v: Int, _ at: Int, _ digits: Int) {
            var v = v
            for k in stride(from: at + digits - 1, through: at, by: -1) { b[k] = UInt8(48 + v % 10); v /= 10 }
        }
        put(Int(tm.tm_year) + 1900, 0, 4); b[4] = 45
        put(Int(tm.tm_mon) + 1, 5, 2); b[7] = 45
        put(Int(tm.tm_mday), 8, 2); b[10] = 84
        put(Int(tm.tm_hour), 11, 2); b[13] = 58
        put(Int(tm.tm_min), 14, 2); b[16] = 58
        put(Int(tm.tm_sec), 17, 2); b[19] = 46
        put(ms, 20, 3); b[23] = 90
        return String(decoding: b, as: UTF8.self)
    }
}

/// Where audit lines go: a file opened for appending (mode 0600), or standard output. Lines are written
/// whole under a lock. `record` writes its line at once; `record(_:on:redact:)`, the proxy's, appends
/// the line to a buffer that is written (one `write` for every line that came meanwhile) as soon as the
/// event loop has finished the I/O in hand, so a line is never held longer than one loop turn.
public final class AuditLog: @unchecked Sendable {
    private let fd: Int32
    private let owned: Bool
    private let lock = NSLock()
    private var buffered: [UInt8] = []
    private var flushScheduled = false
    /// Lines beyond this are written at once instead of waiting for the loop.
    static let bufferLimit = 256 << 10

    /// `path` "-" is standard output.
    public init(path: String) throws(InputError) {
        if path == "-" { fd = STDOUT_FILENO; owned = false; return }
        let f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard f >= 0 else { throw InputError("cannot open the audit log: \(String(cString: strerror(errno)))", at: Location(path)) }
        var st = stat()
        guard fstat(f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(f)
            throw InputError("the audit log is not a regular file", at: Location(path))
        }
        fd = f; owned = true
    }

    deinit {
        flush()
        if owned { close(fd) }
    }

    public func record(_ r: AuditRecord) {
        let line = r.jsonLine
        lock.lock(); defer { lock.unlock() }
        writeAll(buffered); buffered.removeAll(keepingCapacity: true)
        writeAll(line)
    }

    /// Appends the line for `r` to the buffer; the first line of a batch schedules the write on `loop`,
    /// which runs once the loop has handled the events now ready.
    func record(_ r: AuditRecord, on loop: EventLoop, redact: (String) -> String) {
        var line: [UInt8] = []
        line.reserveCapacity(320)
        r.write(into: &line, redact: redact)
        lock.lock()
        buffered += line
        if buffered.count >= Self.bufferLimit {
            writeAll(buffered); buffered.removeAll(keepingCapacity: true)
            lock.unlock()
            return
        }
        let schedule = !flushScheduled
        flushScheduled = true
        lock.unlock()
        if schedule { loop.execute { self.flush() } }
    }

    /// Writes whatever is buffered.
    public func flush() {
        lock.lock(); defer { lock.unlock() }
        flushScheduled = false
        guard !buffered.isEmpty else { return }
        writeAll(buffered)
        buffered.removeAll(keepingCapacity: buffered.count <= 64 << 10)
    }

    /// Call with the lock held.
    private func writeAll(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            var at = 0
            while at < raw.count {
                let n = write(fd, raw.baseAddress! + at, raw.count - at)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                at += n
            }
        }
    }
}
