import Foundation
import Testing
@testable import Catalog
import ProvenantCore

enum Fixture {
    static var root: String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
    }

    /// Runs one extractor on one fixture file, with the file's folder as the scan root so siblings resolve.
    static func extract(_ e: any Extractor, _ rel: String, includeDev: Bool = false, mode: ScanMode = .source,
                        distro: Distro? = nil) throws -> Extraction {
        let full = root + "/" + rel
        let dir = (full as NSString).deletingLastPathComponent
        let index = FileIndex(root: dir)
        let name = (full as NSString).lastPathComponent
        guard let file = index.file(name) else { throw ParseError("fixture missing: \(rel)") }
        return try e.extract(ExtractInput(file: file, index: index,
                                          context: ExtractContext(mode: mode, includeDev: includeDev, distro: distro)))
    }

    /// `purl scope` lines, sorted, for exact comparisons.
    static func summary(_ x: Extraction) -> [String] {
        x.packages.map { "\($0.purl) \($0.scope.rawValue)" }.sorted()
    }

    static func edges(_ x: Extraction) -> [String: [String]] {
        Dictionary(x.packages.map { ($0.purl.description, $0.dependsOn) }, uniquingKeysWith: { a, _ in a })
    }
}
