import Catalog
import Foundation
import ProvenantCore

/// What `secrets scan` reads and how far it goes into archives.
public struct SecretsScanOptions: Sendable {
    public var excludes: [Glob] = []
    /// Archives are held in memory while their entries are scanned, so a lower budget than the
    /// catalog's: 128 MiB inflated per top-level archive.
    public var archiveLimits: ArchiveLimits = { var l = ArchiveLimits(); l.totalInflatedBytes = 128 << 20; return l }()
    /// Archives larger than this are not opened (their bytes are still scanned as a file would be).
    public var maxArchiveBytes = 256 << 20
    /// The baseline's salt, when one is read or written: weak values get its slow digest.
    public var baselineSalt: [UInt8]?
    /// Binary content is scanned as bytes, not skipped: for a payload on its way out, where a binary
    /// body's bytes are checked whole and the same bytes compressed must be checked too (a gzipped
    /// binary body holding a token went through the egress guard: found by helper-156).
    public var scanBinary = false
    public init() {}
}

/// The outcome of one scan: findings, and one-line warnings for what was skipped or only partly read.
public struct SecretsScanResult: Sendable {
    public var findings: [SecretFinding] = []
    public var warnings: [String] = []
    public var filesScanned = 0
    public var bytesScanned = 0
    public var skippedBinary = 0
    public var unreadable = 0
    /// Inputs whose scan stopped early (too many findings in one).
    public var partial = 0
    public init() {}

    /// Nothing found, counted or said: merging it changes nothing.
    public var isEmpty: Bool {
        findings.isEmpty && warnings.isEmpty && filesScanned == 0 && bytesScanned == 0 && skippedBinary == 0 && unreadable == 0 && partial == 0
    }

    public mutating func merge(_ o: SecretsScanResult) {
        findings += o.findings; warnings += o.warnings; filesScanned += o.filesScanned; bytesScanned += o.bytesScanned
        skippedBinary += o.skippedBinary; unreadable += o.unreadable; partial += o.partial
    }

    /// A file in a compressed format no reader here opens: NOT CHECKED, not binary and not clean (a
    /// `.tar.xz` holds text: found by helper-88).
    mutating func notOpened(_ shown: String, format: String) {
        partial += 1
        warnings.append("\(shown): \(format)-compressed, which this scanner cannot open; what it holds is not checked")
    }

    /// An archive over the size that is opened: what it holds is NOT CHECKED; its bytes are scanned.
    mutating func tooLargeToOpen(_ shown: String, limit: Int) {
        partial += 1
        warnings.append("\(shown): archive larger than \(limit >> 20) MiB; not opened, so what it holds is not checked; its bytes are scanned as they are")
    }
}

/// Walks files, directories and archives and runs the engine over every text it finds.
public struct SecretsScanner: Sendable {
    public let engine: SecretEngine
    public var options: SecretsScanOptions

    /// One input yields at most this many findings; past that it is reported as only partly scanned,
    /// so a file of millions of tokens cannot hold the run's memory and time.
    public static let maxFindingsPerFile = 1000

    public init(engine: SecretEngine, options: SecretsScanOptions = SecretsScanOptions()) {
        self.engine = engine; self.options = options
    }

    /// Scans each target: a file, a directory (every regular file below it, symbolic links not
    /// followed, `.git` left to `--git`), in parallel; results sorted.
    public func scan(targets: [String]) -> SecretsScanResult {
        var jobs: [(dir: RootedDirectory, rel: String, display: String)] = []
        var result = SecretsScanResult()
        for target in targets {
            var st = stat()
            guard stat(target, &st) == 0 else {
                result.warnings.append("\(Redactor.quote(target, max: 200)): cannot read: \(String(cString: strerror(errno)))")
                result.unreadable += 1
                continue
            }
            if st.st_mode & S_IFMT == S_IFDIR {
                // A `.git` directory is history (read with --git), but its config is a file of the
                // checkout, where a remote's URL may carry a token (found by helper-132).
                let index = FileIndex(root: target, excludes: options.excludes, keptFromGitDirectories: ["config", "hooks/"])
                // A directory that could not be listed is input not read, not a clean one.
                result.unreadable += index.diagnostics.count
                for d in index.diagnostics { result.warnings.append(shownPath(d.description)) }
                let prefix = target.hasSuffix("/") ? target : target + "/"
                let dir = RootedDirectory(root: index.root, budget: index.budget)
                for f in index.files { jobs.append((dir, f.path, prefix == "./" ? f.path : prefix + f.path)) }
            } else {
                let parent = PathText.parent(target)
                jobs.append((RootedDirectory(root: parent.isEmpty ? "." : parent), PathText.lastComponent(target), target))
            }
        }
        let claims = Parallel.Claims(count: jobs.count, chunk: 8)
        let jobsCopy = jobs
        let partials = Parallel.map { _ -> SecretsScanResult in
            var part = SecretsScanResult()
            // The directory last read from, kept open: files come sorted, so most opens are one openat.
            var opened: (root: String, dir: String, fd: Int32)?
            defer { if let o = opened { close(o.fd) } }
            while let range = claims.claim() {
                for i in range {
                    let job = jobsCopy[i]
                    let (dir, name) = PathText.splitLast(job.rel)
                    if opened == nil || opened!.root != job.dir.root || opened!.dir != dir {
                        if let o = opened { close(o.fd); opened = nil }
                        if let fd = try? job.dir.openDirectory(dir) { opened = (job.dir.root, dir, fd) }
                    }
                    let dirFD = opened?.fd
                    let open = { () throws(FileAccessError) -> Int32 in
                        if let dirFD { return try job.dir.open(name, in: dirFD, fullPath: job.rel) }
                        return try job.dir.open(job.rel)
                    }
                    scanFile(open, display: job.display, into: &part)
                }
            }
            return part
        }
        for p in partials { result.merge(p) }
        result.findings.sort(by: SecretFinding.order)
        result.warnings.sort()
        return result
    }

