import ProvenantCore

/// A small, strict XML reader for manifests. Foundation's XMLParser traps on some malformed
/// input on Linux, and bad input must never crash a scan.
enum MiniXML {
    /// Elements nest at most this deep. Manifests use under twenty levels; the limit keeps callers'
    /// per-element work bounded, so a file of 300,000 nested elements fails at once instead of stalling.
    static let maxDepth = 256

    static func parse(_ b: [UInt8], start: (String, Int) -> Void, text: (String) -> Void, end: (String) -> Void) throws {
        var i = 0, line = 1
        var open: [String] = []
        func fail(_ m: String) -> ParseError { ParseError("invalid XML: \(m)", line: line) }
        func skip(until needle: [UInt8]) throws {
            while i < b.count {
                if b[i] == 10 { line += 1 }
                if b[i] == needle[0], i + needle.count <= b.count, Array(b[i..<i + needle.count]) == needle { i += needle.count; return }
                i += 1
            }
            throw fail("unterminated markup")
        }
        func localName(_ raw: ArraySlice<UInt8>) -> String {
            let s = String(decoding: raw, as: UTF8.self)
            return s.split(separator: ":").last.map(String.init) ?? s
        }
        var sawRoot = false
        while i < b.count {
            if b[i] != UInt8(ascii: "<") {
                let s = i
                while i < b.count, b[i] != UInt8(ascii: "<") { if b[i] == 10 { line += 1 }; i += 1 }
                if !open.isEmpty { text(decodeEntities(String(decoding: b[s..<i], as: UTF8.self))) }
                else if b[s..<i].contains(where: { $0 > 32 }) { throw fail("text outside the root element") }
                continue
            }
            let rest = b[i...]
            if rest.starts(with: Array("<?".utf8)) { i += 2; try skip(until: Array("?>".utf8)); continue }
            if rest.starts(with: Array("<!--".utf8)) { i += 4; try skip(until: Array("-->".utf8)); continue }
            if rest.starts(with: Array("<![CDATA[".utf8)) {
                i += 9
                let s = i
                try skip(until: Array("]]>".utf8))
                text(String(decoding: b[s..<(i - 3)], as: UTF8.self))
                continue
            }
            if rest.starts(with: Array("<!".utf8)) { i += 2; try skip(until: Array(">".utf8)); continue }
            let closing = i + 1 < b.count && b[i + 1] == UInt8(ascii: "/")
            i += closing ? 2 : 1
            let nameStart = i
            while i < b.count, !(b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 || b[i] == UInt8(ascii: ">") || b[i] == UInt8(ascii: "/")) { i += 1 }
            guard i > nameStart else { throw fail("element without a name") }
            let first = b[nameStart]
            guard !(first >= 48 && first <= 57) && first != 45 && first != 46,
                  b[nameStart..<i].allSatisfy({ $0 >= 0x80 || ($0 >= 48 && $0 <= 58) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 46 || $0 == 95 })
            else { throw fail("invalid element name '\(String(decoding: b[nameStart..<i], as: UTF8.self).prefix(40))'") }
            let name = localName(b[nameStart..<i])
            // Attributes are not needed; skip to the end of the tag, respecting quotes.
            var quote: UInt8 = 0
            var selfClosing = false
            while i < b.count {
                let c = b[i]
                if c == 10 { line += 1 }
                if quote != 0 { if c == quote { quote = 0 } }
                else if c == 34 || c == 39 { quote = c }
                else if c == UInt8(ascii: ">") { selfClosing = i > 0 && b[i - 1] == UInt8(ascii: "/"); break }
                else if c == UInt8(ascii: "<") { throw fail("'<' inside a tag") }
                i += 1
            }
            guard i < b.count else { throw fail("unterminated tag <\(Redactor.quote(name, max: 40))>") }
            i += 1
            if closing {
                guard open.last == name else { throw fail("</\(Redactor.quote(name, max: 40))> does not close <\(open.last ?? "")>") }
                open.removeLast()
                end(name)
            } else {
                if open.isEmpty && sawRoot { throw fail("more than one root element") }
                sawRoot = true
                start(name, line)
                if selfClosing { end(name) } else {
                    guard open.count < maxDepth else { throw fail("elements nested deeper than \(maxDepth) levels") }
                    open.append(name)
                }
            }
        }
        if let o = open.last { throw fail("element <\(Redactor.quote(o, max: 40))> is never closed") }
        if !sawRoot { throw fail("no root element") }
    }

    static func decodeEntities(_ s: String) -> String {
        guard s.utf8.contains(0x26) else { return s }   // '&', by bytes: Foundation's search was 12 ms of an image's jars
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) < 10 else {
                out += rest[amp...]; return out
            }
            let ent = rest[rest.index(after: amp)..<semi]
            switch ent {
            case "lt": out += "<"
            case "gt": out += ">"
            case "amp": out += "&"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                if ent.hasPrefix("#x"), let v = UInt32(ent.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) { out.unicodeScalars.append(u) }
                else if ent.hasPrefix("#"), let v = UInt32(ent.dropFirst()), let u = Unicode.Scalar(v) { out.unicodeScalars.append(u) }
                else { out += "&" + ent + ";" }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
