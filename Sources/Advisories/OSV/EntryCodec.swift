import ProvenantCore

/// A compact text form for `affected` entries. Scans read thousands of them, and JSON decoding
/// was most of a scan's time. Control characters separate: parts by LF, ranges by RS (0x1E), fields
/// and events by US (0x1F), list items by GS (0x1D). No real version, name or score holds one, but a
/// record may: `"fixed": "1.0\n"` moved the ranges after it into the versions list, and the package
/// scanned clean (found by helper-155). Every control character of a field is written as a space,
/// which the version schemes trim as they trim the space itself.
enum EntryCodec {
    static let rs: Character = "\u{1E}", us: Character = "\u{1F}", gs: Character = "\u{1D}"

    /// `s` with each C0 control and DEL as a space.
    static func field(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }

    static func encode(_ a: OSVRecord.Affected) -> String {
        let ranges = (a.ranges ?? []).map { r -> String in
            let events = r.events.map { e -> String in
                if let v = e.introduced { return "i" + field(v) }
                if let v = e.fixed { return "f" + field(v) }
                if let v = e.lastAffected { return "l" + field(v) }
                return "m" + field(e.limit ?? "")
            }
            return ([field(r.type), field(r.repo ?? "")] + events).joined(separator: String(us))
        }.joined(separator: String(rs))
        let versions = list((a.versions ?? []).map(field))
        let severity = severities((a.severity ?? []).map { OSVRecord.Severity(type: field($0.type), score: field($0.score)) })
        let pkg = a.package.map { [field($0.ecosystem), field($0.name), field($0.purl ?? "")].joined(separator: String(us)) } ?? ""
        // Flags say which optional lists were present, so decoding gives back nil, not [].
        let flags = (a.ranges == nil ? "-" : "r") + (a.versions == nil ? "-" : "v") + (a.severity == nil ? "-" : "s")
        return [flags, pkg, ranges, versions, severity].joined(separator: "\n")
    }

    /// Splits on an ASCII separator by bytes; Character splitting walks grapheme clusters and
    /// was most of the decode.
    static func split(_ s: Substring, _ sep: UInt8, max: Int = .max) -> [Substring] {
        var out: [Substring] = []
        var start = s.utf8.startIndex
        var i = start
        while i < s.utf8.endIndex, out.count < max {
            if s.utf8[i] == sep {
                out.append(Substring(s.utf8[start..<i]))
                start = s.utf8.index(after: i)
            }
            i = s.utf8.index(after: i)
        }
        out.append(Substring(s.utf8[start...]))
        return out
    }

    /// Whether a GS-joined list holds `version`, compared as bytes without splitting the list.
    static func listed(_ list: String, contains version: String) -> Bool {
        guard !list.isEmpty else { return false }
        var list = list, version = version
        return list.withUTF8 { l in
            version.withUTF8 { v in
                var start = 0
                while start <= l.count {
                    var end = start
                    while end < l.count, l[end] != 0x1D { end += 1 }
                    if end - start == v.count, v.indices.allSatisfy({ l[start + $0] == v[$0] }) { return true }
                    start = end + 1
                }
                return false
            }
        }
    }

    /// Decodes a stored entry straight into its prepared form: the hot path of a scan, which needs
    /// neither the package fields nor the versions list split into strings.
    static func prepare(_ encoded: String, _ schemes: RangeEvaluator.Schemes) -> RangeEvaluator.PreparedEntry {
        var encoded = encoded
        let (ranges, listed, severity) = encoded.withUTF8 { b -> ([RangeEvaluator.RawRange], String, [OSVRecord.Severity]?) in
            func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }
            // The five newline-separated parts: flags, package, ranges, versions, severity.
            var parts = fields(b, 0..<b.count, 10, max: 5)
            while parts.count < 5 { parts.append(b.count..<b.count) }
            func has(_ k: Int) -> Bool { parts[0].count > k && b[parts[0].lowerBound + k] != UInt8(ascii: "-") }
            var ranges: [RangeEvaluator.RawRange] = []
            if has(0), !parts[2].isEmpty {
                for range in fields(b, parts[2], 0x1E) {
                    // Fields: type, repo, then one event per field, its kind in the first byte.
                    let f = fields(b, range, 0x1F)
                    let events = f.dropFirst(2).filter { !$0.isEmpty }.map { e -> (kind: RangeEvaluator.Kind, version: String) in
                        let kind: RangeEvaluator.Kind
                        switch b[e.lowerBound] {
                        case UInt8(ascii: "i"): kind = .introduced
                        case UInt8(ascii: "f"): kind = .fixed
                        case UInt8(ascii: "l"): kind = .lastAffected
                        default: kind = .limit
                        }
                        return (kind, text(e.dropFirst()))
                    }
                    ranges.append(.init(type: text(f[0]), events: events))
                }
            }
            return (ranges, has(1) ? text(parts[3]) : "", has(2) ? severities(text(parts[4])) : nil)
        }
        return RangeEvaluator.prepare(ranges: ranges, listed: listed, severity: severity, schemes: schemes)
    }

    /// The byte ranges between `separator`s within `within`; at most `max` of them, the last
    /// running to the end.
    static func fields(_ b: UnsafeBufferPointer<UInt8>, _ within: Range<Int>, _ separator: UInt8, max: Int = .max) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = within.lowerBound
        for i in within where b[i] == separator && out.count < max - 1 {
            out.append(start..<i)
            start = i + 1
        }
        out.append(start..<within.upperBound)
        return out
    }

    static func list(_ items: [String]) -> String { items.joined(separator: String(gs)) }
    static func list(_ s: some StringProtocol) -> [String] { s.isEmpty ? [] : split(Substring(s), 0x1D).map(String.init) }

    static func severities(_ list: [OSVRecord.Severity]) -> String { list.map { $0.type + String(us) + $0.score }.joined(separator: String(rs)) }
    static func severities(_ s: some StringProtocol) -> [OSVRecord.Severity] {
        s.isEmpty ? [] : split(Substring(s), 0x1E).compactMap { x in
            let f = split(x, 0x1F, max: 1)
            return f.count == 2 ? OSVRecord.Severity(type: String(f[0]), score: String(f[1])) : nil
        }
    }
}