    func scanFile(_ open: () throws(FileAccessError) -> Int32, display: String, into result: inout SecretsScanResult) {
        // Shown only with a finding or a warning; redacting every path of a tree up front cost a tenth of a scan.
        lazy var shown = shownPath(display)
        let fd: Int32
        do { fd = try open() } catch {
            result.unreadable += 1
            result.warnings.append("\(shown): not read: \(shownPath(String(describing: error)))")
            return
        }
        defer { close(fd) }
        var head = [UInt8]()
        do { _ = try Self.readSome(fd, into: &head, max: 8192) } catch {
            result.unreadable += 1
            result.warnings.append("\(shown): not read: \(shownPath(String(describing: error)))")
            return
        }
        var st = stat()
        let size = fstat(fd, &st) == 0 ? Int(st.st_size) : -1
        // A zip behind a prefix (a zipapp's `#!` line, an executable jar's launch script, a
        // self-extracting archive) is opened from its end, as unzip, java and python do; skipped as
        // binary, it said clean (found by helper-88).
        let prefixedZip = !Self.isArchive(head) && Self.mayHaveZipBehind(head) && Self.endsWithZipDirectory(fd, size: size, head: head)
        var scanAsBytes = false
        if Self.isArchive(head) || prefixedZip {
            if size >= 0, size <= options.maxArchiveBytes {
                var all = head
                do {
                    while try Self.readSome(fd, into: &all, max: 1 << 20) > 0 {}
                } catch {
                    result.unreadable += 1
                    result.warnings.append("\(shown): not read: \(shownPath(String(describing: error)))")
                    return
                }
                var budget = InflateBudget(options.archiveLimits, archiveSize: all.count)
                scanArchive(all, display: shown, depth: 0, budget: &budget, into: &result)
                return
            }
            // Not opened, so what it holds is NOT CHECKED; its bytes are scanned as they are (the binary
            // check would have skipped them and said clean: found by helper-88).
            scanAsBytes = true
            result.tooLargeToOpen(shown, limit: options.maxArchiveBytes)
        }
        // UTF-16 text is read where it stands (`ChunkedScan`), not as binary.
        if !scanAsBytes, !Self.readsAsUTF16(head) {
            // Compressed formats this scanner cannot open are NOT CHECKED, not binary: a `.tar.xz`
            // holds text (found by helper-88).
            if let format = Self.unopenedCompression(head) {
                result.notOpened(shown, format: format)
                return
            }
            if Self.isBinary(head) { result.skippedBinary += 1; return }
            if !Self.isUTF8(head) { result.warnings.append("\(shown): not valid UTF-8; scanned as bytes") }
        }
        do {
            try scanStream(head: head, display: shown, into: &result) { (buffer: inout [UInt8], max: Int) throws(FileAccessError) -> Int in
                try Self.readSome(fd, into: &buffer, max: max)
            }
        } catch {
            result.unreadable += 1
            result.warnings.append("\(shown): read stopped: \(shownPath(String(describing: error)))")
        }
    }

    /// `scanStream` over a source whose first bytes (`head`) were read already to judge it.
    func scanStream<E: Error>(head: [UInt8], display: String, into result: inout SecretsScanResult,
                              read: (inout [UInt8], Int) throws(E) -> Int) throws(E) {
        var pending = head[...]
        try scanStream(display: display, into: &result) { (buffer: inout [UInt8], max: Int) throws(E) -> Int in
            if !pending.isEmpty {
                let n = Swift.min(max, pending.count)
                buffer += pending.prefix(n)
                pending = pending.dropFirst(n)
                return n
            }
            return try read(&buffer, max)
        }
    }

    /// Runs the chunked engine over one stream and appends its findings under `display`.
    /// A match that ends within the first `reported` bytes was reported before (a git piece's overlap).
    public func scanStream<E: Error>(display: @autoclosure () -> String, commit: String? = nil, lineNumbers: [Int]? = nil, reported: Int = 0,
                                     into result: inout SecretsScanResult, read: (inout [UInt8], Int) throws(E) -> Int) throws(E) {
        var lines = LineCounter()
        var total = 0
        var shown: String?
        var found = 0
        result.filesScanned += 1
        var cutShort = false
        // UTF-16 is read where it stands, in either byte order and anywhere in the stream: a file that
        // starts as UTF-16 and goes on in UTF-8 (a PowerShell log a UTF-8 program then wrote to), or
        // the other way round, was read one way whole, and the token in the other part passed (found
        // by helper-183 and helper-185).
        let complete = try ChunkedScan(engine: engine).run(read: read) { buffer, base, done, matches in
            for m in matches where found < Self.maxFindingsPerFile && base + m.value.upperBound > reported {
                found += 1
                if shown == nil { shown = display() }
                lines.advance(buffer, base: base, to: base + m.value.lowerBound)
                var (line, column) = lines.position(of: base + m.value.lowerBound, in: buffer, base: base)
                // In UTF-16, characters from the line's start: two bytes each.
                if m.utf16LowBytes != nil { column = (column - 1) / 2 + 1 }
                let mapped = lineNumbers.flatMap { line - 1 < $0.count ? $0[line - 1] : nil } ?? line
                let secret = m.decodedValue.map { v in v.withUnsafeBytes { MaskedSecret($0, baselineSalt: options.baselineSalt) } }
                    ?? MaskedSecret(UnsafeRawBufferPointer(rebasing: buffer[m.value]), baselineSalt: options.baselineSalt)
                result.findings.append(SecretFinding(ruleID: m.ruleID, title: m.title, severity: m.severity, confidence: m.confidence,
                                                     path: shown!, line: mapped, column: column, secret: secret,
                                                     commit: commit, pairedWith: m.pairedWith))
            }
            lines.advance(buffer, base: base, to: base + done.upperBound)
            total = base + done.upperBound
            if found >= Self.maxFindingsPerFile {
                result.warnings.append("\(shown ?? display()): more than \(Self.maxFindingsPerFile) findings; the rest of this input was not scanned")
                result.partial += 1
                cutShort = true
                return false
            }
            return true
        }
        if !complete && !cutShort {
            result.warnings.append("\(shown ?? display()): keywords repeat too densely to check every candidate within the scan's budget; some were not checked")
            result.partial += 1
        }
        result.bytesScanned += total
    }

