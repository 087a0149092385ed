import Foundation
import Testing
import ZIPFoundation
@testable import Catalog
import ProvenantCore

@Suite struct JavaExtractorTests {
    @Test func gradleLockfile() throws {
        let x = try Fixture.extract(GradleLockExtractor(), "lockfiles/java-gradlelockfile/5-pkg", includeDev: true)
        #expect(Fixture.summary(x) == [
            "pkg:maven/org.springframework.boot/spring-boot-autoconfigure@2.7.4 required",
            "pkg:maven/org.springframework.boot/spring-boot-configuration-processor@2.7.5 required",
            "pkg:maven/org.springframework.boot/spring-boot-devtools@2.7.6 required",
            "pkg:maven/org.springframework.boot/spring-boot-starter-aop@2.7.7 required",
            "pkg:maven/org.springframework.boot/spring-boot-starter-data-jpa@2.7.8 required",
        ])
    }

    @Test func pomPropertyInterpolation() throws {
        let x = try Fixture.extract(PomExtractor(), "lockfiles/java-pomxml/interpolation.xml")
        #expect(Fixture.summary(x) == ["pkg:maven/org.mine/my.package@2.3.4 required", "pkg:maven/org.mine/mypackage@1.0.0 required"])
        // The ranged version is reported, not guessed.
        #expect(x.diagnostics.count == 1 && x.diagnostics[0].message.contains("ranged-package"))
    }

    @Test func pomTestScopeIsDev() throws {
        #expect(Fixture.summary(try Fixture.extract(PomExtractor(), "lockfiles/java-pomxml/with-scope.xml")) == ["pkg:maven/abc/xyz@1.2.3 required"])
        #expect(Fixture.summary(try Fixture.extract(PomExtractor(), "lockfiles/java-pomxml/with-scope.xml", includeDev: true))
                == ["pkg:maven/abc/xyz@1.2.3 required", "pkg:maven/junit/junit@4.12 dev"])
    }

    @Test func pomInvalidAndNotPom() {
        #expect(throws: ParseError.self) { try Fixture.extract(PomExtractor(), "lockfiles/java-pomxml/invalid-syntax.xml") }
        #expect(throws: ParseError.self) { try Fixture.extract(PomExtractor(), "lockfiles/java-pomxml/not-pom.txt") }
    }

    static func jar(_ url: URL, pom: String?, manifest: String, nested: (String, Data)? = nil) throws {
        let a = try Archive(url: url, accessMode: .create)
        func add(_ path: String, _ d: Data) throws {
            try a.addEntry(with: path, type: .file, uncompressedSize: Int64(d.count), provider: { pos, size in
                d.subdata(in: Int(pos)..<Int(pos) + size)
            })
        }
        try add("META-INF/MANIFEST.MF", Data(manifest.utf8))
        if let pom { try add("META-INF/maven/org.example/inner/pom.properties", Data(pom.utf8)) }
        if let (p, d) = nested { try add(p, d) }
    }

    static func tempDir(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func jarWithNestedJar() throws {
        let dir = try Self.tempDir("jar")
        let inner = dir.appendingPathComponent("inner-2.0.jar")
        try Self.jar(inner, pom: "groupId=org.example\nartifactId=inner\nversion=2.0\n", manifest: "Manifest-Version: 1.0\n")
        let outer = dir.appendingPathComponent("app-1.5.jar")
        try Self.jar(outer, pom: nil, manifest: "Manifest-Version: 1.0\nImplementation-Title: app\nImplementation-Version: 1.5\nImplementation-Vendor-Id: com.acme\n",
                nested: ("BOOT-INF/lib/inner-2.0.jar", try Data(contentsOf: inner)))
        let index = FileIndex(root: dir.path)
        let x = try JarExtractor().extract(ExtractInput(file: try #require(index.file("app-1.5.jar")), index: index,
                                                        context: ExtractContext(mode: .source, includeDev: false)))
        #expect(Fixture.summary(x) == ["pkg:maven/com.acme/app@1.5 required", "pkg:maven/org.example/inner@2.0 required"])
        #expect(x.packages.first { $0.name.hasSuffix("inner") }?.locations.first?.path == "app-1.5.jar!/BOOT-INF/lib/inner-2.0.jar")
        #expect(x.packages.allSatisfy { $0.digests.first?.algorithm == .sha1 })
    }

    /// helper-151: guava-extras-2.0.jar bundling guava's pom.properties gave guava (a prefix of the file
    /// name) the archive's digest, license and supplier; the exact name wins now.
    @Test func theExactArtifactNameOwnsTheArchive() throws {
        let dir = try Self.tempDir("shaded-prefix")
        try Self.jar(dir.appendingPathComponent("guava-extras-2.0.jar"), pom: "groupId=org.ex\nartifactId=guava-extras\nversion=2.0\n",
                     manifest: "Manifest-Version: 1.0\nBundle-License: MIT\nImplementation-Vendor: Extras Inc\n",
                     nested: ("META-INF/maven/com.google.guava/guava/pom.properties", Data("groupId=com.google.guava\nartifactId=guava\nversion=31.0\n".utf8)))
        let index = FileIndex(root: dir.path)
        let x = try JarExtractor().extract(ExtractInput(file: try #require(index.file("guava-extras-2.0.jar")), index: index,
                                                        context: ExtractContext(mode: .source, includeDev: false)))
        let own = try #require(x.packages.first { $0.name.hasSuffix("guava-extras") })
        let bundled = try #require(x.packages.first { $0.name.hasSuffix(":guava") || $0.purl.name == "guava" })
        #expect(!own.digests.isEmpty && own.licenses == ["MIT"] && own.supplier == "Extras Inc")
        #expect(bundled.digests.isEmpty && bundled.licenses.isEmpty && bundled.supplier == nil)
        // Without a pom of its own (a shadow jar), the bundled guava still does not own it (helper-153).
        try Self.jar(dir.appendingPathComponent("guava-extras-3.0.jar"), pom: nil, manifest: "Manifest-Version: 1.0\nBundle-License: MIT\n",
                     nested: ("META-INF/maven/com.google.guava/guava/pom.properties", Data("groupId=com.google.guava\nartifactId=guava\nversion=31.0\n".utf8)))
        let shadow = try JarExtractor().extract(ExtractInput(file: try #require(FileIndex(root: dir.path).file("guava-extras-3.0.jar")), index: FileIndex(root: dir.path),
                                                             context: ExtractContext(mode: .source, includeDev: false)))
        #expect(shadow.packages.first { $0.purl.name == "guava" }.map { $0.digests.isEmpty && $0.licenses.isEmpty } == true, "\(shadow.packages)")
    }

    /// A jar whose only pom.properties is a bundled dependency is still identified itself, from its manifest.
    @Test func shadedJarIdentifiedFromManifest() throws {
        let dir = try Self.tempDir("shaded")
        try Self.jar(dir.appendingPathComponent("guice-4.2.3.jar"), pom: "groupId=cglib\nartifactId=cglib\nversion=3.2.12\n",
                     manifest: "Manifest-Version: 1.0\r\nBundle-SymbolicName: com.google.inject\r\nBundle-Version: 4.2.3\r\n")
        let index = FileIndex(root: dir.path)
        let x = try JarExtractor().extract(ExtractInput(file: try #require(index.file("guice-4.2.3.jar")), index: index,
                                                        context: ExtractContext(mode: .source, includeDev: false)))
        #expect(Fixture.summary(x) == ["pkg:maven/cglib/cglib@3.2.12 required", "pkg:maven/com.google.inject/guice@4.2.3 required"])
        // The archive's digest belongs to guice, not to the library it bundles.
        #expect(x.packages.first { $0.purl.name == "guice" }?.digests.isEmpty == false)
        #expect(x.packages.first { $0.purl.name == "cglib" }?.digests.isEmpty == true)
    }
}

