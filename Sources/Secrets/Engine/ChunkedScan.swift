import ProvenantCore

/// Runs the engine over a stream in bounded chunks, correct across read boundaries.
///
/// Each round scans the unhandled bytes plus `engine.overlap` bytes of context on both sides, and
/// accepts only the matches that start before the trailing context: a secret cut by one read is
/// found whole in the next round, and memory stays at one chunk plus the context.
public struct ChunkedScan: Sendable {
    public let engine: SecretEngine
    public var chunkSize: Int
    /// Secrets in text written as UTF-16 anywhere in the stream are found too (`wideMatches`), with
    /// twice the context: UTF-16 text, or text with UTF-16 in it (a shell's `OK`, then PowerShell's
    /// output; UTF-16 output, then a UTF-8 program's), as `secrets scan` and `redact` read it.
    public init(engine: SecretEngine, chunkSize: Int = 4 << 20) {
        self.engine = engine
        self.chunkSize = max(1 << 12, chunkSize)
    }

    /// The matches starting in `range` of `raw`, found by scanning it in parallel segments of about one
    /// chunk, each with `overlap` bytes of context on both sides (so a match is found whole by the
    /// segment it starts in), then resolved across segment edges.
    /// Also whether every candidate in them was checked (`SecretEngine.scan(_:complete:)`).
    func scanSegments(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, overlap: Int) -> (matches: [SecretMatch], complete: Bool) {
        let (matches, complete) = scanSegmentsFrom(raw, range, overlap: overlap)
        // A match that starts in what the last round redacted and runs past it is this round's from
        // where that ended: one starting inside a match the last round widened (a chain of overlapping
        // matches) was the last round's by where it started, and not accepted there, and its tail
        // passed in clear (found by helper-156). Its redaction is cut to start at `range`.
        return (matches.map { m in
            guard m.redacted.lowerBound < range.lowerBound else { return m }
            var m = m
            m.covering = range.lowerBound..<m.redacted.upperBound
            return m
        }, complete)
    }

    /// Whether a match found in a round over `range` is that round's: it starts in `range`, or starts
    /// before it (in the last round's part) and runs into it.
    static func belongs(_ m: SecretMatch, to range: Range<Int>, first: Bool) -> Bool {
        range.contains(m.redacted.lowerBound) || first && m.redacted.lowerBound < range.lowerBound && m.redacted.upperBound > range.lowerBound
    }

    func scanSegmentsFrom(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, overlap: Int) -> (matches: [SecretMatch], complete: Bool) {
        let segments = max(1, min(Parallel.cores, range.count / max(1, chunkSize / 2)))
        if segments == 1 {
            var complete = true
            // By where redaction must start: a named match that won over an earlier generic one covers
            // bytes before its value, and accepted by its value it left them to pass in clear when
            // the round ended between the two (found by helper-133).
            let found = engine.scan(raw, complete: &complete).filter { Self.belongs($0, to: range, first: true) }
            return (found, complete)
        }
        nonisolated(unsafe) let shared = raw
        let step = (range.count + segments - 1) / segments
        let parts = Parallel.map(width: segments) { k -> (matches: [SecretMatch], complete: Bool) in
            let accept = (range.lowerBound + k * step)..<min(range.upperBound, range.lowerBound + (k + 1) * step)
            guard !accept.isEmpty else { return ([], true) }
            let lo = max(0, accept.lowerBound - overlap), hi = min(shared.count, accept.upperBound + overlap)
            var complete = true
            let found = engine.scan(UnsafeRawBufferPointer(rebasing: shared[lo..<hi]), complete: &complete).compactMap { m in
                var m = m
                m.place { $0.shifted(by: lo) }
                return Self.belongs(m, to: accept, first: k == 0) ? m : nil
            }
            return (found, complete)
        }
        return (engine.resolve(parts.flatMap(\.matches)), parts.allSatisfy(\.complete))
    }

