import Foundation
import Testing
@testable import Catalog
@testable import SBOM
import ProvenantCore

/// Issue 11: the SBOM names the agent itself, from the manifest at the top of the target.
@Suite struct RootProjectTests {
    func catalog(_ files: [String: String]) async throws -> Inventory {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-root-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, text) in files {
            let path = dir + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return try await Cataloger(mode: .source).catalog(dir)
    }

    func root(_ files: [String: String]) async throws -> String? {
        try await catalog(files).rootProject?.purl.description
    }

    @Test func packageJSON() async throws {
        #expect(try await root(["package.json": #"{"name": "@Acme/collector", "version": "1.2.3"}"#]) == "pkg:npm/%40acme/collector@1.2.3")
    }

    @Test func cargo() async throws {
        #expect(try await root(["Cargo.toml": "[package]\nname = \"agent\"\nversion = \"0.4.1\"\n"]) == "pkg:cargo/agent@0.4.1")
        // A workspace-inherited version comes from the lockfile's own entry.
        let lock = "version = 3\n[[package]]\nname = \"agent\"\nversion = \"0.5.0\"\n\n[[package]]\nname = \"libc\"\nversion = \"0.2.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        #expect(try await root(["Cargo.toml": "[package]\nname = \"agent\"\nversion.workspace = true\n", "Cargo.lock": lock]) == "pkg:cargo/agent@0.5.0")
    }

    @Test func python() async throws {
        #expect(try await root(["pyproject.toml": "[project]\nname = \"My_Agent\"\nversion = \"2.0\"\n"]) == "pkg:pypi/my-agent@2.0")
        #expect(try await root(["pyproject.toml": "[tool.poetry]\nname = \"bot\"\nversion = \"0.1.0\"\n"]) == "pkg:pypi/bot@0.1.0")
        let uv = "version = 1\n[[package]]\nname = \"svc\"\nversion = \"0.3.0\"\nsource = { editable = \".\" }\n"
        #expect(try await root(["uv.lock": uv]) == "pkg:pypi/svc@0.3.0")
    }

    @Test func goModule() async throws {
        #expect(try await root(["go.mod": "// c\nmodule github.com/acme/collector\n\ngo 1.22\n"]) == "pkg:golang/github.com/acme/collector")
    }

    @Test func maven() async throws {
        let pom = "<project><parent><groupId>org.acme</groupId><version>3.1</version></parent><artifactId>agent</artifactId></project>"
        #expect(try await root(["pom.xml": pom]) == "pkg:maven/org.acme/agent@3.1")
    }

    @Test func dotnet() async throws {
        let deps = #"{"libraries": {"Newtonsoft.Json/13.0.1": {"type": "package"}, "Agent/1.0.0": {"type": "project"}}}"#
        #expect(try await root(["Agent.deps.json": deps]) == "pkg:nuget/Agent@1.0.0")
        let csproj = "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><PackageId>Acme.Agent</PackageId><Version>4.2.0</Version></PropertyGroup></Project>"
        #expect(try await root(["Agent.csproj": csproj]) == "pkg:nuget/Acme.Agent@4.2.0")
    }

    @Test func fallsBackToTheDirectoryName() async throws {
        let inv = try await catalog(["requirements.txt": "idna==2.8\n"])
        #expect(inv.rootProject == nil)
        let doc = CycloneDXWriter.document(inv, info: try DocumentInfo(toolVersion: "t", environment: [:])).serialized(pretty: false)
        #expect(doc.contains("\"bom-ref\":\"root:provenant-root-"))
    }

    @Test func cycloneDXAndSPDXCarryThePurl() async throws {
        let inv = try await catalog(["package.json": #"{"name": "collector", "version": "1.2.3"}"#, "requirements.txt": "idna==2.8\n"])
        let info = try DocumentInfo(toolVersion: "t", environment: ["SOURCE_DATE_EPOCH": "1"])
        let cdx = try JSONSerialization.jsonObject(with: Data(CycloneDXWriter.document(inv, info: info).serialized().utf8)) as! [String: Any]
        let component = (cdx["metadata"] as! [String: Any])["component"] as! [String: Any]
        #expect(component["purl"] as? String == "pkg:npm/collector@1.2.3")
        #expect(component["name"] as? String == "collector" && component["version"] as? String == "1.2.3")
        // Root → direct edges stay.
        let deps = cdx["dependencies"] as! [[String: Any]]
        let rootDeps = deps.first { $0["ref"] as? String == component["bom-ref"] as? String }?["dependsOn"] as? [String]
        #expect(rootDeps == ["pkg:pypi/idna@2.8"])
        let spdx = SPDXWriter.document(inv, info: info).serialized()
        #expect(spdx.contains("pkg:npm/collector@1.2.3"))
    }
}
