@testable import Catalog
import Foundation
import ProvenantCore
import Testing

/// A package database an image reaches only through symbolic links: a link at its path, or a linked
/// directory on the way. Its layer is read again for the bytes, and the packages name the database's
/// usual path; a file whose own path is wanted is never listed twice.
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

    /// A linked database that later layers rewrote names, for each package, the layer that added it,
    /// as one read at its own path does: its earlier versions are read again too.
    @Test func aLinkedDatabaseRewrittenByLaterLayersNamesTheLayerThatAddedEachPackage() async throws {
        for gzip in [false, true] {
            var first = TarWriter()
            first.add("opt/db/status", data: Self.status("base"))
            first.add("var/lib/dpkg", .symlink, link: "/opt/db")
            var second = TarWriter()
            second.add("opt/db/status", data: Self.status("base") + Self.status("tool"))
            var third = TarWriter()
            third.add("opt/db/status", data: Self.status("base") + Self.status("tool") + Self.status("late", "2.0"))
            let inv = try await Self.catalog([first, second, third], gzip: gzip)
            let layers = try #require(inv.image?.layers.map(\.digest))
            let named = Dictionary(uniqueKeysWithValues: inv.packages.map { ($0.name, $0.locations.first?.layer) })
            #expect(named == ["base": layers[0], "tool": layers[1], "late": layers[2]], "gzip \(gzip): \(named) \(layers) \(inv.diagnostics)")
            #expect(inv.packages.allSatisfy { $0.locations.map(\.path) == ["var/lib/dpkg/status"] })
            #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
        }
        // A version in between that no longer lists a package starts it again at the next layer.
        var first = TarWriter()
        first.add("opt/db/status", data: Self.status("tool"))
        first.add("var/lib/dpkg", .symlink, link: "/opt/db")
        var second = TarWriter()
        second.add("opt/db/status", data: Self.status("base"))
        var third = TarWriter()
        third.add("opt/db/status", data: Self.status("base") + Self.status("tool"))
        let inv = try await Self.catalog([first, second, third])
        let layers = try #require(inv.image?.layers.map(\.digest))
        let named = Dictionary(uniqueKeysWithValues: inv.packages.map { ($0.name, $0.locations.first?.layer) })
        #expect(named == ["base": layers[1], "tool": layers[2]], "\(named)")
    }

    /// Only files named like a database a link may lead to keep the versions lower layers wrote
    /// without their bytes: keeping every replaced file's made the squash quadratic in layers.
    @Test func onlyDatabaseNamesKeepUnkeptVersions() async throws {
        let dir = try temporaryDirectory("link-alias-history")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir)
        for i in 0..<3 {
            var t = TarWriter()
            t.add("opt/db/status", data: Self.status("p\(i)"))
            t.add("opt/db/notes", data: Array("version \(i)\n".utf8))
            t.add("opt/other/installed", data: Array("version \(i)\n".utf8))
            try w.addLayer(t.finished())
        }
        try w.write()
        let contents = try await ImageReader(capture: Cataloger().imageCapture)
            .read(try ImageSources.open(.ociDirectory(path: dir.path, tag: nil)), budget: ReadBudget(total: 1 << 20))
        let fs = contents.filesystem
        #expect(try fs.resolve("opt/db/status").node.earlier.map(\.layer) == [0, 1])
        #expect(try fs.resolve("opt/other/installed").node.earlier.map(\.layer) == [0, 1])
        #expect(try fs.resolve("opt/db/notes").node.earlier.isEmpty)
        // Nothing led to them, so none of those versions was read again.
        #expect(try fs.resolve("opt/db/status").node.earlier.allSatisfy { $0.content.bytes == nil })
    }

    /// The database is read before its earlier versions: a budget that cannot hold them all still
    /// reads it, and the version that did not fit says how far back attribution goes. Found by
    /// review: the versions were read oldest first and took the budget the database needed.
    @Test func earlierVersionsNeverTakeTheBudgetOfTheDatabase() async throws {
        let pad = { (n: Int) in Array("Description: \(String(repeating: "x", count: n))\n\n".utf8) }
        var layers: [TarWriter] = []
        for (i, names) in [["base"], ["base", "big"], ["base", "tool"]].enumerated() {
            var t = TarWriter()
            let body = names.flatMap { Array("Package: \($0)\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n".utf8) + pad(i == 1 ? 600_000 : 100_000) }
            t.add("opt/db/status", data: body)
            if i == 0 { t.add("var/lib/dpkg", .symlink, link: "/opt/db") }
            layers.append(t)
        }
        let dir = try temporaryDirectory("link-alias-budget")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir)
        for (i, t) in layers.enumerated() { try w.addLayer(t.finished(), gzip: false, createdBy: "RUN layer \(i)") }
        try w.write()
        let inv = try await Cataloger(readBudget: 1 << 20).catalog("oci-dir:" + dir.path)
        let digests = try #require(inv.image?.layers.map(\.digest))
        let named = Dictionary(uniqueKeysWithValues: inv.packages.map { ($0.name, $0.locations.first?.layer) })
        #expect(named == ["base": digests[2], "tool": digests[2]], "\(named) \(inv.diagnostics)")
        #expect(inv.diagnostics.map(\.description) == ["var/lib/dpkg/status: its packages are attributed to layers from 2 on: the version layer 1 wrote was not read (the scan has read its budget of 1 MiB)"], "\(inv.diagnostics)")
        // With room for every version, each package names the layer that added it, and nothing is said.
        let roomy = try await Cataloger().catalog("oci-dir:" + dir.path)
        let all = Dictionary(uniqueKeysWithValues: roomy.packages.map { ($0.name, $0.locations.first?.layer) })
        #expect(all == ["base": digests[0], "tool": digests[2]], "\(all)")
        #expect(roomy.diagnostics.isEmpty, "\(roomy.diagnostics)")
    }

    /// A file rewritten by more layers than a history keeps drops its history for good: its packages
    /// name the layer of the current version, never a layer partway through its versions.
    @Test func aDatabaseRewrittenByTooManyLayersNamesItsCurrentLayer() async throws {
        var layers: [TarWriter] = []
        for i in 0..<(SquashedFileSystem.maxHistory + 4) {
            var t = TarWriter()
            t.add("opt/db/status", data: Self.status("base") + Array("\n".utf8) + Array(repeating: UInt8(ascii: "\n"), count: i))
            if i == 0 { t.add("var/lib/dpkg", .symlink, link: "/opt/db") }
            layers.append(t)
        }
        let inv = try await Self.catalog(layers)
        let digests = try #require(inv.image?.layers.map(\.digest))
        #expect(inv.packages.map(\.name) == ["base"])
        #expect(inv.packages.first?.locations.first?.layer == digests.last, "\(String(describing: inv.packages.first?.locations.first?.layer))")
    }

    @Test func aDatabaseUnderALinkedDirectoryIsRead() async throws {
        var lower = TarWriter()
        lower.add("srv/dpkgdb/status", data: Self.status("tool"))
        lower.add("srv/distroless/base", data: Self.status("base-files", "12.4"))
        lower.add("srv/site/lib-2.0.dist-info/METADATA", data: Array("Metadata-Version: 2.1\nName: lib\nVersion: 2.0\n".utf8))
        var upper = TarWriter()
        upper.add("var/lib/dpkg", .symlink, link: "../../srv/dpkgdb")
        upper.add("srv/dpkgdb/status.d", .symlink, link: "/srv/distroless")
        upper.add("usr/lib/python3/dist-packages", .symlink, link: "/srv/site")
        let inv = try await Self.catalog([lower, upper])
        #expect(Set(inv.packages.map(\.purl.description)) == ["pkg:deb/debian/tool@1.0-1?arch=amd64", "pkg:deb/debian/base-files@12.4?arch=amd64", "pkg:pypi/lib@2.0"],
                "\(inv.packages.map(\.purl.description)) \(inv.diagnostics)")
        // METADATA is wanted under its own path, so it is read there, once.
        #expect(Set(inv.packages.flatMap { $0.locations.map(\.path) }) == ["var/lib/dpkg/status", "var/lib/dpkg/status.d/base", "srv/site/lib-2.0.dist-info/METADATA"])
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
    }

    /// Found by review: two links on the way, and a database whose real file another extractor wants
    /// (an executable, which the Go extractor screens out), both hid the database.
    @Test func linksInTurnAndAnExecutableDatabaseAreRead() async throws {
        var t = TarWriter()
        t.add("opt/s", data: Self.status("tool") + Array(String(repeating: "#", count: 8192).utf8), mode: 0o755)
        t.add("srv/db/status", .symlink, link: "/opt/s")
        t.add("var/lib/dpkg", .symlink, link: "/srv/db")
        let inv = try await Self.catalog([t])
        #expect(inv.packages.map(\.purl.description) == ["pkg:deb/debian/tool@1.0-1?arch=amd64"], "\(inv.packages.map(\.purl.description)) \(inv.diagnostics)")
        #expect(inv.packages.first?.locations.map(\.path) == ["var/lib/dpkg/status"])
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

    /// A link to a database the extractor reads under its real path too: read there, once.
    @Test func aLinkToADatabaseReadWhereItIsAddsNothing() async throws {
        var t = TarWriter()
        t.add("chroot/var/lib/dpkg/status", data: Self.status("tool"))
        t.add("var/lib/dpkg", .symlink, link: "/chroot/var/lib/dpkg")
        let inv = try await Self.catalog([t])
        #expect(inv.packages.flatMap { $0.locations.map(\.path) } == ["chroot/var/lib/dpkg/status"], "\(inv.packages.map(\.locations))")
    }

    /// Found by review: a broken link far above a database (`var -> /tmp` with no /tmp) said the database
    /// was not read, failing a clean scan; only the database's own link or its directory's says so.
    /// A status.d entry that is itself a link is read; a configuration file recorded under a linked
    /// database path is recorded.
    @Test func linksAboveInsideAndRecorded() async throws {
        var t = TarWriter()
        t.add("etc/hostname", data: Array("x\n".utf8))
        t.add("var", .symlink, link: "/tmp")
        let quiet = try await Self.catalog([t])
        #expect(quiet.diagnostics.isEmpty, "\(quiet.diagnostics)")

        let dir = try temporaryDirectory("link-inside")
        defer { try? FileManager.default.removeItem(at: dir) }
        var u = TarWriter()
        u.add("opt/base", data: Self.status("base-files", "12.4"))
        u.add("var/lib/dpkg/status.d/base", .symlink, link: "/opt/base")
        u.add("opt/apk/installed", data: Array("P:musl\nV:1.2.4-r2\nA:x86_64\n\n".utf8))
        u.add("lib/apk/db", .symlink, link: "/opt/apk")
        var w = try LayoutWriter(dir)
        try w.addLayer(u.finished())
        try w.write()
        var cataloger = Cataloger()
        cataloger.config = ConfigSelection(globs: ["lib/apk/db/installed"])
        let inv = try await cataloger.catalog("oci-dir:" + dir.path)
        #expect(Set(inv.packages.flatMap { $0.locations.map(\.path) }) == ["var/lib/dpkg/status.d/base", "lib/apk/db/installed"], "\(inv.packages.map(\.locations)) \(inv.diagnostics)")
        #expect(inv.configFiles?.map(\.path) == ["lib/apk/db/installed"], "\(String(describing: inv.configFiles)) \(inv.diagnostics)")
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
    }

    /// Found by the third review: `status.d -> .` read dpkg's `status-old` and `available` as installed
    /// packages; a status.d entry whose link leads nowhere was silent.
    @Test func aStatusDirectoryLinkedToItselfReadsNothingAndABrokenEntryIsSaid() async throws {
        var t = TarWriter()
        t.add("var/lib/dpkg/status", data: Self.status("a", "2"))
        t.add("var/lib/dpkg/status-old", data: Self.status("a", "1"))
        t.add("var/lib/dpkg/available", data: Self.status("evil", "9"))
        t.add("var/lib/dpkg/status.d", .symlink, link: ".")
        t.add("lib/apk/db/installed.d", .symlink, link: "/")
        let inv = try await Self.catalog([t])
        #expect(inv.packages.map(\.purl.description) == ["pkg:deb/debian/a@2?arch=amd64"], "\(inv.packages.map(\.purl.description))")
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
        var u = TarWriter()
        u.add("var/lib/dpkg/status.d/tool", data: Self.status("tool"))
        u.add("var/lib/dpkg/status.d/base", .symlink, link: "/opt/gone")
        let broken = try await Self.catalog([u])
        #expect(broken.packages.map(\.name) == ["tool"])
        #expect(broken.diagnostics.map(\.location.path) == ["var/lib/dpkg/status.d/base"], "\(broken.diagnostics)")
    }

    /// A database link that leads nowhere is said (its packages are not checked); other links that lead
    /// nowhere, or to a directory where a file is wanted, read nothing and stop nothing.
    @Test func deadAndMismatchedLinks() async throws {
        var t = TarWriter()
        t.add("var/lib/dpkg/status", .symlink, link: "/nowhere/status")
        t.add("lib/apk/db", .symlink, link: "/gone")
        t.add("usr/lib/opkg", .symlink, link: "/gone")   // above opkg's status only as its directory: said
        t.add("app/package-lock.json", .symlink, link: "/app")
        t.add("app2/node_modules", .symlink, link: "/proc/self/root")
        let inv = try await Self.catalog([t])
        #expect(inv.packages.isEmpty, "\(inv.packages.map(\.purl.description))")
        #expect(inv.diagnostics.map(\.location.path) == ["lib/apk/db/installed", "usr/lib/opkg/status", "var/lib/dpkg/status"], "\(inv.diagnostics)")
        #expect(inv.diagnostics.allSatisfy { $0.unscanned != nil && $0.message.contains("leads to nothing readable") })
    }

    /// Found by review: following every link's files let a small image ask for millions of names. Only
    /// the paths extractors name are looked up, so links elsewhere cost nothing and list nothing.
    @Test func manyLinksElsewhereAddNothing() async throws {
        var t = TarWriter()
        for i in 0..<100 { t.add("d/s\(i)", data: Self.status("p\(i)")) }
        for j in 0..<300 { t.add("x\(j)/var/lib/dpkg/status.d", .symlink, link: "/d") }
        let inv = try await Self.catalog([t])
        #expect(inv.packages.isEmpty && inv.diagnostics.isEmpty, "\(inv.packages.count) \(inv.diagnostics)")
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
    /// The md5sums beside a status reached through a linked `var/lib/dpkg`, or a linked `info/`, give the
    /// package its file list, as at the usual place; a broken link in `info/` to a file nothing reads
    /// says nothing.
    @Test func fileListsBesideALinkedDatabaseAreRead() async throws {
        let sums = Array("d41d8cd98f00b204e9800998ecf8427e  usr/bin/tool\n".utf8)
        var lower = TarWriter()
        lower.add("srv/dpkgdb/status", data: Self.status("tool"))
        lower.add("srv/dpkgdb/info/tool.md5sums", data: sums)
        lower.add("srv/dpkgdb/info/tool.list", .symlink, link: "/gone")
        var upper = TarWriter()
        upper.add("var/lib/dpkg", .symlink, link: "/srv/dpkgdb")
        let inv = try await Self.catalog([lower, upper])
        #expect(inv.packages.first?.files.map(\.path) == ["/usr/bin/tool"], "\(inv.packages.map(\.files)) \(inv.diagnostics)")
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")

        var t = TarWriter()
        t.add("var/lib/dpkg/status", data: Self.status("tool"))
        t.add("srv/info/tool.md5sums", data: sums)
        t.add("var/lib/dpkg/info", .symlink, link: "../../../srv/info")
        let only = try await Self.catalog([t], gzip: true)
        #expect(only.packages.first?.files.map(\.path) == ["/usr/bin/tool"], "\(only.packages.map(\.files)) \(only.diagnostics)")
        #expect(only.packages.first?.locations.map(\.path) == ["var/lib/dpkg/status"])
    }

    /// A linked database directory follows as many links as a directory scan does (1,000), and past
    /// that is not read, and said, as in a directory scan.
    @Test func aLinkedDirectoryOfTooManyLinksIsSaid() async throws {
        for count in [FileIndex.maxLinkedEntryLinks, FileIndex.maxLinkedEntryLinks + 1] {
            var t = TarWriter()
            t.add("srv/db/base", data: Self.status("base-files", "12.4"))
            t.add("srv/real", data: Self.status("linked"))
            for i in 0..<count { t.add("srv/db/p\(i)", .symlink, link: "/srv/real") }
            t.add("var/lib/dpkg/status.d", .symlink, link: "/srv/db")
            let inv = try await Self.catalog([t])
            if count == FileIndex.maxLinkedEntryLinks {
                #expect(Set(inv.packages.map(\.name)) == ["base-files", "linked"], "\(inv.packages.map(\.name))")
                #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
            } else {
                #expect(inv.packages.isEmpty, "\(inv.packages.map(\.name))")
                #expect(inv.diagnostics.map(\.location.path) == ["var/lib/dpkg/status.d"], "\(inv.diagnostics)")
                #expect(inv.diagnostics.first?.description == "var/lib/dpkg/status.d: holds more than 1000 links to the package files read there, so those files were not read", "\(inv.diagnostics)")
            }
        }
    }

    /// An image's reads share one budget of names walked through links, as a directory scan's do: a
    /// `usr/share/doc` behind long link chains costs each package's copyright lookup about 4,000 names.
    @Test func oneImageScanWalksABoundedNumberOfNamesThroughLinks() async throws {
        var t = TarWriter()
        for d in ["etc", "a", "docs", "usr", "usr/share", "var", "var/lib", "var/lib/dpkg"] { t.add(d, .directory, mode: 0o755) }
        let pad = String(repeating: "a/../", count: 800)
        // Targets this long need a pax `linkpath`: a tar header holds 100 bytes.
        for (name, target) in [("usr/share/doc", "/" + pad + "d1"), ("d1", pad + "d2"), ("d2", String(repeating: "a/../", count: 390) + "docs")] {
            t.add(name, .symlink, link: String(target.prefix(90)), pax: ["linkpath": target])
        }
        var status = ""
        for i in 0..<300 { status += "Package: p\(i)\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n" }
        // No copyright files (as in distroless images): a lookup that finds none says nothing, but each
        // walks its 4,000 names first.
        t.add("etc/os-release", data: Array("ID=debian\n".utf8))
        t.add("var/lib/dpkg/status", data: Array(status.utf8))
        let inv = try await Self.catalog([t])
        #expect(inv.packages.count == 300)
        let unread = inv.diagnostics.filter { $0.description.contains("names through symbolic links") && $0.location.path.hasSuffix("/copyright") }.count
        // About 250 lookups fit (1,000,000 / 4,000); each later one says why it was not made.
        #expect(unread > 0 && unread < 100, "\(unread) said: \(inv.diagnostics.prefix(3))")
        #expect(inv.diagnostics.contains { $0.description.contains("the scan walked its budget of 1000000 names") }, "\(inv.diagnostics.prefix(3))")
    }
}