    /// The secrets in the UTF-16 stretches of `buffer` (`UTF16Runs`), as matches over the bytes of their
    /// code units (`SecretMatch.utf16LowBytes`), and the stretches read, by bytes and reading. `lead`
    /// is the reading of a stretch the buffer starts inside.
    static func wideMatches(_ buffer: UnsafeRawBufferPointer, _ engine: SecretEngine, lead: UTF16Runs.Reading?,
                            complete: inout Bool) -> (matches: [SecretMatch], runs: [UTF16Runs.Stretch]) {
        var found: [SecretMatch] = []
        var runs: [UTF16Runs.Stretch] = []
        // One budget for every stretch of the buffer, as for its bytes: each of them with its own let
        // keyword-dense text read a turn at a time cost far more than the same text in UTF-8.
        var budget = SecretEngine.workBudget(buffer.count)
        UTF16Runs.find(buffer, lead: lead) { run in
            runs.append(UTF16Runs.Stretch(bytes: run.bytes, reading: run.reading))
            let matches = run.text.withUnsafeBytes { engine.scan($0, complete: &complete, budget: &budget) }
            for var m in matches {
                m.decodedValue = m.decodedValue ?? Array(run.text[m.value])
                m.place { UTF16Runs.bytes($0, of: run, in: buffer) }
                m.utf16LowBytes = run.reading.lowBytes
                found.append(m)
            }
        }
        // A stretch read both ways finds its secrets twice, a byte apart: one each.
        return (found.count > 1 ? engine.resolve(found) : found, runs)
    }

