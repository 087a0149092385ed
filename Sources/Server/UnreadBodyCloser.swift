import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose response has ended while its request's body has not: a `401`, `403`,
/// `413` or `429` answered before the body was read. Hummingbird then reads the rest of the body to
/// reach the next request, with no deadline, and each chunk resets the idle timer, so a client
/// without a token could send `Content-Length: 1000000000` and a byte every 20 s and hold the
/// connection (and its descriptor) for ever (found by helper-207). The response says
/// `Connection: close`, and the connection lingers as a web server's does: the rest of the body is
/// read and dropped until it ends or `drainSeconds` pass, and then the connection is closed. Closing
/// sooner, with the client still sending, resets the connection, and a client that fails on its
/// send never reads the answer: a 2 MiB upload to a 1 MiB limit was reported as "Broken pipe", not
/// as its `413`, when the drain stopped at 64 KiB.
/// Used only on its channel's event loop (handler calls and that loop's futures), hence `@unchecked Sendable`.
final class UnreadBodyCloser: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How long the rest of a body is read after the answer: bounded in time, not in bytes, so a
    /// fast client is read to its end, and a trickling one is let go.
    static let drainSeconds: Int64 = 5

    /// Request heads and ends read, and responses ended: response `n` answers request `n`, whatever
    /// the client pipelined after it (Hummingbird reads on without pipelining assistance, so "the
    /// request now open" may be the next one; found by helper-209).
    private var requestEnds = 0
    private var responseEnds = 0
    /// The request being answered has not ended.
    private var answeringOpenRequest: Bool { requestEnds <= responseEnds }
    /// A response ended with its request open: the connection is closing.
    private var closing = false
    /// That response has been written, and the output shut (a FIN, so the client reads it whole).
    private var answered = false
    /// The response being written told the client the connection closes.
    private var saidClose = false
    private var deadline: Scheduled<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .end = part { requestEnds += 1 }
        guard closing else { context.fireChannelRead(data); return }
        // Closing: this handler reads the rest and drops it. Hummingbird reads on only when the request
        // did not say `Connection: close`; when it did, nothing read, the client's send stalled, and the
        // deadline reset it ("Broken pipe" in place of the answer, found by helper-217). Nothing more
        // is answered on this connection, so nothing is passed on.
        // Read whole in the end: closed, but only once the answer is out (a close fails the writes
        // still pending).
        if case .end = part, answered { context.close(promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Reads asked for here go to the socket, past Hummingbird's handler, which asks for none
        // while its own queue is full.
        if closing { context.read() }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var part = unwrapOutboundIn(data)
        switch part {
        case .head(var head) where answeringOpenRequest && head.status.code >= 200:
            head.headerFields[.connection] = "close"
            saidClose = true
            part = .head(head)
        case .end:
            defer { responseEnds += 1 }
            // Closing as the head said, even if the body ended while the response was written.
            guard saidClose, !closing, context.channel.isActive else { break }
            closing = true
            let channel = context.channel
            deadline = context.eventLoop.scheduleTask(in: .seconds(Self.drainSeconds)) { channel.close(promise: nil) }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { [self] result in
                promise?.completeWith(result)
                answered = true
                // The answer is sent and the output shut (a FIN after it); the rest of the body is
                // read and dropped until it ends or the deadline. When it has ended already, the
                // client's own close ends the connection, or the deadline does: a full close now,
                // with a pipelined request unread, would reset it and could drop the answer still
                // in the kernel's buffer (helper-217).
                channel.close(mode: .output, promise: nil)
            }
            context.write(wrapOutboundOut(part), promise: written)
            context.read()
            return
        default:
            break
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }
}
