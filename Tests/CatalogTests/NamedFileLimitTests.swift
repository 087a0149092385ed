import Foundation
import Testing
import TestSupport

/// A file the operator names on the command line is read through `NamedInputFile`: a pipe still
/// works (`<(…)`), but an endless one is refused one byte past the option's limit, with exit 2 and
/// the limit named. Before, each option read to the end of its stream, so `<(yes)` grew the run
/// until memory ran out.
@Suite struct NamedFileLimitTests {
    static let bundleDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AttestationTests/Fixtures/sigstore-conformance/bundle-verify").path

    /// The command line, with `ENDLESS` where the endless pipe goes, and the limit it must name.
    static let cases: [(String, String)] = [
        ("scan --vex ENDLESS DIR", "cannot read VEX file: more than the 64 MiB"),
        ("secrets scan --known ENDLESS DIR", "cannot read the secrets file: more than the 16 MiB"),
        ("secrets scan --baseline ENDLESS DIR", "cannot read the baseline: more than the 256 MiB"),
        ("policy check --manifest ENDLESS DIR", "cannot read manifest: more than the 16 MiB"),
        ("policy generate --manifest ENDLESS", "cannot read manifest: more than the 16 MiB"),
        ("attest --predicate-type slsaprovenance1 --predicate DIR/p.json --subject DIR/a.yaml --key ENDLESS", "cannot read key: more than the 64 KiB"),
        ("attest --predicate-type slsaprovenance1 --predicate ENDLESS --subject DIR/a.yaml --key /dev/null", "cannot read predicate: more than the 64 MiB"),
        ("verify BUNDLES/bundle-with-sct-with-extensions/bundle.sigstore.json --artifact BUNDLES/a.txt --trusted-root ENDLESS",
         "cannot read trusted root: more than the 8 MiB"),
        ("db import ENDLESS --db DIR/osv.sqlite", "cannot read advisory record: more than the 64 MiB"),
    ]

    @Test(.timeLimit(.minutes(2)), arguments: cases)
    func anEndlessPipeStopsAtTheLimit(_ line: String, _ expected: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-limit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        try "{}".write(toFile: dir + "/p.json", atomically: true, encoding: .utf8)
        let command = line.replacingOccurrences(of: "ENDLESS", with: "<(yes)").replacingOccurrences(of: "BUNDLES", with: Self.bundleDirectory)
            .replacingOccurrences(of: "DIR", with: dir)
        // `timeout` stops a run that reads on; its exit (124) fails the test as any other code would.
        let r = try runProcess("/bin/bash", ["-c", "timeout 60 \(provenantBinary) \(command)"])
        #expect(r.code == 2 && r.err.contains(expected), "\(command): \(r.code) \(r.err)")
    }

    /// The same options still read a pipe that ends: process substitution is how a secret-free
    /// config is passed without a file.
    @Test func aPipeThatEndsIsRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-limit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "AWS_SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEYq\n".write(toFile: dir + "/app.env.txt", atomically: true, encoding: .utf8)
        let known = try runProcess("/bin/bash", ["-c", "\(provenantBinary) secrets scan --known <(printf 'AWS_SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEYq\\n') \(dir)"])
        #expect(known.code == 0 && known.out.contains("Known secret") && known.out.contains("app.env.txt:1"), "\(known.code) \(known.out) \(known.err)")
        let manifest = try runProcess("/bin/bash", ["-c", "\(provenantBinary) policy generate --manifest <(printf 'name: agent\\n')"])
        #expect(manifest.code == 0 && manifest.out.contains("agent"), "\(manifest.code) \(manifest.out) \(manifest.err)")
        // The proxy's config carries the manifest's own text: read once, not read again from a
        // drained pipe (helper-204: it carried an empty manifest).
        let proxy = try runProcess("/bin/bash", ["-c", "\(provenantBinary) policy generate --for proxy --manifest <(printf '# marker-7f3\\nname: agent\\n')"])
        #expect(proxy.code == 0 && proxy.out.contains("# marker-7f3"), "\(proxy.code) \(proxy.out) \(proxy.err)")
    }
}
