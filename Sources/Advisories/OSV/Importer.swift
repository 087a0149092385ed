import Foundation
import ProvenantCore
import Catalog

/// Reads OSV records from files, directories and `all.zip`-style archives, then writes them to
/// the store in one transaction.
public enum AdvisoryImporter {
    /// One record's raw bytes and where they came from (`all.zip:GO-2021-0159.json`).
    struct Input: Sendable { var origin: String; var data: Data; var yaml: Bool }

    public struct Loaded: Sendable {
        public var records: [OSVRecord] = []
        /// Records that could not be read, each with its file and reason; the import goes on.
        public var skipped: [Diagnostic] = []
        public var files = 0
    }

    public struct Report: Sendable {
        public var loaded: Loaded
        public var result: AdvisoryStore.ImportResult
        /// The ecosystems whose as-of time the import set.
        public var current: [String] = []
    }

    /// How current imported data is.
    public enum AsOf: Sendable {
        /// It does not say: as-of times stay as they were.
        case unsaid
        /// Whole exports of these OSV ecosystems (`PyPI`, `Debian:12`), fetched at this time (RFC 3339).
        case fetched(String, ecosystems: [String])
        /// Whole exports as current as their newest records (the bundled snapshot).
        case newestRecords
    }

    public static func importPaths(_ paths: [String], into store: AdvisoryStore, asOf: AsOf = .unsaid,
                                   willWrite: @Sendable () -> Void = {}) async throws(InputError) -> Report {
        var loaded = Loaded()
        var current: [String: String] = [:]
        switch asOf {
        case .unsaid:
            loaded = try await load(paths)
        case .fetched(let t, let ecosystems):
            // An input is an export of an ecosystem it was said to be when every one of its records
            // names it, and it was read whole. Every ecosystem any record named was taken before: a
            // PyPI export's GHSA records that also name an npm package made npm current (helper-220).
            for p in paths {
                let one = try await load([p])
                current.merge(exportTimes(one.records, readWhole: one.skipped.isEmpty, of: ecosystems, fetched: t)) { a, _ in a }
                loaded.records += one.records; loaded.skipped += one.skipped; loaded.files += one.files
            }
        case .newestRecords:
            loaded = try await load(paths)
            // Records left out make it no whole export (helper-221).
            if loaded.skipped.isEmpty { current = AdvisoryStore.newestRecordTimes(loaded.records) }
        }
        let result = try store.write(loaded.records, current: current, willWrite: willWrite)
        return Report(loaded: loaded, result: result, current: current.keys.sorted())
    }

    /// The time an `--as-of` (or the fleet's `as_of`) gives, as RFC 3339: it, or a day `YYYY-MM-DD`
    /// as its midnight, UTC. Refused when it is neither, or more than a day ahead of `now`.
    public static func fetchedTime(_ text: String, now: Date = Date()) -> Result<String, InputError> {
        let full = text.count == 10 ? text + "T00:00:00Z" : text
        guard let parsed = VEXTimestamp(full) else { return .failure(InputError("'\(Redactor.quote(text, max: 60))' is neither an RFC 3339 time nor a day YYYY-MM-DD")) }
        if parsed.seconds > Int(now.timeIntervalSince1970) + 86_400 { return .failure(InputError("'\(Redactor.quote(text, max: 60))' is in the future")) }
        return .success(full)
    }

    /// The as-of times one input sets: each of `ecosystems` it is an export of (`isExport`), with the
    /// releases that export holds (`exportKeys`), as of `time`. Nothing when it was not `readWhole`
    /// (a record skipped makes it no whole export, helper-221).
    public static func exportTimes(_ records: [OSVRecord], readWhole: Bool, of ecosystems: [String], fetched time: String) -> [String: String] {
        guard readWhole else { return [:] }
        var out: [String: String] = [:]
        for eco in ecosystems where isExport(records, of: eco) { for k in exportKeys(records, of: eco) { out[k] = time } }
        return out
    }

    /// Whether `records` are an export of `ecosystem`: there are some, and each names it (`Debian:12`),
    /// or for an ecosystem without a release (`Debian`), some release of it.
    public static func isExport(_ records: [OSVRecord], of ecosystem: String) -> Bool {
        guard !records.isEmpty, !ecosystem.isEmpty else { return false }
        let whole = !ecosystem.contains(":")
        return records.allSatisfy { r in
            (r.affected ?? []).contains { a in
                guard let e = a.package?.ecosystem else { return false }
                return e == ecosystem || (whole && Ecosystems.split(e).0 == ecosystem)
            }
        }
    }