    /// `text` with a zero between each two bytes: ASCII as UTF-16 either way round, from the first
    /// character to the last.
    static func interleaved(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2 * text.count)
        for (k, c) in text.enumerated() {
            if k > 0 { out.append(0) }
            out.append(c)
        }
        return out
    }

    /// Blocks a multi-line secret is written in, by the text that opens one and the text of its last
    /// line: PEM, SSH2 (RFC 4716) and PuTTY keys.
    static let blocks: [(opens: [[UInt8]], closes: [[UInt8]])] = [
        (["-----BEGIN "], ["-----END "]),
        (["---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----"], ["---- END SSH2"]),
        (["PuTTY-User-Key-File-2:", "PuTTY-User-Key-File-3:"], ["Private-MAC:", "Private-Hash:"]),
    ].map { ($0.map { Array($0.utf8) }, $1.map { Array($0.utf8) }) }
    /// The same, each also as UTF-16 (`interleaved`): a key in PowerShell's output is held as one in text.
    static let wideBlocks = blocks.map { b in (b.opens + b.opens.map(interleaved), b.closes + b.closes.map(interleaved)) }

    /// Bytes past an unclosed block's opening held back on a pause, at most: more than any key rule's window.
    static let maxHeld = 64 << 10

    /// Where an idle stream's bytes can be settled: after the last line feed from `handled`, but not
    /// past the line of a block that has opened and not closed yet (a PEM, SSH2 or PuTTY key), nor
    /// past a line a backslash continues (`Authorization: Bearer … \`), since the secret's lines would
    /// pass before it could be matched whole (PuTTY and SSH2 keys passed on a pause, helper-141).
    static func idleLimit(_ buffer: [UInt8], from handled: Int, base64Reach: Int? = nil,
                          formStart: ([UInt8]) -> Int? = { _ in nil }) -> Int {
        guard handled < buffer.count, let nl = buffer[handled...].lastIndex(of: 10) else { return handled }
        var limit = nl + 1
        func last(_ needle: [UInt8], in r: Range<Int>) -> Int? {
            guard r.count >= needle.count else { return nil }
            var i = r.upperBound - needle.count
            while i >= r.lowerBound { if buffer[i..<(i + needle.count)].elementsEqual(needle) { return i }; i -= 1 }
            return nil
        }
        func lineStart(_ at: Int) -> Int { buffer[handled..<at].lastIndex(of: 10).map { $0 + 1 } ?? handled }
        // Whether `at` begins a line, after blanks or quotes, or an escaped `\n` (a key in a JSON string).
        // In UTF-16 the zero of each code unit is passed over too.
        func startsLine(_ at: Int) -> Bool {
            var i = at
            while i > handled, buffer[i - 1] == 32 || buffer[i - 1] == 9 || buffer[i - 1] == 34 || buffer[i - 1] == 39 || buffer[i - 1] == 0 { i -= 1 }
            return i == handled || buffer[i - 1] == 10 || buffer[i - 1] == 13 || (i - 2 >= handled && buffer[i - 2] == 92 && buffer[i - 1] == UInt8(ascii: "n"))
        }
        func first(_ needle: [UInt8], in r: Range<Int>) -> Int? {
            guard r.count >= needle.count else { return nil }
            var i = r.lowerBound
            while i + needle.count <= r.upperBound { if buffer[i..<(i + needle.count)].elementsEqual(needle) { return i }; i += 1 }
            return nil
        }
        for (n, (opens, closes)) in wideBlocks.enumerated() {
            // The last close that counts: PEM's anywhere (keys pasted into one line); the others' only
            // where a line begins, so a comment holding `Private-MAC:` closes nothing (helper-143).
            var lastClose = handled
            for c in closes {
                var upper = buffer.count
                while let e = last(c, in: handled..<upper) {
                    if n == 0 || startsLine(e) { lastClose = max(lastClose, e + 1); break }
                    upper = e + c.count - 1
                }
            }
            // Held from the first opening after it: the openings are the formats' own first words
            // (`PuTTY-User-Key-File-3:`), anywhere in a line (`PPK="…`, helper-144), not a mention.
            // Held at most `maxHeld` bytes: past that the rules' windows cannot match the block whole
            // anyway. So the first opening within that reach: an opening never closed further back
            // (a stray `-----BEGIN ` in a log) stopped a later real key from being held (helper-183).
            let reach = max(lastClose, buffer.count - Self.maxHeld)
            guard let b = opens.compactMap({ first($0, in: reach..<buffer.count) }).min() else { continue }
            limit = min(limit, lineStart(b))
        }
        // Lines ending in a backslash (CR allowed) are one line to a shell: held from the first of them.
        // In UTF-16 the zero of each code unit is passed over.
        var end = limit - 1
        while end > handled {
            var e = end
            func back() { if e > handled, buffer[e - 1] == 0 { e -= 1 } }
            back()
            if e > handled, buffer[e - 1] == 13 { e -= 1; back() }
            guard e > handled, buffer[e - 1] == UInt8(ascii: "\\") else { break }
            let start = lineStart(end)
            limit = start
            end = start - 1
        }
        // With known values, whose base64 form may be wrapped across lines (`WrappedBase64`): the
        // base64 the trailing lines end in, joined across their breaks within `base64Reach`, is held
        // from where a known form begins in it (`formStart`, `KnownSecrets.base64FormStart`), so a form
        // a pause cut after its first line is not written half in clear (found by helper-188), and no
        // other line is held back (guessing by the lines' shape held ids and paths, and let a short
        // first line out: helper-189, helper-190). Trailing blanks, a quote's `>` and indentation, and
        // in UTF-16 each unit's zero, are passed over.
        if let reach = base64Reach {
            func isBase64(_ c: UInt8) -> Bool {
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 43 || c == 47 || c == 45 || c == 95
            }
            func skippable(_ c: UInt8) -> Bool { c == 0 }
            // The joined characters, last first, and where each stands.
            var joined: [UInt8] = [], places: [Int] = []
            var lineEnd = limit - 1
            lines: while lineEnd > handled, buffer[lineEnd] == 10, joined.count < reach {
                var e = lineEnd
                while e > handled, buffer[e - 1] == 13 || buffer[e - 1] == 32 || buffer[e - 1] == 9 || skippable(buffer[e - 1]) { e -= 1 }
                var s = e
                while s > handled, isBase64(buffer[s - 1]) || skippable(buffer[s - 1]) {
                    s -= 1
                    if !skippable(buffer[s]) {
                        joined.append(buffer[s]); places.append(s)
                        if joined.count >= reach { break lines }
                    }
                }
                // On to the line before, when this run is the whole line, or the line is blank (an
                // empty line, a CR or a quote's `>` alone: `WrappedBase64` joins across those too,
                // found by helper-191).
                var k = s
                while k > handled, buffer[k - 1] == 32 || buffer[k - 1] == 9 || buffer[k - 1] == 62 || buffer[k - 1] == 13 || skippable(buffer[k - 1]) { k -= 1 }
                guard k > handled, buffer[k - 1] == 10, s < e || limit - k <= 1024 + reach else { break }
                lineEnd = k - 1
            }
            joined.reverse(); places.reverse()
            if let l = formStart(joined), l > 0, l <= joined.count { limit = min(limit, places[joined.count - l]) }
        }
        return limit
    }

    /// `read` appends up to `max` bytes to its argument and returns how many (0 at the end), or -1 when
    /// the input is idle (nothing came for a while): what was read is then settled up to its last whole
    /// line, so a live stream (`tail -f | secrets redact`) is not held back until a chunk fills.
    /// `visit(buffer, base, done, matches)` sees the bytes whose handling is now final: `done` is the
    /// range of `buffer` (at absolute offset `base`) newly final, and `matches` those starting in it,
    /// sorted, with offsets relative to `buffer`. A match may end past `done`; the next `done` then
    /// starts after it. `visit` returns false to stop reading.
    /// Returns whether every candidate was checked: false when a round's keyword hits were too dense
    /// for the engine's budget (`SecretEngine.workBudget`), and some were skipped.
    @discardableResult
    public func run<E: Error>(read: (inout [UInt8], Int) throws(E) -> Int,
                              visit: (UnsafeRawBufferPointer, _ base: Int, _ done: Range<Int>, [SecretMatch]) -> Bool) throws(E) -> Bool {
        // UTF-16 takes two bytes a character: twice the context for the same rules.
        let overlap = 2 * engine.overlap
        var complete = true
        // The reading of the UTF-16 stretch the buffer starts inside, from the round before.
        var lead: UTF16Runs.Reading?
        var buffer: [UInt8] = []
        buffer.reserveCapacity(chunkSize + 2 * overlap)
        var base = 0
        var handled = 0
        var atEnd = false
        while true {
            var idle = false
            while !atEnd && buffer.count < handled + chunkSize + overlap {
                let got = try read(&buffer, handled + chunkSize + overlap - buffer.count)
                if got == 0 { atEnd = true }
                if got < 0 { idle = true; break }
            }
            var limit = atEnd ? buffer.count : max(handled, buffer.count - overlap)
            if idle, !atEnd { limit = max(limit, Self.idleLimit(buffer, from: handled, base64Reach: engine.known.map { 2 * $0.longest + 64 },
                                                                formStart: { engine.known?.base64FormStart(in: $0) })) }
            var cut = limit
            var runs: [UTF16Runs.Stretch] = []
            let goOn = buffer.withUnsafeBytes { raw in
                var (matches, checked) = scanSegments(raw, handled..<limit, overlap: overlap)
                // Taken by the round they start in, as the engine's are, and cut to start at
                // `handled` when a match the last round took ended inside them.
                let range = handled..<limit
                let wide = Self.wideMatches(raw, engine, lead: lead, complete: &checked)
                runs = wide.runs
                let more = wide.matches.compactMap { m -> SecretMatch? in
                    guard Self.belongs(m, to: range, first: true) else { return nil }
                    guard m.redacted.lowerBound < range.lowerBound else { return m }
                    var m = m
                    m.covering = range.lowerBound..<m.redacted.upperBound
                    return m
                }
                if !more.isEmpty { matches = (matches + more).sorted { ($0.redacted.lowerBound, $0.redacted.upperBound) < ($1.redacted.lowerBound, $1.redacted.upperBound) } }
                if !checked { complete = false }
                for m in matches { cut = max(cut, m.redacted.upperBound) }
                return visit(raw, base, handled..<cut, matches)
            }
            if !goOn || (atEnd && cut >= buffer.count) { return complete }
            let keepFrom = max(0, cut - overlap)
            lead = runs.first { $0.bytes.lowerBound <= keepFrom && keepFrom < $0.bytes.upperBound }
                .map { UTF16Runs.Reading(little: $0.reading.little, start: ($0.bytes.lowerBound - keepFrom) & 1) }
            buffer.removeFirst(keepFrom)
            base += keepFrom
            handled = cut - keepFrom
        }
    }
}
