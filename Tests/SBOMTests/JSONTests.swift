import Foundation
import Testing
import ProvenantCore

/// The JSON reader that SBOM reading rests on, and the byte writer that reports use.
@Suite struct JSONTests {
    func parse(_ s: String) throws(JSONParser.Failure) -> JSONValue { try JSONParser.parse(Array(s.utf8)) }

    func failure(_ s: String) -> JSONParser.Failure? {
        do { _ = try parse(s); return nil } catch { return error }
    }

    @Test func readsEveryKindOfValueKeepingKeyOrder() throws {
        let v = try parse(#" {"b": [1, -2, 3.5, 1e3, -0, 12345678901234567890], "a": {"t": true, "f": false, "n": null}, "s": "x"} "#)
        #expect(v.serialized(pretty: false) == #"{"b":[1,-2,3.5,1000.0,0,1.2345678901234567e+19],"a":{"t":true,"f":false,"n":null},"s":"x"}"#)
        #expect(v["s"]?.stringValue == "x" && v["b"]?.arrayValue?.count == 6 && v["missing"] == nil)
        // A repeated key: the last one counts, as in most readers.
        #expect(try parse(#"{"k": 1, "k": "two"}"#)["k"]?.stringValue == "two")
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let v = try parse(#"["\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r", "plain ü"]"#)
        #expect(v.arrayValue?.first?.stringValue == "é😀\n\t\"\\/\u{8}\u{c}\r")
        #expect(v.arrayValue?.last?.stringValue == "plain ü")
    }

    @Test func rejectsMalformedInputWithTheLine() {
        let cases: [(String, Int, String)] = [
            ("{\n\"a\": 1,\n}", 3, "expected a quoted object key"),
            ("[1,\n2,]", 2, "unexpected character ']'"),
            ("{\"a\": \"open", 1, "unterminated string"),
            ("[\"tab\there\"]", 1, "control character in a string"),
            ("[\"\\x\"]", 1, "invalid escape"),
            ("[\"\\ud800\"]", 1, "unpaired surrogate"),
            ("[\"\\udc00\"]", 1, "unpaired surrogate"),
            ("[01]", 1, "expected ',' or ']'"),
            ("[1.]", 1, "no digits after '.'"),
            ("[tru]", 1, "invalid literal"),
            ("{} x", 1, "unexpected text after the JSON value"),
            ("", 1, "unexpected end of input"),
            ("\n\n[", 3, "unexpected end of input"),
        ]
        for (text, line, reason) in cases {
            let f = failure(text)
            #expect(f?.line == line, "\(text.debugDescription)")
            #expect(f?.reason.contains(reason) == true, "\(text.debugDescription): \(f?.reason ?? "accepted")")
        }
        #expect(failure("[\"\u{0}\"]") != nil)
        #expect((try? JSONParser.parse([34, 0xC3, 0x28, 34])) == nil, "invalid UTF-8 is refused")
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(failure(deep)?.reason.contains("nested deeper than") == true)
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(failure(fine) == nil)
    }

    /// Foundation's tree as one comparable string: keys sorted, numbers by value (booleans as 1 and 0).
    func canonical(_ v: Any) -> String {
        switch v {
        case let s as String: return s.debugDescription
        case let d as [String: Any]: return "{" + d.keys.sorted().map { "\($0.debugDescription):\(canonical(d[$0] ?? NSNull()))" }.joined(separator: ",") + "}"
        case let a as [Any]: return "[" + a.map(canonical).joined(separator: ",") + "]"
        case is NSNull: return "null"
        case let n as NSNumber: return "\(n.doubleValue)"
        case let b as Bool: return b ? "1.0" : "0.0"
        case let i as Int: return "\(Double(i))"
        case let d as Double: return "\(d)"
        default: return "?\(type(of: v))"
        }
    }

    /// Every JSON fixture in the repository reads to the same data as Foundation's reader.
    @Test func agreesWithFoundationOnTheRepositoryFixtures() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let files = (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".json") }
        #expect(files.count > 50)
        var compared = 0
        for f in files {
            let data = try Data(contentsOf: root.appendingPathComponent(f))
            let theirs = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            let ours = try? JSONParser.parse(data)
            #expect((theirs == nil) == (ours == nil), "\(f): Foundation \(theirs == nil ? "refuses" : "reads") it, JSONParser \(ours == nil ? "refuses" : "reads") it")
            guard let theirs, let ours else { continue }
            let again = try JSONSerialization.jsonObject(with: Data(ours.serialized(pretty: false).utf8), options: [.fragmentsAllowed])
            let same = canonical(again) == canonical(theirs)
            #expect(same, "\(f) reads differently")
            compared += 1
        }
        #expect(compared > 50)
    }

