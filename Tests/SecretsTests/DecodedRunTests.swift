import Foundation
import ProvenantCore
import Testing
@testable import Secrets

/// Base64 and hex that decode to text are read as text (`DecodedRun`): a token in a Kubernetes
/// Secret, or in a config sent base64 or hex in a payload, was a generic token or passed.
@Suite struct DecodedRunTests {
    static let token = "ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"
    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    @Test func aTokenInAKubernetesSecretIsFoundByItsRule() throws {
        let text = "apiVersion: v1\nkind: Secret\ndata:\n  token: \(Self.b64(Self.token))\n  config: \(Self.b64("[auth]\nuser = ci\ntoken = \(Self.token)\n"))\n"
        let found = EngineTests.scan(text)
        #expect(found.map(\.ruleID) == ["github-personal-access-token", "github-personal-access-token"], "\(found.map(\.ruleID))")
        // The value is the token decoded (what the finding masks and fingerprints), standing on the
        // characters that encode it.
        for m in found { #expect(m.decodedValue == Array(Self.token.utf8)) }
        #expect(EngineTests.value(text, found[0]) == Self.b64(Self.token))
    }

    /// The characters a finding stands on are whole quanta holding every bit of the secret, wherever
    /// it starts in the decoded text, with or without padding, in either alphabet.
    @Test func aFindingCoversEveryQuantumOfTheSecret() throws {
        for lead in 0..<7 {
            for tail in 0..<4 {
                let plain = String(repeating: "#", count: lead) + "token=" + Self.token + String(repeating: " ", count: tail)
                for urlSafe in [false, true] {
                    var encoded = Self.b64(plain)
                    if urlSafe { encoded = encoded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") }
                    let text = "payload: \(encoded) end"
                    let found = EngineTests.scan(text)
                    let m = try #require(found.first { $0.ruleID == "github-personal-access-token" }, "\(lead) \(tail): \(found.map(\.ruleID))")
                    let start = 9, at = lead + 6
                    let r = m.redacted.shifted(by: -start)
                    #expect(r.lowerBound % 4 == 0 && r.lowerBound / 4 * 3 <= at, "\(lead) \(tail): \(r)")
                    #expect(r.upperBound >= min(encoded.count, (at + Self.token.count + 2) / 3 * 4), "\(lead) \(tail): \(r)")
                    #expect(r.upperBound <= encoded.count)
                }
            }
        }
    }

    /// Base64 wrapped at 76 or 64 columns (`base64`, MIME, GitHub's contents API with JSON's `\n`)
    /// is decoded joined: a token cut by a break was half marked, or passed (helper-193). Wherever
    /// the break falls, the mark covers every character that encodes the token.
    @Test func wrappedBase64IsDecodedJoined() throws {
        let config = "[auth]\nuser = ci\ntoken = \(Self.token)\n"
        // (Trailing blanks, and JSON's `\t` after its `\n`: helper-194.)
        for (width, sep) in [(76, "\n"), (64, "\n"), (76, "\r\n"), (60, "\\n"), (76, "  \n"), (64, "\\n\\t")] {
            for lead in stride(from: 0, to: 80, by: 7) {
                let payload = Array((String(repeating: "x", count: lead) + config).utf8)
                let encoded = Array(Data(payload).base64EncodedString().utf8)
                let lines = stride(from: 0, to: encoded.count, by: width).map { String(decoding: encoded[$0..<min($0 + width, encoded.count)], as: UTF8.self) }
                let text = "body: " + lines.joined(separator: sep) + sep + "end\n"
                let found = EngineTests.scan(text)
                let m = try #require(found.first { $0.ruleID == "github-personal-access-token" }, "\(width) \(lead): \(found.map(\.ruleID))")
                // The token's bytes, their characters in the joined base64, and those in the text.
                let a = lead + config.utf8.count - Self.token.utf8.count - 1, b = a + Self.token.utf8.count
                func place(_ j: Int) -> Int { 6 + j + (j / width) * sep.utf8.count }
                #expect(m.redacted.lowerBound <= place(a / 3 * 4) && m.redacted.upperBound > place(min(encoded.count, (b + 2) / 3 * 4) - 1),
                        "\(width) \(lead): \(m.redacted)")
            }
        }
    }

    /// A run glued to base64 characters before it (a URL's path, JSON's `\t` escape) is decoded from
    /// the alignment that gives text (helper-193).
    @Test func aRunGluedToOtherCharactersIsDecoded() {
        let config = Self.b64("[auth]\nuser = ci\ntoken = \(Self.token)\n")
        for text in ["POST https://h.example.io/upload/" + config + " HTTP/1.1", #"{"f": "k:\t"# + config + #""}"#, "GET /x%2F" + config + "\n", "GET /a/" + config] {
            #expect(EngineTests.scan(text).map(\.ruleID) == ["github-personal-access-token"], "\(text)")
        }
    }

    /// A stand-in ends in `_here`; a token whose random part begins `HeRE` is no stand-in.
    @Test func hereInsideATokenIsNoPlaceholder() {
        #expect(EngineTests.scan("GITHUB_TOKEN=ghp_HeREFwgkWX5OUOlx3IbeyBaya1y27IdDTuWC\n").map(\.ruleID) == ["github-personal-access-token"])
        #expect(ValueShape.isPlaceholder(Array("paste_your_token_here".utf8)) && ValueShape.isPlaceholder(Array("API_KEY_HERE".utf8)))
    }

    /// Hex that decodes to text, as `xxd -p` or a hex dump in a log writes it, in either case: the
    /// finding stands on the pairs that encode the token. A hex hash is not text, and not read.
    @Test func aTokenInHexIsFound() throws {
        let config = Array("[auth]\nuser = ci\ntoken = \(Self.token)\n".utf8)
        for upper in [false, true] {
            let hex = config.map { String(format: upper ? "%02X" : "%02x", $0) }.joined()
            let text = "dump: " + hex + "\n"
            let found = EngineTests.scan(text)
            let m = try #require(found.first, "\(upper)")
            #expect(found.map(\.ruleID) == ["github-personal-access-token"] && m.decodedValue == Array(Self.token.utf8))
            let at = config.count - Self.token.utf8.count - 1
            #expect(m.redacted == (6 + 2 * at)..<(6 + 2 * (at + Self.token.utf8.count)), "\(m.redacted)")
        }
        #expect(EngineTests.scan("sha256: " + String(repeating: "e3b0c44298fc1c149afbf4c8996fb924", count: 2) + "\n").isEmpty)
        // With a prefix or a name glued on (helper-194).
        let hex = config.map { String(format: "%02x", $0) }.joined()
        for text in ["key: 0x" + hex + "\n", "secret_" + hex + "\n", "v=" + hex + "zz\n"] {
            #expect(EngineTests.scan(text).map(\.ruleID) == ["github-personal-access-token"], "\(text)")
        }
    }

    /// Base64 within base64, as a `.dockerconfigjson` Secret holds its `auth`, is decoded twice; a
    /// third time is past the depth, so nesting cannot make a scan do unbounded work.
    @Test func baseSixtyFourIsDecodedTwiceDeep() {
        let docker = #"{"auths":{"ghcr.io":{"auth":""# + Self.b64("ci-bot:" + Self.token) + #""}}}"#
        let twice = "data:\n  .dockerconfigjson: " + Self.b64(docker) + "\n"
        #expect(EngineTests.scan(twice).map(\.ruleID) == ["github-personal-access-token"], "\(EngineTests.scan(twice).map(\.ruleID))")
        let thrice = "x: " + Self.b64(Self.b64(Self.b64("token = " + Self.token))) + "\n"
        #expect(!EngineTests.scan(thrice).contains { $0.ruleID == "github-personal-access-token" })
    }

    /// Runs that are no text are given up: hashes, binary, identifiers, hex.
    @Test func runsThatAreNotTextAreNotRead() {
        var rng = SystemRandomNumberGenerator()
        var decoded = 0
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 15...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Array(Data(bytes).base64EncodedString().utf8)
            text.withUnsafeBufferPointer { b in DecodedRun.find(b.baseAddress!, b.count) { _ in decoded += 1 } }
        }
        #expect(decoded == 0)
        for s in ["sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR7Q1+gfQvoDSrn9A==",
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "AbstractSingletonProxyFactoryBean_getObjectType"] {
            let text = Array(s.utf8)
            text.withUnsafeBufferPointer { b in DecodedRun.find(b.baseAddress!, b.count) { _ in decoded += 1 } }
        }
        #expect(decoded == 0)
        // Text is: the decoding is exact, and a run shorter than 20 characters is not read.
        let text = Array(("x " + Self.b64("the quick brown fox jumps") + " " + Self.b64("short one") + " y").utf8)
        var seen: [String] = []
        text.withUnsafeBufferPointer { b in DecodedRun.find(b.baseAddress!, b.count) { seen.append(String(decoding: $0.bytes, as: UTF8.self)) } }
        #expect(seen == ["the quick brown fox jumps"])
    }