    /// Standard input: streamed as it comes, UTF-16 text decoded as a file's is (its first 8 KiB tell).
    public func scanStandardInput(display: String, into result: inout SecretsScanResult) throws(FileAccessError) {
        var head: [UInt8] = []
        while head.count < 8192, try Self.readSome(STDIN_FILENO, into: &head, max: 8192 - head.count) > 0 {}
        // Piped as a file is given: an archive is opened, a format no reader opens is NOT CHECKED.
        // `tar czf - … | provenant secrets scan -` passed clean (found by helper-132).
        if Self.isArchive(head) {
            var all = head
            while all.count <= options.maxArchiveBytes, try Self.readSome(STDIN_FILENO, into: &all, max: 1 << 20) > 0 {}
            if all.count <= options.maxArchiveBytes {
                var budget = InflateBudget(options.archiveLimits, archiveSize: all.count)
                scanArchive(all, display: display, depth: 0, budget: &budget, into: &result)
                return
            }
            result.tooLargeToOpen(display, limit: options.maxArchiveBytes)
            return try scanStream(head: all, display: display, into: &result) { (buffer: inout [UInt8], max: Int) throws(FileAccessError) -> Int in
                try Self.readSome(STDIN_FILENO, into: &buffer, max: max)
            }
        }
        if let format = Self.unopenedCompression(head) {
            result.notOpened(display, format: format)
            return
        }
        try scanStream(head: head, display: display, into: &result) { (buffer: inout [UInt8], max: Int) throws(FileAccessError) -> Int in
            try Self.readSome(STDIN_FILENO, into: &buffer, max: max)
        }
    }

    /// `scanStream` over bytes already in memory (an archive entry, a commit's added lines).
    func scanBytes(_ data: [UInt8], display: String, commit: String? = nil, lineNumbers: [Int]? = nil, reported: Int = 0,
                   into result: inout SecretsScanResult) {
        var offset = 0
        scanStream(display: display, commit: commit, lineNumbers: lineNumbers, reported: reported, into: &result) { (buffer: inout [UInt8], max: Int) -> Int in
            let n = Swift.min(max, data.count - offset)
            buffer += data[offset..<(offset + n)]
            offset += n
            return n
        }
    }

    /// Whether a payload is read differently from its raw bytes by `scanPayload`: an archive, a
    /// compressed stream, a zip behind a prefix, or UTF-16 text.
    public static func needsOpening(_ bytes: [UInt8]) -> Bool {
        let head = Array(bytes.prefix(8192))
        return opensByItsHead(head) || (mayHaveZipBehind(head) && ZipArchive.endRecordOffset(bytes) != nil)
    }

    /// What `needsOpening` can tell from the first 8 KiB alone: an archive, a compressed stream or
    /// UTF-16; and whether a zip may sit behind them (`needsOpening` then reads the end).
    public static func mayNeedOpening(head: [UInt8]) -> Bool { opensByItsHead(head) || mayHaveZipBehind(head) }

    static func opensByItsHead(_ head: [UInt8]) -> Bool {
        isArchive(head) || unopenedCompression(head) != nil || UTF16Text.detect(head) != nil
    }

    /// A payload held in memory (an HTTP body the guard's proxy is about to send) read as `scan` reads
    /// a file of those bytes: an archive or gzip opened within the archive budget, UTF-16 decoded. A
    /// token in a gzipped or UTF-16 body went through the proxy that `scan` found in the same bytes at
    /// rest (found by helper-141). What cannot be opened counts in `partial`: not checked.
    public func scanPayload(_ bytes: [UInt8], display: String) -> SecretsScanResult {
        var result = SecretsScanResult()
        let head = Array(bytes.prefix(8192))
        // Each look at the head once: the UTF-16 test reads up to 8 KiB, the zip end record 64 KiB.
        let utf16 = UTF16Text.detect(head) != nil, archive = Self.isArchive(head)
        let unopened = Self.unopenedCompression(head)
        let zipBehind = Self.mayHaveZipBehind(head) && ZipArchive.endRecordOffset(bytes) != nil
        if !utf16, bytes.count > options.maxArchiveBytes, archive || unopened != nil || zipBehind {
            result.tooLargeToOpen(display, limit: options.maxArchiveBytes)
        } else if archive || (!utf16 && zipBehind) {
            var budget = InflateBudget(options.archiveLimits, archiveSize: bytes.count)
            scanArchive(bytes, display: display, depth: 0, budget: &budget, into: &result)
        } else if !utf16, let format = unopened {
            result.notOpened(display, format: format)
        } else {
            scanText(bytes, display: display, into: &result)
        }
        return result
    }

