import Foundation
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
        let stamp = ISO8601DateFormatter.string(from: time, timeZone: TimeZone(identifier: "UTC")!,
                                                formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        var out: [UInt8] = []
        JSONWriter.write(into: &out, indent: 0, pretty: false) { w in
            w.object { w in
                w.field("time", stamp)
                w.field("client", Redactor.redact(client))
                w.field("method", Redactor.redact(method))
                w.field("host", Redactor.redact(host))
                w.key("port"); w.value(.int(port))
                w.field("address", address.map { Redactor.redact($0) })
                w.field("decision", decision)
                w.field("rule", Redactor.redact(rule))
                w.field("reason", Redactor.redact(reason))
                w.key("bytesUp"); w.value(.int(bytesUp))
                w.key("bytesDown"); w.value(.int(bytesDown))
                w.key("durationMs"); w.value(.int(Int((duration * 1000).rounded())))
            }
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }
}

/// Where audit lines go: a file opened for appending (mode 0600), or standard output. Lines from many
/// connections are written whole, one `write` each, under a lock.
public final class AuditLog: @unchecked Sendable {
    private let fd: Int32
    private let owned: Bool
    private let lock = NSLock()

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

    deinit { if owned { close(fd) } }

    public func record(_ r: AuditRecord) {
        let line = r.jsonLine
        lock.lock(); defer { lock.unlock() }
        line.withUnsafeBytes { raw in
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
