@testable import Catalog
import Foundation
import ProvenantCore
import Testing
import TestSupport

/// Files only their own extraction jobs read are refused to every other reader and freed after the
/// last of those jobs; everything something else reads again stays.
@Suite struct OwnJobFilesTests {
    static let lock = ImageDiffTests.lock(integrity: "sha512-" + String(repeating: "A", count: 86) + "==")
    static let status = TwoLayerImage.status

    /// Layer 0: a lockfile and a hard link to it, a yarn lock, dpkg's status with a copyright file,
    /// a requirements file including the lockfile, and a file recorded as configuration with a hard
    /// link to it. Layer 1: dpkg's status rewritten.
    static func write(to dir: URL) throws {
        var lower = TarWriter()
        lower.add("app/a/package-lock.json", data: lock)
        lower.add("app/b/package-lock.json", .hardLink, link: "app/a/package-lock.json")
        lower.add("app/c/yarn.lock", data: Array("# yarn lockfile v1\n\n\"left-pad@^1.3.0\":\n  version \"1.3.0\"\n".utf8))
        lower.add("app/d/requirements.txt", data: Array("requests==2.31.0\n-r ../a/package-lock.json\n".utf8))
        lower.add("app/e/settings.lock", data: Array("kept\n".utf8))
        lower.add("app/f/settings.lock", .hardLink, link: "app/e/settings.lock")
        lower.add("usr/share/doc/alpha/copyright", data: Array(TwoLayerImage.copyright.utf8))
        lower.add("var/lib/dpkg/status", data: Array(status.utf8))
        // Other names of a held kind of file: configuration, a copyright read through a link, and a
        // lockfile sharing the bytes of a version attribution reads again.
        lower.add("app/g/Cargo.lock", data: Array("[[package]]\nname = \"x\"\nversion = \"1.0.0\"\n".utf8))
        lower.add("etc/app/app.conf", .hardLink, link: "app/g/Cargo.lock")
        lower.add("app/h/Gemfile.lock", data: Array("GEM\n  specs:\n    rake (13.0.6)\n".utf8))
        lower.add("usr/share/doc/gamma/copyright", .symlink, link: "../../../../app/h/Gemfile.lock")
        lower.add("app/x/Cargo.lock", .hardLink, link: "var/lib/dpkg/status")
        var upper = TarWriter()
        upper.add("var/lib/dpkg/status", data: Array((status + "\nPackage: gamma\nStatus: install ok installed\nVersion: 3\nArchitecture: amd64\n\n").utf8))
        var w = try LayoutWriter(dir)
        try w.addLayer(lower.finished(), createdBy: "COPY . /")
        try w.addLayer(upper.finished(), createdBy: "RUN ln")
        _ = try w.write()
    }

    static func open(_ dir: URL) async throws -> ImageFileSource {
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        let contents = try await ImageReader(capture: ImageCapture { _, _, _ in .keep }).read(source, budget: ReadBudget(total: 1 << 30))
        return ImageFileSource(filesystem: contents.filesystem, budget: ReadBudget(total: 1 << 30))
    }

    static func refusal(_ read: () throws(FileAccessError) -> [UInt8]) -> String? {
        do { _ = try read(); return nil } catch { return error.description }
    }