    /// Bytes of an archive or a layer that no file holds (extended headers, what follows the end), not
    /// counted as a file: an archive there is opened one level down on `budget`, a compressed format
    /// no reader opens is NOT CHECKED, and the rest is scanned even when it looks binary. They have no
    /// file type to skip them by, and a pax `comment=` beside a binary capability record, or a token
    /// padded with zeros, was dropped as binary without a word (found by review).
    func scanHidden(_ data: [UInt8], display: String, depth: Int, budget: inout InflateBudget, into result: inout SecretsScanResult) {
        var part = SecretsScanResult()
        // Whether the first part reads as UTF-16 (before the zeros that fill a block, helper-177) says
        // only that a compression magic there is text; UTF-16 itself is read by its runs below.
        let head = Array(data.prefix(8192)), utf16 = UTF16Text.detect(head) ?? UTF16Text.detect(Self.beforeFirstZeroUnit(head))
        // Hidden bytes are often many parts joined (header fields, padding), and the first part says
        // nothing of the rest: what is read as something else (an archive, UTF-16) is scanned as the
        // bytes it is too, and only what that finds anew is kept. A zlib-looking owner name in a
        // layer's first header, or a zip in its first padding, hid a token in a later one without a
        // word (found by helper-176 and helper-177).
        if Self.isArchive(head) {
            scanArchive(data, display: display, depth: depth + 1, budget: &budget, into: &part)
            addRawFindings(data, display: display, to: &part)
        } else if utf16 == nil, let format = Self.unopenedCompression(head) {
            part.notOpened(display, format: format)
            addRawFindings(data, display: display, to: &part)
        } else {
            // UTF-16 is read by its stretches, in either byte order at any offset (`ChunkedScan.wideMatches`):
            // decoding the whole by its first part's order misread what followed a part one byte out
            // as garbled values (helper-182).
            scanBytes(data, display: display, into: &part)
        }
        part.filesScanned = 0
        part.skippedBinary = 0
        result.merge(part)
    }

    /// The bytes before the first two-byte zero at an even offset: where a UTF-16 text's code units end.
    static func beforeFirstZeroUnit(_ head: [UInt8]) -> ArraySlice<UInt8> {
        var i = 0
        while i + 1 < head.count, head[i] != 0 || head[i + 1] != 0 { i += 2 }
        return head[..<min(i, head.count)]
    }

    /// Scans what was kept of an archive's hidden bytes as one hidden part; what the cap left out
    /// makes it partly scanned, with a warning. Without `opening`, the bytes are scanned only as they are.
    func scanKept(_ kept: CappedBytes, display: String, depth: Int, budget: inout InflateBudget, opening: Bool = true, into result: inout SecretsScanResult) {
        if !kept.bytes.isEmpty, opening { scanHidden(kept.bytes, display: display, depth: depth, budget: &budget, into: &result) }
        if !kept.bytes.isEmpty, !opening { scanRaw(kept.bytes, display: display, into: &result) }
        if kept.cut {
            result.partial += 1
            result.warnings.append("\(display): over \(kept.cap >> 20) MiB; the rest was not scanned")
        }
    }

    /// Hidden bytes scanned only as the bytes they are, even when they look binary; no file is counted.
    private func scanRaw(_ data: [UInt8], display: String, into result: inout SecretsScanResult) {
        var part = SecretsScanResult()
        scanBytes(data, display: display, into: &part)
        part.filesScanned = 0
        part.skippedBinary = 0
        result.merge(part)
    }

    /// Scans `data` as the bytes it is and adds to `part` the findings it did not have already. A
    /// strong value is told by its rule and value digest; a weak one has no digest that tells it from
    /// another of its rule and length (every AWS key ID is 20 characters), so each is kept, a repeat
    /// rather than a miss (found by helper-178). Bytes are counted once, and the raw pass's warnings
    /// (a findings cap) only when the reading said nothing of the kind.
    private func addRawFindings(_ data: [UInt8], display: String, to part: inout SecretsScanResult) {
        var raw = SecretsScanResult()
        scanBytes(data, display: display, into: &raw)
        let known = Set(part.findings.compactMap(Self.strongKey))
        part.findings += raw.findings.filter { Self.strongKey($0).map { !known.contains($0) } ?? true }
        if part.bytesScanned == 0 { part.bytesScanned = raw.bytesScanned }
        Self.addWarnings(of: raw, to: &part)
    }

    /// What tells one strong value's finding from another's: its rule and value digest; nil for a weak value.
    static func strongKey(_ f: SecretFinding) -> String? { f.secret.valueDigest.map { f.ruleID + "\u{0}" + $0 } }

    /// A second reading's warnings (a findings cap), kept only when the first said nothing of the kind.
    static func addWarnings(of other: SecretsScanResult, to part: inout SecretsScanResult) {
        guard part.partial == 0 else { return }
        part.warnings += other.warnings
        part.partial += other.partial
    }

    /// Bytes in memory that are not an archive: UTF-16 text read where it stands, binary skipped, the
    /// rest scanned.
    func scanText(_ data: [UInt8], display: String, into result: inout SecretsScanResult) {
        let head = data.prefix(8192)
        if !options.scanBinary, !Self.readsAsUTF16(Array(head)), Self.isBinary(Array(head)) { result.skippedBinary += 1; return }
        scanBytes(data, display: display, into: &result)
    }

