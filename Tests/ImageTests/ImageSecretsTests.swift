import Foundation
import ProvenantCore
import Testing
import TestSupport

/// `secrets scan` on an image reads every layer, files a later layer deleted included, and the
/// config's environment and history; values are never printed whole.
@Suite struct ImageSecretsTests {
    static let awsKey = "AKIAIOSFODNN7EXAMPLQ"
    static let slack = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"

    @Test func everyLayerAndTheConfigAreScanned() throws {
        let dir = try temporaryDirectory("image-secrets")
        defer { try? FileManager.default.removeItem(at: dir) }
        var lower = TarWriter()
        lower.add("app/creds.ini", data: Array("aws_access_key_id = \(Self.awsKey)\n".utf8))
        lower.add("app/kept.ini", data: Array("aws_access_key_id = AKIAIOSFODNN7EXAMPLR\n".utf8))
        lower.add("bin/tool", data: [0x7f, 0x45, 0x4c, 0x46, 0, 0, 0] + Array("AKIAIOSFODNN7EXAMPLS".utf8))
        var upper = TarWriter()
        upper.add("app/.wh.creds.ini")
        var w = try LayoutWriter(dir)
        try w.addLayer(lower.finished(), createdBy: "COPY app /app")
        try w.addLayer(upper.finished(), gzip: true, createdBy: "RUN rm /app/creds.ini")
        // A third history step, past the layers: a build command that leaked a token.
        w.history.append("RUN curl -H 'Authorization: Bearer \(Self.slack)' https://example.com")
        try w.write()
        let r = try runProcess(provenantBinary, ["secrets", "scan", "oci-dir:" + dir.path, "--format", "json", "--fail-on", "high"])
        #expect(r.code == 1, "findings at high fail the run: \(r.err)")
        #expect(!r.out.contains(Self.awsKey) && !r.out.contains(Self.slack), "no value is printed whole")
        let doc = try JSONParser.parse(Array(r.out.utf8))
        let findings = doc["findings"]?.arrayValue ?? []
        func finding(_ pathSuffix: String) -> JSONValue? { findings.first { $0["path"]?.stringValue?.hasSuffix(pathSuffix) == true } }
        let deleted = try #require(finding("!app/creds.ini"), "a file a later layer deletes is still in the image: \(r.out)")
        if case .bool(let removed)? = deleted["removedByLaterLayer"] { #expect(removed) } else { Issue.record("removedByLaterLayer missing") }
        #expect(deleted["layer"]?.stringValue?.hasPrefix("sha256:") == true)
        let kept = try #require(finding("!app/kept.ini"))
        if case .bool(let removed)? = kept["removedByLaterLayer"] { #expect(!removed) } else { Issue.record("removedByLaterLayer missing") }
        #expect(finding("(config Env API_TOKEN)") == nil, "the fixture's placeholder token is not a real format")
        #expect(findings.contains { $0["path"]?.stringValue?.contains("(config history step 2)") == true }, "history commands are scanned: \(r.out)")
        #expect(finding("!bin/tool") == nil, "binary files are skipped")
    }
}