    /// The keys an export of `ecosystem` is as current as: it, and for a distribution's (`Debian`),
    /// each release its records name (`Debian:11`). A release the export does not hold keeps its own
    /// time: a Debian 11 export said to be Debian's made a stale Debian 12 current (helper-221).
    public static func exportKeys(_ records: [OSVRecord], of ecosystem: String) -> [String] {
        guard !ecosystem.contains(":") else { return [ecosystem] }
        var keys: Set<String> = [ecosystem]
        for r in records { for a in r.affected ?? [] { if let e = a.package?.ecosystem, e.contains(":"), Ecosystems.split(e).0 == ecosystem { keys.insert(e) } } }
        return keys.sorted()
    }

    public static func load(_ paths: [String]) async throws(InputError) -> Loaded {
        var loaded = Loaded()
        for p in paths { try collect(p, into: &loaded) }
        return loaded
    }

    /// Raw record bytes decoded at a time: an export is read in batches of about this much, each
    /// decoded and dropped before the next is inflated, so an import holds its records and one batch,
    /// not the whole inflated archive (up to its 8 GiB budget) at once.
    static let batchBytes = 64 << 20

    /// Decodes `inputs` into `loaded`, in their order.
    static func add(_ inputs: [Input], to loaded: inout Loaded) {
        let part = decode(inputs)
        loaded.records += part.records; loaded.skipped += part.skipped; loaded.files += part.files
    }

