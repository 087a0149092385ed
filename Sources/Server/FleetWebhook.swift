import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import ProvenantCore

/// Tells a receiver about findings new on deployed releases: a JSON POST whose body is signed with
/// HMAC-SHA256 (`X-Provenant-Signature: sha256=HEX`, over the exact body bytes, with the delivery id
/// and time in the body so a replay can be recognised), retried with exponential backoff when the
/// receiver fails or cannot be reached. Deliveries go out one at a time, in order: `enqueue` adds to
/// one queue that a single task drains, retries included (an actor alone had interleaved deliveries
/// at every retry's sleep, found by review).
public final class FleetWebhook: @unchecked Sendable {
    public let url: String
    let secret: [UInt8]
    let client: HTTPClient
    let logger: Logger
    /// Waits between attempts: the first retry after `backoff[0]`, and so on; then the delivery is dropped and logged.
    let backoff: [Duration]
    private let lock = NSLock()
    private var sequence = 0
    private var queue: [[FleetFinding]] = []
    private var draining = false

    public init(url: String, secret: [UInt8], client: HTTPClient = .shared, logger: Logger,
                backoff: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)]) {
        self.url = url; self.secret = secret; self.client = client; self.logger = logger; self.backoff = backoff
    }

    struct Delivery: Encodable {
        var id: String
        var event = "findings.new"
        var sentAt: String
        var findings: [FleetFinding]
    }

    /// The signature header's value for `body`.
    public static func signature(_ body: [UInt8], secret: [UInt8]) -> String {
        "sha256=" + Hex.encode(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret)))
    }

    /// Queues the findings for delivery after everything queued before; returns at once.
    public func enqueue(_ findings: [FleetFinding]) {
        guard !findings.isEmpty else { return }
        let start: Bool = lock.withLock {
            queue.append(findings)
            if draining { return false }
            draining = true
            return true
        }
        if start { Task { await drain() } }
    }

    private func drain() async {
        while true {
            let next: [FleetFinding]? = lock.withLock {
                if queue.isEmpty { draining = false; return nil }
                return queue.removeFirst()
            }
            guard let next else { return }
            await send(next)
        }
    }

    /// Sends the findings, in pages of 500; returns when each was delivered or given up on.
    func send(_ findings: [FleetFinding]) async {
        for start in stride(from: 0, to: findings.count, by: 500) {
            let n: Int = lock.withLock { sequence += 1; return sequence }
            let delivery = Delivery(id: "\(Int(Date().timeIntervalSince1970))-\(n)", sentAt: FleetClock.now(),
                                    findings: Array(findings[start..<min(start + 500, findings.count)]))
            // The API's own encoding: sorted keys, so a retry and a receiver's check see the same bytes.
            await deliver(FleetJSON.encode(delivery), id: delivery.id)
        }
    }

    func deliver(_ body: [UInt8], id: String) async {
        let signature = Self.signature(body, secret: secret)
        for attempt in 0...backoff.count {
            if attempt > 0 { try? await Task.sleep(for: backoff[attempt - 1]) }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "X-Provenant-Signature", value: signature)
            request.headers.add(name: "X-Provenant-Delivery", value: id)
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 << 10)
                if (200..<300).contains(response.status.code) { return }
                logger.warning("webhook delivery \(id) attempt \(attempt + 1): the receiver answered \(response.status.code)")
            } catch {
                logger.warning("webhook delivery \(id) attempt \(attempt + 1): \(Redactor.redact(String(describing: error)))")
            }
        }
        logger.error("webhook delivery \(id) given up after \(backoff.count + 1) attempts")
    }
}
