import Testing
@testable import Catalog
import ProvenantCore

@Suite struct OSExtractorTests {
    let debian12 = Distro(id: "debian", versionID: "12", versionCodename: "bookworm", prettyName: nil)

    @Test func dpkgSingleCarriesArchAndDistro() throws {
        let x = try Fixture.extract(DpkgExtractor(), "lockfiles/os-dpkg/dpkg/single", distro: debian12)
        #expect(Fixture.summary(x) == ["pkg:deb/debian/acl@2.3.1-3?arch=amd64&distro=debian-12 required"])
        let p = try #require(x.packages.first)
        #expect(p.supplier == "Guillem Jover <guillem@debian.org>")
        #expect(p.locations == [Location("single", line: 1)])
        // libacl1 and libc6 are not installed in this database, so no edge can be drawn.
        #expect(p.dependsOn.isEmpty && p.dependenciesKnown)
    }

    @Test func dpkgStatusDSkipsDeinstalledAndReadsMd5sums() throws {
        let x = try Fixture.extract(DpkgExtractor(), "lockfiles/os-dpkg/dpkg/status.d/foo", distro: debian12)
        #expect(Fixture.summary(x) == ["pkg:deb/debian/foo@1.2.3?arch=amd64&distro=debian-12 required"])
        let files = try #require(x.packages.first).files
        #expect(files.first == PackageFile(path: "/usr/lib/os-release", digest: Digest(.md5, "07d31e7e63800ab1b7966980709c51eb")))
    }

    @Test func dpkgMissingFieldsAreReportedNotFatal() throws {
        let noVersion = try Fixture.extract(DpkgExtractor(), "lockfiles/os-dpkg/dpkg/noversion")
        #expect(!noVersion.diagnostics.isEmpty)
        let noPackage = try Fixture.extract(DpkgExtractor(), "lockfiles/os-dpkg/dpkg/nopackage")
        // The stanza without a Package field is reported with its line; the others are still read.
        #expect(noPackage.packages.map { "\($0.name)@\($0.version)" }.sorted() == ["bar@2.0", "foo@1.0"])
        #expect(noPackage.diagnostics.map(\.location.line) == [5])
    }

    @Test func dpkgValidResolvesDependsEdges() throws {
        let x = try Fixture.extract(DpkgExtractor(), "lockfiles/os-dpkg/dpkg/valid")
        let acl = try #require(x.packages.first { $0.name == "acl" })
        let libacl = try #require(x.packages.first { $0.name == "libacl1" })
        #expect(acl.dependsOn.contains(libacl.ref))
    }

    @Test func apkSingle() throws {
        let alpine = Distro(id: "alpine", versionID: "3.18.0", versionCodename: nil, prettyName: nil)
        let x = try Fixture.extract(ApkExtractor(), "lockfiles/os-apk/single", distro: alpine)
        #expect(Fixture.summary(x) == ["pkg:apk/alpine/alpine-baselayout-data@3.4.3-r1?arch=x86_64&distro=alpine-3.18.0&upstream=alpine-baselayout required"])
        let p = try #require(x.packages.first)
        #expect(p.licenses == ["GPL-2.0-only"])
        // C:Q1... is the base64 SHA-1 of the package's control data.
        #expect(p.digests.first?.algorithm == .sha1)
        #expect(p.files.first?.path == "/etc/fstab")
    }

    @Test func osReleaseParses() {
        let d = OSRelease.parse("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n")
        #expect(d?.qualifier == "debian-12")
    }
}
