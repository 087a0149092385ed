import Testing
import ProvenantCore

/// Package URLs are every package's identity: parsing and the canonical form must hold for odd input too.
@Suite struct PackageURLTests {
    @Test func parsesIntoTheCanonicalForm() throws {
        let cases: [(String, String)] = [
            ("pkg:NPM/%40Babel/core@7.0.0?B=2&a=1&c=#sub//x/", "pkg:npm/%40Babel/core@7.0.0?a=1&b=2#sub/x"),
            ("pkg://golang/github.com//a/b@v1.0.0", "pkg:golang/github.com/a/b@v1.0.0"),
            ("pkg:deb/debian/libc6@2.36-9+deb12u4?distro=debian-12&arch=amd64", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"),
            ("pkg:pypi/na%2Gme@1%", "pkg:pypi/na%252Gme@1%25"),
            ("pkg:a/ü@é?q=ä", "pkg:a/%C3%BC@%C3%A9?q=%C3%A4"),
            ("pkg:maven/org.apache/commons@1.0?=x&k==v&&q", "pkg:maven/org.apache/commons@1.0?k=%3Dv"),
        ]
        for (input, canonical) in cases {
            let p = try #require(PackageURL(parsing: input), "\(input)")
            #expect(p.description == canonical, "\(input)")
            // The canonical form reads back to itself.
            #expect(PackageURL(parsing: canonical)?.description == canonical)
        }
        let npm = try #require(PackageURL(parsing: "pkg:npm/%40babel/core@7.0.0"))
        #expect(npm.type == "npm" && npm.namespace == "@babel" && npm.name == "core" && npm.version == "7.0.0")
        let go = try #require(PackageURL(parsing: "pkg:golang/github.com/a/b/v2@v2.1.0#cmd"))
        #expect(go.namespace == "github.com/a/b" && go.name == "v2" && go.subpath == "cmd")
    }

    @Test func refusesWhatIsNotAPurl() {
        // An unencoded '@' in the namespace reads as the version separator, leaving no name.
        for bad in ["", "pkg:", "npm/left-pad@1.0", "pkg:npm", "pkg:npm/", "pkg:/left-pad", "pkg:npm/@babel/core"] {
            #expect(PackageURL(parsing: bad) == nil, "\(bad)")
        }
        #expect(PackageURL(parsing: "pkg:npm/a@1?x=1#")?.description == "pkg:npm/a@1?x=1", "an empty subpath is dropped")
    }
}