    /// Scans what is inside a zip/jar, tar or gzip held in memory, nested archives included up to the limit.
    func scanArchive(_ bytes: [UInt8], display: String, depth: Int, budget: inout InflateBudget, into result: inout SecretsScanResult) {
        guard depth < options.archiveLimits.maxNesting else {
            result.partial += 1
            result.warnings.append("\(display): archive nested more than \(options.archiveLimits.maxNesting) deep; not opened")
            return
        }
        func entry(_ data: [UInt8], _ name: String) {
            scanContent(data, display: display + "!" + shownPath(name), depth: depth + 1, budget: &budget, into: &result)
        }
        do {
            if Gzip.isGzip(bytes) {
                var damaged: ParseError?
                // The stored name and comment, which gunzip does not write out, are scanned as hidden bytes (found by review).
                // The first member's before inflating, so an archive there has the budget first; the later
                // members' (`cat a.gz b.gz`) after, however the inflation ends. Held in memory, they are
                // kept whole: a file's many members' names made it partly scanned (helper-180).
                scanKept(Gzip.headerFields(bytes, cap: bytes.count), display: "\(display) (gzip header)", depth: depth, budget: &budget, into: &result)
                var later = CappedBytes(cap: bytes.count)
                let inner: [UInt8]
                do { inner = try Gzip.decompress(bytes, name: display, budget: &budget, damagedTail: &damaged, headers: &later) } catch {
                    scanKept(later, display: "\(display) (gzip header)", depth: depth, budget: &budget, into: &result)
                    throw error
                }
                scanKept(later, display: "\(display) (gzip header)", depth: depth, budget: &budget, into: &result)
                scanInflated(inner, damaged: damaged, display: display, depth: depth, budget: &budget, into: &result)
            } else if Self.looksZlib(Array(bytes.prefix(8192))) {
                // A zlib stream (an HTTP `deflate` body without its header, a library's compressed
                // blob) passed as the binary it looks like (found by helper-165). Damaged, it is NOT
                // CHECKED when its header is one zlib writes; any other only looked like one and is text.
                let inner: [UInt8]
                var trailing: ParseError?
                do { inner = try Zlib.decompress(bytes, name: display, budget: &budget, damagedTail: &trailing) } catch let e as ParseError {
                    guard !Zlib.isStandard(bytes) else { throw e }
                    scanText(bytes, display: display, into: &result)
                    return
                }
                // Bytes after the streams (a token appended in clear) are scanned as they are, as they
                // were before zlib was opened, and the file is NOT CHECKED past its streams (found by review).
                if let trailing {
                    result.partial += 1
                    result.warnings.append("\(display): \(shownPath(String(describing: trailing)))")
                    scanText(bytes, display: display, into: &result)
                }
                if Self.isArchive(inner) { scanArchive(inner, display: display, depth: depth + 1, budget: &budget, into: &result) }
                else { scanText(inner, display: display, into: &result) }
            } else if let format = Self.openedCompression(Array(bytes.prefix(16))) {
                // xz, `.lzma` and zstd as gzip is: a tar inside is this archive, anything else one level down.
                var damaged: ParseError?
                let inner: [UInt8]
                if format == .zstd {
                    // Skippable frames, which every decoder passes over, as hidden bytes; however the inflation ends.
                    var skippable = CappedBytes(cap: bytes.count)
                    do { inner = try Zstd.decompress(bytes, name: display, budget: &budget, damagedTail: &damaged, skippable: &skippable) } catch {
                        scanKept(skippable, display: "\(display) (zstd skippable frames)", depth: depth, budget: &budget, into: &result)
                        throw error
                    }
                    scanKept(skippable, display: "\(display) (zstd skippable frames)", depth: depth, budget: &budget, into: &result)
                } else {
                    inner = try Xz.decompress(bytes, name: display, lzmaAlone: format == .lzma, budget: &budget, damagedTail: &damaged)
                }
                // Damaged or followed by other bytes: the file is scanned as the bytes it is too, so text
                // after the stream is read (found by helper-181).
                if damaged != nil { scanRaw(bytes, display: "\(display) (its bytes as they are)", into: &result) }
                scanInflated(inner, damaged: damaged, display: display, depth: depth, budget: &budget, into: &result)
            } else if ArArchive.isAr(bytes) {
                // A `.deb`: its members (`control.tar.xz`, `data.tar.zst`) are entries as a zip's are.
                let ar = ArArchive(bytes)
                for m in ar.members { entry(Array(bytes[m.data]), m.name) }
                scanKept(ar.unusedFields, display: "\(display) (ar header fields)", depth: depth, budget: &budget, opening: false, into: &result)
                if let p = ar.problem {
                    result.partial += 1
                    result.warnings.append("\(display): \(shownPath(String(describing: p)))")
                }
                if let rest = ar.rest, !rest.isEmpty {
                    scanHidden(Array(bytes[rest]), display: "\(display) (ar bytes from the damage on)", depth: depth, budget: &budget, into: &result)
                }
            } else if ZipArchive.isZip(bytes) || (!TarArchive.isTar(bytes) && ZipArchive.endRecordOffset(bytes) != nil) {
                let zip: ZipArchive
                do { zip = try ZipArchive(bytes) } catch {
                    // What only looked like a zip behind a prefix (a script whose last bytes read as an
                    // end record) is still scanned as the text it is; the zip it may hold is NOT CHECKED.
                    if !ZipArchive.isZip(bytes), let end = Self.firstEndRecordSignature(bytes), !Self.isBinary(Array(bytes[..<end].prefix(8192))) {
                        scanText(Array(bytes[..<end]), display: display, into: &result)
                    }
                    throw error
                }
                // What comes before a zip behind a prefix (a launch script) is scanned as text too:
                // only the entries were, and a secret in the script went unseen (found by review).
                if zip.prefixLength > 0 { scanText(Array(bytes[..<zip.prefixLength]), display: display, into: &result) }
                // Its comments, which no extraction writes out, as hidden bytes (found by review).
                scanKept(zip.comments, display: "\(display) (zip comments)", depth: depth, budget: &budget, into: &result)
                // Local entries the directory does not list, as a streaming reader extracts them. A
                // signature met by chance (in a stub) is no entry, so a failed read is not said, but for
                // a bomb's refusal; their bytes are scanned as they are with the rest (helper-181).
                let unlisted = zip.unlistedEntries()
                for e in unlisted where !e.isDirectory {
                    let data: [UInt8]
                    do { data = try zip.read(e, budget: &budget) } catch let stop as InflateBudget.Exhausted { throw stop } catch {
                        // A bomb's refusal is said, as for a listed entry; other failures are no entry.
                        guard (error as? ParseError)?.refusedAsBomb == true else { continue }
                        result.partial += 1
                        result.warnings.append("\(display)!(not in the zip's directory) \(String(shownPath(e.path).prefix(120))): \(ZipArchive.bombRefusal)")
                        continue
                    }
                    entry(data, "(not in the zip's directory) " + e.path)
                }
                // And the rest no extraction writes out: names, extra fields, bytes between entries. They
                // begin with a local header's signature, which is no archive of its own to open.
                scanKept(zip.bytesOutsideEntries(unlisted: unlisted), display: "\(display) (zip bytes outside its entries)", depth: depth, budget: &budget, opening: false, into: &result)
                // What follows the end: another archive there is opened (`cat a.zip b.gz`).
                if !zip.trailing.isEmpty {
                    scanHidden(Array(bytes[zip.trailing]), display: "\(display) (bytes after the zip's end)", depth: depth, budget: &budget, into: &result)
                }
                for e in zip.entries where !e.isDirectory {
                    do { entry(try zip.read(e, budget: &budget), e.path) }
                    catch let stop as InflateBudget.Exhausted { throw stop }
                    // Names and the reader's messages through this engine too: an entry named like a
                    // known value printed it in full (found by helper-115).
                    catch {
                        // The reader's message quotes the name shortened, where a known value across the
                        // cut would no longer be masked: it is said once, whole and masked, instead.
                        let why = [80, 120].reduce(String(describing: error)) { $0.replacingOccurrences(of: "'\(Redactor.quote(e.path, max: $1))'", with: "the entry") }
                        result.unreadable += 1
                        result.warnings.append("\(display)!\(String(shownPath(e.path).prefix(120))): not read: \(shownPath(why))")
                    }
                }
            } else {
                let tar = TarArchive(bytes)
                result.partial += tar.problems.isEmpty ? 0 : 1
                for p in tar.problems { result.warnings.append("\(display): \(shownPath(String(describing: p)))") }
                for e in tar.entries { entry(Array(tar.content(e)), e.path) }
                // What no entry lists is in the archive too: a pax `comment=`, a token after the end
                // (found by helper-168). Scanned as text, under what it is.
                // An archive there is opened one level down, on this archive's budget.
                for u in tar.unlisted { scanHidden(Array(tar.bytes[u.data]), display: "\(display) (\(u.what))", depth: depth, budget: &budget, into: &result) }
                // So are the header fields no runtime reads and the padding after entries' data (found by
                // helper-173: a layer's were scanned, a plain tar's were not).
                scanKept(tar.unusedFields, display: "\(display) (tar header fields no runtime reads)", depth: depth, budget: &budget, into: &result)
                scanKept(tar.padding, display: "\(display) (tar padding after entries' data)", depth: depth, budget: &budget, into: &result)
            }
        } catch {
            // Budget exhausted or a damaged archive: what follows in it was not scanned.
            result.partial += 1
            result.warnings.append("\(display): \(shownPath(String(describing: error)))")
        }
    }