    /// A long payload cut by every chunk edge: a run a window starts inside is decoded from the
    /// alignment that gives text, so the token is found once wherever the cut falls, and redacted.
    @Test func aLongPayloadIsReadAcrossChunkEdges() {
        var config = ""
        for i in 0..<400 { config += "setting_\(i) = value number \(i) for the service\n" }
        config += "token = \(Self.token)\n"
        for i in 0..<100 { config += "after_\(i) = more\n" }
        let encoded = Self.b64(config)
        #expect(encoded.count > 20_000)
        for pad in stride(from: 0, to: 4096, by: 397) {
            let bytes = Array((String(repeating: "x", count: pad) + "\n{\"file\":\"" + encoded + "\"}\n").utf8)
            var found: [SecretMatch] = []
            ChunkedScan(engine: EngineTests.engine, chunkSize: 4096).run(read: EngineTests.pieces(bytes, of: 1000)) { _, _, _, matches in found += matches; return true }
            #expect(found.map(\.ruleID) == ["github-personal-access-token"], "pad \(pad): \(found.map(\.ruleID))")
            var out: [UInt8] = []
            let n = StreamRedactor(engine: EngineTests.engine, chunkSize: 4096).run(read: EngineTests.pieces(bytes, of: 333), write: { out += $0 })
            #expect(n == 1 && String(decoding: out, as: UTF8.self).contains("[REDACTED:github-personal-access-token]"), "pad \(pad)")
        }
    }
}
