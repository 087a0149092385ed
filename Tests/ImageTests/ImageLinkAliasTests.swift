@testable import Catalog
import Foundation
import ProvenantCore
import Testing

/// A package database or metadata file an image reaches only through a symbolic link: a link at the
/// wanted path, or a linked directory on the way to it. Its layer is read again for the bytes, and the
/// packages name the link's path; a file whose own path is wanted is never listed twice.
@Suite struct ImageLinkAliasTests {
    static func status(_ name: String, _ version: String = "1.0-1") -> [UInt8] {
        Array("Package: \(name)\nStatus: install ok installed\nVersion: \(version)\nArchitecture: amd64\n\n".utf8)
    }

    static func catalog(_ layers: [TarWriter], gzip: Bool = false) async throws -> Inventory {
        let dir = try temporaryDirectory("link-alias")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir)
        for (i, t) in layers.enumerated() { try w.addLayer(t.finished(), gzip: gzip, createdBy: "RUN layer \(i)") }
        try w.write()
        return try await catalogImage("oci-dir:" + dir.path)
    }

    @Test func aDatabaseAtALinkedPathIsRead() async throws {
        for gzip in [false, true] {
            // The link at the wanted path, its file in a lower layer under a name nothing wants.
            var lower = TarWriter()
            lower.add("opt/db/status", data: Self.status("tool"))
            var upper = TarWriter()
            upper.add("var/lib/dpkg/status", .symlink, link: "/opt/db/status")
            let inv = try await Self.catalog([lower, upper], gzip: gzip)
            #expect(inv.packages.map(\.purl.description) == ["pkg:deb/debian/tool@1.0-1?arch=amd64"], "gzip \(gzip): \(inv.packages.map(\.purl.description)) \(inv.diagnostics)")
            #expect(inv.packages.first?.locations.map(\.path) == ["var/lib/dpkg/status"])
            // The layer that holds the bytes is the one named, as the runtime reads them from it.
            #expect(inv.packages.first?.locations.first?.layer == inv.image?.layers.first?.digest)
            #expect(inv.mode == ScanMode.installed.rawValue)
            #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
        }
    }

    @Test func aDatabaseUnderALinkedDirectoryIsRead() async throws {
        var lower = TarWriter()
        lower.add("srv/dpkgdb/status", data: Self.status("tool"))
        lower.add("srv/site/lib-2.0.dist-info/METADATA", data: Array("Metadata-Version: 2.1\nName: lib\nVersion: 2.0\n".utf8))
        var upper = TarWriter()
        upper.add("var/lib/dpkg", .symlink, link: "../../srv/dpkgdb")
        upper.add("usr/lib/python3/dist-packages", .symlink, link: "/srv/site")
        let inv = try await Self.catalog([lower, upper])
        #expect(Set(inv.packages.map(\.purl.description)) == ["pkg:deb/debian/tool@1.0-1?arch=amd64", "pkg:pypi/lib@2.0"], "\(inv.packages.map(\.purl.description)) \(inv.diagnostics)")
        // METADATA is wanted under its own path too, so it is read there, once.
        #expect(Set(inv.packages.flatMap { $0.locations.map(\.path) }) == ["var/lib/dpkg/status", "srv/site/lib-2.0.dist-info/METADATA"])
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
    }

    /// Merged /usr, a link to the root, and a link beside its wanted target: each file is read once,
    /// under its own path.
    @Test func aFileWantedUnderItsOwnPathIsNotListedAgain() async throws {
        var t = TarWriter()
        t.add("usr/lib/os-release", data: Array("ID=debian\nVERSION_ID=12\n".utf8))
        t.add("etc/os-release", .symlink, link: "../usr/lib/os-release")
        t.add("var/lib/dpkg/status", data: Self.status("tool"))
        t.add("usr/lib/python3/dist-packages/lib-2.0.dist-info/METADATA", data: Array("Metadata-Version: 2.1\nName: lib\nVersion: 2.0\n".utf8))
        t.add("lib", .symlink, link: "usr/lib")
        t.add("srv/root", .symlink, link: "/")
        t.add("status-copy/var/lib/dpkg/status", .symlink, link: "/var/lib/dpkg/status")
        let inv = try await Self.catalog([t])
        #expect(inv.packages.map(\.purl.description).sorted() == ["pkg:deb/debian/tool@1.0-1?arch=amd64&distro=debian-12", "pkg:pypi/lib@2.0"], "\(inv.packages.map(\.purl.description))")
        #expect(inv.packages.allSatisfy { $0.locations.count == 1 }, "\(inv.packages.map(\.locations))")
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
    }

    /// A link that leads nowhere, or to a directory where a file is wanted, reads nothing and stops nothing.
    @Test func deadAndMismatchedLinksReadNothing() async throws {
        var t = TarWriter()
        t.add("var/lib/dpkg/status", .symlink, link: "/nowhere/status")
        t.add("app/package-lock.json", .symlink, link: "/app")
        t.add("app2/node_modules", .symlink, link: "/proc/self/root")
        let inv = try await Self.catalog([t])
        #expect(inv.packages.isEmpty, "\(inv.packages.map(\.purl.description))")
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
    }

    /// A file wanted only through a link is held to the read budget and the file size cap like any other.
    @Test func aLinkedFileOverTheCapIsReportedNotRead() async throws {
        let dir = try temporaryDirectory("link-alias-cap")
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = TarWriter()
        t.add("opt/db/status", data: Self.status("tool") + [UInt8](repeating: 10, count: 4096))
        t.add("var/lib/dpkg/status", .symlink, link: "/opt/db/status")
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished())
        try w.write()
        let contents = try await ImageReader(maxFileBytes: 1024, capture: Cataloger().imageCapture)
            .read(try ImageSources.open(.ociDirectory(path: dir.path, tag: nil)), budget: ReadBudget(total: 1 << 20))
        #expect(contents.filesystem.aliases.map(\.path) == ["var/lib/dpkg/status"])
        #expect(contents.diagnostics.contains { $0.location.path == "opt/db/status" && $0.message.contains("over the") }, "\(contents.diagnostics)")
    }

    /// The walk under linked directories is bounded; past the bound it says so.
    @Test func theWalkUnderLinkedDirectoriesIsBounded() {
        let fs = SquashedFileSystem()
        let top = ImageNode(kind: .directory, layer: 0)
        let data = ImageNode(kind: .directory, layer: 0)
        for i in 0..<50 { data.children["f\(i)"] = ImageNode(kind: .file, layer: 0) }
        top.children["data"] = data
        top.children["link"] = ImageNode(kind: .symbolicLink("data"), layer: 0)
        fs.apply(top)
        let all = fs.linkAliases(wanted: { path, _ in path.hasPrefix("link/") })
        #expect(all.found.count == 50 && !all.cut)
        let bounded = fs.linkAliases(limit: 10, wanted: { path, _ in path.hasPrefix("link/") })
        #expect(bounded.found.count == 10 && bounded.cut)
    }
}
