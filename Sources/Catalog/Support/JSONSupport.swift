import Foundation
import ProvenantCore

/// Loose accessors over JSONSerialization output. Input shapes vary, so every read is optional.
enum JSON {
    static func parse(_ bytes: [UInt8]) throws -> Any {
        if bytes.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) { throw ParseError("empty file") }
        if bytes.contains(0) { throw ParseError("binary data where JSON was expected") }
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            // `JSON.stringify` writes a lone surrogate as `\ud800`, which Foundation refuses, naming no
            // place: one odd character in a description would lose the whole lockfile. Such escapes
            // are read as U+FFFD, as Go's decoder reads them, and the text is parsed again.
            if let mended = replacingLoneSurrogates(bytes),
               let again = try? JSONSerialization.jsonObject(with: Data(mended), options: [.fragmentsAllowed]) {
                return again
            }
            let ns = error as NSError
            let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? "invalid JSON"
            // Foundation's text may quote the input at length (a 5,000-digit number whole): cut short.
            throw ParseError("invalid JSON: \(Redactor.quote(detail, max: 200))", line: line(ofCharacterIn: detail, bytes))
        }
    }

    /// Foundation names where JSON went wrong as "around character N" (including when nesting passes its
    /// depth limit); the line of that offset, so the diagnostic points at it like every other parser's.
    static func line(ofCharacterIn detail: String, _ bytes: [UInt8]) -> Int? {
        guard let r = detail.range(of: "around character ") else { return nil }
        let digits = detail[r.upperBound...].prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count < 19, let offset = Int(digits) else { return nil }
        var line = 1
        for b in bytes[..<min(offset, bytes.count)] where b == 10 { line += 1 }
        return line
    }

    /// `bytes` with every `\u` escape of a surrogate that is not half of a pair turned into `\uFFFD`,
    /// in string values; nil when there is none, or when one is in an object key.
    static func replacingLoneSurrogates(_ bytes: [UInt8]) -> [UInt8]? {
        func hex(_ i: Int) -> Int? {
            guard i + 4 <= bytes.count else { return nil }
            var v = 0
            for k in i..<(i + 4) {
                guard let d = Hex.nibble(bytes[k]) else { return nil }
                v = v * 16 + Int(d)
            }
            return v
        }
        func escape(at i: Int) -> Int? {
            guard i + 1 < bytes.count, bytes[i] == 92, bytes[i + 1] == 117 else { return nil }
            return hex(i + 2)
        }
        var out: [UInt8]?
        var inString = false
        // The lone surrogates of the string being read: mended once it is known to be a value. In a
        // key, two names differing only there would become one, and the last would hide the first.
        var pending: [Int] = []
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if !inString { if c == 34 { inString = true }; i += 1; continue }
            if c == 34 {
                inString = false
                i += 1
                if !pending.isEmpty {
                    var j = i
                    while j < bytes.count, bytes[j] == 32 || bytes[j] == 9 || bytes[j] == 10 || bytes[j] == 13 { j += 1 }
                    if j < bytes.count, bytes[j] == 58 { return nil }
                    if out == nil { out = bytes }
                    for at in pending { out!.replaceSubrange(at..<(at + 6), with: Array("\\uFFFD".utf8)) }
                    pending.removeAll()
                }
                continue
            }
            guard c == 92 else { i += 1; continue }
            guard let v = escape(at: i) else { i += 2; continue }
            if (0xD800..<0xDC00).contains(v), let low = escape(at: i + 6), (0xDC00..<0xE000).contains(low) { i += 12; continue }
            if (0xD800..<0xE000).contains(v) { pending.append(i) }
            i += 6
        }
        return out
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let o = try parse(bytes) as? [String: Any] else { throw ParseError("expected a JSON object at the top level") }
        return o
    }
}

extension Dictionary where Key == String, Value == Any {
    func str(_ k: String) -> String? {
        if let s = self[k] as? String { return s }
        return nil
    }
    func obj(_ k: String) -> [String: Any]? { self[k] as? [String: Any] }
    func arr(_ k: String) -> [Any]? { self[k] as? [Any] }
    func bool(_ k: String) -> Bool? { self[k] as? Bool }
}

/// Finds the line of each object key in a JSON text in one pass, so components can cite
/// `file:line` without a position-tracking parser. Only keys whose value is an object are kept.
struct JSONKeyLines {
    private var first: [String: Int] = [:]

    /// `arrays`: keys whose value is an array count too (bun.lock's package tuples), not only objects.
    init(_ bytes: [UInt8], arrays: Bool = false) {
        var line = 1
        var i = 0
        let n = bytes.count
        bytes.withUnsafeBufferPointer { b in
            while i < n {
                let c = b[i]
                if c == 10 { line += 1; i += 1; continue }
                guard c == 34 else { i += 1; continue }
                let start = i + 1
                let keyLine = line
                var j = start
                var escaped = false
                while j < n && b[j] != 34 {
                    if b[j] == 92 { escaped = true; j += 1 }
                    if j < n && b[j] == 10 { line += 1 }
                    j += 1
                }
                if j >= n { return }
                var k = j + 1
                while k < n && (b[k] == 32 || b[k] == 9 || b[k] == 13 || b[k] == 10) {
                    if b[k] == 10 { line += 1 }
                    k += 1
                }
                if k < n && b[k] == 58 {
                    var m = k + 1
                    while m < n && (b[m] == 32 || b[m] == 9 || b[m] == 13 || b[m] == 10) { m += 1 }
                    if m < n && (b[m] == 123 || (arrays && b[m] == 91)) {
                        let raw = String(decoding: UnsafeBufferPointer(rebasing: b[start..<j]), as: UTF8.self)
                        let key = escaped ? ((try? JSONSerialization.jsonObject(with: Data(("\"" + raw + "\"").utf8),
                                                                                 options: [.fragmentsAllowed])) as? String ?? raw) : raw
                        if first[key] == nil { first[key] = keyLine }
                    }
                }
                i = j + 1
            }
        }
    }

    func line(_ key: String) -> Int? { first[key] }
}

/// Splits text into lines with 1-based numbers. Scans UTF-8 bytes for '\n' rather than
/// Characters: this runs over every line of every text input.
struct Lines: Sequence {
    let text: String
    func makeIterator() -> AnyIterator<(Int, Substring)> {
        var n = 0
        var rest: Substring? = text[...]
        return AnyIterator {
            guard let r = rest else { return nil }
            n += 1
            var line: Substring
            if let nl = r.utf8.firstIndex(of: 10) {
                line = r[..<nl]
                rest = r[r.utf8.index(after: nl)...]
            } else {
                line = r
                rest = nil
            }
            if line.utf8.last == 13 { line = line[..<line.utf8.index(before: line.endIndex)] }
            return (n, line)
        }
    }
}

extension StringProtocol {
    func unquoted() -> String {
        let t = trimmed
        if t.utf8.count >= 2, (t.hasPrefix("\"") && t.hasSuffix("\"")) || (t.hasPrefix("'") && t.hasSuffix("'")) {
            return String(t.dropFirst().dropLast())
        }
        return t
    }
}
