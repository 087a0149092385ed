import Foundation
import Testing
import ProvenantCore
import TestSupport
@testable import Permissions

/// `scripts:` entries: the short list of environments, and the mapping that adds the file's digest.
@Suite struct ManifestScriptsTests {
    static let digest = String(repeating: "0123456789abcdef", count: 4)

    static func error(_ text: String) -> String {
        do { _ = try AgentManifest.load(try tmpFile("m.yaml", text)); return "accepted" } catch { return "\(error)" }
    }

    @Test func bothFormsLoadAndOnlyTheLongFormCarriesADigest() throws {
        let m = try AgentManifest.load(try tmpFile("m.yaml", """
            name: a
            scripts:
              cleanup.sh: [test, staging]
              rotate.sh: {environments: [production], sha256: \(Self.digest)}
              /opt/bin/migrate:
                environments: []
            """))
        #expect(m.scripts == ["cleanup.sh": ["test", "staging"], "rotate.sh": ["production"], "/opt/bin/migrate": []])
        #expect(m.scriptDigests == ["rotate.sh": Self.digest])
    }

    @Test func badDigestsAndUnknownKeysAreRejectedAtTheirLine() {
        let upper = Self.digest.uppercased()
        #expect(Self.error("name: a\nscripts:\n  x.sh:\n    environments: [test]\n    sha256: \(upper)\n").contains("m.yaml:5: scripts.x.sh.sha256 must be 64 lowercase hexadecimal digits"))
        #expect(Self.error("name: a\nscripts:\n  x.sh: {environments: [test], sha256: \(Self.digest.dropLast())}\n").contains("m.yaml:3: scripts.x.sh.sha256 must be"))
        #expect(Self.error("name: a\nscripts:\n  x.sh: {environments: [test], sha256: sha256:\(Self.digest)}\n").contains("sha256 must be"))
        #expect(Self.error("name: a\nscripts:\n  x.sh: {environments: [test], sha256: [\(Self.digest)]}\n").contains("sha256 must be"))
        #expect(Self.error("name: a\nscripts:\n  x.sh:\n    environments: [test]\n    digest: \(Self.digest)\n").contains("m.yaml:5: unknown field 'scripts.x.sh.digest'"))
        #expect(Self.error("name: a\nscripts:\n  x.sh: {sha256: \(Self.digest)}\n").contains("m.yaml:3: scripts.x.sh needs 'environments'"))
        #expect(Self.error("name: a\nscripts:\n  x.sh: {environments: test}\n").contains("'scripts.x.sh.environments' must be a list"))
        #expect(Self.error("name: a\nscripts:\n  x.sh: test\n").contains("'scripts.x.sh' must be a list"))
    }

    @Test func theSchemaTakesBothFormsAndRefusesWhatTheLoaderRefuses() throws {
        let root = FileManager.default.currentDirectoryPath
        let r = try runProcess("python3", ["-c", """
            import json, sys, jsonschema
            s = json.load(open(sys.argv[1])); d = sys.argv[2]
            jsonschema.validate({"name": "a", "scripts": {"c.sh": ["test"], "r.sh": {"environments": ["production"], "sha256": d}}}, s)
            bads = [{"c.sh": {"environments": ["test"], "sha256": d.upper()}}, {"c.sh": {"environments": ["test"], "sha256": d[:-1]}},
                    {"c.sh": {"environments": ["test"], "digest": d}}, {"c.sh": {"sha256": d}}, {"c.sh": "test"}]
            for bad in bads:
                try:
                    jsonschema.validate({"name": "a", "scripts": bad}, s); print("accepted", bad); sys.exit(3)
                except jsonschema.ValidationError:
                    pass
            print("ok")
            """, root + "/schemas/agent-manifest.schema.json", Self.digest])
        #expect(r.code == 0 && r.out.contains("ok"), "\(r.out) \(r.err)")
    }
}