    /// What a gzip, xz, `.lzma` or zstd file inflated to: a tar inside is the file itself (its entries
    /// named under it, `pkg.tar.gz!s.env`), another archive one level down, and anything else its text,
    /// named as the file with the lines of its content, as zgrep does. Damage after what was read makes
    /// the file partly scanned: what follows it is not.
    private func scanInflated(_ inner: [UInt8], damaged: ParseError?, display: String, depth: Int, budget: inout InflateBudget, into result: inout SecretsScanResult) {
        if let damaged {
            result.partial += 1
            result.warnings.append("\(display): \(shownPath(String(describing: damaged)))")
        }
        if TarArchive.isTar(inner) { scanArchive(inner, display: display, depth: depth, budget: &budget, into: &result) }
        // A zipapp or a bzip2 file inside is judged as an archive's entry is (found by helper-181).
        else { scanContent(inner, display: display, depth: depth + 1, budget: &budget, into: &result) }
    }

    /// An archive's entry, or what a compressed file inflated to, as a file on disk is judged: an
    /// archive, or a zip behind a prefix, opened at `depth`; what cannot be opened NOT CHECKED, not
    /// binary (found by review); the rest scanned as text.
    private func scanContent(_ data: [UInt8], display shown: String, depth: Int, budget: inout InflateBudget, into result: inout SecretsScanResult) {
        if Self.isArchive(data) { scanArchive(data, display: shown, depth: depth, budget: &budget, into: &result); return }
        let head = Array(data.prefix(8192))
        if UTF16Text.detect(head) == nil {
            if let format = Self.unopenedCompression(head) {
                result.notOpened(shown, format: format)
                return
            }
            if Self.mayHaveZipBehind(head), ZipArchive.endRecordOffset(data) != nil {
                scanArchive(data, display: shown, depth: depth, budget: &budget, into: &result); return
            }
        }
        scanText(data, display: shown, into: &result)
    }