    /// Records from one request body: a zip export (`all.zip`) or one OSV JSON record. `maxInflated`
    /// bounds what a zip may inflate to.
    public static func load(body: Data, origin: String, maxInflated: Int) -> Result<Loaded, InputError> {
        if body.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
            var loaded = Loaded()
            do { try zipInputs(Array(body), origin: origin, maxInflated: maxInflated, into: &loaded) } catch { return .failure(error) }
            return .success(loaded)
        }
        return .success(decode([Input(origin: origin, data: body, yaml: false)]))
    }

    static func isRecordName(_ name: String) -> (Bool, yaml: Bool) {
        let l = name.lowercased()
        if l.hasSuffix(".json") { return (true, false) }
        if l.hasSuffix(".yaml") || l.hasSuffix(".yml") { return (true, true) }
        return (false, false)
    }

    static func collect(_ path: String, into loaded: inout Loaded) throws(InputError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw InputError("no such file or directory", at: Location(path)) }
        if isDir.boolValue {
            var rel: [String] = []
            walk(path, "", depth: 0, into: &rel, skipped: &loaded.skipped)
            var batch: [Input] = [], held = 0
            for r in rel.sorted() {
                let full = path + "/" + r
                if r.lowercased().hasSuffix(".zip") {
                    add(batch, to: &loaded); batch = []; held = 0
                    try readZip(full, into: &loaded, regularOnly: true)
                    continue
                }
                let (ok, yaml) = isRecordName(r)
                guard ok else { continue }
                let data: Data
                // Listed by the walk as a regular file: read as one, never waiting on what replaced it.
                do { data = Data(try NamedInputFile.read(full, limit: maxRecordBytes, what: "advisory record", regularOnly: true)) } catch {
                    loaded.skipped.append(Diagnostic(Location(full), error.message))
                    continue
                }
                batch.append(Input(origin: full, data: data, yaml: yaml)); held += data.count
                if held >= batchBytes { add(batch, to: &loaded); batch = []; held = 0 }
            }
            add(batch, to: &loaded)
            return
        }
        if path.lowercased().hasSuffix(".zip") { return try readZip(path, into: &loaded) }
        let data = Data(try NamedInputFile.read(path, limit: maxRecordBytes, what: "advisory record"))
        let (_, yaml) = isRecordName(path)
        add([Input(origin: path, data: data, yaml: yaml)], to: &loaded)
    }

    /// Directories of records are walked this deep at most.
    static let maxDepth = 32

    /// The regular files under `root/rel`, relative to `root`. What cannot be listed, a link to a
    /// directory or to something a record or archive is named, and a record-named entry that is not a
    /// regular file are each named in `skipped`: a walk that passed over them in silence imported less
    /// than it said, and the packages those records affect scanned clean (found by helper-155). Links
    /// are not followed, so the walk reads only inside the directory it was given.
    static func walk(_ root: String, _ rel: String, depth: Int, into files: inout [String], skipped: inout [Diagnostic]) {
        let dir = rel.isEmpty ? root : root + "/" + rel
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            skipped.append(Diagnostic(Location(dir), "cannot list directory (\(Self.reason(error)))"))
            return
        }
        for name in names.sorted() {
            let r = rel.isEmpty ? name : rel + "/" + name
            let full = root + "/" + r
            var st = stat()
            guard lstat(full, &st) == 0 else {
                skipped.append(Diagnostic(Location(full), "cannot be read (\(String(cString: strerror(errno))))"))
                continue
            }
            let wanted = isRecordName(name).0 || name.lowercased().hasSuffix(".zip")
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if depth + 1 >= maxDepth {
                    skipped.append(Diagnostic(Location(full), "nested more than \(maxDepth) directories deep; not read"))
                } else {
                    walk(root, r, depth: depth + 1, into: &files, skipped: &skipped)
                }
            case S_IFREG:
                files.append(r)
            case S_IFLNK:
                var target = stat()
                let toDirectory = stat(full, &target) == 0 && target.st_mode & S_IFMT == S_IFDIR
                if toDirectory || wanted {
                    skipped.append(Diagnostic(Location(full), "is a symbolic link; links are not followed, name its target instead"))
                }
            default:
                if wanted { skipped.append(Diagnostic(Location(full), "is not a regular file")) }
            }
        }
    }

    static func reason(_ error: any Error) -> String {
        if let e = error as? CocoaError, let u = e.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(u.code)))
        }
        return (error as NSError).localizedDescription
    }

    /// An OSV export (`all.zip`), read with the project's own zip reader: every offset and size checked
    /// against the bytes present and inflation budgeted, so a damaged or hostile archive ends with an
    /// error instead of a loop (the general-purpose zip library spun forever on a truncated entry).
    /// `regularOnly`: an archive the directory walk listed as a regular file, read only while it is one.
    static func readZip(_ path: String, into loaded: inout Loaded, regularOnly: Bool = false) throws(InputError) {
        try zipInputs(try NamedInputFile.read(path, limit: maxArchiveBytes, what: "export archive", regularOnly: regularOnly),
                      origin: path, maxInflated: maxInflatedArchive, into: &loaded)
    }

    /// The largest record read: real ones are a few KiB, the largest a few hundred.
    static let maxRecordBytes = 64 << 20
    /// The largest export archive read (osv.dev's all.zip of every ecosystem is about 1 GiB).
    static let maxArchiveBytes = 4 << 30

    /// What one export archive may inflate to.
    static let maxInflatedArchive = 8 << 30

    /// The archive's records, in the order of their names, inflated and decoded a batch at a time.
    /// A damaged entry fails the whole archive, and nothing of it is added.
    static func zipInputs(_ bytes: [UInt8], origin path: String, maxInflated: Int, batchBytes: Int = batchBytes, into loaded: inout Loaded) throws(InputError) {
        let zip: ZipArchive
        do { zip = try ZipArchive(bytes) } catch {
            throw InputError("not a readable zip archive (\(error))", at: Location(path))
        }
        // A whole ecosystem's advisories inflate to a few hundred MiB; JSON compresses about tenfold.
        var limits = ArchiveLimits()
        limits.totalInflatedBytes = UInt64(max(0, maxInflated))
        limits.maxTotalRatio = 64
        var budget = InflateBudget(limits, archiveSize: bytes.count)
        let records = zip.entries.filter { !$0.isDirectory && isRecordName($0.path).0 }
            .map { (origin: path + ":" + $0.path, entry: $0) }.sorted { $0.origin < $1.origin }
        var mine = Loaded(), batch: [Input] = [], held = 0
        for (origin, entry) in records {
            let data: [UInt8]
            do { data = try zip.read(entry, budget: &budget) } catch {
                throw InputError("damaged archive entry '\(Redactor.quote(entry.path, max: 120))' (\(error))", at: Location(path))
            }
            batch.append(Input(origin: origin, data: Data(data), yaml: isRecordName(entry.path).yaml)); held += data.count
            if held >= batchBytes { add(batch, to: &mine); batch = []; held = 0 }
        }
        add(batch, to: &mine)
        loaded.records += mine.records; loaded.skipped += mine.skipped; loaded.files += mine.files
    }

    /// Decodes on every core; results keep input order so the outcome never depends on scheduling.
    static func decode(_ inputs: [Input]) -> Loaded {
        let width = Parallel.cores
        let parts = Parallel.map(width: width) { w in stride(from: w, to: inputs.count, by: width).map { ($0, decodeOne(inputs[$0])) } }
        let decoded = parts.flatMap { $0 }.sorted { $0.0 < $1.0 }.map(\.1)
        var loaded = Loaded()
        loaded.files = inputs.count
        for r in decoded {
            switch r {
            case .success(let rec): loaded.records.append(rec)
            case .failure(let d): loaded.skipped.append(d)
            }
        }
        return loaded
    }

    static func decodeOne(_ input: Input) -> Result<OSVRecord, Diagnostic> {
        do { return .success(try OSVRecord.decode(input.data, yaml: input.yaml)) } catch {
            return .failure(Diagnostic(Location(input.origin, line: error.line), error.message))
        }
    }
}

extension Diagnostic: Error {}
