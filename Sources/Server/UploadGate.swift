import Foundation
import Hummingbird
import NIOCore

/// The request bodies the server reads at once, and how slowly one may arrive. Each body is read
/// whole before it is parsed, so without a bound any ingest token could hold the server's memory with
/// many slow uploads (ten 61 MiB bodies that never finish took 620 MB, and one trickling two bytes
/// every five seconds was never closed; found by helper-114).
public final class UploadGate: @unchecked Sendable {
    /// Bytes of bodies being read or processed, server-wide.
    public let capacity: Int
    /// A body must arrive at this rate on average, after a grace period.
    public static let minimumBytesPerSecond = 16 << 10
    public let graceSeconds: Double
    private var inUse = 0
    /// Bytes held by each token (by its hash; "" for requests without one).
    private var heldBy: [String: Int] = [:]
    private let lock = NSLock()

    public init(capacity: Int, graceSeconds: Double = 30) { self.capacity = capacity; self.graceSeconds = graceSeconds }

    enum Reservation: Equatable { case granted, full, holderFull }

    /// What one token may hold at once: half the gate, or one body of `limit` when the gate holds less
    /// than two. A body trickling at the minimum rate may take an hour (61 MiB at 16 KiB/s), so without a
    /// share one token's slow uploads held the whole gate and every other agent got 503 for that long.
    func share(limit: Int) -> Int { max(capacity / 2, min(limit, capacity)) }

    func reserve(_ bytes: Int, holder: String = "", limit: Int = 0) -> Reservation {
        lock.lock(); defer { lock.unlock() }
        guard bytes <= capacity - inUse else { return .full }
        let held = heldBy[holder, default: 0]
        guard bytes <= share(limit: limit) - held else { return .holderFull }
        inUse += bytes
        heldBy[holder] = held + bytes
        return .granted
    }

    func release(_ bytes: Int, holder: String = "") {
        lock.lock(); defer { lock.unlock() }
        inUse -= bytes
        let left = heldBy[holder, default: 0] - bytes
        heldBy[holder] = left > 0 ? left : nil
    }

    /// Reserves `bytes` for `holder`, or throws the answer: `503` when the gate is full, `429` past the
    /// holder's share.
    func admit(_ bytes: Int, holder: String, limit: Int) throws {
        switch reserve(bytes, holder: holder, limit: limit) {
        case .granted: return
        case .full:
            var e = FleetAPIError(.serviceUnavailable, field: "body", "the server is reading as many uploads as it holds at once; retry shortly")
            e.headers[.retryAfter] = "5"
            throw e
        case .holderFull:
            var e = FleetAPIError(.tooManyRequests, field: "body", "this token is already uploading its share of what the server reads at once; retry when those end")
            e.headers[.retryAfter] = "5"
            throw e
        }
    }

    /// Holds `bytes` of the gate while `work` runs: a request that loads stored documents as large as
    /// uploads (a drift reads two SBOMs) waits its turn as an upload does (found by helper-128).
    func holding<T>(_ bytes: Int, holder: String?, limit: Int, _ work: () async throws -> T) async throws -> T {
        let hold = max(0, min(bytes, capacity))
        try admit(hold, holder: holder ?? "", limit: limit)
        defer { release(hold, holder: holder ?? "") }
        return try await work()
    }

    /// Reads `request`'s body, at most `limit` bytes, holding its declared length (or `limit` when it
    /// declares none) of the gate until `body` returns: `503` with Retry-After when the gate is full,
    /// `413` past the limit, `408` when the body arrives slower than the minimum rate.
    /// `holder` is the token's hash: one token holds at most its `share` of the gate (`429` past it).
    func withBody<T>(_ request: inout Request, limit: Int, what: String, holder: String?, _ body: (ByteBuffer) async throws -> T) async throws -> T {
        // A body the whole gate cannot hold is too large, not a reason to retry: with a small
        // --max-upload-mib the 16 MiB policy-results limit answered 503 forever (found by helper-117).
        let limit = min(limit, capacity)
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit {
            throw FleetAPIError(.contentTooLarge, field: "body", "the \(what) is larger than \(limit) bytes")
        }
        // Never below zero, whatever the header says: a negative hold would widen the gate.
        let hold = max(0, min(declared ?? limit, limit))
        let holder = holder ?? ""
        try admit(hold, holder: holder, limit: limit)
        defer { release(hold, holder: holder) }
        let started = ContinuousClock.now
        var buffer = ByteBuffer()
        do {
            for try await chunk in request.body {
                guard chunk.readableBytes <= limit - buffer.readableBytes else {
                    throw FleetAPIError(.contentTooLarge, field: "body", "the \(what) is larger than \(limit) bytes")
                }
                buffer.writeImmutableBuffer(chunk)
                let elapsed = ContinuousClock.now - started
                let allowed = graceSeconds + Double(buffer.readableBytes) / Double(Self.minimumBytesPerSecond)
                if elapsed > .milliseconds(Int64(allowed * 1000)) {
                    throw FleetAPIError(.requestTimeout, field: "body", "the \(what) arrived slower than \(Self.minimumBytesPerSecond >> 10) KiB/s; refused")
                }
            }
        } catch let e as FleetAPIError {
            throw e
        } catch {
            // The client went away mid-body: its fault, not the server's, so no 500 and no error log.
            throw FleetAPIError(.badRequest, field: "body", "the \(what) ended before it was complete")
        }
        return try await body(buffer)
    }
}
