import Foundation
import NIOCore
import NIOPosix
import ProvenantCore
import Secrets
import Synchronization

/// One client connection: read and check the request, refuse it or dial the checked address, then
/// relay. Runs on the client channel's event loop; the upstream channel shares that loop, so the two
/// handlers talk without locks.
final class ProxyConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// `awaitingResponse`: a plain request went upstream; its response is relayed through `framer`,
    /// after which the connection reads the next request (keep-alive) or closes.
    enum State { case head, body(ProxyRequest, ProxyTarget, Int), scanning, dialing, hello(ProxyTarget), relaying, awaitingResponse, finished }

    let shared: ProxyShared
    var state = State.head
    var pending: [UInt8] = []
    var record = ProxyConnection.freshRecord(client: "")
    var started = NIODeadline.now()
    var headerTimer: Scheduled<Void>?
    var upstream: Channel?
    var counted = false
    var audited = false
    var clientInputClosed = false
    var upstreamInputClosed = false
    /// A CONNECT tunnel: bytes are relayed both ways as they come.
    var isTunnel = false
    /// The response being relayed for a plain request.
    var framer: ResponseFramer?
    /// Which destination the open upstream connection was dialled for: a following request to the same
    /// host, address and port reuses it.
    var upstreamKey: String?
    /// The request the pending upstream write belongs to, for reuse checks.
    var requestKey: String?
    /// Whether bytes of a request have arrived since the last one finished: the audit line of a
    /// keep-alive connection that then idles out is not written twice.
    var requestStarted = true
    var completed = 0
    var clientContext: ChannelHandlerContext?
    /// A CONNECT was answered 200: refusals after that close the connection instead of answering.
    var tunnelAcknowledged = false
    /// Bytes of the shared body budget this connection holds while its body arrives.
    var heldBody = 0

    init(shared: ProxyShared) { self.shared = shared }

    /// This connection's copy of the policy, taken again when a reload moved the generation on.
    private var policyCopy: (policy: EgressPolicy, generation: Int)?
    var policy: EgressPolicy {
        if let c = policyCopy, c.generation == shared.generation.load(ordering: .acquiring) { return c.policy }
        let (p, g) = shared.policySnapshot()
        policyCopy = (p, g)
        return p
    }

    /// A request's audit record before anything is decided: what is written if the client leaves first.
    static func freshRecord(client: String) -> AuditRecord {
        AuditRecord(time: Date(), client: client, method: "", host: "", port: 0, decision: "deny", rule: "incomplete",
                    reason: "the client closed before a decision")
    }

    /// A new request on this connection: a new record and a new clock.
    func startRecord() {
        record = Self.freshRecord(client: record.client)
        started = .now()
    }

    func channelActive(context: ChannelHandlerContext) {
        clientContext = context
        record.time = Date()
        started = .now()
        record.client = context.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
        guard shared.admitConnection() else {
            record.rule = "max-connections"; record.reason = "the connection limit (\(shared.options.maxConnections)) is reached"
            refuse(context, ProxyRefusal(status: 503, rule: "max-connections", reason: record.reason))
            return
        }
        counted = true
        armHeaderTimer(context)
        context.fireChannelActive()
    }

    /// The next request head (and body) must arrive within the header timeout; a keep-alive connection
    /// that stays idle that long is closed without an answer. Arming only moves the deadline: the one
    /// scheduled check per connection looks at it when it fires and, if the deadline moved on, waits
    /// again until then (a keep-alive connection re-arms on every request; scheduling and cancelling a
    /// task each time cost 4% of the proxy's time).
    func armHeaderTimer(_ context: ChannelHandlerContext) {
        let due = NIODeadline.now() + shared.options.headerTimeout
        headerDeadline = due
        let next = min(due, lastActivity + shared.options.idleTimeout)
        // The check may be waiting for the idle deadline, later than this one: bring it forward.
        if let at = checkAt, at > next { headerTimer?.cancel(); headerTimer = nil }
        if headerTimer == nil { scheduleCheck(context, at: next) }
    }

    /// Nothing more is awaited from the client for now: the pending check, when it fires, does nothing.
    func disarmHeaderTimer() { headerDeadline = nil }

    /// When the head (and body) awaited is late; nil while none is awaited.
    var headerDeadline: NIODeadline?
    /// When bytes last came from either side (or either side could take bytes again): a connection or
    /// tunnel quiet for the idle timeout is closed. One clock read per read, instead of a handler per
    /// channel that made a promise for every write.
    var lastActivity = NIODeadline.now()
    /// When the one scheduled check fires.
    var checkAt: NIODeadline?

    private func scheduleCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        checkAt = deadline
        headerTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (me, ctx) = loop.value
            me.headerTimer = nil
            me.checkAt = nil
            guard ctx.channel.isActive else { return }
            let now = NIODeadline.now()
            if let due = me.headerDeadline, due <= now {
                me.headerDeadline = nil
                switch me.state {
                case .head where !me.requestStarted && me.pending.isEmpty:
                    ctx.close(promise: nil); return
                case .head, .body, .hello:
                    me.refuse(ctx, ProxyRefusal(status: 408, rule: "header-timeout", reason: "the request did not arrive in time")); return
                default: break
                }
            }
            let idleDue = me.lastActivity + me.shared.options.idleTimeout
            if idleDue <= now { me.idleExpired(ctx); return }
            me.scheduleCheck(ctx, at: me.headerDeadline.map { min($0, idleDue) } ?? idleDue)
        }
    }

    /// No bytes either way for the idle timeout. An upstream that has not begun its answer gets the
    /// client a 504; anything else (a quiet tunnel, a response stalled midway) is closed.
    func idleExpired(_ context: ChannelHandlerContext) {
        if case .awaitingResponse = state, record.bytesDown == 0 {
            // Forgotten first: still current, its closing would answer 502.
            dropUpstream()
            refuse(context, ProxyRefusal(status: 504, rule: "upstream-timeout", reason: "the upstream did not answer within the idle timeout"))
            return
        }
        if case .finished = state {} else if !isTunnel { record.reason = "closed after the idle timeout" }
        state = .finished
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        headerTimer?.cancel()
        headerTimer = nil
        headerDeadline = nil
        upstream?.close(promise: nil)
        upstream = nil
        if counted { shared.releaseConnection(); counted = false }
        if heldBody > 0 { shared.releaseBody(heldBody); heldBody = 0 }
        if requestStarted { writeAudit() }
        state = .finished
        clientContext = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed {
            clientInputClosed = true
            switch state {
            case .finished:
                context.close(promise: nil)
            case .relaying where isTunnel:
                // Half-close: the client is done sending; the upstream may still answer. Bytes still
                // held for the hello check go first (releaseHeld closes then).
                if pending.isEmpty { upstream?.close(mode: .output, promise: nil) }
                if upstreamInputClosed { context.close(promise: nil) }
            case .relaying, .dialing, .awaitingResponse, .scanning: break
            default: context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    /// The client can take bytes again: resume reading the upstream.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        lastActivity = .now()
        if context.channel.isWritable, let up = upstream { Self.resumeReading(up) }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buf = unwrapInboundIn(data)
        lastActivity = .now()
        switch state {
        case .relaying:
            record.bytesUp += buf.readableBytes
            switch helloWatch {
            case .off: break
            case .serverFirst:
                // Held until the server's first flight is classified (bounded: a hello's worth).
                buf.withUnsafeReadableBytes { pending.append(contentsOf: $0) }
                if pending.count > Self.heldLimit { deny(context, "tls", "too many bytes before the server answered the ClientHello") }
                return
            case .secondHello:
                buf.withUnsafeReadableBytes { pending.append(contentsOf: $0) }
                checkSecondHello(context)
                return
            }
            if isTunnel, let up = upstream {
                // Flushed once per read batch (channelReadComplete), not per chunk.
                up.write(buf, promise: nil)
                upstreamNeedsFlush = true
                // Backpressure: stop reading the client while the upstream cannot take more.
                if !up.isWritable {
                    // Flushing may drain it (and fire writability before we pause): pause only if it is still full.
                    up.flush(); upstreamNeedsFlush = false
                    if !up.isWritable { Self.pauseReading(context.channel) }
                }
            }
            return
        case .finished:
            return
        default:
            break
        }
        if case .head = state, !requestStarted {
            // A new request on a kept-alive connection: a new audit record.
            requestStarted = true
            startRecord()
        }
        buf.withUnsafeReadableBytes { pending.append(contentsOf: $0) }
        advance(context)
    }

    /// The tunnel's writes to the upstream go out once per batch of reads from the client.
    var upstreamNeedsFlush = false
    /// Reading from the client stopped because a pipelined request filled a head's worth of `pending`.
    var pausedForPipelining = false

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush, let up = upstream { upstreamNeedsFlush = false; up.flush() }
        context.fireChannelReadComplete()
    }

    /// Where the head scan stopped in `pending`: a head that arrives in pieces is searched for its end
    /// from there, not from its start on every read.
    var headScanned = 0

    /// Moves the state machine on with what `pending` holds.
    func advance(_ context: ChannelHandlerContext) {
        switch state {
        case .head:
            // Until the head is complete (or holds a bare LF, or is too large) there is nothing to parse.
            guard ProxyRequest.headMayBeReady(pending, scanned: &headScanned) else { return }
            headScanned = 0
            switch ProxyRequest.parse(pending) {
            case .needMore: return
            case .invalid(let status, let reason):
                refuse(context, ProxyRefusal(status: status, rule: "malformed-request", reason: reason))
            case .request(let r):
                begin(context, r)
            }
        case .body(let r, let t, let length):
            guard pending.count >= r.headLength + length else { return }
            scanThenForward(context, r, t, length)
        case .hello(let t):
            checkHello(context, t)
        case .dialing where isTunnel:
            // Bytes that arrive while dialing wait in `pending` (bounded: a tunnel's first flight).
            if pending.count > Self.heldLimit { refuse(context, ProxyRefusal(status: 400, rule: "too-early", reason: "too many bytes before the tunnel opened")) }
        case .dialing, .scanning, .awaitingResponse:
            // A plain request's dial is its wait for a response: a pipelined request after it was
            // refused as "too many bytes before the tunnel opened", and the first one dropped (found
            // by helper-208). It waits as behind a scan.
            // A pipelined request waits for the scan and the response of the one before it. Past one
            // head's worth, reading stops until that response is done: the bytes were held outside the
            // body budget, 8 MiB a connection, and 60 connections took 312 MB (found by helper-116; the
            // scan's wait too, found by review). What a read already brought past the flood limit still
            // closes the connection.
            if pending.count > ProxyRequest.maxHead, !pausedForPipelining {
                pausedForPipelining = true
                Self.pauseReading(context.channel)
            }
            if pending.count > ProxyRequest.maxHead + shared.options.maxBody { context.close(promise: nil) }
        case .relaying, .finished:
            return
        }
    }

    func begin(_ context: ChannelHandlerContext, _ r: ProxyRequest) {
        record.method = r.method
        let target: ProxyTarget
        switch targetOf(r) {
        case .failure(let e):
            // The raw target may hold anything (a path with a token): only its host part, if any, is logged.
            record.host = ""
            refuse(context, e); return
        case .success(let t): target = t
        }
        record.host = target.host
        record.port = target.port
        let decision = policy.check(target.destination, port: target.port)
        guard decision.allowed else {
            refuse(context, ProxyRefusal(status: 403, rule: decision.rule, reason: decision.reason)); return
        }
        record.rule = decision.rule
        if r.method == "CONNECT" {
            // A plain request's upstream kept alive on this connection is not the tunnel's: closed,
            // forgotten first (its inactive handler then finds it is not current and ends quietly).
            dropUpstream()
            isTunnel = true
            tunnelTarget = target
            pending.removeFirst(r.headLength)
            // The tunnel is acknowledged first: the client sends its ClientHello only then.
            state = .hello(target)
            var ok = context.channel.allocator.buffer(capacity: 64)
            ok.writeString("HTTP/1.1 200 Connection Established\r\n\r\n")
            tunnelAcknowledged = true
            context.writeAndFlush(wrapOutboundOut(ok), promise: nil)
            checkHello(context, target)
            return
        }
        switch r.bodyLength() {
        case .failure(let e): refuse(context, e)
        case .success(let n):
            guard n <= shared.options.maxBody else {
                refuse(context, ProxyRefusal(status: 413, rule: "body-too-large", reason: "a body over \(shared.options.maxBody >> 20) MiB cannot be checked for secrets"))
                return
            }
            // Bodies held for the check share one budget across connections.
            guard shared.reserveBody(n) else {
                refuse(context, ProxyRefusal(status: 503, rule: "body-budget", reason: "too many request bodies are being held for checking; try again"))
                return
            }
            heldBody = n
            state = .body(r, target, n)
            // The guard takes the whole body before anything goes upstream, so it answers the client's
            // `Expect: 100-continue` itself, and the header is not passed on (found by helper-126: it
            // went upstream, whose interim 100 the response framer then refused).
            if n > 0, pending.count < r.headLength + n, r.header("expect").contains(where: { $0.lowercased() == "100-continue" }) {
                var go = context.channel.allocator.buffer(capacity: 32)
                go.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
                context.writeAndFlush(wrapOutboundOut(go), promise: nil)
            }
            advance(context)
        }
    }

    /// The last target admitted on this connection: `ProxyTarget.of` depends only on the method being
    /// CONNECT, the target and the Host headers, so a keep-alive request that repeats them gets the same
    /// answer without parsing them again. (The policy check still runs for every request.)
    var lastTarget: (connect: Bool, target: String, hosts: [String], value: ProxyTarget)?

    func targetOf(_ r: ProxyRequest) -> Result<ProxyTarget, ProxyRefusal> {
        let connect = r.method == "CONNECT"
        let hosts = r.header("host")
        if let c = lastTarget, c.connect == connect, c.target == r.target, c.hosts == hosts { return .success(c.value) }
        let result = ProxyTarget.of(r)
        if case .success(let t) = result { lastTarget = (connect, r.target, hosts, t) }
        return result
    }

    /// What a ClientHello says about a tunnel to `t`.
    enum HelloVerdict { case needMore, pass(length: Int), deny(rule: String, reason: String) }

    /// The ClientHello's server name must be the CONNECT host; a host name with no SNI is denied, and so
    /// is a hello that encrypts its name (ECH) unless `--allow-ech` has its outer name checked instead.
    func helloVerdict(_ bytes: [UInt8], _ t: ProxyTarget) -> HelloVerdict {
        var (outcome, length) = TLSClientHello.parseCounting(bytes)
        if case .encrypted(let outer) = outcome {
            guard shared.options.allowECH else {
                return .deny(rule: "ech", reason: "the ClientHello encrypts the name it asks for (ECH), which cannot be checked against the CONNECT host")
            }
            outcome = outer.map { .serverName($0) } ?? .noServerName
        }
        switch outcome {
        case .needMore:
            return bytes.count > Self.heldLimit ? .deny(rule: "tls", reason: "the ClientHello is too large") : .needMore
        case .invalid(let why):
            return .deny(rule: "not-tls", reason: "the tunnel did not start with a TLS ClientHello: \(why)")
        case .noServerName, .encrypted:
            if case .name = t.destination { return .deny(rule: "no-sni", reason: "a tunnel to a host name must name it in the ClientHello (SNI)") }
            return .pass(length: length)
        case .serverName(let sni):
            guard let d = try? Destination.parse(sni), d == t.destination else {
                return .deny(rule: "sni-mismatch", reason: "the ClientHello names another host than the CONNECT request")
            }
            return .pass(length: length)
        }
    }

    /// CONNECT: the first ClientHello is checked before anything is dialled.
    func checkHello(_ context: ChannelHandlerContext, _ t: ProxyTarget) {
        switch helloVerdict(pending, t) {
        case .needMore: return
        case .deny(let rule, let reason): deny(context, rule, reason)
        case .pass(let length):
            helloLength = length
            dial(context, t, first: nil)
        }
    }

    /// Bytes of `pending` that are the first ClientHello: only they go upstream when the tunnel opens.
    /// What the client sent after them waits until the server's first flight shows whether a second
    /// ClientHello (after a HelloRetryRequest) must be checked first.
    var helloLength = 0

    /// Whether the tunnel's TLS handshake is still watched: the server's first bytes, until they show
    /// whether they are a HelloRetryRequest; then the client's second ClientHello, held until checked
    /// as the first was (a client could otherwise name another host in it).
    enum HelloWatch { case off, serverFirst([UInt8]), secondHello }
    var helloWatch = HelloWatch.off
    var tunnelTarget: ProxyTarget?

    /// The server's first bytes in a tunnel, seen before the client gets them. Until they are
    /// classified, the client's bytes after its first ClientHello are held; a HelloRetryRequest has
    /// them checked as a second ClientHello, anything else lets them through.
    func watchServer(_ buf: ByteBuffer) {
        guard case .serverFirst(var seen) = helloWatch else { return }
        buf.withUnsafeReadableBytes { seen.append(contentsOf: $0.prefix(TLSClientHello.serverPrefix - seen.count)) }
        switch TLSClientHello.isHelloRetryRequest(seen) {
        case nil where seen.count >= TLSClientHello.serverPrefix:
            // A first flight that never says what it is: the client's held bytes are not sent unchecked.
            helloWatch = .off
            if let context = clientContext { deny(context, "tls", "the server's first flight could not be read as a TLS handshake") }
        case nil:
            helloWatch = .serverFirst(seen)
        case true?:
            helloWatch = .secondHello
            if let context = clientContext, !pending.isEmpty { checkSecondHello(context) }
        case false?:
            helloWatch = .off
            releaseHeld()
        }
    }

    /// The client's held bytes, sent on.
    func releaseHeld() {
        guard !pending.isEmpty, let up = upstream else { return }
        var b = up.allocator.buffer(capacity: pending.count)
        b.writeBytes(pending)
        pending = []
        up.writeAndFlush(b, promise: nil)
        if clientInputClosed { up.close(mode: .output, promise: nil) }
    }

    /// The client's bytes after a HelloRetryRequest: held until its second ClientHello is whole, then
    /// checked, and passed on only if it names the same host.
    func checkSecondHello(_ context: ChannelHandlerContext) {
        guard let t = tunnelTarget, upstream != nil else { return }
        guard let start = TLSClientHello.afterChangeCipherSpec(pending) else {
            if pending.count > Self.heldLimit { deny(context, "tls", "too many bytes before the second ClientHello") }
            return
        }
        switch helloVerdict(Array(pending[start...]), t) {
        case .needMore:
            if pending.count > Self.heldLimit { deny(context, "tls", "the second ClientHello is too large") }
        case .deny(let rule, let reason):
            // The record first: closing the client writes its audit line, and closes the upstream.
            deny(context, rule, "after a HelloRetryRequest: " + reason)
        case .pass:
            helloWatch = .off
            releaseHeld()
        }
    }

    /// Headers that `Connection` may not name: the ones that frame or route the request.
    static let protectedHeaders: Set<String> = ["host", "content-length", "content-type", "content-encoding", "transfer-encoding", "authorization"]
    /// Headers of this hop only, never passed upstream (the length is written anew).
    static let hopByHop: Set<String> = ["connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "content-length",
                                        "expect"]

    /// Plain HTTP: the whole request is checked for secrets off the event loop (a large body took a
    /// loop for seconds, and every connection on it waited: found by helper-126), then forwarded.
    func scanThenForward(_ context: ChannelHandlerContext, _ r: ProxyRequest, _ t: ProxyTarget, _ length: Int) {
        // A compressed body cannot be read for secrets here: refused, not passed unchecked.
        if let coding = r.header("content-encoding").first(where: { $0.lowercased() != "identity" }) {
            heldBody = 0
            shared.releaseBody(length)
            refuse(context, ProxyRefusal(status: 415, rule: "content-encoding", reason: "a \(coding)-encoded body cannot be checked for secrets"))
            return
        }
        state = .scanning
        // The request is moved out of `pending`, not copied (a copy held each body twice: found by
        // review); `pending` keeps only what follows it. The body stays held (`heldBody`) until the
        // scan is back, so a client that leaves meanwhile releases it.
        let total = r.headLength + length
        var moved = pending
        pending = total < moved.count ? Array(moved[total...]) : []
        moved.removeSubrange(total..<moved.count)
        let request = moved
        let engine = shared.engine
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let headLength = r.headLength
        let contentTypes = r.header("content-type")
        shared.scanPool.runIfActive(eventLoop: context.eventLoop) {
            request.withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: headLength, contentTypes: contentTypes) }
        }.whenComplete { result in
            let (me, ctx) = loop.value
            guard case .scanning = me.state, ctx.channel.isActive else { return }
            me.heldBody = 0
            switch result {
            case .success(let verdict): me.forward(ctx, r, t, length, request: request, verdict: verdict)
            case .failure:
                me.shared.releaseBody(length)
                me.refuse(ctx, ProxyRefusal(status: 503, rule: "leak:unchecked", reason: "the request could not be checked for secrets; nothing was sent"))
            }
        }
    }

    /// The checked request: refused with what the scan found, or sent upstream in origin-form.
    func forward(_ context: ChannelHandlerContext, _ r: ProxyRequest, _ t: ProxyTarget, _ length: Int, request: [UInt8], verdict: LeakCheck.Verdict) {
        defer { shared.releaseBody(length) }
        let total = r.headLength + length
        if verdict.rule == nil, !verdict.complete {
            // Not every candidate could be checked within the engine's budget: refused, not passed unchecked.
            refuse(context, ProxyRefusal(status: 403, rule: "leak:unchecked", reason: verdict.unchecked ?? "the request's keywords repeat too densely to check it for secrets; nothing was sent"))
            return
        }
        if let rule = verdict.rule {
            refuse(context, ProxyRefusal(status: 403, rule: "leak:\(rule)", reason: "the request carries a secret (\(rule)); nothing was sent"))
            return
        }
        let connectionTokens = Set(r.header("connection").flatMap { $0.lowercased().split(separator: ",").map { ProxyRequest.trimmed($0) } })
        // `Connection` may name hop-by-hop headers to drop, never the ones that frame or route the request.
        if let named = connectionTokens.first(where: Self.protectedHeaders.contains) {
            refuse(context, ProxyRefusal(status: 400, rule: "connection-header", reason: "Connection names the end-to-end header \(named)"))
            return
        }
        // The request in origin-form, written straight into the buffer that goes upstream.
        var out = context.channel.allocator.buffer(capacity: total + 64)
        out.writeString(r.method)
        out.writeStaticString(" ")
        out.writeString(t.path)
        out.writeStaticString(" HTTP/1.1\r\n")
        // An HTTP/1.0 request may come without Host; HTTP/1.1 upstream needs one, from the URL.
        if r.header("host").isEmpty {
            out.writeStaticString("Host: ")
            out.writeString(t.port == 80 ? t.host : "\(t.host):\(t.port)")
            out.writeStaticString("\r\n")
        }
        for (name, value) in r.headers {
            let n = name.lowercased()
            if Self.hopByHop.contains(n) || connectionTokens.contains(n) { continue }
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        // One Content-Length, the one the body was read by.
        if length > 0 || !r.header("content-length").isEmpty {
            out.writeStaticString("Content-Length: ")
            out.writeString(String(length))
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
        if length > 0 { _ = request.withUnsafeBytes { out.writeBytes(UnsafeRawBufferPointer(rebasing: $0[r.headLength..<total])) } }
        let keepAlive = r.version == "HTTP/1.1" && !connectionTokens.contains("close")
        framer = ResponseFramer(requestMethod: r.method, clientKeepsAlive: keepAlive)
        // The open upstream connection is reused only for the same host and port (the address it was
        // dialled at was admitted for that name); anything else is dialled, resolved, and checked anew.
        let key = "\(t.host)|\(t.port)"
        requestKey = key
        if let up = upstream, up.isActive, upstreamKey == key, let ip = upstreamIP {
            // The address it was dialled at is admitted again, under the policy as it is now: a reload
            // that removed the rule which let it through closes it (found by helper-126).
            let d: EgressPolicy.Decision
            if case .name(let n) = t.destination { d = policy.admit(ip, name: n, port: t.port) } else { d = policy.check(.address(ip), port: t.port) }
            guard d.allowed else {
                dropUpstream()
                record.address = ip.description
                refuse(context, ProxyRefusal(status: 403, rule: d.rule, reason: d.reason))
                return
            }
            state = .awaitingResponse
            disarmHeaderTimer()
            record.decision = "allow"; record.reason = "forwarded (connection reused)"
            record.address = upstreamAddress
            record.rule = d.rule
            record.bytesUp += out.readableBytes
            up.writeAndFlush(out, promise: nil)
            return
        }
        upstream?.close(promise: nil)
        upstream = nil
        upstreamKey = nil
        dial(context, t, first: out)
    }

    /// The address the open upstream connection was dialled at, for the audit lines of reused requests.
    var upstreamAddress: String?
    /// The same address, admitted again for each request that reuses the connection.
    var upstreamIP: IPAddress?

    /// Resolves (once) and admits each address, then connects to the first admitted one: the address
    /// checked is the address dialled.
    func dial(_ context: ChannelHandlerContext, _ t: ProxyTarget, first: ByteBuffer?) {
        state = .dialing
        disarmHeaderTimer()
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let policy = self.policy
        let resolver = shared.resolver
        let addresses: EventLoopFuture<[IPAddress]>
        switch t.destination {
        case .address(let a): addresses = context.eventLoop.makeSucceededFuture([a])
        case .name(let n): addresses = shared.threadPool.runIfActive(eventLoop: context.eventLoop) { resolver.resolve(n) }
        case .nonCanonicalIPv4: addresses = context.eventLoop.makeSucceededFuture([])
        }
        addresses.whenComplete { result in
            let (me, ctx) = loop.value
            guard case .dialing = me.state else { return }
            let found = (try? result.get()) ?? []
            guard !found.isEmpty else { me.refuse(ctx, ProxyRefusal(status: 502, rule: "unresolved", reason: "\(t.host) does not resolve")); return }
            var chosen: IPAddress?
            var firstDenial: EgressPolicy.Decision?
            for a in found {
                let d: EgressPolicy.Decision
                if case .name(let n) = t.destination { d = policy.admit(a, name: n, port: t.port) } else { d = policy.check(.address(a), port: t.port) }
                if d.allowed { chosen = a; me.record.rule = d.rule; break }
                if firstDenial == nil { firstDenial = d }
            }
            guard let address = chosen else {
                let d = firstDenial!
                me.record.address = found.first?.description
                me.refuse(ctx, ProxyRefusal(status: 403, rule: d.rule, reason: d.reason))
                return
            }
            me.record.address = address.description
            me.connect(ctx, address, t.port, first: first)
        }
    }

    func connect(_ context: ChannelHandlerContext, _ address: IPAddress, _ port: Int, first: ByteBuffer?) {
        let socket: SocketAddress
        do { socket = try SocketAddress(ipAddress: address.description, port: port) }
        catch { refuse(context, ProxyRefusal(status: 502, rule: "address", reason: "cannot use \(address)")); return }
        let client = context.channel
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(shared.options.connectTimeout)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(UpstreamRelay(connection: loop.value.0, client: client))
                }
            }
            .connect(to: socket)
            .whenComplete { result in
                let (me, ctx) = loop.value
                switch result {
                case .failure(let e):
                    me.refuse(ctx, ProxyRefusal(status: 502, rule: "upstream-unreachable", reason: "cannot connect to \(address) port \(port): \(e)"))
                case .success(let up):
                    guard ctx.channel.isActive, case .dialing = me.state else { up.close(promise: nil); return }
                    if me.upstream !== up { me.dropUpstream() }
                    me.upstream = up
                    me.upstreamInputClosed = false
                    me.upstreamKey = me.isTunnel ? nil : me.requestKey
                    me.upstreamAddress = me.record.address
                    me.upstreamIP = address
                    me.state = me.isTunnel ? .relaying : .awaitingResponse
                    me.record.decision = "allow"
                    me.record.reason = me.isTunnel ? "tunnel opened" : "forwarded"
                    // A tunnel sends the first ClientHello; what the client sent after it (while dialling
                    // too) waits until the server's first flight is classified.
                    me.lastActivity = .now()
                    let b: ByteBuffer
                    if me.isTunnel {
                        let n = min(max(me.helloLength, 0), me.pending.count)
                        var t = up.allocator.buffer(capacity: n)
                        t.writeBytes(me.pending[..<n])
                        me.pending.removeFirst(n)
                        b = t
                        Self.tuneForTunnel(ctx.channel)
                        Self.tuneForTunnel(up)
                        me.helloWatch = .serverFirst([])
                    } else {
                        b = first ?? up.allocator.buffer(capacity: 0)
                    }
                    me.record.bytesUp += b.readableBytes
                    up.writeAndFlush(b, promise: nil)
                    if me.clientInputClosed && me.isTunnel && me.pending.isEmpty { up.close(mode: .output, promise: nil) }
                }
            }
    }

    /// The most client bytes held before a tunnel is open or while a ClientHello is checked: one
    /// hello at its largest, and a little more.
    static let heldLimit = TLSClientHello.maxHello + 1024

    /// Forgets the upstream, then closes it: closing runs its inactive handler at once, which must
    /// find it no longer current (or it would answer for it, or close the client).
    func dropUpstream() {
        let up = upstream
        upstream = nil; upstreamKey = nil
        up?.close(promise: nil)
    }


    /// Response bytes from the upstream of a plain request: framed, passed to the client, and at the
    /// response's end either the next request is read or the connection closes.
    func upstreamBytes(_ buf: ByteBuffer, from up: Channel) {
        guard let context = clientContext, case .awaitingResponse = state, var f = framer, upstream === up else {
            // Bytes from an upstream with no request outstanding: it is not trusted again.
            up.close(promise: nil)
            if upstream === up { upstream = nil; upstreamKey = nil }
            return
        }
        // The framed bytes are written straight into the buffer for the client.
        var b = context.channel.allocator.buffer(capacity: buf.readableBytes + 64)
        var failure: ResponseFramer.Failure?
        let done = buf.withUnsafeReadableBytes { raw -> Bool in
            do throws(ResponseFramer.Failure) { return try f.feed(raw, into: &b) } catch { failure = error; return false }
        }
        if let failure {
            record.decision = "deny"; record.rule = "bad-response"; record.reason = "the upstream's response could not be framed: \(failure.reason)"
            // Forgotten before it is closed: its close handler would otherwise answer 502 for it and
            // audit that instead (found by helper-126).
            upstream = nil; upstreamKey = nil
            up.close(promise: nil)
            state = .finished
            context.close(promise: nil)
            return
        }
        framer = f
        record.bytesDown += b.readableBytes
        context.writeAndFlush(wrapOutboundOut(b), promise: nil)
        if !context.channel.isWritable { Self.pauseReading(up) }
        if done { responseFinished(context, f) }
    }

    /// One request and its response are done: audit, then keep or close each side.
    func responseFinished(_ context: ChannelHandlerContext, _ f: ResponseFramer) {
        completed += 1
        writeAudit()
        framer = nil
        if !f.upstreamReusable { upstream?.close(promise: nil); upstream = nil; upstreamKey = nil }
        guard f.reusable else {
            state = .finished
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        state = .head
        audited = false
        if pausedForPipelining { pausedForPipelining = false; Self.resumeReading(context.channel) }
        requestStarted = !pending.isEmpty
        if requestStarted {
            startRecord()
        }
        armHeaderTimer(context)
        if clientInputClosed { context.close(promise: nil); return }
        advance(context)
    }

    /// The upstream finished sending.
    func upstreamInputEnded(_ up: Channel) {
        // `upstreamInputClosed` is a tunnel's mark, set by the tunnel's own upstream: an earlier request's
        // upstream ending (as a CONNECT replaces it) must not make the tunnel close at the client's FIN.
        guard !isTunnel, let context = clientContext else { return }
        // An upstream replaced by a later request's, or already handled, ends quietly.
        guard let current = upstream, current === up else { up.close(promise: nil); return }
        dropUpstream()
        guard case .awaitingResponse = state else { return }
        if let f = framer, f.phase == .untilClose {
            // The body ran to the end of the stream: that was its end.
            responseFinished(context, f)
        } else if record.bytesDown == 0 {
            refuse(context, ProxyRefusal(status: 502, rule: "upstream-closed", reason: "the upstream closed without answering"))
        } else {
            record.reason = "the upstream closed before its response ended"
            state = .finished
            context.close(promise: nil)
        }
    }

    /// Closes a tunnel after its ClientHello was refused: the 200 has been sent, so no 403 can follow.
    func deny(_ context: ChannelHandlerContext, _ rule: String, _ reason: String) {
        record.decision = "deny"; record.rule = rule; record.reason = reason
        state = .finished
        context.close(promise: nil)
    }

    /// Answers with `status`, a reason header and a short body, then closes. Inside a tunnel that was
    /// already acknowledged (200 sent), an HTTP answer would land in the client's TLS stream: it closes.
    func refuse(_ context: ChannelHandlerContext, _ r: ProxyRefusal) {
        guard context.channel.isActive else { state = .finished; return }
        if tunnelAcknowledged { deny(context, r.rule, r.reason); return }
        record.decision = "deny"; record.rule = r.rule; record.reason = r.reason
        state = .finished
        // " - " rather than ": ", which the redactor would read as an assignment after a rule id ending in _TOKEN.
        // Masked as the audit line is, with the known values too: a `--known` value sent as a host name
        // came back whole in the header and body, which only the redactor had seen (found by helper-141).
        let engine = shared.engine
        let host = record.host
        let reason = Self.headerSafe(Self.hidingHost(host, masked: LeakView.masked(host, engine), in: LeakView.masked("\(r.rule) - \(r.reason)", engine)))
        let body = "provenant guard: denied: \(reason)\n"
        var b = context.channel.allocator.buffer(capacity: 256 + body.utf8.count)
        b.writeString("HTTP/1.1 \(r.status) \(Self.phrase(r.status))\r\nX-Provenant-Decision: deny\r\nX-Provenant-Reason: \(reason)\r\n")
        b.writeString("Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        record.bytesDown += b.readableBytes
        // A lingering close: stop sending, keep reading (and dropping) what the client still sends for a
        // moment, so the kernel does not reset the connection and discard the answer before it is read.
        // A client paused for pipelining is read again for that (helper-118).
        if pausedForPipelining { pausedForPipelining = false; Self.resumeReading(context.channel) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(b)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
        // A client that does not read may never let that write finish: the connection is closed
        // anyway once the header timeout has passed again.
        channel.eventLoop.scheduleTask(in: shared.options.headerTimeout) { channel.close(promise: nil) }
    }

    func writeAudit() {
        guard !audited else { return }
        audited = true
        // Without an audit log the record goes nowhere: nothing to mask or write.
        guard let audit = shared.audit, let loop = clientContext?.eventLoop ?? upstream?.eventLoop else {
            if let audit = shared.audit { auditNow(audit) }
            return
        }
        // Host and reason carry client text: the known values and rules of the leak check mask it too.
        // A keep-alive connection asks the same of them request after request: the answers are memoized.
        let engine = shared.engine
        maskHostAndReason { s in masks.value(s) { LeakView.masked($0, engine) } }
        record.duration = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        let redactions = self.redactions
        audit.record(record, on: loop) { s in redactions.value(s, Redactor.redact) }
    }

    /// The audit line written at once (no event loop to batch it on).
    private func auditNow(_ audit: AuditLog) {
        let engine = shared.engine
        maskHostAndReason { LeakView.masked($0, engine) }
        record.duration = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        audit.record(record)
    }

    /// The record's host, method and reason through `mask`, and the host the reason quotes hidden as the
    /// host was. The method is client text too: a `--known` value made of token characters is a valid
    /// method, and reached the audit line whole (found by helper-141).
    private func maskHostAndReason(_ mask: (String) -> String) {
        record.method = mask(record.method)
        let host = record.host
        record.host = mask(host)
        record.reason = Self.hidingHost(host, masked: record.host, in: mask(record.reason))
    }

    /// `reason` with the host it quotes masked as the host was. The reason quotes the name normalized,
    /// lowercased, where the engine no longer finds a known value given in other case: a secret sent as
    /// a host name reached the audit log with only its case lost (found by helper-101).
    static func hidingHost(_ host: String, masked: String, in reason: String) -> String {
        let bare = host.hasSuffix(".") ? String(host.dropLast()) : host
        guard masked != host, !bare.isEmpty else { return reason }
        let hidden = masked.hasSuffix(".") && !bare.hasSuffix(".") ? String(masked.dropLast()) : masked
        return reason.replacingOccurrences(of: bare, with: hidden, options: .caseInsensitive)
    }

    /// Per connection: what the leak check's masking and the redactor made of a string (both pure).
    lazy var masks = Memo()
    lazy var redactions = Memo()

    /// A few strings and what a pure function made of them, for one connection (one event loop).
    final class Memo {
        private var entries: [String: String] = [:]
        func value(_ s: String, _ f: (String) -> String) -> String {
            if let v = entries[s] { return v }
            let v = f(s)
            if entries.count >= 16 { entries.removeAll(keepingCapacity: true) }
            entries[s] = v
            return v
        }
    }

    /// A tunnel carries bulk data: reads of up to 512 KiB (NIO's default stops at 64 KiB), and room for
    /// one read in the outbound buffer before reading the other side pauses. So a tunnel holds at most
    /// about 1 MiB per direction in the proxy whatever its peers do (measured on loopback here: 64 KiB
    /// reads gave 750-900 MB/s, 512 KiB 1,050-1,350 MB/s).
    static func tuneForTunnel(_ channel: Channel) {
        guard let sync = channel.syncOptions else { return }
        try? sync.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: tunnelRead >> 3, maximum: tunnelRead))
        try? sync.setOption(.writeBufferWaterMark, value: .init(low: tunnelRead / 2, high: tunnelRead))
    }
    static let tunnelRead = 512 << 10

    /// Backpressure, both ways: autoRead off while the other side cannot take more, on once it can.
    static func pauseReading(_ channel: Channel) {
        if let sync = channel.syncOptions { try? sync.setOption(.autoRead, value: false) }
        else { channel.setOption(.autoRead, value: false).whenFailure { _ in } }
    }
    static func resumeReading(_ channel: Channel) {
        if let sync = channel.syncOptions { try? sync.setOption(.autoRead, value: true) }
        else { channel.setOption(.autoRead, value: true).whenFailure { _ in } }
    }

    /// Printable ASCII only, and redacted: a header value that cannot split the response or carry a secret.
    static func headerSafe(_ s: String) -> String {
        String(String(decoding: Array(Redactor.redact(s).utf8).map { $0 >= 32 && $0 < 127 ? $0 : 63 }, as: UTF8.self).prefix(300))
    }

    static func phrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 431: "Request Header Fields Too Large"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }
}

