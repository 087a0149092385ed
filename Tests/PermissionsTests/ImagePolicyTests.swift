import Catalog
import Foundation
import ProvenantCore
import Testing
import TestSupport
@testable import Permissions

/// Issue 15: `policy check IMAGE` on real images umoci builds: each rule fails on an image that
/// breaks it and passes on one that does not (or whose manifest declares it), with the exit codes,
/// the SARIF log and the NOT CHECKED findings the command promises.
@Suite struct ImagePolicyTests {
    static let passwd = """
        root:x:0:0:root:/root:/bin/sh
        app:x:1000:1000::/home/app:/bin/sh
        toor:x:0:0:a second root:/root:/bin/sh
        staff:x:1001:0::/home/staff:/bin/sh

        """
    static let group = "root:x:0:\ntty:x:5:\napp:x:1000:\n"

    /// `policy check ARGS --format json`: the exit code, the findings printed and standard error.
    func check(_ args: [String]) throws -> (code: Int32, findings: [PolicyFinding], err: String) {
        let r = try runProcess(provenantBinary, ["policy", "check"] + args + ["--format", "json"])
        let findings = (try? JSONDecoder().decode([PolicyFinding].self, from: Data(r.out.utf8))) ?? []
        return (r.code, findings, r.err)
    }

    /// The image read (from `open`, else `oci-dir:LAYOUT:t`) and checked in this process, through the
    /// entry point the command uses; `reference` is what the tag check is told was named.
    func findings(_ image: UmociImage, open: String? = nil, reference: ImageReference? = nil,
                  manifest: AgentManifest? = nil) async throws -> [PolicyFinding] {
        let ref = try #require(try ImageReference.parse(open ?? image.reference))
        return try await ImagePolicy.check(try ImageSources.open(ref), reference: reference ?? ref, manifest: manifest).findings
    }

    /// An image whose first layer holds /etc/passwd and /etc/group.
    func imageWithAccounts() throws -> UmociImage {
        let image = try UmociImage()
        try image.layer(createdBy: "COPY passwd group /etc/") { rootfs in
            try FileManager.default.createDirectory(atPath: rootfs + "/etc", withIntermediateDirectories: true)
            try Self.passwd.write(toFile: rootfs + "/etc/passwd", atomically: true, encoding: .utf8)
            try Self.group.write(toFile: rootfs + "/etc/group", atomically: true, encoding: .utf8)
        }
        return image
    }

    func manifest(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-agent-\(UUID().uuidString).yaml").path
        try ("apiVersion: provenant.dev/v1\nkind: Agent\nname: agent\n" + yaml).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func write(_ text: String, _ path: String, mode: mode_t = 0o755) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
    }

    /// Adds setuid, setgid, file-capability and plain files (and a setgid directory) as a second layer.
    func addRiskyFiles(_ image: UmociImage) throws {
        try image.layer(createdBy: "RUN chmod u+s /usr/bin/su && setcap cap_net_raw+ep /usr/bin/ping") { rootfs in
            let bin = rootfs + "/usr/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try write("#!/bin/sh\n", bin + "/su", mode: 0o4755)
            try write("#!/bin/sh\n", bin + "/wall")
            #expect(chown(bin + "/wall", 0, 5) == 0)
            #expect(chmod(bin + "/wall", 0o2755) == 0)
            try write("#!/bin/sh\n", bin + "/ping")
            try setcap(["cap_net_raw+ep", bin + "/ping"])
            try write("#!/bin/sh\n", bin + "/plain")
            // A setgid directory only passes its group on to new files: not a finding.
            try FileManager.default.createDirectory(atPath: rootfs + "/srv/shared", withIntermediateDirectories: true)
            #expect(chmod(rootfs + "/srv/shared", 0o2775) == 0)
        }
    }

