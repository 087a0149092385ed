import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import ProvenantCore
import Synchronization

/// How the registry client may reach registries: which hosts may be spoken to over plain HTTP, and
/// the credentials for each host.
public struct RegistryOptions: Sendable {
    /// `HOST[:PORT]` entries (`--insecure-registry`). One with a port allows only that port; one without
    /// allows every port of that host. Every other host is reached over HTTPS only.
    public var insecureHosts: [String]
    public var credentials: RegistryCredentials
    /// When every request, and the reading of every answer, gives up (`--registry-timeout`), in
    /// monotonic nanoseconds (`DispatchTime`'s uptime, which `NIODeadline` counts in too); nil for no
    /// limit beyond each request's own. Each request is bounded by itself, but a run makes many
    /// (a referrer's manifest and bundle, 64 referrers), and a registry that answers each just in time
    /// would otherwise hold a run for hours.
    public var giveUpAt: UInt64?
    /// The `--registry-timeout` as given, for messages.
    public var timeoutText: String?

    public init(insecureHosts: [String] = [], credentials: RegistryCredentials = .none) {
        self.insecureHosts = insecureHosts.map { $0.lowercased() }; self.credentials = credentials
    }

    /// Gives up on every registry `seconds` from now (never, for 0).
    public mutating func giveUp(after seconds: Int, text: String) {
        giveUpAt = UptimeDeadline.after(seconds: seconds)
        timeoutText = text
    }

    /// Whether `hostPort` (`host:port`, port explicit) may be reached over plain HTTP.
    public func allowsPlainHTTP(_ hostPort: String) -> Bool {
        let hp = hostPort.lowercased()
        return insecureHosts.contains { entry in
            entry == hp || (!RegistryOptions.hasPort(entry) && RegistryOptions.hostOnly(hp) == entry)
        }
    }

    static func hasPort(_ hostPort: String) -> Bool {
        if hostPort.hasPrefix("[") { return hostPort.contains("]:") }
        return hostPort.contains(":")
    }

    static func hostOnly(_ hostPort: String) -> String {
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") { return String(hostPort[...close]) }
        return hostPort.split(separator: ":", maxSplits: 1).first.map(String.init) ?? hostPort
    }

    /// Checks an `--insecure-registry` value: a host, optionally with a port; nothing else.
    public static func validInsecureHost(_ text: String) -> Bool { RegistryHost.isValid(text) }
}

/// A manifest (or index) fetched from a registry, checked against its digest.
public struct FetchedManifest: Sendable {
    public var bytes: [UInt8]
    /// From the response's `Content-Type`, else the document's own `mediaType`.
    public var mediaType: String
    public var digest: String
    /// The response's `ETag`, for a conditional write (`If-Match`) of the same tag; nil when none was sent.
    public var etag: String? = nil
}

/// A client of one repository in an OCI Distribution v2 registry. It speaks HTTPS unless the host was
/// allowed plain HTTP, authenticates when a request is refused with a challenge (Bearer tokens from the
/// realm, or Basic), follows at most 5 redirects itself (sending credentials only to the registry's own
/// host, never to plain HTTP unless allowed), and checks every manifest and blob against its digest.
/// Credentials and tokens are never part of a message.
public final class RegistryClient: Sendable {
    public let host: String
    public let repository: String
    let options: RegistryOptions
    /// `https` or `http`.
    let scheme: String
    /// `host:port` of the API host, port explicit, to tell whether a URL goes to the registry itself.
    let apiHostPort: String
    let base: String
    /// The `Authorization` value that last worked, per access (`pull`, `pull,push`).
    let authorizations = Mutex<[String: String]>([:])

