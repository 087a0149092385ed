/// `secrets redact`: copies a stream, replacing each detected or known secret with `[REDACTED:<rule>]`.
/// Memory stays at one chunk plus the engine's overlap, and a secret split between two reads is still
/// replaced, because `ChunkedScan` only settles bytes once their trailing context has been read.
public struct StreamRedactor {
    public let engine: SecretEngine
    public var chunkSize: Int

    public init(engine: SecretEngine, chunkSize: Int = 4 << 20) { self.engine = engine; self.chunkSize = chunkSize }

    /// Returns how many secrets were replaced.
    /// `incomplete` is called once the stream is done if keyword hits somewhere were too dense to check
    /// them all (`ChunkedScan.run`): what passed through may then hold a secret that was not replaced.
    @discardableResult
    public func run<E: Error>(read: (inout [UInt8], Int) throws(E) -> Int, write: ([UInt8]) throws(E) -> Void,
                              incomplete: () -> Void = {}) throws(E) -> Int {
        var replaced = 0
        var failure: E?
        let complete = try ChunkedScan(engine: engine, chunkSize: chunkSize).run(read: read) { buffer, _, done, matches in
            guard failure == nil else { return false }
            var out: [UInt8] = []
            out.reserveCapacity(done.count + matches.count * 24)
            var at = done.lowerBound
            for m in matches where m.redacted.upperBound > at {
                let r = m.redacted
                if r.lowerBound > at { out += buffer[at..<r.lowerBound] }
                out += Array("[REDACTED:\(m.ruleID)]".utf8)
                at = r.upperBound
                replaced += 1
            }
            if at < done.upperBound { out += buffer[at..<done.upperBound] }
            do throws(E) { try write(out) } catch { failure = error }
            return failure == nil
        }
        if let failure { throw failure }
        if !complete { incomplete() }
        return replaced
    }
}
