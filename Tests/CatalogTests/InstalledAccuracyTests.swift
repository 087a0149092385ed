import Foundation
import Testing
@testable import Catalog
import ProvenantCore

/// On an installed system the inventory equals what the system's own tools report.
/// CI runs on a Debian machine with dpkg and pip; elsewhere these tests need both tools to be present.
@Suite struct InstalledAccuracyTests {
    static func run(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ParseError("\(args.joined(separator: " ")) exited \(p.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }

    static var hasDpkg: Bool { FileManager.default.fileExists(atPath: "/var/lib/dpkg/status") }

    @Test(.enabled(if: hasDpkg || ProcessInfo.processInfo.environment["CI"] != nil))
    func dpkgMatchesDpkgQuery() async throws {
        let expected = Set(try Self.run(["dpkg-query", "-W", "-f", "${db:Status-Status} ${Package} ${Version}\n"])
            .split(separator: "\n").filter { $0.hasPrefix("installed ") }.map { String($0.dropFirst(10)) })
        let index = FileIndex(root: "/var/lib/dpkg")
        let file = try #require(index.file("status"))
        let x = try DpkgExtractor().extract(ExtractInput(file: file, index: index, context: ExtractContext(mode: .installed, includeDev: false)))
        let got = Set(x.packages.map { "\($0.name) \($0.version)" })
        #expect(expected.count > 100)
        #expect(got == expected, "missing: \(expected.subtracting(got).sorted().prefix(5)), extra: \(got.subtracting(expected).sorted().prefix(5))")
        // md5sums in info/ are found for the packages that ship files.
        #expect(x.packages.filter { !$0.files.isEmpty }.count > expected.count / 2)
    }

    @Test func pythonMatchesPipList() async throws {
        let sitePackages = try Self.run(["python3", "-c", "import site; print(site.getsitepackages()[0])"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(
            try Self.run(["python3", "-m", "pip", "list", "--path", sitePackages, "--format", "json", "--disable-pip-version-check"]).utf8))
            as? [[String: String]])
        let expected = Set(listed.compactMap { e in e["name"].flatMap { n in e["version"].map { "\(PackageIdentity.pep503(n)) \($0)" } } })
        let inv = try await Cataloger(mode: .installed).catalog(sitePackages)
        let got = Set(inv.packages.filter { $0.ecosystem == .pypi }.map { "\($0.purl.name) \($0.version)" })
        #expect(expected.count > 20)
        #expect(got == expected, "missing: \(expected.subtracting(got).sorted().prefix(5)), extra: \(got.subtracting(expected).sorted().prefix(5))")
    }
}