    @Test func everyRuleFailsOnAnImageThatBreaksIt() throws {
        let image = try imageWithAccounts()
        defer { image.remove() }
        try addRiskyFiles(image)
        let layers = try image.layerDigests()
        try #require(layers.count == 2)
        // umoci records the capability as GNU tar does, in a pax SCHILY.xattr record of the layer.
        try #require(try image.layerText(layers[1]).contains("SCHILY.xattr.security.capability="))

        let r = try check([image.reference])
        #expect(r.code == 0, "without --fail-on, findings do not fail the run: \(r.err)")
        let by = Dictionary(grouping: r.findings, by: \.rule)
        #expect(Set(by.keys) == ["image:root-user", "image:setuid", "image:setgid", "image:file-capability", "image:unpinned-tag"], "\(r.findings.map(\.found))")
        let root = try #require(by["image:root-user"]?.first)
        #expect(root.found.contains("the config sets no USER") && root.severity == "high" && root.location.path == image.reference && root.because != nil)
        let setuid = try #require(by["image:setuid"]?.first)
        #expect(by["image:setuid"]?.count == 1 && setuid.location.path == "/usr/bin/su" && setuid.location.layer == layers[1] && setuid.severity == "high")
        #expect(setuid.found.contains("/usr/bin/su is setuid root (mode 4755)") && setuid.found.contains("layer 2 of 2, \(layers[1])")
                && setuid.found.contains("created by: RUN chmod u+s /usr/bin/su"), "\(setuid.found)")
        let setgid = try #require(by["image:setgid"]?.first)
        #expect(by["image:setgid"]?.count == 1 && setgid.location.path == "/usr/bin/wall" && setgid.found.contains("setgid gid 5 (mode 2755)"), "a setgid directory is not a finding")
        let cap = try #require(by["image:file-capability"]?.first)
        #expect(by["image:file-capability"]?.count == 1 && cap.location.path == "/usr/bin/ping" && cap.severity == "high")
        #expect(cap.found.contains("CAP_NET_RAW+ep") && cap.found.contains("not declared: NET_RAW") && cap.allowed.contains("no manifest"), "\(cap.found)")
        let tag = try #require(by["image:unpinned-tag"]?.first)
        #expect(tag.found.contains("recorded as 't'") && tag.severity == "medium")
        #expect(!r.findings.contains { $0.location.path == "/usr/bin/plain" || $0.location.path.hasPrefix("/srv") })

        // --fail-on: high findings fail at high, not at critical (there is none).
        #expect(try check([image.reference, "--fail-on", "high"]).code == 1)
        #expect(try check([image.reference, "--fail-on", "critical"]).code == 0)