    public static let manifestTypes = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerList, MediaType.dockerManifest]
    static let maxRedirects = 5
    static let maxErrorBody = 64 << 10
    static let maxTokenResponse = 1 << 20
    /// A whole request for a manifest, token or small blob; a layer has longer, and relies on the read
    /// timeout to notice a stall.
    static let shortDeadline = TimeAmount.seconds(120)
    static let layerDeadline = TimeAmount.hours(6)
    /// The reading of an answer that is dropped or only named in an error (at most 64 KiB).
    static let leftoverDeadline = TimeAmount.seconds(30)
    /// A layer whose size is not given may be at most this large on disk.
    static let maxLayerBytes = 64 << 30

    /// `amount` from now, or the run's `--registry-timeout`, whichever comes first.
    func deadline(_ amount: TimeAmount) -> NIODeadline {
        let own = NIODeadline.now() + amount
        guard let at = options.giveUpAt else { return own }
        return min(own, NIODeadline.uptimeNanoseconds(at))
    }

    /// Whether the run's `--registry-timeout` has run out.
    var outOfTime: Bool { UptimeDeadline.passed(options.giveUpAt) }

    /// Why a request or a read stopped when the deadline that stopped it was the run's.
    func timedOut(_ subject: String) -> ImageError {
        ImageError(subject, "was not read: the --registry-timeout of \(options.timeoutText ?? "this run") ran out")
    }

    /// Runs `read` (the reading of a response's body) until `until`. AsyncHTTPClient's deadline ends
    /// once the head has come, and its read timeout only bounds the silence between two reads, so a
    /// registry sending a body a byte a minute would otherwise hold the run until the body's size limit
    /// was reached, which could be days. The read is cancelled when the deadline passes.
    func beforeDeadline<T: Sendable>(_ until: NIODeadline, subject: String, what: String,
                                     _ read: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await read() }
            group.addTask {
                let wait = until - NIODeadline.now()
                if wait > .zero { try? await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                if outOfTime { throw timedOut(subject) }
                throw ImageError(subject, "was not read: \(what) took longer than the registry is given")
            }
            return value
        }
    }

    /// One client for the process: it holds the connection pool and is never shut down. Redirects are
    /// followed by `RegistryClient` itself (AsyncHTTPClient's own would follow https to http);
    /// decompression stays off so digests cover the bytes as stored.
    static let http: HTTPClient = {
        var c = HTTPClient.Configuration()
        c.redirectConfiguration = .disallow
        c.timeout = .init(connect: .seconds(30), read: .seconds(120))
        c.decompression = .disabled
        // A refused connection or failed TLS handshake is reported at once, not retried until the
        // connect timeout: a CLI run should say what is wrong rather than wait 30 s to say it.
        c.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
    }()

    /// Why the client's event loops cannot start, checked once before its first use: SwiftNIO stops
    /// the process when it runs out of descriptors for them. Nil when they can (or it is not known).
    static let eventLoopRoom: String? = DescriptorHeadroom.shortfall(eventLoops: NIOSingletons.groupLoopCountSuggestion, for: "reaching a registry")

    public init(host: String, repository: String, options: RegistryOptions) throws(ImageError) {
        guard RegistryHost.isValid(host) else {
            throw ImageError("'\(Redactor.quote(host, max: 120))'", "is not a registry host (HOST[:PORT])")
        }
        guard !repository.isEmpty, repository.utf8.count <= 255,
              repository.split(separator: "/", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
              repository.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 || $0 == 47 }) else {
            throw ImageError("'\(Redactor.quote(repository, max: 120))'", "is not a repository name")
        }
        if let why = Self.eventLoopRoom { throw ImageError("registry \(host)", why) }
        self.host = host
        self.repository = repository
        self.options = options
        let api = host == "docker.io" ? "registry-1.docker.io" : host
        let plain = options.allowsPlainHTTP(RegistryOptions.hasPort(api) ? api : api + ":80")
        scheme = plain ? "http" : "https"
        apiHostPort = RegistryOptions.hasPort(api) ? api.lowercased() : api.lowercased() + (plain ? ":80" : ":443")
        base = "\(scheme)://\(api)/v2/\(repository)"
    }

    public convenience init(_ reference: RegistryReference, options: RegistryOptions) throws(ImageError) {
        try self.init(host: reference.host, repository: reference.repository, options: options)
    }

    /// `host/repository`, how messages name the repository.
    public var name: String { host + "/" + repository }

    // MARK: - Reading

    /// The manifest or index for a tag or digest. Fetched by digest, the bytes must hash to it; by tag,
    /// they must hash to the `Docker-Content-Digest` the registry sends, when it sends one.
    public func fetchManifest(_ reference: String, expectedSize: Int? = nil) async throws -> FetchedManifest {
        let byDigest = ImageDigest.isSHA256(reference)
        guard byDigest || Self.isTag(reference) else {
            throw ImageError("'\(Redactor.quote(reference, max: 120))'", "is neither a tag nor a sha256 digest")
        }
        let subject = name + (byDigest ? "@" : ":") + reference
        let response = try await send(.GET, base + "/manifests/" + reference, access: .pull, subject: subject,
                                      headers: [("Accept", Self.manifestTypes.joined(separator: ", "))])
        try await expect(response, [200], subject: subject)
        if let expectedSize, expectedSize > maxDocumentBytes {
            throw ImageError(subject, "is \(expectedSize) bytes, over the \(maxDocumentBytes >> 10) KiB a manifest may be")
        }
        let bytes = try await collect(response, limit: maxDocumentBytes, subject: subject, what: "a manifest")
        let digest = ImageDigest.of(bytes)
        if byDigest {
            guard digest == reference else { throw ImageError(subject, "has digest \(digest), not the \(reference) it is named by") }
        } else if let header = response.headers.first(name: "Docker-Content-Digest") {
            guard ImageDigest.isSHA256(header) else {
                throw ImageError(subject, "is sent with Docker-Content-Digest '\(echoed(header, max: 100))', which is not a sha256 digest this client can check")
            }
            guard header == digest else { throw ImageError(subject, "has digest \(digest), not the \(header) the registry says it has") }
        }
        if let expectedSize, bytes.count != expectedSize {
            throw ImageError(subject, "is \(bytes.count) bytes, not the \(expectedSize) its descriptor gives")
        }
        var mediaType = Self.contentType(response.headers)
        if !Self.manifestTypes.contains(mediaType) {
            // A registry that labels manifests loosely: the document's own mediaType, else its shape decides.
            if let declared = (try? JSONParser.parse(bytes))?["mediaType"]?.stringValue {
                mediaType = declared
            } else if mediaType == "application/json" || mediaType == "application/octet-stream" {
                mediaType = ""
            }
        }
        return FetchedManifest(bytes: bytes, mediaType: mediaType, digest: digest, etag: response.headers.first(name: "ETag"))
    }

    /// A small blob (a config, an attestation) read into memory and checked against its digest.
    public func fetchBlob(_ digest: String, limit: Int, expectedSize: Int? = nil) async throws -> [UInt8] {
        let subject = try blobSubject(digest)
        if let expectedSize, expectedSize > limit {
            throw ImageError(subject, "is \(expectedSize) bytes, over the \(limit >> 10) KiB it may be")
        }
        let response = try await send(.GET, base + "/blobs/" + digest, access: .pull, subject: subject)
        try await expect(response, [200], subject: subject)
        let bytes = try await collect(response, limit: limit, subject: subject, what: "this blob")
        if let expectedSize, bytes.count != expectedSize {
            throw ImageError(subject, "is \(bytes.count) bytes, not the \(expectedSize) its descriptor gives")
        }
        let got = ImageDigest.of(bytes)
        guard got == digest else { throw ImageError(subject, "has digest \(got), not the \(digest) it is named by") }
        return bytes
    }

    /// A layer streamed to an unlinked temporary file, hashed as it arrives; the stream returned reads
    /// that file. Nothing of the layer stays in memory, and the file is gone once the stream is.
    public func downloadBlob(_ digest: String, expectedSize: Int?) async throws -> ByteStream {
        let subject = try blobSubject(digest)
        let response = try await send(.GET, base + "/blobs/" + digest, access: .pull, subject: subject, deadline: Self.layerDeadline)
        try await expect(response, [200], subject: subject)
        let limit = expectedSize ?? Self.maxLayerBytes
        if let announced = Self.contentLength(response.headers) {
            if let expectedSize, announced != expectedSize {
                throw ImageError(subject, "is sent as \(announced) bytes, not the \(expectedSize) its descriptor gives")
            }
            guard announced <= limit else { throw ImageError(subject, "is sent as \(announced) bytes, over the \(limit >> 30) GiB a layer may be") }
        }
        let spool = try SpoolFile(subject: subject)
        let got: String, total: Int
        do {
            let body = response.body
            (got, total) = try await beforeDeadline(deadline(Self.layerDeadline), subject: subject, what: "the layer") {
                var hasher = SHA256()
                var total = 0
                for try await chunk in body {
                    let (sum, overflow) = total.addingReportingOverflow(chunk.readableBytes)
                    guard !overflow, sum <= limit else {
                        throw ImageError(subject, expectedSize != nil ? "is longer than the \(limit) bytes its descriptor gives" : "is larger than \(limit >> 30) GiB; not read")
                    }
                    total = sum
                    try chunk.withUnsafeReadableBytes { (raw) throws(ImageError) in
                        hasher.update(bufferPointer: raw)
                        try spool.append(raw)
                    }
                }
                return ("sha256:" + Hex.encode(hasher.finalize()), total)
            }
        } catch let e as ImageError {
            throw e
        } catch {
            throw ImageError(subject, "could not be downloaded: \(withoutCredentials(Self.describe(error)))")
        }
        if let expectedSize, total != expectedSize {
            throw ImageError(subject, "is \(total) bytes, not the \(expectedSize) its descriptor gives (truncated?)")
        }
        guard got == digest else { throw ImageError(subject, "has digest \(got), not the \(digest) it is named by") }
        return SharedRangeStream(SharedDescriptor(spool.take()), offset: 0, length: total, name: subject)
    }

    /// Whether the registry holds the blob (`HEAD`).
    public func blobExists(_ digest: String) async throws -> Bool {
        let subject = try blobSubject(digest)
        let response = try await send(.HEAD, base + "/blobs/" + digest, access: .pull, subject: subject)
        await discard(response)
        switch response.status.code {
        case 200: return true
        case 404: return false
        default:
            var e = ImageError(subject, "could not be looked up: the registry answered \(response.status.code)")
            e.status = response.status.code
            throw e
        }
    }

    /// The manifests that name `digest` as their subject, optionally only those of one artifact type:
    /// the OCI 1.1 referrers API, or, where the registry answers 404 to it, the referrers tag
    /// (`sha256-<hex>`, an index that clients keep up to date).
    public func referrers(of digest: String, artifactType: String? = nil) async throws -> [ImageDescriptor] {
        let listing = try await referrerListing(of: digest, artifactType: artifactType)
        if let unread = listing.unread { throw ImageError(name + "@" + digest + " referrers", unread) }
        return listing.descriptors
    }

    /// The referrers read, and why the rest could not be (a later page that failed, went to another
    /// host, came round again or was one too many): what was read is still checked, and the rest is
    /// said not to be (review, helper-162). A failure on the first page throws.
    public func referrerListing(of digest: String, artifactType: String? = nil) async throws -> (descriptors: [ImageDescriptor], unread: String?) {
        guard ImageDigest.isSHA256(digest) else { throw ImageError("'\(Redactor.quote(digest, max: 100))'", "is not a sha256 digest") }
        let subject = name + "@" + digest + " referrers"
        var url = base + "/referrers/" + digest
        if let artifactType { url += "?artifactType=" + PercentEncoding.encode(artifactType) }
        let response = try await send(.GET, url, access: .pull, subject: subject, headers: [("Accept", MediaType.ociIndex)])
        var listed: [ImageDescriptor]
        var unread: String?
        if response.status.code == 404 {
            await discard(response)
            let tag = Self.referrersTag(digest)
            guard try await manifestExists(tag) else { return ([], nil) }
            let fetched = try await fetchManifest(tag)
            listed = try ImageIndex(fetched.bytes, subject: name + ":" + tag).manifests
        } else {
            // The API may answer in pages, each naming the next in `Link: <URL>; rel="next"` (OCI
            // distribution 1.1): only the first was read, and a bundle on the second went unseen
            // (found by helper-160). Followed on this registry only, each page once, up to `maxReferrerPages`.
            try await expect(response, [200], subject: subject)
            var next = Self.nextPage(response.headers, after: url)
            listed = try ImageIndex(try await collect(response, limit: maxDocumentBytes, subject: subject, what: "a referrers index"), subject: subject).manifests
            var read: Set<String> = [url]
            while let pageURL = next {
                guard read.count < Self.maxReferrerPages else { unread = "names more than \(Self.maxReferrerPages) pages of referrers; the rest were not read"; break }
                guard Self.sameOrigin(pageURL, url) else { unread = "names its next page on another host; the rest were not read"; break }
                guard read.insert(pageURL).inserted else { unread = "names a page it has already sent as the next; the rest were not read"; break }
                do {
                    let page = try await send(.GET, pageURL, access: .pull, subject: subject, headers: [("Accept", MediaType.ociIndex)])
                    try await expect(page, [200], subject: subject)
                    next = Self.nextPage(page.headers, after: pageURL)
                    listed += try ImageIndex(try await collect(page, limit: maxDocumentBytes, subject: subject, what: "a referrers index"), subject: subject).manifests
                } catch let e as ImageError {
                    unread = "page \(read.count) could not be read (\(withoutCredentials(e.message))); the rest were not read"
                    break
                }
            }
        }
        guard let artifactType else { return (listed, unread) }
        return (listed.filter { $0.artifactType == artifactType }, unread)
    }

    static let maxReferrerPages = 16

    /// The `rel="next"` target of a `Link` header, resolved against the page it came with.
    /// Link values are `<URL>; param; …`, comma-separated; a comma inside `<…>` is the URL's own.
    static func nextPage(_ headers: HTTPHeaders, after url: String) -> String? { nextPage(links: headers["Link"], after: url) }

    public static func nextPage(links: [String], after url: String) -> String? {
        for header in links {
            var rest = Substring(header)
            while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
                let target = rest[rest.index(after: open)..<close]
                let tail = rest[rest.index(after: close)...]
                let end = tail.firstIndex(of: ",") ?? tail.endIndex
                // `rel` may hold several relations (`rel="prev next"`), and spaces around `=` (RFC 8288).
                let isNext = tail[..<end].split(separator: ";").contains { param in
                    let parts = param.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "rel" else { return false }
                    let value = parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    return value.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).contains("next")
                }
                if isNext { return resolve(String(target), against: url) }
                rest = tail[end...]
            }
        }
        return nil
    }

    /// Whether two URLs share scheme, host and port.
    public static func sameOrigin(_ a: String, _ b: String) -> Bool {
        guard let x = URL(string: a), let y = URL(string: b) else { return false }
        return x.scheme?.lowercased() == y.scheme?.lowercased() && hostPort(x) == hostPort(y)
    }

    /// Whether a tag or digest names a manifest in the repository (`HEAD`).
    public func manifestExists(_ reference: String) async throws -> Bool {
        guard ImageDigest.isSHA256(reference) || Self.isTag(reference) else {
            throw ImageError("'\(Redactor.quote(reference, max: 120))'", "is neither a tag nor a sha256 digest")
        }
        let subject = name + (ImageDigest.isSHA256(reference) ? "@" : ":") + reference
        let response = try await send(.HEAD, base + "/manifests/" + reference, access: .pull, subject: subject,
                                      headers: [("Accept", Self.manifestTypes.joined(separator: ", "))])
        await discard(response)
        switch response.status.code {
        case 200: return true
        case 404: return false
        default:
            var e = ImageError(subject, "could not be looked up: the registry answered \(response.status.code)")
            e.status = response.status.code
            throw e
        }
    }

    // MARK: - Writing

    /// Uploads a blob unless the registry has it already (`HEAD`): `POST` to open an upload, then one
    /// monolithic `PUT`. Returns its digest.
    @discardableResult
    public func pushBlob(_ bytes: [UInt8]) async throws -> String {
        let digest = ImageDigest.of(bytes)
        let subject = name + "@" + digest
        if try await blobExists(digest) { return digest }
        let opened = try await send(.POST, base + "/blobs/uploads/", access: .push, subject: subject,
                                    headers: [("Content-Length", "0")], body: [])
        try await expect(opened, [202], subject: subject)
        await discard(opened)
        guard let location = opened.headers.first(name: "Location"),
              let upload = Self.resolve(location, against: base + "/blobs/uploads/") else {
            throw ImageError(subject, "could not be uploaded: the registry gave no upload location")
        }
        let target = upload + (upload.contains("?") ? "&" : "?") + "digest=" + PercentEncoding.encode(digest)
        let put = try await send(.PUT, target, access: .push, subject: subject,
                                 headers: [("Content-Type", "application/octet-stream")], body: bytes)
        try await expect(put, [201], subject: subject)
        await discard(put)
        if let said = put.headers.first(name: "Docker-Content-Digest"), said != digest {
            throw ImageError(subject, "was stored as '\(echoed(said, max: 100))', not as the digest uploaded")
        }
        return digest
    }

    /// Uploads a manifest under a tag or its digest (`PUT`); the digest the registry answers with must
    /// be that of the bytes sent. Returns the digest. With `ifMatch` (the ETag the tag was read with), a
    /// registry that honours it refuses the write when the tag has changed since: an `ImageError` with
    /// status 412. Registries that ignore `If-Match` (distribution 2.8) store it regardless.
    @discardableResult
    public func pushManifest(_ bytes: [UInt8], mediaType: String, reference: String, ifMatch: String? = nil) async throws -> String {
        let digest = ImageDigest.of(bytes)
        let byDigest = ImageDigest.isSHA256(reference)
        guard byDigest || Self.isTag(reference) else {
            throw ImageError("'\(Redactor.quote(reference, max: 120))'", "is neither a tag nor a sha256 digest")
        }
        let subject = name + (byDigest ? "@" : ":") + reference
        guard bytes.count <= maxDocumentBytes else { throw ImageError(subject, "is \(bytes.count) bytes, over the \(maxDocumentBytes >> 10) KiB a manifest may be") }
        guard !byDigest || reference == digest else { throw ImageError(subject, "has digest \(digest), not the \(reference) it is to be stored as") }
        guard !mediaType.isEmpty, mediaType.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw ImageError(subject, "has media type '\(Redactor.quote(mediaType, max: 80))', which cannot be sent")
        }
        guard ifMatch.map({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 32 && $0 < 127 } }) ?? true else {
            throw ImageError(subject, "cannot be written conditionally: the ETag it was read with is not a header value")
        }
        let response = try await send(.PUT, base + "/manifests/" + reference, access: .push, subject: subject,
                                      headers: [("Content-Type", mediaType)] + (ifMatch.map { [("If-Match", $0)] } ?? []), body: bytes)
        if response.status.code == 412 {
            await discard(response)
            var e = ImageError(subject, "was changed by another writer since it was read (412 Precondition Failed)")
            e.status = 412
            throw e
        }
        try await expect(response, [201], subject: subject)
        await discard(response)
        if let said = response.headers.first(name: "Docker-Content-Digest"), said != digest {
            throw ImageError(subject, "was stored as '\(echoed(said, max: 100))', not as the \(digest) sent")
        }
        return digest
    }

    // MARK: - Requests, authentication and redirects

    enum Access: String { case pull, push = "pull,push" }

    /// Sends a request to the registry: with the authorization that worked before for this access,
    /// else anonymously; a 401 is answered once by following its challenge, then the request is sent again.
    func send(_ method: HTTPMethod, _ url: String, access: Access, subject: String,
              headers: [(String, String)] = [], body: [UInt8]? = nil,
              deadline: TimeAmount = RegistryClient.shortDeadline) async throws -> HTTPClientResponse {
        var challenged = false
        while true {
            let authorization = authorizations.withLock { $0[access.rawValue] }
            let (response, answeredBy) = try await followReporting(method, url, headers: headers, authorization: authorization, body: body,
                                                                   subject: subject, deadline: deadline)
            guard response.status.code == 401 else { return response }
            // Only the registry's own challenge is answered: a 401 from blob storage a redirect led to,
            // or from an upload location on another host, would otherwise name a realm of its choosing
            // and be sent the registry's password or identity token (found by helper-79). Docker and
            // containerd treat such a 401 as an error too.
            guard answeredBy == apiHostPort else {
                await discard(response)
                throw ImageError(subject, "was refused (401 Unauthorized) by \(answeredBy), which the registry \(apiHostPort) led to: only the registry's own challenge is answered with its credentials")
            }
            let challenges = response.headers["WWW-Authenticate"].flatMap(AuthChallenge.parse)
            await discard(response)
            if challenged || (authorization != nil && challenges.isEmpty) {
                throw ImageError(subject, "was refused (401 Unauthorized): the registry did not accept the credentials for \(host)")
            }
            challenged = true
            let value = try await authenticate(challenges, access: access, subject: subject)
            authorizations.withLock { $0[access.rawValue] = value }
        }
    }

    /// The `Authorization` value a challenge asks for: a Bearer token fetched from its realm, or Basic
    /// credentials. Without credentials, a Bearer realm is still asked (anonymous pulls get tokens too).
    func authenticate(_ challenges: [AuthChallenge], access: Access, subject: String) async throws -> String {
        let credential = options.credentials.credential(for: host)
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
            return "Bearer " + (try await fetchToken(bearer, credential: credential, access: access, subject: subject))
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            guard case .basic(let user, let password)? = credential else {
                throw ImageError(subject, credential == nil
                    ? "needs credentials for \(host), and none were given (set \(RegistryCredentials.environmentVariable) or log in with docker login)"
                    : "needs a user name and password for \(host); an identity token cannot answer a Basic challenge")
            }
            return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        }
        let schemes = challenges.map(\.scheme).joined(separator: ", ")
        throw ImageError(subject, "was refused (401 Unauthorized) with \(schemes.isEmpty ? "no challenge" : "only the challenge(s) '\(echoed(schemes, max: 80))'") this client can answer")
    }

    /// A token from the challenge's realm: `GET realm?service=…&scope=…`, with Basic credentials when
    /// there are some; with an identity token, the OAuth2 refresh-token `POST` instead. The answer's
    /// `token` (or `access_token`) is the bearer token.
    func fetchToken(_ challenge: AuthChallenge, credential: RegistryCredential?, access: Access, subject: String) async throws -> String {
        guard let realm = challenge.parameters["realm"], let realmURL = URL(string: realm),
              let realmScheme = realmURL.scheme?.lowercased(), realmURL.host != nil, realmURL.user == nil, Self.portIsValid(realm),
              realmScheme == "https" || realmScheme == "http" else {
            throw ImageError(subject, "was refused with a Bearer challenge whose realm is not an http(s) URL")
        }
        if realmScheme == "http" && !options.allowsPlainHTTP(Self.hostPort(realmURL)) {
            throw ImageError(subject, "was refused with a Bearer challenge whose token realm \(Self.hostPort(realmURL)) is plain HTTP; allow it with --insecure-registry \(Self.hostPort(realmURL))")
        }
        var scopes = ["repository:\(repository):\(access.rawValue)"]
        if let s = challenge.parameters["scope"], !s.isEmpty, !scopes.contains(s) { scopes.append(s) }
        let service = challenge.parameters["service"]
        let tokenSubject = "token realm \(Self.hostPort(realmURL)) for \(name)"
        var headers: [(String, String)] = []
        let response: HTTPClientResponse
        if case .identityToken(let refresh)? = credential {
            var form = "grant_type=refresh_token&client_id=provenant&refresh_token=" + PercentEncoding.encode(refresh)
            if let service { form += "&service=" + PercentEncoding.encode(service) }
            form += "&scope=" + PercentEncoding.encode(scopes.joined(separator: " "))
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            response = try await follow(.POST, realm, headers: headers, authorization: nil, body: Array(form.utf8),
                                        subject: tokenSubject, deadline: Self.shortDeadline)
        } else {
            var query: [String] = []
            if let service { query.append("service=" + PercentEncoding.encode(service)) }
            for s in scopes { query.append("scope=" + PercentEncoding.encode(s)) }
            let url = realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&")
            var authorization: String?
            if case .basic(let user, let password)? = credential {
                authorization = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
            }
            response = try await follow(.GET, url, headers: headers, authorization: authorization, body: nil,
                                        subject: tokenSubject, deadline: Self.shortDeadline, authorizationHost: Self.hostPort(realmURL))
        }
        if response.status.code == 401 || response.status.code == 403 {
            await discard(response)
            throw ImageError(subject, credential == nil
                ? "needs credentials for \(host): the token realm refused an anonymous token (\(response.status.code)); set \(RegistryCredentials.environmentVariable) or log in with docker login"
                : "was refused a token (\(response.status.code)): the token realm did not accept the credentials for \(host)")
        }
        try await expect(response, [200], subject: tokenSubject)
        let bytes = try await collect(response, limit: Self.maxTokenResponse, subject: tokenSubject, what: "a token answer")
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch { throw ImageError(tokenSubject, "answered with a token that is not JSON (\(error))") }
        let token = json["token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? json["access_token"]?.stringValue
        guard let token, !token.isEmpty else { throw ImageError(tokenSubject, "answered without a token") }
        guard token.utf8.count <= 64 << 10, token.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw ImageError(tokenSubject, "answered with a token that cannot be sent in a header")
        }
        return token
    }

    /// One request and the redirects it is answered with (at most 5, `GET` and `HEAD` only). The
    /// `Authorization` header goes only to `authorizationHost` (the registry's own host): a redirect
    /// elsewhere (to blob storage, say) drops it for good. Plain HTTP is refused for any host not
    /// allowed it, including a redirect's.
    func follow(_ method: HTTPMethod, _ start: String, headers: [(String, String)], authorization: String?, body: [UInt8]?,
                subject: String, deadline: TimeAmount, authorizationHost: String? = nil) async throws -> HTTPClientResponse {
        try await followReporting(method, start, headers: headers, authorization: authorization, body: body,
                                  subject: subject, deadline: deadline, authorizationHost: authorizationHost).response
    }

    /// `follow`, with the `host:port` that gave the final answer.
    func followReporting(_ method: HTTPMethod, _ start: String, headers: [(String, String)], authorization: String?, body: [UInt8]?,
                         subject: String, deadline: TimeAmount, authorizationHost: String? = nil) async throws -> (response: HTTPClientResponse, hostPort: String) {
        var url = start
        var method = method
        var body = body
        let authHost = authorizationHost ?? apiHostPort
        var authorization = authorization
        let until = self.deadline(deadline)
        for hop in 0...Self.maxRedirects {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), parsed.host != nil, parsed.user == nil, Self.portIsValid(url) else {
                throw ImageError(subject, "could not be requested: the URL the registry led to is not valid")
            }
            let hostPort = Self.hostPort(parsed)
            guard scheme == "https" || (scheme == "http" && options.allowsPlainHTTP(hostPort)) else {
                throw ImageError(subject, scheme == "http"
                    ? "could not be requested: \(hostPort) would be reached over plain HTTP; allow it with --insecure-registry \(hostPort)"
                    : "could not be requested: the registry led to a '\(echoed(scheme, max: 20))' URL")
            }
            if hostPort != authHost { authorization = nil }
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (k, v) in headers { request.headers.add(name: k, value: v) }
            request.headers.replaceOrAdd(name: "User-Agent", value: "provenant")
            if let authorization { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
            if let body { request.body = .bytes(body) }
            let response: HTTPClientResponse
            do {
                response = try await Self.http.execute(request, deadline: until)
            } catch {
                if outOfTime { throw timedOut(subject) }
                var why = "could not be requested from \(hostPort): \(withoutCredentials(Self.describe(error)))"
                if scheme == "https" && Self.looksLikeTLSFailure(error) {
                    why += " (if \(hostPort) serves plain HTTP, allow it with --insecure-registry \(hostPort))"
                }
                throw ImageError(subject, why)
            }
            let code = response.status.code
            guard [301, 302, 303, 307, 308].contains(code) else { return (response, hostPort) }
            await discard(response)
            guard method == .GET || method == .HEAD || (code == 303 && method == .POST) else {
                throw ImageError(subject, "was answered with a redirect (\(code)) to a \(method.rawValue); not followed")
            }
            guard hop < Self.maxRedirects else { throw ImageError(subject, "was redirected more than \(Self.maxRedirects) times; stopped") }
            guard let location = response.headers.first(name: "Location"), let next = Self.resolve(location, against: url) else {
                throw ImageError(subject, "was answered with a redirect (\(code)) without a usable Location")
            }
            if code == 303 && method == .POST { method = .GET; body = nil }
            url = next
        }
        throw ImageError(subject, "was redirected more than \(Self.maxRedirects) times; stopped")
    }

    /// Fails unless the response has one of the wanted statuses, naming what the registry said.
    func expect(_ response: HTTPClientResponse, _ wanted: [UInt], subject: String) async throws {
        let code = response.status.code
        guard !wanted.contains(code) else { return }
        let (detail, registryCode) = await errorDetail(response)
        var e: ImageError
        switch code {
        case 404: e = ImageError(subject, "was not found in the registry (404\(detail))")
        case 401, 403: e = ImageError(subject, "was refused (\(code)\(detail)); check the credentials for \(host)")
        case 429: e = ImageError(subject, "was refused (429 Too Many Requests\(detail)); the registry is rate limiting")
        default: e = ImageError(subject, "could not be read: the registry answered \(code)\(detail)")
        }
        e.status = code
        e.registryCode = registryCode
        throw e
    }

    /// `: CODE: message` from a registry's JSON error body, redacted and cut short, empty otherwise; and the code.
    func errorDetail(_ response: HTTPClientResponse) async -> (String, String?) {
        let body = response.body
        guard let buffer = try? await beforeDeadline(deadline(Self.leftoverDeadline), subject: "", what: "an error body", { try await body.collect(upTo: Self.maxErrorBody) }),
              let json = try? JSONParser.parse(buffer.readableBytesView),
              let first = json["errors"]?.arrayValue?.first else { return ("", nil) }
        let code = first["code"]?.stringValue ?? ""
        let message = first["message"]?.stringValue ?? ""
        let text = withoutCredentials([code, message].filter { !$0.isEmpty }.joined(separator: ": "))
        return (text.isEmpty ? "" : ", " + Redactor.quote(text, max: 160), code.isEmpty ? nil : Redactor.quote(withoutCredentials(code), max: 40))
    }

    /// A value the registry sent (a header, a media type), quoted for a message: without the
    /// credentials this client holds (a registry echoed the password in Docker-Content-Digest, and it was
    /// printed, found by helper-140), then through the redactor.
    func echoed(_ text: String, max: Int) -> String { Redactor.quote(withoutCredentials(text), max: max) }

    /// `text` (a registry's own words) without the credentials this client holds for its host or has
    /// sent it: a registry may echo what it was sent, and a plain password looks like any word to the
    /// redactor. The password, identity token, Basic value and Bearer tokens are each replaced, as
    /// sent and percent-encoded, in any letter case.
    public func withoutCredentials(_ text: String) -> String {
        var secrets: [String] = []
        switch options.credentials.credential(for: host) {
        case .basic(let user, let password)?:
            secrets += [password, Data("\(user):\(password)".utf8).base64EncodedString()]
        case .identityToken(let token)?: secrets.append(token)
        case nil: break
        }
        for value in authorizations.withLock({ Array($0.values) }) {
            secrets.append(value)
            if let space = value.firstIndex(of: " ") { secrets.append(String(value[value.index(after: space)...])) }
        }
        secrets += secrets.map { PercentEncoding.encode($0) }
        var out = text
        // Longest first, so a token is not left in part by a shorter secret inside it. In any case: a
        // registry that echoed the password upper-cased had it printed (found by helper-120).
        for secret in Set(secrets).filter({ $0.utf8.count >= 4 }).sorted(by: { $0.utf8.count > $1.utf8.count }) {
            out = out.replacingOccurrences(of: secret, with: Redactor.mark, options: [.caseInsensitive, .literal])
        }
        return out
    }

    func collect(_ response: HTTPClientResponse, limit: Int, subject: String, what: String) async throws -> [UInt8] {
        if let announced = Self.contentLength(response.headers), announced > limit {
            throw ImageError(subject, "is \(announced) bytes, over the \(limit >> 10) KiB \(what) may be")
        }
        do {
            let body = response.body
            let buffer = try await beforeDeadline(deadline(Self.shortDeadline), subject: subject, what: what) {
                try await body.collect(upTo: limit)
            }
            return Array(buffer.readableBytesView)
        } catch let e as ImageError {
            throw e
        } catch is NIOTooManyBytesError {
            throw ImageError(subject, "is larger than the \(limit >> 10) KiB \(what) may be; not read")
        } catch {
            throw ImageError(subject, "could not be read: \(withoutCredentials(Self.describe(error)))")
        }
    }

    /// Reads and drops what is left of a response we do not use, so its connection can serve again.
    func discard(_ response: HTTPClientResponse) async {
        let body = response.body
        _ = try? await beforeDeadline(deadline(Self.leftoverDeadline), subject: "", what: "what is left of an answer", { try await body.collect(upTo: Self.maxErrorBody) })
    }

    // MARK: - Pieces

    static func isTag(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && s.utf8.allSatisfy(RegistryReference.tagByte)
            && s.utf8.first != UInt8(ascii: ".") && s.utf8.first != UInt8(ascii: "-")
    }

    /// The referrers tag schema's tag for a digest: `sha256-<hex>`.
    public static func referrersTag(_ digest: String) -> String { "sha256-" + digest.dropFirst(7) }

    func blobSubject(_ digest: String) throws(ImageError) -> String {
        guard ImageDigest.isSHA256(digest) else { throw ImageError("'\(Redactor.quote(digest, max: 100))'", "is not a sha256 digest") }
        return name + "@" + digest
    }

    static func contentType(_ headers: HTTPHeaders) -> String {
        guard let v = headers.first(name: "Content-Type") else { return "" }
        return v.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    static func contentLength(_ headers: HTTPHeaders) -> Int? {
        guard let v = headers.first(name: "Content-Length"), !v.isEmpty, v.utf8.count <= 19,
              v.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(v)
    }

    /// Whether the port `url` spells, if any, is 1 to 65535. A larger one (`https://127.0.0.1:99999/`)
    /// passed every check, and the HTTP client's conversion of it trapped (found by helper-104); with a
    /// name, it wrapped to another port.
    public static func portIsValid(_ url: String) -> Bool {
        guard let start = url.range(of: "://")?.upperBound else { return true }
        let authority = url[start...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        let afterHost = hostPort.hasPrefix("[") ? hostPort[(hostPort.firstIndex(of: "]") ?? hostPort.endIndex)...].dropFirst() : hostPort
        guard let colon = afterHost.lastIndex(of: ":") else { return true }
        let digits = afterHost[afterHost.index(after: colon)...]
        if digits.isEmpty { return true }
        guard digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(digits) else { return false }
        return (1...65535).contains(port)
    }

    /// `host:port` with the scheme's port filled in, lower-cased.
    static func hostPort(_ url: URL) -> String {
        let scheme = url.scheme?.lowercased() ?? "https"
        var h = (url.host ?? "").lowercased()
        if h.contains(":") && !h.hasPrefix("[") { h = "[" + h + "]" }
        return h + ":" + String(url.port ?? (scheme == "http" ? 80 : 443))
    }

    /// A Location header resolved against the URL it answered; nil when it is not a URL.
    static func resolve(_ location: String, against url: String) -> String? {
        guard location.utf8.count <= 8192, location.utf8.allSatisfy({ $0 > 32 && $0 < 127 }),
              let base = URL(string: url), let next = URL(string: location, relativeTo: base)?.absoluteURL else { return nil }
        return next.absoluteString
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? ImageError { return e.message }
        let text = String(describing: error)
        // BoringSSL's errors carry source paths; the reason code is what a reader needs.
        if text.contains("handshakeFailed") || text.contains("BoringSSL") {
            var reason = Substring("")
            if let r = text.range(of: "OPENSSL_internal:") {
                reason = text[r.upperBound...].prefix { ($0.isASCII && ($0.isUppercase || $0.isNumber)) || $0 == "_" }
            }
            return "the TLS handshake failed" + (reason.isEmpty ? "" : " (\(reason))")
        }
        return Redactor.quote(text, max: 200)
    }

    static func looksLikeTLSFailure(_ error: any Error) -> Bool {
        let text = String(describing: error).lowercased()
        return text.contains("ssl") || text.contains("tls") || text.contains("handshake")
    }
}

/// An unlinked temporary file a layer is spooled into: `O_TMPFILE` in `$TMPDIR` (else `/tmp`), so it
/// has no name and vanishes when closed, even if the process dies; where the filesystem cannot make
/// one, a named file unlinked at once.
///
/// Unchecked `Sendable`: it is written by the one task that reads the layer's body, and handed over
/// (`take`) only after that task has ended.
final class SpoolFile: @unchecked Sendable {
    private var fd: Int32
    let subject: String

    init(subject: String) throws(ImageError) {
        self.subject = subject
        let env = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        let dir = env.isEmpty ? "/tmp" : env
        // O_TMPFILE is __O_TMPFILE | O_DIRECTORY; glibc's macro is not imported, its parts are.
        let tmpfile: Int32 = 0o20000000 | O_DIRECTORY
        var fd = open(dir, tmpfile | O_RDWR | O_CLOEXEC, 0o600)
        if fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
            var template = Array((dir + "/provenant-layer-XXXXXX").utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            }
        }
        guard fd >= 0 else {
            throw ImageError(subject, "cannot be spooled: no temporary file in '\(Redactor.quote(dir, max: 160))' (\(String(cString: strerror(errno))))")
        }
        self.fd = fd
    }

    deinit { if fd >= 0 { close(fd) } }

    func append(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageError(subject, "cannot be spooled to a temporary file: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// The descriptor, handed over: this object no longer closes it.
    func take() -> Int32 {
        let d = fd
        fd = -1
        return d
    }
}