    /// `--git`: every added line in the repository's history, findings naming their commit.
    public func scanHistory(repository: String, into result: inout SecretsScanResult) throws(InputError) {
        let prefix = repository.hasSuffix("/") ? repository : repository + "/"
        let cut = try GitHistory(repository: repository).additions { a in
            let shown = shownPath(prefix == "./" ? a.path : prefix + a.path)
            // A UTF-16 file's added lines, joined again, are its UTF-16 text (found by review), read where
            // it stands as a file's is: decoded whole by its first bytes, a UTF-8 tail became CJK and
            // its token passed. What a piece repeats of the one before was scanned there.
            scanBytes(a.text, display: shown, commit: a.commit, lineNumbers: a.lines, reported: a.overlap, into: &result)
        }
        result.partial += cut.count
        result.warnings += cut.map(shownPath)
    }

    /// A path as reports show it: through the redactor, and through this engine too, whose known values
    /// (`--known`) the redactor does not have.
    func shownPath(_ path: String) -> String {
        let bytes = Array(path.utf8)
        let out = Redactor.masking(bytes, bytes.withUnsafeBytes { engine.scan($0) }.map(\.redacted))
        return Redactor.escapeControls(Redactor.redact(String(decoding: out, as: UTF8.self)))
    }

    static func isArchive(_ head: [UInt8]) -> Bool {
        ZipArchive.isZip(head) || Gzip.isGzip(head) || TarArchive.isTar(head) || looksZlib(head) || openedCompression(head) != nil || ArArchive.isAr(head)
    }

    /// The compressed formats opened here besides gzip and zlib, by their magic.
    enum OpenedCompression: String { case xz, lzma, zstd }
    static func openedCompression(_ head: [UInt8]) -> OpenedCompression? {
        if Xz.isXz(head) { return .xz }
        if Zstd.isZstd(head) { return .zstd }
        if isLzmaAlone(head) { return .lzma }
        return nil
    }

    /// LZMA-alone (`.lzma`): the properties byte 0x5D, a dictionary of 2^n or 3·2^(n-1) bytes (at
    /// least 4 KiB), then an uncompressed size that is unknown (all FF) or under 2^40; text starting
    /// with `]` does not (found by review).
    static func isLzmaAlone(_ head: [UInt8]) -> Bool {
        guard head.count >= 13, head[0] == 0x5D else { return false }
        let dictionary = UInt32(head[1]) | UInt32(head[2]) << 8 | UInt32(head[3]) << 16 | UInt32(head[4]) << 24
        let shaped = dictionary >= 4096 && (dictionary & (dictionary - 1) == 0 || (dictionary / 3) & (dictionary / 3 - 1) == 0 && dictionary % 3 == 0)
        let size = head[5..<13]
        return shaped && (size.allSatisfy { $0 == 0xFF } || size.suffix(3).allSatisfy { $0 == 0 })
    }

    /// A zlib stream by its header: one zlib writes, or another valid one followed by a control byte
    /// text does not hold (`HK` and `hC` are valid headers that begin ordinary text).
    static func looksZlib(_ head: [UInt8]) -> Bool {
        Zlib.isStandard(head) || (Zlib.isZlib(head) && Zlib.hasControlByte(head.dropFirst(2)))
    }