@Suite struct OtherEcosystemTests {
    @Test func cargoSkipsWorkspaceMembers() throws {
        let x = try Fixture.extract(CargoLockExtractor(), "lockfiles/rust-cargolock/two-packages-with-local.lock")
        #expect(Fixture.summary(x) == ["pkg:cargo/addr2line@0.15.2 required"])
        #expect(x.packages[0].digests == [Digest(.sha256, "e7a2e47a1fbe209ee101dd6d61285226744c6c8d3c21c8dc878ba6cb9f467f3a")])
        #expect(x.packages[0].isDirect == false)
    }

    @Test func gemfileEdgesAndDirect() throws {
        let x = try Fixture.extract(GemfileLockExtractor(), "lockfiles/ruby-gemfilelock/some-gems.lock")
        #expect(Fixture.summary(x) == ["pkg:gem/coderay@1.1.3 required", "pkg:gem/method_source@1.0.0 required", "pkg:gem/pry@0.14.1 required"])
        #expect(Fixture.edges(x)["pkg:gem/pry@0.14.1"] == ["pkg:gem/coderay@1.1.3", "pkg:gem/method_source@1.0.0"])
        #expect(x.packages.first { $0.name == "pry" }?.isDirect == true)
        #expect(x.packages.first { $0.name == "coderay" }?.isDirect == false)
    }

    @Test func composerDev() throws {
        #expect(try Fixture.extract(ComposerLockExtractor(), "lockfiles/php-composerlock/one-package-dev.json").packages.isEmpty)
        let x = try Fixture.extract(ComposerLockExtractor(), "lockfiles/php-composerlock/one-package-dev.json", includeDev: true)
        #expect(Fixture.summary(x) == ["pkg:composer/sentry/sdk@2.0.4 dev"])
    }

    @Test func nugetPackagesLock() throws {
        let x = try Fixture.extract(NuGetLockExtractor(), "lockfiles/dotnet-packageslockjson/valid/packages.lock.json")
        #expect(x.packages.count == 8)
        let core = try #require(x.packages.first { $0.name == "Core.Dep" })
        #expect(core.purl.description == "pkg:nuget/Core.Dep@1.24.0" && core.isDirect == true)
        #expect(core.dependsOn.count == 7)
        #expect(core.digests.first?.algorithm == .sha512)
    }

    @Test func dotnetDepsJSON() throws {
        let x = try Fixture.extract(DotnetDepsExtractor(), "lockfiles/dotnet-depsjson/valid")
        #expect(x.packages.count == 2)
        #expect(Set(x.packages.map(\.name)) == ["AWSSDK.Core", "Microsoft.Extensions.DependencyInjection"])
    }

    @Test func swiftPackageResolvedV2() throws {
        let x = try Fixture.extract(SwiftResolvedExtractor(), "lockfiles/swift-packageresolved/valid")
        #expect(Fixture.summary(x) == [
            "pkg:swift/github.com/apple/swift-algorithms@1.0.0 required",
            "pkg:swift/github.com/apple/swift-async-algorithms@0.1.0 required",
            "pkg:swift/github.com/apple/swift-atomics@1.1.0 required",
        ])
        #expect(x.packages.first?.locations.first?.line != nil)
    }

    @Test func invalidSwiftResolved() {
        #expect(throws: ParseError.self) { try Fixture.extract(SwiftResolvedExtractor(), "lockfiles/swift-packageresolved/invalid") }
    }
}
