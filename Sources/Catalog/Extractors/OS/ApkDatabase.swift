import ProvenantCore

/// Alpine's installed database (`lib/apk/db/installed`): records of `K:value` lines separated by blank
/// lines. The SBOM extractor and `verify-files` read it through here.
public enum ApkDatabase {
    public struct Field: Sendable, Hashable {
        public var key: Character
        public var value: String
        public var line: Int
    }

    /// One installed file: `F:` names its directory, `R:` the file, and the `Z:` after it the SHA-1
    /// (`Q1` + base64) of its content, or of its target for a symbolic link.
    public struct File: Sendable, Hashable {
        /// Absolute, as the package installs it: `/` + F + `/` + R.
        public var path: String
        public var digest: Digest?
        /// The `Z:` value when it is there but not a `Q1` SHA-1 this reader knows.
        public var unreadableDigest: String?
        public var line: Int
    }

    public struct Record: Sendable, Hashable {
        public var line: Int
        public var fields: [Field]
        public func first(_ key: Character) -> String? { fields.first { $0.key == key }?.value }

        public var files: [File] {
            var files: [File] = []
            var dir = ""
            for f in fields {
                if f.key == "F" { dir = f.value }
                if f.key == "R" { files.append(File(path: "/" + (dir.isEmpty ? f.value : dir + "/" + f.value), digest: nil, line: f.line)) }
                if f.key == "Z", !files.isEmpty {
                    if f.value.hasPrefix("Q1"), let d = Digest(.sha1, base64: String(f.value.dropFirst(2))) {
                        files[files.count - 1].digest = d
                    } else {
                        files[files.count - 1].unreadableDigest = f.value
                    }
                }
            }
            return files
        }
    }

    /// Every record, with the line it starts on; lines that are not `K:value` are ignored.
    public static func records(_ text: String) -> [Record] {
        var out: [Record] = []
        var cur: [Field] = []
        var start = 1
        for (n, line) in Lines(text: text) {
            if line.isEmpty {
                if !cur.isEmpty { out.append(Record(line: start, fields: cur)); cur = [] }
                start = n + 1
                continue
            }
            let chars = Array(line.prefix(2))
            guard chars.count == 2, chars[1] == ":" else { continue }
            if cur.isEmpty { start = n }
            cur.append(Field(key: chars[0], value: String(line.dropFirst(2)), line: n))
        }
        if !cur.isEmpty { out.append(Record(line: start, fields: cur)) }
        return out
    }
}
