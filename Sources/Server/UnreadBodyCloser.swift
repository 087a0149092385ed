import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose response has ended while its request's body has not: a `401`, `403`,
/// `413` or `429` answered before the body was read. Hummingbird then reads the rest of the body to
/// reach the next request, with no deadline, and each chunk resets the idle timer, so a client
/// without a token could send `Content-Length: 1000000000` and a byte every 20 s and hold the
/// connection (and its descriptor) for ever (found by helper-207). The response says
/// `Connection: close`; up to `drainBytes` more, for `drainSeconds`, are read so the client sees the
/// answer rather than a reset, and then the connection is closed.
/// Used only on its channel's event loop (handler calls and that loop's futures), hence `@unchecked Sendable`.
final class UnreadBodyCloser: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let drainBytes = 64 << 10
    static let drainSeconds: Int64 = 5

    /// A request head was read and its end not yet.
    private var requestOpen = false
    /// The response ended with the request still open: the connection is closing.
    private var closing = false
    private var drained = 0
    private var deadline: Scheduled<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestOpen = true
        case .body(let b):
            if closing {
                drained += b.readableBytes
                if drained > Self.drainBytes { context.close(promise: nil) }
            }
        case .end:
            requestOpen = false
            // Read whole in the end: nothing more comes on this connection, once the answer is out.
            if closing, answered { context.close(promise: nil) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var part = unwrapOutboundIn(data)
        switch part {
        case .head(var head) where requestOpen && head.status.code >= 200:
            head.headerFields[.connection] = "close"
            part = .head(head)
        case .end where requestOpen && !closing:
            closing = true
            let channel = context.channel
            deadline = context.eventLoop.scheduleTask(in: .seconds(Self.drainSeconds)) { channel.close(promise: nil) }
            // Closed only once the answer is written: a close fails the writes still pending.
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { [self] result in
                promise?.completeWith(result)
                answered = true
                if !requestOpen { channel.close(promise: nil) }
            }
            context.write(wrapOutboundOut(part), promise: written)
            return
        default:
            break
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }

    /// The response that ended with the request open has been written.
    private var answered = false

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}
