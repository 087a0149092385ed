import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
        if scheme == "http" { throw InputError("--source '\(URLUserinfo.stripped(source))' is plain http, which anyone on the path can rewrite; use https, or pass --insecure to accept it") }
        throw InputError("--source must be an https URL, got '\(URLUserinfo.stripped(source))'")
    }

    public static func update(store: AdvisoryStore, source: String, ecosystems: [String], insecure: Bool = false,
                              progress: @Sendable (String) -> Void = { _ in }) async throws(InputError) -> AdvisoryImporter.Report {
        try checkSource(source, insecure: insecure)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-update-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw InputError("cannot create a temporary directory (\(error))")
        }
        var files: [String] = []
        for eco in ecosystems {
            // checkSource has already required https (or http with --insecure).
            guard let url = archiveURL(base: source, ecosystem: eco) else {
                throw InputError("--source must be an http(s) URL, got '\(URLUserinfo.stripped(source))'")
            }
            // Shown without any user info a mirror URL carries.
            let shown = URLUserinfo.stripped(url.absoluteString)
            progress("downloading \(shown)")
            let data: Data, response: URLResponse
            do { (data, response) = try await URLSession.shared.data(from: url) } catch {
                throw InputError("download failed: \(URLUserinfo.stripped(error.localizedDescription))", at: Location(shown))
            }
            // A redirect must not step down from https either.
            if let final = response.url, final.scheme?.lowercased() != url.scheme?.lowercased(), !insecure {
                throw InputError("download was redirected to \(final.scheme ?? "?"):, not https; refused", at: Location(shown))
            }
            guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
                throw InputError("download failed: HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0)", at: Location(shown))
            }
            let file = dir.appendingPathComponent("\(files.count)-all.zip")
            do { try data.write(to: file) } catch { throw InputError("cannot store download (\(error))", at: Location(file.path)) }
            files.append(file.path)
        }
        return try await AdvisoryImporter.importPaths(files, into: store)
    }
}
