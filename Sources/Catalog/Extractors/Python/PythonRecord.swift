import ProvenantCore

/// A wheel's `RECORD` (`*.dist-info/RECORD`): CSV rows `path,algorithm=urlsafe-base64-digest,size`, the
/// path relative to the directory holding the `.dist-info` (or absolute). The SBOM extractor and
/// `verify-files` read it through here.
public enum PythonRecord {
    public struct Row: Sendable, Hashable {
        public var path: String
        /// nil for rows without a hash (RECORD itself, compiled `.pyc` files).
        public var digest: Digest?
        /// The hash column when it is there but names an algorithm this reader has no digest for, or
        /// does not decode.
        public var unreadableHash: String?
        public var line: Int
    }

    /// Rows without a quote (nearly all) are split on bytes, and only the two columns kept become
    /// strings: a site-packages tree has hundreds of thousands of rows. A line with a quote goes
    /// through `CSV.row`.
    public static func rows(_ text: String) -> [Row] {
        var text = text
        return text.withUTF8 { rows(bytes: $0) }
    }

    static func rows(bytes b: UnsafeBufferPointer<UInt8>) -> [Row] {
        var out: [Row] = []
        var n = 0, start = 0
        while start <= b.count {
            n += 1
            var end = start
            while end < b.count, b[end] != 10 { end += 1 }
            var stop = end
            if stop > start, b[stop - 1] == 13 { stop -= 1 }
            let line = UnsafeBufferPointer(rebasing: b[start..<stop])
            if line.contains(34) {
                let cols = CSV.row(Substring(decoding: line, as: UTF8.self))
                if let f = cols.first, !f.isEmpty { out.append(row(path: f, hash: cols.count > 1 ? cols[1] : "", line: n)) }
            } else {
                let c1 = line.firstIndex(of: 44) ?? line.count
                if c1 > 0 {
                    var hash = ""
                    if c1 < line.count {
                        let rest = UnsafeBufferPointer(rebasing: line[(c1 + 1)...])
                        hash = String(decoding: UnsafeBufferPointer(rebasing: rest[..<(rest.firstIndex(of: 44) ?? rest.count)]), as: UTF8.self)
                    }
                    out.append(row(path: String(decoding: UnsafeBufferPointer(rebasing: line[..<c1]), as: UTF8.self), hash: hash, line: n))
                }
            }
            if end == b.count { break }
            start = end + 1
        }
        return out
    }

    private static func row(path: String, hash: String, line: Int) -> Row {
        var row = Row(path: path, digest: nil, unreadableHash: nil, line: line)
        if !hash.isEmpty {
            row.digest = digest(hash)
            if row.digest == nil { row.unreadableHash = hash }
        }
        return row
    }

    /// `sha256=<urlsafe base64, no padding>`; PEP 376 allows any hashlib algorithm, of which these are
    /// the ones a digest is kept for. Older installers (distutils, and Debian's dist-packages) wrote hex,
    /// which its length tells apart.
    static func digest(_ column: String) -> Digest? {
        guard let eq = column.firstIndex(of: "=") else { return nil }
        let alg: Digest.Algorithm
        switch column[..<eq] {
        case "sha256": alg = .sha256
        case "sha384": alg = .sha384
        case "sha512": alg = .sha512
        default: return nil
        }
        let value = String(column[column.index(after: eq)...])
        return Digest(alg, hex: value) ?? Digest(alg, base64: value)
    }
}
