import Foundation
import Testing
@testable import Catalog
import ProvenantCore

/// An unpacked root filesystem read as a directory finds, as an image read does, a package database
/// reached only through a symbolic link inside the root, and lists no file twice.
@Suite struct DirectoryLinkAliasTests {
    static func status(_ name: String) -> String {
        "Package: \(name)\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n"
    }

    static func root(_ name: String) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-dirlink-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    static func write(_ root: URL, _ rel: String, _ text: String) throws {
        let url = root.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    static func link(_ root: URL, _ rel: String, to target: String) throws {
        let url = root.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    @Test func aDatabaseAtALinkedPathOrUnderALinkedDirectoryIsRead() async throws {
        let r = try Self.root("found")
        defer { try? FileManager.default.removeItem(at: r) }
        try Self.write(r, "opt/db/status", Self.status("tool"))
        try Self.link(r, "var/lib/dpkg/status", to: "/opt/db/status")
        try Self.write(r, "srv/apkdb/installed", "P:musl\nV:1.2.4-r2\nA:x86_64\n\n")
        try Self.link(r, "lib/apk/db", to: "../../srv/apkdb")
        let inv = try await Cataloger().catalog(r.path)
        #expect(Set(inv.packages.map(\.purl.description)) == ["pkg:deb/debian/tool@1.0-1?arch=amd64", "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"],
                "\(inv.packages.map(\.purl.description)) \(inv.diagnostics)")
        #expect(Set(inv.packages.flatMap { $0.locations.map(\.path) }) == ["var/lib/dpkg/status", "lib/apk/db/installed"])
        #expect(inv.mode == ScanMode.installed.rawValue)
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
    }

    /// Merged /usr, a link to the root and a link beside its wanted target: each file is read once, under
    /// its own path. A link out of the root, or to what the walk skipped, reads nothing.
    @Test func aFileWantedUnderItsOwnPathIsNotListedAgain() async throws {
        let r = try Self.root("once")
        defer { try? FileManager.default.removeItem(at: r) }
        try Self.write(r, "var/lib/dpkg/status", Self.status("tool"))
        try Self.write(r, "usr/lib/python3/dist-packages/lib-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: lib\nVersion: 2.0\n")
        try Self.link(r, "lib", to: "usr/lib")
        try Self.link(r, "srv/root", to: "/")
        try Self.link(r, "copy/var/lib/dpkg/status", to: "../../../../var/lib/dpkg/status")
        try Self.link(r, "outside/var/lib/dpkg/status", to: "../../../../../../../../../etc/hostname")
        try Self.link(r, "loop/var/lib/dpkg/status", to: "status")
        try Self.write(r, "excluded/status", Self.status("hidden"))
        try Self.link(r, "other/var/lib/dpkg/status", to: "/excluded/status")
        let inv = try await Cataloger(excludes: ["excluded"]).catalog(r.path)
        #expect(inv.packages.map(\.purl.description).sorted() == ["pkg:deb/debian/tool@1.0-1?arch=amd64", "pkg:pypi/lib@2.0"], "\(inv.packages.map(\.purl.description))")
        #expect(inv.packages.allSatisfy { $0.locations.count == 1 }, "\(inv.packages.map(\.locations))")
    }

    @Test func theNamesGivenThroughLinksAreBounded() throws {
        let r = try Self.root("bounded")
        defer { try? FileManager.default.removeItem(at: r) }
        for i in 0..<20 { try Self.write(r, "data/f\(i)", "x") }
        try Self.link(r, "link", to: "data")
        let index = FileIndex(root: r.path)
        #expect(index.links == ["link"])
        let all = index.addingLinkAliases { path, _ in path.hasPrefix("link/") }
        #expect(all.files.filter { $0.path.hasPrefix("link/") }.count == 20 && all.diagnostics.isEmpty)
        let bounded = index.addingLinkAliases(limit: 5) { path, _ in path.hasPrefix("link/") }
        #expect(bounded.files.filter { $0.path.hasPrefix("link/") }.map(\.path) == ["link/f0", "link/f1", "link/f10", "link/f11", "link/f12"])
        #expect(bounded.diagnostics.contains { $0.message.contains("more than 5 names through symbolic links") && $0.unscanned != nil })
        // A name is read through its link, inside the root.
        #expect(try all.source.read("link/f3", limit: 10) == Array("x".utf8))
    }
}
