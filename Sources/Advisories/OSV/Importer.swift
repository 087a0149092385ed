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
    }

    public static func importPaths(_ paths: [String], into store: AdvisoryStore, willWrite: @Sendable () -> Void = {}) async throws(InputError) -> Report {
        let loaded = try await load(paths)
        let result = try store.write(loaded.records, willWrite: willWrite)
        return Report(loaded: loaded, result: result)
    }

    public static func load(_ paths: [String]) async throws(InputError) -> Loaded {
        var inputs: [Input] = []
        for p in paths { inputs += try collect(p) }
        return decode(inputs)
    }

    /// Records from one request body: a zip export (`all.zip`) or one OSV JSON record. `maxInflated`
    /// bounds what a zip may inflate to.
    public static func load(body: Data, origin: String, maxInflated: Int) -> Result<Loaded, InputError> {
        if body.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
            do { return .success(decode(try zipInputs(Array(body), origin: origin, maxInflated: maxInflated))) } catch { return .failure(error) }
        }
        return .success(decode([Input(origin: origin, data: body, yaml: false)]))
    }

    static func isRecordName(_ name: String) -> (Bool, yaml: Bool) {
        let l = name.lowercased()
        if l.hasSuffix(".json") { return (true, false) }
        if l.hasSuffix(".yaml") || l.hasSuffix(".yml") { return (true, true) }
        return (false, false)
    }

    static func collect(_ path: String) throws(InputError) -> [Input] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw InputError("no such file or directory", at: Location(path)) }
        if isDir.boolValue {
            var out: [Input] = []
            guard let walker = FileManager.default.enumerator(atPath: path) else { throw InputError("cannot list directory", at: Location(path)) }
            var rel: [String] = []
            while let r = walker.nextObject() as? String { rel.append(r) }
            for r in rel.sorted() {
                let full = path + "/" + r
                if r.lowercased().hasSuffix(".zip") { out += try collect(full); continue }
                let (ok, yaml) = isRecordName(r)
                guard ok, let data = FileManager.default.contents(atPath: full) else { continue }
                out.append(Input(origin: full, data: data, yaml: yaml))
            }
            return out
        }
        if path.lowercased().hasSuffix(".zip") { return try readZip(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read file", at: Location(path)) }
        let (_, yaml) = isRecordName(path)
        return [Input(origin: path, data: data, yaml: yaml)]
    }

    /// An OSV export (`all.zip`), read with the project's own zip reader: every offset and size checked
    /// against the bytes present and inflation budgeted, so a damaged or hostile archive ends with an
    /// error instead of a loop (the general-purpose zip library spun forever on a truncated entry).
    static func readZip(_ path: String) throws(InputError) -> [Input] {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw InputError("cannot read file", at: Location(path)) }
        return try zipInputs(Array(bytes), origin: path, maxInflated: 8 << 30)
    }

    static func zipInputs(_ bytes: [UInt8], origin path: String, maxInflated: Int) throws(InputError) -> [Input] {
        let zip: ZipArchive
        do { zip = try ZipArchive(bytes) } catch {
            throw InputError("not a readable zip archive (\(error))", at: Location(path))
        }
        // A whole ecosystem's advisories inflate to a few hundred MiB; JSON compresses about tenfold.
        var limits = ArchiveLimits()
        limits.totalInflatedBytes = UInt64(max(0, maxInflated))
        limits.maxTotalRatio = 64
        var budget = InflateBudget(limits, archiveSize: bytes.count)
        var out: [Input] = []
        for entry in zip.entries where !entry.isDirectory {
            let (ok, yaml) = isRecordName(entry.path)
            guard ok else { continue }
            let data: [UInt8]
            do { data = try zip.read(entry, budget: &budget) } catch {
                throw InputError("damaged archive entry '\(Redactor.quote(entry.path, max: 120))' (\(error))", at: Location(path))
            }
            out.append(Input(origin: path + ":" + entry.path, data: Data(data), yaml: yaml))
        }
        return out.sorted { $0.origin < $1.origin }
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
            return .failure(Diagnostic(Location(input.origin), error.message))
        }
    }
}

extension Diagnostic: Error {}