    /// Compressed formats and archives by their magic: those the scanner opens (xz, lzma, zstd and ar,
    /// which `isArchive` tells first) and those no reader here opens. `secrets redact` rewrites none.
    static func unopenedCompression(_ head: [UInt8]) -> String? {
        func starts(_ m: [UInt8]) -> Bool { head.count >= m.count && head.starts(with: m) }
        if Xz.isXz(head) { return "xz" }
        if starts([0x42, 0x5A, 0x68]), head.count >= 10, (0x31...0x39).contains(head[3]),
           Array(head[4..<10]) == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] || Array(head[4..<10]) == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90] { return "bzip2" }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return "zstd" }
        if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return "7z" }
        if starts(Array("Rar!\u{1A}\u{07}".utf8)) { return "rar" }
        if starts([0x04, 0x22, 0x4D, 0x18]) { return "lz4" }
        // Found by helper-166 counted as clean binaries: lz4's legacy frame, LZMA-alone (`.lzma`: the
        // properties byte 0x5D, then a dictionary size of at least 4 KiB), compress's `.Z`, lzip, and
        // an ar archive (a `.deb`; the scanner opens it, `secrets redact` does not).
        if starts([0x02, 0x21, 0x4C, 0x18]) { return "lz4" }
        if isLzmaAlone(head) { return "lzma" }
        if starts([0x1F, 0x9D]) { return "compress (.Z)" }
        if starts(Array("LZIP".utf8)) { return "lzip" }
        if ArArchive.isAr(head) { return "ar (.deb)" }
        return nil
    }

    /// A start a zip may follow: binary (a self-extractor's stub) or a `#!` line (a zipapp, a launch script).
    /// Where the first end-record signature (`PK\u{5}\u{6}`) in a zip's last 64 KiB starts: what comes
    /// before it is the text in front, even when several records follow.
    static func firstEndRecordSignature(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 22 else { return nil }
        var p = max(0, bytes.count - 22 - 0xFFFF)
        while p + 4 <= bytes.count {
            if bytes[p] == 0x50, bytes[p + 1] == 0x4B, bytes[p + 2] == 5, bytes[p + 3] == 6 { return p }
            p += 1
        }
        return nil
    }

    static func mayHaveZipBehind(_ head: [UInt8]) -> Bool { isBinary(head) || head.starts(with: [35, 33]) }

    /// Whether the file's last 64 KiB + 22 bytes hold a zip's end-of-central-directory record: a zip
    /// behind a prefix. `head` is the file's start, which is all of it when it is that short.
    static func endsWithZipDirectory(_ fd: Int32, size: Int, head: [UInt8]) -> Bool {
        guard size >= 22 else { return false }
        let span = min(size, 22 + 0xFFFF)
        var tail: [UInt8]
        if head.count == size {
            tail = Array(head.suffix(span))
        } else {
            tail = [UInt8](repeating: 0, count: span)
            let n = tail.withUnsafeMutableBytes { pread(fd, $0.baseAddress, span, off_t(size - span)) }
            guard n == span else { return false }
        }
        return ZipArchive.endRecordOffset(tail) != nil
    }

    /// Binary when the first 8 KiB hold a NUL byte (UTF-16 text included, as git does).
    /// Whether a file's first bytes say it is binary: a NUL after any leading run of them, among more
    /// than a tenth of control bytes. A log that `logrotate copytruncate` left starting with NULs, or
    /// text with a stray NUL, was skipped whole as binary (found by helper-132).
    /// Whether a file's first bytes are UTF-16 text, so not binary: as a whole (`UTF16Text.detect`), or
    /// in the stretch of UTF-16 it starts with (`UTF16Runs`), within its first 4 bytes. A U+0000 among
    /// the first units, or UTF-8 appended after a short UTF-16 text, failed the test of the whole, and
    /// the file was skipped as binary with its token (found by helper-187).
    static func readsAsUTF16(_ head: [UInt8]) -> Bool {
        if UTF16Text.detect(head) != nil { return true }
        var first: Range<Int>?
        head.withUnsafeBytes { raw in
            UTF16Runs.find(raw, lead: nil) { run in
                if run.bytes.lowerBound <= 4, first.map({ run.bytes.count > $0.count }) ?? true { first = run.bytes }
            }
        }
        // Its first 32 units (the fewest the test reads): what follows may be UTF-8 the stretch read
        // on through as CJK, and the whole then failed the test (found by review).
        return first.map { UTF16Text.detect(head[$0.lowerBound..<min($0.upperBound, $0.lowerBound + 64)]) != nil } ?? false
    }

    static func isBinary(_ head: [UInt8]) -> Bool {
        let body = head.drop { $0 == 0 }
        // Most text has no zero at all: found by `memchr`, not byte by byte (a corpus scan spent 1%
        // here).
        guard body.withContiguousStorageIfAvailable({ b in b.baseAddress.map { memchr($0, 0, b.count) != nil } ?? false }) ?? body.contains(0) else { return false }
        var control = 0
        for c in body where (c < 32 && c != 9 && c != 10 && c != 12 && c != 13 && c != 27) || c == 127 { control += 1 }
        return control * 10 > body.count
    }

    /// Valid UTF-8, allowing a sequence cut at the end of the sample.
    static func isUTF8(_ head: [UInt8]) -> Bool {
        // ASCII eight bytes at a time.
        var i = head.withUnsafeBytes { raw in
            var k = 0
            while k + 8 <= raw.count, raw.loadUnaligned(fromByteOffset: k, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { k += 8 }
            return k
        }
        while i < head.count {
            let b = head[i]
            let need: Int
            if b < 0x80 { i += 1; continue } else if b & 0xE0 == 0xC0 { need = 1 } else if b & 0xF0 == 0xE0 { need = 2 } else if b & 0xF8 == 0xF0 { need = 3 } else { return false }
            if i + need >= head.count { return true }
            for k in 1...need where head[i + k] & 0xC0 != 0x80 { return false }
            i += need + 1
        }
        return true
    }

    /// Appends up to `max` bytes read from `fd`; 0 at the end of the file.
    public static func readFD(_ fd: Int32, into buffer: inout [UInt8], max: Int) throws(FileAccessError) -> Int {
        try readSome(fd, into: &buffer, max: max)
    }

    static let zeros = [UInt8](repeating: 0, count: 64 << 10)

    static func readSome(_ fd: Int32, into buffer: inout [UInt8], max wanted: Int) throws(FileAccessError) -> Int {
        // At most 64 KiB a call: the buffer is zero-filled before the read, and most files are small.
        // Filled by copying zeros: element by element (`repeatElement`) it was 1.6% of a corpus scan.
        let max = Swift.min(wanted, 64 << 10)
        let old = buffer.count
        buffer.append(contentsOf: Self.zeros[..<max])
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + old, max) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                buffer.removeLast(max)
                throw FileAccessError.unreadable("", reason: String(cString: strerror(errno)))
            }
            buffer.removeLast(max - n)
            return n
        }
    }
}
