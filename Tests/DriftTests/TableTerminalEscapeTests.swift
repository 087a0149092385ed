import Foundation
import Testing
import TestSupport

/// Every table reaches a terminal with what it quotes from input escaped: ESC, and the C1 CSI
/// (U+009B) and bidirectional overrides (U+202E) that escaping C0 alone let through.
@Suite struct TableTerminalEscapeTests {
    static let raw: [String] = ["\u{1B}", "\u{9B}", "\u{202E}", "\u{07}"]

    static func scratch(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func policyCheckTableEscapesWhatTheDeploymentNames() throws {
        let dir = try Self.scratch("policy-escape")
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: "web\\e[31mRED\\u009b31m\\u202egnp.exe"}
            spec: {template: {spec: {containers: [{name: "c\\e]0;pwned\\a", image: "evil\\e[1mimg:latest", securityContext: {privileged: true}}]}}}
            """
        try yaml.write(to: dir.appendingPathComponent("dep.yaml"), atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["policy", "check", dir.path])
        #expect(r.out.contains("finding"), "\(r.out) \(r.err)")
        #expect(r.out.contains("\\u{9B}") && r.out.contains("\\u{202E}"), "\(r.out)")
        for c in Self.raw { #expect(!r.out.contains(c) && !r.err.contains(c), Comment(rawValue: c.debugDescription)) }
    }

    @Test func verifyFilesTableEscapesPaths() throws {
        let root = try Self.scratch("verify-escape")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("var/lib/dpkg"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("usr/bin"), withIntermediateDirectories: true)
        try Data().write(to: root.appendingPathComponent("var/lib/dpkg/status"))
        let tool = root.appendingPathComponent("usr/bin/a\u{1B}[31mb\u{9B}2J\u{202E}c")
        try "#!/bin/sh\n".write(to: tool, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        let r = try runProcess(provenantBinary, ["verify-files", root.path])
        #expect(r.out.contains("\\u{202E}"), "\(r.out) \(r.err)")
        for c in Self.raw { #expect(!r.out.contains(c) && !r.err.contains(c), Comment(rawValue: c.debugDescription)) }
    }
}