/// The upstream side of a relay. In a tunnel every byte goes to the client and the end of the
/// upstream's data half-closes the client's side; for plain requests the bytes go through the
/// connection's response framer, and an upstream that ends or fails between requests is just dropped.
final class UpstreamRelay: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let connection: ProxyConnection
    let client: Channel

    init(connection: ProxyConnection, client: Channel) { self.connection = connection; self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buf = unwrapInboundIn(data)
        connection.lastActivity = .now()
        if connection.isTunnel {
            // An upstream that is no longer the connection's (a plain request's, replaced by the
            // tunnel) never writes into the tunnel.
            guard isCurrent(context) else { context.close(promise: nil); return }
            connection.record.bytesDown += buf.readableBytes
            // Seen before the client has it: a HelloRetryRequest is known before a second hello can come.
            connection.watchServer(buf)
            // Flushed once per read batch (channelReadComplete), not per chunk.
            client.write(buf, promise: nil)
            clientNeedsFlush = true
            // Backpressure: stop reading the upstream while the client cannot take more.
            if !client.isWritable {
                // Flushing may drain it (and fire writability before we pause): pause only if it is still full.
                client.flush(); clientNeedsFlush = false
                if !client.isWritable { ProxyConnection.pauseReading(context.channel) }
            }
        } else {
            connection.upstreamBytes(buf, from: context.channel)
        }
    }

    var clientNeedsFlush = false

    /// Whether this upstream is the one the connection relays to now.
    func isCurrent(_ context: ChannelHandlerContext) -> Bool { connection.upstream === context.channel }

    func channelReadComplete(context: ChannelHandlerContext) {
        if clientNeedsFlush { clientNeedsFlush = false; client.flush() }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed {
            if connection.isTunnel {
                guard isCurrent(context) else { context.close(promise: nil); return }
                connection.upstreamInputClosed = true
                if !connection.clientInputClosed { client.close(mode: .output, promise: nil) } else { context.close(promise: nil); client.close(promise: nil) }
            } else {
                connection.upstreamInputEnded(context.channel)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if connection.isTunnel {
            if isCurrent(context) { client.close(promise: nil) }
        } else {
            connection.upstreamInputEnded(context.channel)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let current = isCurrent(context)
        context.close(promise: nil)
        if connection.isTunnel && current { client.close(promise: nil) }
    }

    /// The upstream can take bytes again: resume reading the client.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.lastActivity = .now()
        // Not while the client is paused for pipelining: that pause ends when the answer is done, and
        // resuming here undid it after a large body (found by helper-117).
        if context.channel.isWritable, isCurrent(context), !connection.pausedForPipelining { ProxyConnection.resumeReading(client) }
        context.fireChannelWritabilityChanged()
    }
}
