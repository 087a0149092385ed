import Catalog
import Foundation
import Secrets

/// What `provenant secrets` reads: any bytes through the engine (rules, generic and known-secret
/// detectors) and through the archive readers, the `--known` files, and the baseline.
enum SecretTargets {
    /// Built once: the engine with every rule and a few known values.
    static let engine: SecretEngine? = {
        let known = try? KnownSecrets([.init(name: .init(source: "fuzz", key: "token"), bytes: Array("fuzz-known-value-1".utf8))])
        return try? SecretEngine.standard(known: known)
    }()

    /// A stream's reads of `bytes`, `size` at most at a time: what is cut between reads is exercised.
    static func pieces(_ bytes: [UInt8], of size: Int) -> (inout [UInt8], Int) -> Int {
        var offset = 0
        return { buf, max in
            let n = Swift.min(max, size, bytes.count - offset)
            buf += bytes[offset..<(offset + n)]
            offset += n
            return n
        }
    }

    static let all: [FuzzTarget] = [
        FuzzTarget("secrets-engine", "any bytes through the secrets engine, whole and in small chunks, and through redaction") { bytes in
            guard let engine else { return }
            let matches = bytes.withUnsafeBytes { engine.scan($0) }
            for m in matches {
                precondition(m.value.lowerBound >= 0 && m.value.upperBound <= bytes.count && m.redacted.upperBound <= bytes.count, "a match outside the bytes")
            }
            // The wrapped-base64 view: each byte is the text's byte it says it came from, in order.
            bytes.withUnsafeBytes { raw in
                guard let view = WrappedBase64(raw) else { return }
                precondition(view.bytes.count == view.source.count && view.bytes.count < raw.count, "a joined view no shorter than its text")
                for (k, at) in view.source.enumerated() {
                    precondition(Int(at) < raw.count && raw[Int(at)] == view.bytes[k] && (k == 0 || at > view.source[k - 1]), "a joined byte from nowhere")
                }
            }
            // The unescaped view: each byte is the text's own, or decoded from an escape at its place.
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), let view = UnescapedText(base, raw.count) else { return }
                precondition(view.bytes.count == view.source.count, "an unescaped view without a place for each byte")
                for (k, at) in view.source.enumerated() {
                    precondition(Int(at) < raw.count && (raw[Int(at)] == view.bytes[k] || raw[Int(at)] == 92) && (k == 0 || at >= view.source[k - 1]), "an unescaped byte from nowhere")
                    let r = view.original(k..<(k + 1), in: base, raw.count)
                    precondition(r.lowerBound == Int(at) && r.upperBound <= raw.count && r.upperBound > r.lowerBound, "an unescaped byte mapped outside the text")
                }
            }
            // As `secrets redact` reads a stream: its form told from the first bytes (packed input
            // refused), then redacted in place, UTF-16 in it too.
            _ = StreamRedactor(engine: engine, chunkSize: 4096).runDetecting(read: pieces(bytes, of: 1000), write: { _ in })
        },
        FuzzTarget("decoded-runs", "runs of base64 and hex found and decoded within the bytes, and the bytes as base64 and hex through the engine and redaction") { bytes in
            bytes.withUnsafeBufferPointer { b in
                guard let base = b.baseAddress else { return }
                DecodedRun.find(base, b.count) { run in
                    precondition(run.run.lowerBound >= 0 && run.run.upperBound <= b.count && run.run.contains(run.start), "a run outside the bytes")
                    let n = run.bytes.count
                    for r in [0..<n, 0..<0, (n / 3)..<(n / 2), n..<n, (n - 1)..<n] where r.lowerBound >= 0 && r.lowerBound <= r.upperBound {
                        let o = run.original(r)
                        precondition(o.lowerBound >= run.run.lowerBound && o.upperBound <= run.run.upperBound, "a decoded range mapped outside its run")
                    }
                }
            }
            // The fuzzer's bytes as the decoded text: base64, URL-safe base64 in JSON, and hex.
            guard let engine else { return }
            let encoded = Data(bytes).base64EncodedString()
            for text in ["k: " + encoded + "\n", "{\"x\":\"" + encoded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") + "\"}",
                         "h " + bytes.map { String(format: "%02x", $0) }.joined() + "\n"] {
                let t = Array(text.utf8)
                for m in t.withUnsafeBytes({ engine.scan($0) }) {
                    precondition(m.value.lowerBound >= 0 && m.redacted.upperBound <= t.count && m.value.upperBound <= t.count, "a match outside the bytes")
                }
                _ = StreamRedactor(engine: engine, chunkSize: 4096).run(read: pieces(t, of: 700), write: { _ in })
            }
        },
        FuzzTarget("utf16-text", "UTF-16 detection and decoding, and the UTF-16 stretches redact and scan read: valid UTF-8, ranges within the bytes") { bytes in
            _ = UTF16Text.detect(bytes)
            for order in [UTF16Text.ByteOrder.little, .big] {
                precondition(String(validating: UTF16Text.decode(bytes, order), as: UTF8.self) != nil, "decoded UTF-16 is not valid UTF-8")
            }
            bytes.withUnsafeBytes { raw in
                for lead in [nil, UTF16Runs.Reading(little: true, start: 1), UTF16Runs.Reading(little: false, start: 0)] {
                    // Stretches come in no set order: one read the other way from a turn starts inside
                    // the stretch before it.
                    UTF16Runs.find(raw, lead: lead) { run in
                        precondition(run.bytes.lowerBound >= 0 && run.bytes.upperBound <= raw.count && run.bytes.count % 2 == 0, "a stretch out of the bytes")
                        precondition(String(validating: run.text, as: UTF8.self) != nil && run.unit.count == run.text.count, "a stretch's text is no UTF-8")
                        for r in [0..<run.text.count, (run.text.count / 3)..<(run.text.count / 2), 1..<run.text.count] where r.lowerBound < r.upperBound {
                            let b = UTF16Runs.bytes(r, of: run, in: raw)
                            precondition(b.lowerBound >= run.bytes.lowerBound && b.upperBound <= run.bytes.upperBound && !b.isEmpty, "a range outside its stretch")
                        }
                    }
                }
            }
        },
        FuzzTarget("secrets-archive", "a file as `secrets scan` opens it: zip/jar, tar, tar.gz or text, nested archives included") { bytes in
            guard let engine else { return }
            Scratch.withFile(bytes, target: "secrets-archive", as: "input.bin") { _, dir in
                _ = SecretsScanner(engine: engine).scan(targets: [dir])
            }
        },
        FuzzTarget("known-secrets", "a --known file: Kubernetes Secret YAML, .env or flat JSON") { bytes in
            Scratch.withFile(bytes, target: "known-secrets", as: "creds.env") { path, _ in
                guard let values = try? KnownSecretsFile.read(path: path) else { return }
                _ = try? KnownSecrets(values)
            }
        },
        FuzzTarget("git-log", "`git log -p` output as --git reads it (paths, C-quoting, hunks), whole and in 7-byte pieces alike") { bytes in
            var whole: [String] = [], pieces: [String] = []
            GitHistory.parse(logOutput: bytes, chunk: bytes.count) { whole.append($0.commit + "\u{0}" + $0.path + "\u{0}" + String(decoding: $0.text, as: UTF8.self) + "\($0.lines)") }
            GitHistory.parse(logOutput: bytes, chunk: 7) { pieces.append($0.commit + "\u{0}" + $0.path + "\u{0}" + String(decoding: $0.text, as: UTF8.self) + "\($0.lines)") }
            precondition(whole == pieces, "parsing in pieces differs from parsing whole")
        },
        FuzzTarget("secrets-baseline", "a --baseline file") { bytes in
            Scratch.withFile(bytes, target: "secrets-baseline", as: "baseline.json") { path, _ in
                _ = try? SecretsBaseline.read(path: path)
            }
        },
    ]
}
