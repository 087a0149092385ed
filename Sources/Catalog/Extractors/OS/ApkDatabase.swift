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
        /// Why the file's `Z:` cannot be used, when it is there: not a `Q1` SHA-1 this reader knows, or
        /// two `Z:` lines that disagree.
        public var digestProblem: String?
        public var line: Int
        /// The permission bits of its `a:uid:gid:mode` line, nil without one (apk's default, 0644).
        /// apk installs symbolic links with mode 0777 and writes that line for them.
        public var mode: Int? = nil
        /// Whether apk installed a symbolic link here, whose `Z:` is the SHA-1 of its target text.
        public var isLink: Bool { mode == 0o777 }
    }

    public struct Record: Sendable, Hashable {
        public var line: Int
        public var fields: [Field]
        public func first(_ key: Character) -> String? { fields.first { $0.key == key }?.value }

        public var files: [File] {
            var files: [File] = []
            var dir = ""
            // The file a `Z:` describes: the last `R:`, until an `F:` starts another directory (a `Z:`
            // there describes no file, and must not be taken for the previous directory's last file).
            var current: Int?
            for f in fields {
                if f.key == "F" { dir = f.value; current = nil }
                if f.key == "R" {
                    files.append(File(path: "/" + (dir.isEmpty ? f.value : dir + "/" + f.value), digest: nil, line: f.line))
                    current = files.count - 1
                }
                if f.key == "a", let c = current {
                    let parts = f.value.split(separator: ":", omittingEmptySubsequences: false)
                    files[c].mode = parts.count == 3 ? Int(parts[2], radix: 8) : nil
                }
                if f.key == "Z", let c = current {
                    guard f.value.hasPrefix("Q1"), let d = Digest(.sha1, base64: String(f.value.dropFirst(2))) else {
                        files[c].digest = nil
                        files[c].digestProblem = "digest '\(f.value)' is not a Q1 SHA-1"
                        current = nil
                        continue
                    }
                    if let earlier = files[c].digest, earlier != d {
                        // Two digests for one file: neither is trusted.
                        files[c].digest = nil
                        files[c].digestProblem = "two Z: lines give different digests"
                        current = nil
                    } else if files[c].digestProblem == nil {
                        files[c].digest = d
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
            // apk-tools ends a record at any line shorter than two bytes: a line of one space merged
            // two records here, and the second package went unlisted (found by helper-151).
            if line.utf8.count < 2 {
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
