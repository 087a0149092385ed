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

    public static func update(store: AdvisoryStore, source: String, ecosystems: [String],
                              progress: @Sendable (String) -> Void = { _ in }) async throws(InputError) -> AdvisoryImporter.Report {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-update-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw InputError("cannot create a temporary directory (\(error))")
        }
        var files: [String] = []
        for eco in ecosystems {
            guard let url = archiveURL(base: source, ecosystem: eco), url.scheme == "http" || url.scheme == "https" else {
                throw InputError("--source must be an http(s) URL, got '\(source)'")
            }
            progress("downloading \(url.absoluteString)")
            let data: Data, response: URLResponse
            do { (data, response) = try await URLSession.shared.data(from: url) } catch {
                throw InputError("download failed: \(error.localizedDescription)", at: Location(url.absoluteString))
            }
            guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
                throw InputError("download failed: HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0)", at: Location(url.absoluteString))
            }
            let file = dir.appendingPathComponent("\(files.count)-all.zip")
            do { try data.write(to: file) } catch { throw InputError("cannot store download (\(error))", at: Location(file.path)) }
            files.append(file.path)
        }
        return try await AdvisoryImporter.importPaths(files, into: store)
    }
}