    @Test func aFileIsRefusedToOthersAndFreedAfterItsLastJob() async throws {
        let dir = try temporaryDirectory("own-job-files")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(to: dir)
        let image = try await Self.open(dir)
        let held = OwnJobFiles(image, jobs: [
            ("app/a/package-lock.json", true), ("app/b/package-lock.json", true), ("app/c/yarn.lock", true),
            ("app/d/requirements.txt", false), ("app/e/settings.lock", true), ("var/lib/dpkg/status", true),
            ("app/g/Cargo.lock", true), ("app/h/Gemfile.lock", true), ("app/x/Cargo.lock", true),
        ], readBeside: { $0.hasSuffix("/copyright") }, readAfterJobs: { $0 == "app/e/settings.lock" || $0 == "etc/app/app.conf" })
        // The two lockfile paths share one content; the status has an earlier version (attribution reads
        // it again), and app/x/Cargo.lock shares that version's bytes; settings.lock and app/g/Cargo.lock
        // (through its other name) are configuration; app/h/Gemfile.lock is a package's copyright
        // through a link; requirements.txt's extractor follows includes.
        #expect(held.held == 2)
        for other in ["app/d/requirements.txt", "app/e/settings.lock", "var/lib/dpkg/status", "etc/app/app.conf",
                      "usr/share/doc/gamma/copyright", "app/x/Cargo.lock", "app/g/Cargo.lock", "app/h/Gemfile.lock"] {
            #expect(Self.refusal { () throws(FileAccessError) in try image.read(other, limit: 1 << 20) } == nil, "\(other) is read by others")
        }
        // Another reader is refused the held files from the start, not only once they are freed.
        for path in ["app/a/package-lock.json", "app/b/package-lock.json", "app/c/yarn.lock"] {
            let why = Self.refusal { () throws(FileAccessError) in try image.read(path, limit: 1 << 20) }
            #expect(why?.contains("read by its own extractor alone") == true, "\(path): \(why ?? "read")")
            #expect(try image.readOwnFile(path, limit: 1 << 20).count > 0)
        }
        held.finished("app/a/package-lock.json")
        #expect(try image.readOwnFile("app/b/package-lock.json", limit: 1 << 20) == Self.lock,
                "the hard link's job still reads the shared bytes after the first job is done")
        #expect(held.freedBytes == 0)
        held.finished("app/b/package-lock.json")
        #expect(held.freedBytes == Self.lock.count)
        let why = Self.refusal { () throws(FileAccessError) in try image.readOwnFile("app/a/package-lock.json", limit: 1 << 20) }
        #expect(why?.contains("freed") == true, "\(why ?? "read after its last job")")
        #expect(try image.readOwnFile("app/c/yarn.lock", limit: 1 << 20).count > 0, "a file whose job is not done stays")
        held.finished("app/d/requirements.txt")
        held.finished("var/lib/dpkg/status")
        #expect(Self.refusal { () throws(FileAccessError) in try image.read("var/lib/dpkg/status", limit: 1 << 20) } == nil)
        #expect(held.freedBytes == Self.lock.count)
        held.finished("app/c/yarn.lock")
        held.finished("app/e/settings.lock")
        // Once every job is done, only configuration and the versions attribution reads stay.
        let before = held.freedBytes
        held.allJobsDone()
        for gone in ["app/d/requirements.txt", "usr/share/doc/alpha/copyright", "app/c/yarn.lock", "app/h/Gemfile.lock"] {
            let why = Self.refusal { () throws(FileAccessError) in try image.readOwnFile(gone, limit: 1 << 20) }
            #expect(why?.contains("freed") == true, "\(gone): \(why ?? "read")")
        }
        for stays in ["app/e/settings.lock", "app/f/settings.lock", "var/lib/dpkg/status", "etc/app/app.conf", "app/g/Cargo.lock"] {
            #expect(Self.refusal { () throws(FileAccessError) in try image.read(stays, limit: 1 << 20) } == nil, "\(stays) stays")
        }
        let earlier = try #require(image.filesystem.resolve("var/lib/dpkg/status").node.earlier.first)
        #expect(earlier.content.bytes == Array(Self.status.utf8), "the earlier status stays for attribution")
        #expect(held.freedBytes - before == 43 + TwoLayerImage.copyright.utf8.count + 31, "requirements, a copyright, and the lockfile read as one")
    }

    /// Through the catalog: both lockfile paths give their package, the include of a held file is
    /// refused with the same line every run, and layer attribution still reads dpkg's earlier status.
    @Test func theCatalogReadsEveryHeldFileThroughItsOwnJobs() async throws {
        let dir = try temporaryDirectory("own-job-catalog")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(to: dir)
        let first = try await catalogImage("oci-dir:" + dir.path)
        let leftPad = try #require(first.packages.first { $0.ref == "pkg:npm/left-pad@1.3.0" })
        #expect(Set(leftPad.locations.map(\.path)).isSuperset(of: ["app/a/package-lock.json", "app/b/package-lock.json", "app/c/yarn.lock"]))
        // An include is named by its own path, whoever included it (each file is read once a scan).
        let include = first.diagnostics.filter { $0.location.path == "app/a/package-lock.json" }.map(\.message)
        #expect(include.count == 1 && include[0].contains("included requirements file not readable") && include[0].contains("read by its own extractor alone"), "\(include)")
        #expect(first.packages.contains { $0.ref.hasPrefix("pkg:pypi/requests@2.31.0") })
        let layers = try #require(first.image?.layers)
        let gamma = try #require(first.packages.first { $0.name == "gamma" })
        let alpha = try #require(first.packages.first { $0.name == "alpha" })
        #expect(gamma.locations.allSatisfy { $0.layer == layers[1].digest })
        #expect(alpha.locations.allSatisfy { $0.layer == layers[0].digest }, "the earlier status is read again")
        #expect(alpha.licenses == ["MIT"], "the copyright beside the status is read before it is freed")
        // gamma's copyright is a link to a Gemfile.lock: the catalog's own predicates keep those bytes readable.
        #expect(!first.diagnostics.contains { $0.location.path.contains("gamma") || $0.message.contains("alone") && !$0.message.contains("included requirements") },
                "\(first.diagnostics.map(\.description))")
        for _ in 0..<3 {
            let again = try await catalogImage("oci-dir:" + dir.path)
            #expect(again.packages == first.packages && again.diagnostics == first.diagnostics)
        }
    }
}
