import Foundation
import ProvenantCore

/// Downloads per-ecosystem archives in the layout of OSV's export bucket
/// (`<base>/<ecosystem>/all.zip`) and imports them in one transaction.
public enum AdvisoryUpdater {
    public static let defaultSource = "https://osv-vulnerabilities.storage.googleapis.com"
    /// The ecosystems Provenant catalogs, for a database that has none yet.
    public static let defaultEcosystems = ["Alpine", "Debian", "Go", "Maven", "NuGet", "Packagist", "PyPI", "RubyGems", "crates.io", "npm"]

    public static func archiveURL(base: String, ecosystem: String) -> URL? {
        let b = base.hasSuffix("/") ? String(base.dropLast()) : base
        guard let eco = ecosystem.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) else { return nil }
        return URL(string: "\(b)/\(eco)/all.zip")
    }

    /// Refuses a source that is not https, unless `insecure`: advisories fetched in the clear can
    /// be rewritten on the way to say nothing is vulnerable.
    public static func checkSource(_ source: String, insecure: Bool) throws(InputError) {
        let scheme = URL(string: source)?.scheme?.lowercased()
        if scheme == "https" || (insecure && scheme == "http") { return }
        if scheme == "http" { throw InputError("--source '\(Redactor.redact(URLUserinfo.stripped(source)))' is plain http, which anyone on the path can rewrite; use https, or pass --insecure to accept it") }
        throw InputError("--source must be an https URL, got '\(Redactor.redact(URLUserinfo.stripped(source)))'")
    }

    public static func update(store: AdvisoryStore, source: String, ecosystems: [String], insecure: Bool = false,
                              limits: DownloadLimits = DownloadLimits(),
                              progress: @Sendable (String) -> Void = { _ in }) async throws(InputError) -> AdvisoryImporter.Report {
        try checkSource(source, insecure: insecure)
        // A proxy setting this client cannot use (https:// or socks5:// proxies) must not quietly
        // mean a direct connection (found by helper-117).
        // Only the variables this download would use are checked: https_proxy for an https source,
        // http_proxy too when plain http may be reached, all_proxy always (curl reads it; this client
        // cannot), and none for a host no_proxy names (helper-118).
        let env = ProcessInfo.processInfo.environment
        let sourceURL = URL(string: source)
        if !ProxySetting.bypasses(sourceURL?.host ?? "", noProxy: env["no_proxy"] ?? env["NO_PROXY"] ?? "") {
            var sets = [["https_proxy", "HTTPS_PROXY"]]
            if insecure || sourceURL?.scheme?.lowercased() == "http" { sets.append(["http_proxy"]) }
            for names in sets {
                if let name = names.first(where: { !(env[$0] ?? "").isEmpty }), ProxySetting.proxy(named: [name], in: env) == nil {
                    throw InputError("\(name) names a proxy this download cannot use (only http:// proxies are); refused rather than connecting directly")
                }
            }
            let httpsSet = ["https_proxy", "HTTPS_PROXY"].contains { !(env[$0] ?? "").isEmpty }
            if !httpsSet, let name = ["all_proxy", "ALL_PROXY"].first(where: { !(env[$0] ?? "").isEmpty }) {
                throw InputError("\(name) is set, which this download does not read; set https_proxy to an http:// proxy instead, or unset it")
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-update-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw InputError("cannot create a temporary directory (\(error))")
        }
        var files: [(path: String, shown: String)] = []
        // A whole export is as current as the moment its download began.
        let fetched = RFC3339.string(from: Date())
        let download = ArchiveDownload(limits: limits, insecure: insecure)
        var taken: Int64 = 0
        for eco in ecosystems {
            // checkSource has already required https (or http with --insecure).
            guard let url = archiveURL(base: source, ecosystem: eco) else {
                throw InputError("--source must be an http(s) URL, got '\(Redactor.redact(URLUserinfo.stripped(source)))'")
            }
            // Shown without any user info a mirror URL carries.
            let shown = Redactor.redact(URLUserinfo.stripped(url.absoluteString))
            progress("downloading \(shown)")
            let file = dir.appendingPathComponent("\(files.count)-all.zip")
            taken += try await download.fetch(url, to: file, shown: shown, budget: limits.maxBytes - taken)
            files.append((file.path, shown))
        }
        // Each archive is named by the URL it came from: a damaged one was reported against the
        // temporary file, already gone (found by helper-155).
        var loaded = AdvisoryImporter.Loaded()
        // Each ecosystem downloaded whole is current from the download. Not one whose archive had
        // records that could not be read (the run exits 2, but a job that ignores that would still
        // pass --max-db-age; helper-219), nor one whose archive is empty or holds records that do not
        // all name it (another ecosystem's, or the name typed in another case; helper-220).
        var current: [String: String] = [:]
        for (eco, f) in zip(ecosystems, files) {
            guard let bytes = FileManager.default.contents(atPath: f.path) else { throw InputError("cannot read the downloaded archive", at: Location(f.shown)) }
            var one = AdvisoryImporter.Loaded()
            try AdvisoryImporter.zipInputs(Array(bytes), origin: f.shown, maxInflated: AdvisoryImporter.maxInflatedArchive, into: &one)
            if one.skipped.isEmpty, AdvisoryImporter.isExport(one.records, of: eco) {
                for k in AdvisoryImporter.exportKeys(one.records, of: eco) { current[k] = fetched }
            }
            loaded.records += one.records; loaded.skipped += one.skipped; loaded.files += one.files
        }
        return AdvisoryImporter.Report(loaded: loaded, result: try store.write(loaded.records, current: current), current: current.keys.sorted())
    }
}
