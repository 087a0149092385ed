import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProvenantCore

/// How much one `db update` may fetch, and for how long.
public struct DownloadLimits: Sendable {
    /// The default for all archives of one update together: OSV's biggest per-ecosystem export is a
    /// few hundred MiB, and the ten default ecosystems come to well under this.
    public static let defaultMaxBytes: Int64 = 4 << 30
    /// The default time the downloads may take.
    public static let defaultSeconds = 30 * 60

    /// The most bytes taken for all archives of one update together: an archive that would pass what
    /// is left is refused before or while it is read, so a hostile mirror cannot fill the disk with
    /// one archive per ecosystem (found by helper-113).
    public var maxBytes: Int64
    /// Seconds the downloads may take, all archives together; nil for no limit.
    public var seconds: Int?

    public init(maxBytes: Int64 = DownloadLimits.defaultMaxBytes, seconds: Int? = DownloadLimits.defaultSeconds) {
        self.maxBytes = maxBytes
        self.seconds = seconds
    }

    /// `text` as a byte count: digits with an optional K, M or G (binary multiples), nil otherwise.
    public static func bytes(_ text: String) -> Int64? {
        var digits = Substring(text), shift: Int64 = 0
        // Compared as they are: upper-casing a `ß` gives two letters, which a Character cannot hold.
        switch text.last {
        case "K", "k": digits = digits.dropLast(); shift = 10
        case "M", "m": digits = digits.dropLast(); shift = 20
        case "G", "g": digits = digits.dropLast(); shift = 30
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

    /// Clients for the process, never shut down: one direct, and one through each of the proxies the
    /// environment names (`https_proxy` for https, `http_proxy` for http, as curl reads them; the
    /// download used curl's rules before it streamed; found by helper-113). The client tunnels through
    /// a proxy with CONNECT for http too. Decompression stays off so the size cap counts the bytes as
    /// sent.
    static func makeClient(proxy: HTTPClient.Configuration.Proxy?) -> HTTPClient {
        var c = HTTPClient.Configuration()
        c.redirectConfiguration = .disallow
        c.timeout = .init(connect: .seconds(30), read: .seconds(120))
        c.decompression = .disabled
        c.connectionPool.retryConnectionEstablishment = false
        c.proxy = proxy
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
    }
    static let direct = makeClient(proxy: nil)
    static let environment = ProcessInfo.processInfo.environment
    static let httpsProxied: HTTPClient? = ProxySetting.proxy(named: ["https_proxy", "HTTPS_PROXY"], in: environment).map { makeClient(proxy: $0) }
    static let httpProxied: HTTPClient? = ProxySetting.proxy(named: ["http_proxy"], in: environment).map { makeClient(proxy: $0) }

    /// The client for `url`: through the proxy for its scheme unless `no_proxy` names its host.
    static func client(for url: URL) -> HTTPClient {
        let proxied = url.scheme?.lowercased() == "https" ? httpsProxied : httpProxied
        guard let p = proxied, !ProxySetting.bypasses(url.host ?? "", noProxy: environment["no_proxy"] ?? environment["NO_PROXY"] ?? "") else { return direct }
        return p
    }

    let limits: DownloadLimits
    let insecure: Bool
    /// When the whole update must be over (uptime nanoseconds), nil for never.
    let giveUpAt: UInt64?

    init(limits: DownloadLimits, insecure: Bool) {
        self.limits = limits
        self.insecure = insecure
        giveUpAt = limits.seconds.flatMap { UptimeDeadline.after(seconds: $0) }
    }

    /// Downloads `url` into `file`, taking at most `budget` bytes (what is left of the update's
    /// `maxBytes`), and returns how many it took. `shown` names it in errors, without user info.
    func fetch(_ url: URL, to file: URL, shown: String, budget: Int64) async throws(InputError) -> Int64 {
        let at = Location(shown)
        let result: Result<Int64, InputError>
        do {
            result = try await withThrowingTaskGroup(of: Result<Int64, InputError>?.self) { group in
                group.addTask {
                    do throws(InputError) { return .success(try await self.follow(url, to: file, at: at, budget: budget)) }
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
        return try result.get()
    }

    private func follow(_ start: URL, to file: URL, at: Location, budget: Int64) async throws(InputError) -> Int64 {
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
                response = try await Self.client(for: current).execute(request, deadline: .now() + .seconds(120))
            } catch {
                throw InputError("download failed: \(URLUserinfo.stripped(String(describing: error)))", at: at)
            }
            switch response.status.code {
            case 200:
                return try await store(response, to: file, at: at, budget: budget)
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

    private func store(_ response: HTTPClientResponse, to file: URL, at: Location, budget: Int64) async throws(InputError) -> Int64 {
        let cap = limits.maxBytes
        func tooBig(_ size: String) -> InputError {
            InputError("archive\(size) would take the update past its --max-download-size of \(cap) bytes (\(budget) were left for it); refused", at: at)
        }
        if let length = response.headers.first(name: "Content-Length").flatMap({ Int64($0) }), length > budget {
            throw tooBig(" of \(length) bytes")
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
                if total > budget { throw tooBig("") }
                try handle.write(contentsOf: chunk.withUnsafeReadableBytes { Data($0) })
            }
        } catch let e as InputError {
            throw e
        } catch {
            throw InputError("download failed after \(total) bytes: \(URLUserinfo.stripped(String(describing: error)))", at: at)
        }
        return total
    }

    /// Scheme, host and port, lowercased, with the scheme's default port filled in.
    static func origin(_ url: URL) -> String {
        let scheme = url.scheme?.lowercased() ?? ""
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(url.host?.lowercased() ?? ""):\(port)"
    }
}

/// Proxies as curl reads them from the environment. Only upper-case `HTTP_PROXY` is ignored, as curl
/// ignores it (a CGI program's request header arrives as that variable).
enum ProxySetting {
    /// The first of `names` set to a proxy URL (`http://[user:password@]host[:port]`; a bare
    /// `host:port` is taken as http), as a client setting; nil when none is set or it cannot be read.
    static func proxy(named names: [String], in environment: [String: String]) -> HTTPClient.Configuration.Proxy? {
        guard let raw = names.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) else { return nil }
        guard let parts = URLComponents(string: raw.contains("://") ? raw : "http://" + raw),
              parts.scheme?.lowercased() == "http", let host = parts.host, !host.isEmpty else { return nil }
        let port = parts.port ?? 80
        if let user = parts.user {
            let credentials = Data("\(user.removingPercentEncoding ?? user):\(parts.password?.removingPercentEncoding ?? parts.password ?? "")".utf8).base64EncodedString()
            return .server(host: host, port: port, authorization: .basic(credentials: credentials))
        }
        return .server(host: host, port: port)
    }

    /// Whether `no_proxy` (comma-separated hosts, `.suffix` or `suffix` domains, or `*`) names `host`.
    static func bypasses(_ host: String, noProxy: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        for item in noProxy.split(separator: ",") {
            var e = item.trimmingCharacters(in: .whitespaces).lowercased()
            if e == "*" { return true }
            if e.hasPrefix(".") { e.removeFirst() }
            if let colon = e.lastIndex(of: ":"), !e.contains("]"), e.firstIndex(of: ":") == colon { e = String(e[..<colon]) }
            e = e.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            guard !e.isEmpty else { continue }
            if h == e || h.hasSuffix("." + e) { return true }
        }
        return false
    }
}