        let table = try runProcess(provenantBinary, ["policy", "check", image.reference])
        #expect(table.code == 0 && table.out.contains("/usr/bin/su  high  image:setuid  image/layout:t") && table.out.contains("because: a setuid file runs as its owner")
                && table.out.contains("5 findings in 1 image"), "\(table.out)")

        let sarif = try runProcess(provenantBinary, ["policy", "check", image.reference, "--format", "sarif"])
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.out.utf8)) as? [String: Any])
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(sarif.code == 0 && log["version"] as? String == "2.1.0" && results.count == 5)
        #expect(Set(results.compactMap { $0["ruleId"] as? String }) == Set(by.keys))
        if let out = ProcessInfo.processInfo.environment["PROVENANT_SBOM_OUT"] {
            try sarif.out.write(toFile: out + "/image-policy.sarif", atomically: true, encoding: .utf8)
        }

        // The same image as `docker save` writes it: modes and the capability survive, the tag is latest.
        let archive = image.root + "/image.tar"
        try UmociImage.run("skopeo", ["copy", "oci:\(image.layout):t", "docker-archive:\(archive):example.com/app:latest"])
        for ref in ["docker-archive:" + archive, archive] {
            let d = try check([ref, "--fail-on", "high"])
            #expect(d.code == 1 && Set(d.findings.map(\.rule)) == ["image:root-user", "image:setuid", "image:setgid", "image:file-capability", "image:latest-tag"],
                    "\(ref): \(d.err) \(d.findings.map(\.found))")
            #expect(d.findings.first { $0.rule == "image:latest-tag" }?.found.contains("tagged 'latest', :latest, and not pinned by digest") == true)
        }
    }

    @Test func theConfigUserIsResolvedThroughTheImagesAccounts() async throws {
        let image = try imageWithAccounts()
        defer { image.remove() }
        // USER → the root rule it breaks (nil: none) and what the finding says.
        let cases: [(String, String?, String)] = [
            ("", "image:root-user", "the config sets no USER"),
            ("0", "image:root-user", "USER '0': uid 0, root"),
            ("0:1000", "image:root-user", "uid 0, root"),
            ("root:app", "image:root-user", "runs as root"),
            ("toor", "image:root-user", "/etc/passwd gives 'toor' uid 0: root under another name"),
            ("ghost", "image:root-user", "NOT CHECKED: USER 'ghost' names a user /etc/passwd does not list"),
            ("app", nil, ""),
            ("app:", nil, ""),
            ("1000", nil, ""),
            ("app:tty", nil, ""),
            ("app:1000", nil, ""),
            ("staff", "image:root-group", "/etc/passwd gives 'staff' gid 0"),
            ("app:0", "image:root-group", "gid 0, the root group"),
            ("app:root", "image:root-group", "gid 0, the root group"),
            ("app:nogroup", "image:root-group", "NOT CHECKED: USER 'app:nogroup' names a group /etc/group does not list"),
            ("4242", "image:root-group", "uid 4242 has no /etc/passwd entry, so the runtime gives uid 4242 gid 0"),
            // Out of range: older containerd cut ids to 32 bits (CVE-2024-40635, found by helper-140).
            ("4294967296:1000", "image:root-user", "uid 4294967296 is out of range, and runtimes that cut it to 32 bits run it as uid 0"),
            ("-4294967296:1000", "image:root-user", "uid -4294967296 is out of range"),
            ("8589934593", "image:root-user", "NOT CHECKED: USER '8589934593': uid 8589934593 is out of range; runtimes read it differently (older containerd as uid 1)"),
            ("app:4294967296", "image:root-group", "gid 4294967296 is out of range"),
        ]
        for (user, rule, text) in cases {
            try image.config(["--config.user", user])
            let f = try await findings(image).filter { $0.rule.hasPrefix("image:root") }
            if let rule {
                #expect(f.count == 1 && f.first?.rule == rule && f.first?.found.contains(text) == true, "USER '\(user)': \(f.map(\.found))")
            } else {
                #expect(f.isEmpty, "USER '\(user)': \(f.map(\.found))")
            }
        }
        // A manifest that allows root (user.nonRoot: false) turns both off; one that says nothing does not.
        try image.config(["--config.user", "toor"])
        let allowsRoot = try AgentManifest.load(try manifest("user:\n  nonRoot: false\n"))
        #expect(try await findings(image, manifest: allowsRoot).filter { $0.rule.hasPrefix("image:root") }.isEmpty)
        let silent = try AgentManifest.load(try manifest("capabilities: [NET_RAW]\n"))
        #expect(try await findings(image, manifest: silent).contains { $0.rule == "image:root-user" })
    }

    @Test func aUserNameWithoutPasswdIsNotCheckedNeverPassed() async throws {
        let image = try UmociImage()
        defer { image.remove() }
        try image.layer(createdBy: "COPY app /app") { rootfs in try write("#!/bin/sh\n", rootfs + "/app") }
        try image.config(["--config.user", "app"])
        let r = try check([image.reference, "--fail-on", "high"])
        let root = try #require(r.findings.first { $0.rule == "image:root-user" })
        #expect(root.found.hasPrefix("NOT CHECKED: USER 'app' names a user, but the image has no /etc/passwd") && root.severity == "high")
        // Read whole: the redactor took "passwd:" in the message for a password assignment once.
        #expect(root.found.hasSuffix("whether it is uid 0 cannot be told") && !root.found.contains(Redactor.mark), "\(root.found)")
        #expect(r.code == 1, "a check that could not be made fails --fail-on like a finding")
        // A uid needs no passwd entry, but its group then is 0.
        try image.config(["--config.user", "1000"])
        let g = try await findings(image).filter { $0.rule.hasPrefix("image:root") }
        #expect(g.count == 1 && g.first?.rule == "image:root-group" && g.first?.found.contains("the image has no /etc/passwd") == true, "\(g.map(\.found))")
    }

    @Test func aManifestDeclaringTheCapabilityPasses() throws {
        let image = try imageWithAccounts()
        defer { image.remove() }
        try image.layer(createdBy: "RUN setcap cap_net_raw+ep /usr/bin/ping") { rootfs in
            try FileManager.default.createDirectory(atPath: rootfs + "/usr/bin", withIntermediateDirectories: true)
            try write("#!/bin/sh\n", rootfs + "/usr/bin/ping")
            try setcap(["cap_net_raw+ep", rootfs + "/usr/bin/ping"])
        }
        try image.config(["--config.user", "app:app"])
        // Untagged: the layout names the image by its manifest digest alone. Given as a plain path.
        try image.recordName(nil)
        let declared = try manifest("capabilities: [NET_RAW]\nuser:\n  nonRoot: true\n")
        let pass = try check([image.layout, "--manifest", declared, "--fail-on", "low"])
        #expect(pass.code == 0 && pass.findings.isEmpty, "\(pass.err) \(pass.findings.map(\.found))")

        let other = try manifest("capabilities: [NET_BIND_SERVICE]\n")
        let fail = try check([image.layout, "--manifest", other, "--fail-on", "high"])
        #expect(fail.code == 1 && fail.findings.count == 1)
        let f = try #require(fail.findings.first)
        #expect(f.rule == "image:file-capability" && f.found.contains("not declared: NET_RAW") && f.allowed == "the manifest's NET_BIND_SERVICE", "\(f)")
        let none = try check([image.layout, "--fail-on", "high"])
        #expect(none.code == 1 && none.findings.map(\.rule) == ["image:file-capability"])
    }

    @Test func capabilityAttributesUmociCannotMakeAndHostileNames() throws {
        let image = try imageWithAccounts()
        defer { image.remove() }
        try image.config(["--config.user", "app"])
        var tar = TarWriter()
        tar.directory("usr/")
        tar.directory("usr/bin/")
        let body = Array("#!/bin/sh\n".utf8)
        // Revision 3: CAP_SYS_ADMIN, permitted and effective, for the namespace whose root is uid 1000.
        tar.file("usr/bin/ns-admin", mode: 0o755, data: body, xattrs: [("security.capability", capabilityXattr(0x0300_0001, 1 << 21, 0, 0, 0, 1000))])
        // Revision 2 cut to 16 bytes: the kernel refuses it, and so must the check.
        tar.file("usr/bin/broken", mode: 0o755, data: body, xattrs: [("security.capability", capabilityXattr(0x0200_0001, 1 << 13, 0, 0))])
        // Revision 2 with no capability in it grants nothing.
        tar.file("usr/bin/empty", mode: 0o755, data: body, xattrs: [("security.capability", capabilityXattr(0x0200_0000, 0, 0, 0, 0))])
        // Capability 41, past the table: named so that no manifest can declare it.
        tar.file("usr/bin/future", mode: 0o755, data: body, xattrs: [("security.capability", capabilityXattr(0x0200_0000, 0, 0, 1 << 9, 0))])
        tar.file("usr/bin/evil\nname", mode: 0o4755, data: body)
        let token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
        try image.addLayer(tar.finished, createdBy: "RUN curl -H 'Authorization: token \(token)' https://example.com/tools.tar")

        let r = try check([image.reference, "--fail-on", "critical"])
        #expect(r.code == 1, "CAP_SYS_ADMIN is critical: \(r.err)")
        let caps = Dictionary(uniqueKeysWithValues: r.findings.filter { $0.rule == "image:file-capability" }.map { ($0.location.path, $0) })
        #expect(Set(caps.keys) == ["/usr/bin/ns-admin", "/usr/bin/broken", "/usr/bin/future"], "\(caps.keys)")
        #expect(caps["/usr/bin/ns-admin"]?.severity == "critical"
                && caps["/usr/bin/ns-admin"]?.found.contains("CAP_SYS_ADMIN+ep (revision 3: for the user namespace whose root is uid 1000)") == true)
        #expect(caps["/usr/bin/broken"]?.severity == "high"
                && caps["/usr/bin/broken"]?.found.hasPrefix("NOT CHECKED: /usr/bin/broken has a security.capability attribute that is 16 bytes; a revision 2 capability set is exactly 20") == true,
                "\(caps["/usr/bin/broken"]?.found ?? "")")
        #expect(caps["/usr/bin/future"]?.found.contains("not declared: UNKNOWN_41") == true)
        let evil = try #require(r.findings.first { $0.rule == "image:setuid" })
        #expect(evil.location.path == "/usr/bin/evil\\u{A}name" && evil.found.hasPrefix("/usr/bin/evil\\u{A}name is setuid root"))
        let everything = r.findings.map { "\($0.location.path) \($0.found) \($0.fix)" }.joined()
        #expect(!everything.contains(token) && !everything.contains("\n") && everything.contains("created by: RUN curl"), "nothing from the image is echoed raw")
    }

    @Test func tagsLatestAndDigestPins() async throws {
        let image = try imageWithAccounts()
        defer { image.remove() }
        try image.config(["--config.user", "app"])
        func tagFindings(_ ref: ImageReference? = nil) async throws -> [PolicyFinding] {
            try await findings(image, reference: ref).filter { $0.rule.hasSuffix("-tag") }
        }
        // What the layout records: a bare tag, a whole reference, one pinned by digest, nothing.
        var f = try await tagFindings()
        #expect(f.map(\.rule) == ["image:unpinned-tag"])
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let untagged = "oci-dir:" + image.layout
        try image.recordName("example.com/app:1.2")
        f = try await findings(image, open: untagged).filter { $0.rule.hasSuffix("-tag") }
        #expect(f.map(\.rule) == ["image:unpinned-tag"] && f.first?.found.contains("recorded as '1.2'") == true, "\(f.map(\.found))")
        let own = try #require((try image.json(image.layout + "/index.json")["manifests"] as? [[String: Any]])?.first?["digest"] as? String)
        try image.recordName("example.com/app:1.2@" + own)
        f = try await findings(image, open: untagged).filter { $0.rule.hasSuffix("-tag") }
        #expect(f.isEmpty, "a recorded name pinned by the image's digest: \(f.map(\.found))")
        // A recorded digest that is not the image's pins other content: the tag is all that names this one.
        for name in ["example.com/app:1.2@" + digest, "example.com/app@" + digest] {
            try image.recordName(name)
            f = try await findings(image, open: untagged).filter { $0.rule.hasSuffix("-tag") }
            #expect(f.map(\.rule) == ["image:unpinned-tag"] && f.first?.found.contains("whose digest is not this image's") == true,
                    "\(name): \(f.map(\.found))")
        }
        let pinnedCheck = try check(["oci-dir:" + image.layout, "--fail-on", "medium"])
        #expect(pinnedCheck.code == 1 && pinnedCheck.findings.contains { $0.rule == "image:unpinned-tag" }, "\(pinnedCheck.err)")
        try image.recordName("example.com/app:latest@" + own)
        f = try await findings(image, open: untagged).filter { $0.rule.hasSuffix("-tag") }
        #expect(f.map(\.rule) == ["image:latest-tag"] && f.first?.found.hasSuffix(":latest") == true, ":latest is a finding even pinned: \(f.map(\.found))")
        try image.recordName("example.com/app:latest@" + digest)
        f = try await findings(image, open: untagged).filter { $0.rule.hasSuffix("-tag") }
        #expect(f.map(\.rule) == ["image:latest-tag"] && f.first?.found.hasSuffix(", and not pinned by digest") == true, "\(f.map(\.found))")
        try image.recordName(nil)
        f = try await findings(image, open: untagged).filter { $0.rule.hasSuffix("-tag") }
        #expect(f.isEmpty, "an untagged layout names no tag")
        try image.recordName("t")
        // A docker archive whose RepoTags pins a digest: nothing in it is that manifest (found by review).
        let archive = image.root + "/pinned.tar"
        try UmociImage.run("skopeo", ["copy", "oci:\(image.layout):t", "docker-archive:\(archive):example.com/app:1.2"])
        let rewrite = """
            import json, sys, tarfile, io
            src, dst, tag = sys.argv[1:4]
            with tarfile.open(src) as t, tarfile.open(dst, "w") as o:
                for m in t.getmembers():
                    data = t.extractfile(m).read() if m.isfile() else None
                    if m.name == "manifest.json":
                        doc = json.loads(data); doc[0]["RepoTags"] = json.loads(tag) if tag.startswith("[") else [tag]; data = json.dumps(doc).encode(); m.size = len(data)
                    o.addfile(m, io.BytesIO(data) if data is not None else None)
            """
        let pinnedArchive = image.root + "/pinned-rewritten.tar"
        let py = try runProcess("/usr/bin/python3", ["-c", rewrite, archive, pinnedArchive, "example.com/app@" + digest])
        #expect(py.code == 0, "\(py.err)")
        let foreign = try check(["docker-archive:" + pinnedArchive])
        #expect(foreign.findings.filter { $0.rule.hasSuffix("-tag") }.map(\.found) == ["the image is recorded as 'example.com/app@\(digest)', whose digest is not this image's"],
                "\(foreign.err) \(foreign.findings.map(\.found))")
        // `docker load` applies every RepoTag: a :latest after the first was missed (found by helper-164).
        let twoTags = image.root + "/two-tags.tar"
        #expect(try runProcess("/usr/bin/python3", ["-c", rewrite, archive, twoTags, #"["example.com/app:1.2", "example.com/app:latest"]"#]).code == 0)
        let both = try check(["docker-archive:" + twoTags, "--fail-on", "high"])
        #expect(both.code == 1 && both.findings.filter { $0.rule.hasSuffix("-tag") }.map(\.found) == ["the image is also tagged 'example.com/app:latest', :latest, and not pinned by digest"],
                "\(both.err) \(both.findings.map(\.found))")

        // A registry reference is judged as written.
        let registry: [(String, String?)] = [
            ("example.com/app:1.2", "image:unpinned-tag"),
            ("example.com/app", "image:latest-tag"),
            ("example.com/app:latest", "image:latest-tag"),
            ("example.com/app@" + digest, nil),
            ("example.com/app:1.2@" + digest, nil),
            ("example.com/app:latest@" + digest, "image:latest-tag"),
        ]
        for (text, rule) in registry {
            let r = try #require(RegistryReference(text))
            f = try await tagFindings(.registry(r))
            #expect(f.map(\.rule) == (rule.map { [$0] } ?? []), "\(text): \(f.map(\.found))")
        }

        // umoci's own tags through the command: :latest is high.
        try UmociImage.run("umoci", ["tag", "--image", image.layout + ":t", "latest"])
        let latest = try check(["oci-dir:\(image.layout):latest", "--fail-on", "high"])
        #expect(latest.code == 1 && latest.findings.map(\.rule) == ["image:latest-tag"], "\(latest.err) \(latest.findings.map(\.found))")
    }

    @Test func anUnreadableImageIsAnInputError() throws {
        let missing = try check(["oci-dir:/nonexistent/provenant-image"])
        #expect(missing.code == 2 && missing.err.hasPrefix("error: ") && missing.err.split(separator: "\n").count == 1, "\(missing.err)")
        let registry = try check(["registry:example.com/app:1.2"])
        #expect(registry.code == 2 && registry.err.split(separator: "\n").count == 1)

        let image = try imageWithAccounts()
        defer { image.remove() }
        let layer = try #require(try image.layerDigests().first)
        let blob = image.layout + "/blobs/sha256/" + layer.dropFirst(7)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: blob))
        let tampered = try check([image.reference, "--fail-on", "low"])
        #expect(tampered.code == 2 && tampered.findings.isEmpty && tampered.err.contains(layer) && tampered.err.split(separator: "\n").count == 1,
                "\(tampered.err)")
    }

    @Test func accountFilesAreReadAsRuncReadsThem() {
        let text = "# comment\n\nroot:x:0:0::/root:/bin/sh\nbroken\nnan:x:abc:0::/:/bin/sh\n  app:x:1000:1000::/home/app:/bin/sh  \napp:x:2000:2000::/:/bin/sh\nshort:x:7\n"
        let entries = ImagePolicy.parseAccounts(Array(text.utf8), passwd: true)
        // As moby/sys/user: missing fields and numbers that do not parse are 0, nothing is skipped but
        // blank lines, and ids are cut to 32 bits.
        #expect(entries == [.init(name: "# comment", id: 0, gid: 0), .init(name: "root", id: 0, gid: 0), .init(name: "broken", id: 0, gid: 0),
                            .init(name: "nan", id: 0, gid: 0), .init(name: "app", id: 1000, gid: 1000), .init(name: "app", id: 2000, gid: 2000),
                            .init(name: "short", id: 7, gid: 0)])
        let wrapped = ImagePolicy.parseAccounts(Array("big:x:4294967296:4294967297\nneg:x:-1:0\nhex:x:0x3e8:1000\n".utf8), passwd: true)
        #expect(wrapped == [.init(name: "big", id: 0, gid: 1), .init(name: "neg", id: 4294967295, gid: 0), .init(name: "hex", id: 0, gid: 1000)])
        #expect(ImagePolicy.parseAccounts(Array("wheel:x:10:root,app\n".utf8), passwd: false) == [.init(name: "wheel", id: 10, gid: nil)])
    }

    /// Lines as Go's bufio and `bytes.TrimSpace` cut them: a CR before LF, and vertical tab, form
    /// feed, NEL and no-break spaces around a line, would otherwise hide a uid-0 entry for the user.
    @Test func accountLinesAreCutAndTrimmedAsGoDoes() {
        func uid(_ text: [UInt8], _ name: String = "app") -> Int? {
            ImagePolicy.parseAccounts(text, passwd: true).first { $0.named(name) }?.id
        }
        let later = Array("app:x:1000:1000::/:/bin/sh\n".utf8)
        for lead: [UInt8] in [[0x0B], [0x0C], [0x0D], [0xC2, 0x85], [0xC2, 0xA0], [0xE2, 0x80, 0x83], [0xE3, 0x80, 0x80]] {
            #expect(uid(lead + Array("app:x:0:0::/:/bin/sh\n".utf8) + later) == 0, "\(lead)")
            #expect(uid(Array("app:x:0:0::/:/bin/sh".utf8) + lead + [10] + later) == 0, "\(lead)")
        }
        // CRLF: the CR is not part of the shell field, and `app:x` alone has uid 0.
        #expect(uid(Array("app:x\r\n:1000:1000::/:/bin/sh\n".utf8)) == 0)
        #expect(ImagePolicy.parseAccounts(Array("app:x:5:6::/:/bin/sh\r\n".utf8), passwd: true) == [.init(name: "app", id: 5, gid: 6)])
        // A byte that is not a space stays: the name is then another one.
        #expect(uid([0xC2, 0x86] + Array("app:x:0:0\n".utf8) + later) == 1000)
        // Names compare byte for byte: a decomposed é is not the precomposed one.
        #expect(uid(Array("caf\u{65}\u{301}:x:0:0\ncaf\u{e9}:x:1000:1000\n".utf8), "caf\u{e9}") == 1000)
        // /etc/group skips comment lines; /etc/passwd does not.
        #expect(ImagePolicy.parseAccounts(Array("#wheel:x:0:\nwheel:x:10:\n".utf8), passwd: false) == [.init(name: "wheel", id: 10, gid: nil)])
        #expect(ImagePolicy.parseAccounts(Array("--5:x:--5:+-1\n".utf8), passwd: true) == [.init(name: "--5", id: 0, gid: 0)])
    }
}