    @Test func theByteWriterLaysOutExactlyAsTheTree() {
        let tree: JSONValue = .object([
            ("id", .string("A-1")), ("empty", .array([])), ("none", .object([])), ("score", .double(9.8)), ("vector", .null),
            ("nested", .object([("list", .array([.string("x"), .string("y\n")])), ("deeper", .array([.object([("k", .string("v"))]), .array([])]))])),
        ])
        for pretty in [true, false] {
            var bytes: [UInt8] = []
            JSONWriter.write(into: &bytes, indent: 0, pretty: pretty) { w in
                w.object { w in
                    w.field("id", "A-1")
                    w.field("empty", strings: [])
                    w.key("none"); w.object { _ in }
                    w.key("score"); w.value(.double(9.8))
                    w.field("vector", nil as String?)
                    w.key("nested")
                    w.object { w in
                        w.field("list", strings: ["x", "y\n"])
                        w.key("deeper")
                        w.array { w in
                            w.object { w in w.field("k", "v") }
                            w.array { _ in }
                        }
                    }
                }
            }
            var expected = tree.serialized(pretty: pretty)
            if pretty { expected.removeLast() }   // serialized() ends with a newline
            #expect(String(decoding: bytes, as: UTF8.self) == expected)
        }
        // Inside a tree, at depth, through `.raw`.
        let inner: JSONValue = .object([("a", .array([.raw { o, indent, pretty in JSONWriter.write(into: &o, indent: indent, pretty: pretty) { $0.object { $0.field("k", "v") } } }]))])
        let plain: JSONValue = .object([("a", .array([.object([("k", .string("v"))])]))])
        #expect(inner.serialized() == plain.serialized())
    }

    /// A generated array is built in batches on every core, sized by the bytes the last batch took;
    /// however the batches fall, the bytes are the plain array's, written whole or streamed.
    @Test func aGeneratedArrayIsThePlainArray() {
        // Small elements, then a run of large ones (so the batches shrink), then small again (they grow).
        @Sendable func element(_ i: Int) -> JSONValue {
            let big = (3000..<3200).contains(i)
            return .object([("i", .int(i)), ("s", .string(big ? String(repeating: "x", count: 10_000 + i) : "e\(i)")),
                            ("l", .array((0..<(i % 3)).map { .int($0) }))])
        }
        let count = 9000
        let plain: JSONValue = .object([("a", .array((0..<count).map(element))), ("z", .array([]))])
        // Unweighted; weighted as the bytes go; weighted wrongly, down to nothing and up to overflowing.
        // And some heavy enough to be written alone: the first, the last, a run of them, scattered ones.
        let weights: [(@Sendable (Int) -> Int)?] = [nil, { (3000..<3200).contains($0) ? 100 : 1 }, { $0 % 2 == 0 ? 0 : -5 }, { _ in 400 }, { _ in Int.max / 3 },
                                                    { $0 == 0 || $0 == count - 1 || (3100..<3104).contains($0) || $0 % 997 == 5 ? JSONValue.alone : 1 }]
        for (weight, pretty) in weights.flatMap({ w in [(w, true), (w, false)] }) {
            let generated: JSONValue = .object([("a", .generated(count: count, weight: weight) { element($0) }), ("z", .generated(count: 0) { element($0) })])
            #expect(generated.serialized(pretty: pretty) == plain.serialized(pretty: pretty))
            var streamed: [UInt8] = [], chunks = 0
            generated.write(pretty: pretty) { streamed += $0; chunks += 1 }
            #expect(String(decoding: streamed, as: UTF8.self) == plain.serialized(pretty: pretty))
            #expect(chunks > 3)
        }
    }
}
