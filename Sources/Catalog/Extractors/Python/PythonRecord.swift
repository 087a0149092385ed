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

    public static func rows(_ text: String) -> [Row] {
        var out: [Row] = []
        for (n, line) in Lines(text: text) {
            let cols = CSV.row(line)
            guard let f = cols.first, !f.isEmpty else { continue }
            var row = Row(path: f, digest: nil, unreadableHash: nil, line: n)
            if cols.count > 1, !cols[1].isEmpty {
                row.digest = digest(cols[1])
                if row.digest == nil { row.unreadableHash = cols[1] }
            }
            out.append(row)
        }
        return out
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
