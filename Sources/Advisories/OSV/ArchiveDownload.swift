import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProvenantCore

/// How much one `db update` may fetch, and for how long.
public struct DownloadLimits: Sendable {
    /// The default largest archive: OSV's biggest per-ecosystem export is a few hundred MiB.
    public static let defaultMaxBytes: Int64 = 4 << 30
    /// The default time the whole update may take.
    public static let defaultSeconds = 30 * 60

    /// The largest archive taken, in bytes; a larger one is refused before or while it is read.
    public var maxBytes: Int64
    /// Seconds the whole update may take (all archives together); nil for no limit.
    public var seconds: Int?

    public init(maxBytes: Int64 = DownloadLimits.defaultMaxBytes, seconds: Int? = DownloadLimits.defaultSeconds) {
        self.maxBytes = maxBytes
        self.seconds = seconds
    }

    /// `text` as a byte count: digits with an optional K, M or G (binary multiples), nil otherwise.
    public static func bytes(_ text: String) -> Int64? {
        var digits = Substring(text), shift: Int64 = 0
        switch text.last.map({ Character($0.uppercased()) }) {
        case "K": digits = digits.dropLast(); shift = 10
        case "M": digits = digits.dropLast(); shift = 20
        case "G": digits = digits.dropLast(); shift = 30
        default: break
        }
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits) else { return nil }
        let (v, over) = n.multipliedReportingOverflow(by: Int64(1) << shift)
        return over ? nil : v
    }
}

/// Fetches one archive to a file as it arrives, so memory does not grow with its size, under a size
/// cap and the update's deadline. Redirects are followed here (at most five, never from https to
/// http unless insecure), and user info in the source is sent as Basic credentials only to the
/// source's own scheme, host and port.
struct ArchiveDownload {
    static let maxRedirects = 5

    /// One client for the process; it is never shut down. Decompression stays off so the size cap
    /// counts the bytes as sent.
    static let http: HTTPClient = {
        var c = HTTPClient.Configuration()
        c.redirectConfiguration = .disallow
        c.timeout = .init(connect: .seconds(30), read: .seconds(120))
        c.decompression = .disabled
        c.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
    }()

    let limits: DownloadLimits
    let insecure: Bool
    /// When the whole update must be over (uptime nanoseconds), nil for never.
    let giveUpAt: UInt64?

    init(limits: DownloadLimits, insecure: Bool) {
        self.limits = limits
        self.insecure = insecure
        giveUpAt = limits.seconds.flatMap { $0 > 0 ? DispatchTime.now().uptimeNanoseconds &+ UInt64($0) * 1_000_000_000 : nil }
    }

    /// Downloads `url` into `file`. `shown` names it in errors, without user info.
    func fetch(_ url: URL, to file: URL, shown: String) async throws(InputError) {
        let at = Location(shown)
        let result: Result<Void, InputError>
        do {
            result = try await withThrowingTaskGroup(of: Result<Void, InputError>?.self) { group in
                group.addTask {
                    do throws(InputError) { try await self.follow(url, to: file, at: at); return .success(()) }
                    catch { return .failure(error) }
                }
                if let end = giveUpAt {
                    group.addTask {
                        let now = DispatchTime.now().uptimeNanoseconds
                        if end > now { try? await Task.sleep(nanoseconds: end - now) }
                        return nil
                    }
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let done = first else {
                    return .failure(InputError("download was not finished within the --timeout of \(limits.seconds.map { "\($0) s" } ?? "this run"); refused", at: at))
                }
                return done
            }
        } catch {
            throw InputError("download failed: \(URLUserinfo.stripped(String(describing: error)))", at: at)
        }
        try result.get()
    }

    private func follow(_ start: URL, to file: URL, at: Location) async throws(InputError) {
        guard var parts = URLComponents(url: start, resolvingAgainstBaseURL: false) else {
            throw InputError("is not a URL", at: at)
        }
        // Credentials in the source go to the source's own origin only, as a header.
        let credentials = parts.user.map { Data("\($0):\(parts.password ?? "")".utf8).base64EncodedString() }
        parts.user = nil
        parts.password = nil
        guard var current = parts.url else { throw InputError("is not a URL", at: at) }
        let origin = Self.origin(current)
        for _ in 0...Self.maxRedirects {
            var request = HTTPClientRequest(url: current.absoluteString)
            if let c = credentials, Self.origin(current) == origin { request.headers.add(name: "Authorization", value: "Basic \(c)") }
            let response: HTTPClientResponse
            do {
                response = try await Self.http.execute(request, deadline: .now() + .seconds(120))
            } catch {
                throw InputError("download failed: \(URLUserinfo.stripped(String(describing: error)))", at: at)
            }
            switch response.status.code {
            case 200:
                try await store(response, to: file, at: at)
                return
            case 301, 302, 303, 307, 308:
                guard let location = response.headers.first(name: "Location"),
                      let next = URL(string: location, relativeTo: current)?.absoluteURL,
                      let scheme = next.scheme?.lowercased(), scheme == "https" || scheme == "http" else {
                    throw InputError("download was redirected without a usable Location; refused", at: at)
                }
                if current.scheme?.lowercased() == "https", scheme != "https", !insecure {
                    throw InputError("download was redirected to \(scheme):, not https; refused", at: at)
                }
                var cleaned = URLComponents(url: next, resolvingAgainstBaseURL: false)
                cleaned?.user = nil
                cleaned?.password = nil
                guard let n = cleaned?.url else { throw InputError("download was redirected to a URL that cannot be read; refused", at: at) }
                current = n
            default:
                throw InputError("download failed: HTTP \(response.status.code)", at: at)
            }
        }
        throw InputError("download was redirected more than \(Self.maxRedirects) times; refused", at: at)
    }

    private func store(_ response: HTTPClientResponse, to file: URL, at: Location) async throws(InputError) {
        let cap = limits.maxBytes
        if let length = response.headers.first(name: "Content-Length").flatMap({ Int64($0) }), length > cap {
            throw InputError("archive is \(length) bytes, more than the --max-archive-size of \(cap) bytes; refused", at: at)
        }
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = try? FileHandle(forWritingTo: file) else {
            throw InputError("cannot store download", at: Location(file.path))
        }
        defer { try? handle.close() }
        var total: Int64 = 0
        do {
            for try await chunk in response.body {
                total += Int64(chunk.readableBytes)
                if total > cap {
                    throw InputError("archive is more than the --max-archive-size of \(cap) bytes; refused", at: at)
                }
                try handle.write(contentsOf: chunk.withUnsafeReadableBytes { Data($0) })
            }
        } catch let e as InputError {
            throw e
        } catch {
            throw InputError("download failed after \(total) bytes: \(URLUserinfo.stripped(String(describing: error)))", at: at)
        }
    }

    /// Scheme, host and port, lowercased, with the scheme's default port filled in.
    static func origin(_ url: URL) -> String {
        let scheme = url.scheme?.lowercased() ?? ""
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(url.host?.lowercased() ?? ""):\(port)"
    }
}
