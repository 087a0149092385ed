import ProvenantCore

/// The parts of dpkg's database (`var/lib/dpkg`) that say which files a package installed and what
/// they held: the status records with their `Conffiles:` field, `info/<package>.md5sums`,
/// `info/<package>.list` and `diversions`. The SBOM extractor and `verify-files` read them through
/// these functions, so there is one reader of each format.
public enum DpkgDatabase {
    /// One `Conffiles:` line: ` /etc/foo.conf <md5> [obsolete|remove-on-upgrade]`.
    public struct Conffile: Sendable, Hashable {
        public var path: String
        /// The md5 dpkg installed, as written: `newconffile` when the package is unpacked but the
        /// file not yet configured.
        public var hash: String
        /// The package no longer ships it (`obsolete`), or will remove it on its next upgrade.
        public var obsolete: Bool
        public var removeOnUpgrade: Bool
        public var line: Int
    }

    /// One package's status record, as far as file verification needs it.
    public struct Record: Sendable, Hashable {
        public var name: String
        public var version: String?
        public var architecture: String?
        /// `same` when several architectures of it may be installed at once; its info files are then
        /// named `<package>:<arch>.<kind>`.
        public var multiArch: String?
        /// The third word of `Status:` (`installed`, `half-configured`, `config-files`, `not-installed`, ...).
        public var state: String
        public var conffiles: [Conffile]
        /// Where the record starts in the status file.
        public var line: Int
        /// dpkg keeps no files for a package in this state, so there is nothing to verify.
        public var hasFiles: Bool { state != "not-installed" }
    }

    /// One diversion: `from` is installed as `to` for every package but `package` (nil for a local
    /// diversion, made by the administrator, which applies to every package).
    public struct Diversion: Sendable, Hashable {
        public var from: String
        public var to: String
        public var package: String?
        public var line: Int
    }

    /// One `<md5>  <path>` line of an md5sums file, the hash as written and the path as given (relative).
    public struct SumLine: Sendable, Hashable {
        public var hash: String
        public var path: String
        public var line: Int
    }

    /// The status file's records. A record without a Package field, or with a Conffiles line that is
    /// not `path hash [flag]`, is reported with its line and the rest is read. A record whose Status
    /// cannot be read is left out, reported with `unscanned: .input`: what it installed is not known.
    public static func status(_ text: String, path: String) -> (records: [Record], diagnostics: [Diagnostic]) {
        var records: [Record] = []
        var diags: [Diagnostic] = []
        // Lines of one kind are reported through `perLine`, so a file of bad lines costs a hundred messages.
        var nameless: [Int] = []
        for st in Stanzas.rfc822(text) {
            guard let name = st.first("Package"), !name.isEmpty else {
                nameless.append(st.line)
                continue
            }
            // dpkg reads a record without Status as not installed. One whose Status cannot be read (dpkg
            // stops on it) may be any state, installed too, so its files are NOT CHECKED rather than
            // passed over: the record is left out and named, with `unscanned`.
            let words = (st.first("Status") ?? "").split(separator: " ")
            let state = words.count == 3 ? String(words[2]) : "not-installed"
            if st.first("Status") != nil, words.count != 3 {
                diags.append(Diagnostic(Location(path, line: st.line), "package '\(name)' has a Status that is not 'want flag state', so its files are not checked",
                                        unscanned: .input))
                continue
            }
            var conffiles: [Conffile] = []
            if let field = st.fields.firstIndex(where: { $0.0 == "Conffiles" }) {
                // The field's value starts on the next line; each continuation line is one conffile.
                let fieldLine = st.line + st.fields[..<field].reduce(0) { $0 + 1 + $1.1.utf8.count(where: { $0 == 10 }) }
                var bad: [Int] = []
                for (i, raw) in st.fields[field].1.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let entry = raw.trimmed
                    if entry.isEmpty { continue }
                    if let c = conffile(entry, line: fieldLine + i) { conffiles.append(c) } else { bad.append(fieldLine + i) }
                }
                diags += perLine(bad, path, "conffile line of '\(name)' is not 'path hash [flag]', skipped", unscanned: false)
            }
            records.append(Record(name: name, version: st.first("Version"), architecture: st.first("Architecture"),
                                  multiArch: st.first("Multi-Arch"), state: state, conffiles: conffiles, line: st.line))
        }
        diags += perLine(nameless, path, "package record without a Package field, skipped", unscanned: false)
        return (records, diags)
    }

    /// Diagnostics named by line: the first `perFileLimit` each, then one for the rest, so a database
    /// of millions of bad lines costs one message per hundred, not one per line.
    public static let perFileLimit = 100
    public static func perLine(_ lines: [Int], _ path: String, _ message: String, unscanned: Bool) -> [Diagnostic] {
        var out = lines.prefix(perFileLimit).map { Diagnostic(Location(path, line: $0), message, unscanned: unscanned ? .input : nil) }
        if lines.count > perFileLimit {
            out.append(Diagnostic(Location(path, line: lines[perFileLimit]), "\(lines.count - perFileLimit) more lines like the one above: \(message)",
                                  unscanned: unscanned ? .input : nil))
        }
        return out
    }

    /// ` /etc/foo <hash> [obsolete|remove-on-upgrade]`, read from the right as dpkg does, so a path may hold spaces.
    static func conffile(_ entry: String, line: Int) -> Conffile? {
        var words = entry.split(separator: " ", omittingEmptySubsequences: true)
        var obsolete = false, removeOnUpgrade = false
        while let last = words.last, last == "obsolete" || last == "remove-on-upgrade" {
            if last == "obsolete" { obsolete = true } else { removeOnUpgrade = true }
            words.removeLast()
        }
        guard words.count >= 2, let hash = words.last, words[0].hasPrefix("/") else { return nil }
        let path = words.dropLast().joined(separator: " ")
        return Conffile(path: path, hash: String(hash), obsolete: obsolete, removeOnUpgrade: removeOnUpgrade, line: line)
    }

    /// An md5sums file, read by bytes (a root filesystem has ~100k lines): `<hash> <spaces> <path>`. A line
    /// without both parts is returned in `malformed` by its number.
    public static func md5sums(_ bytes: [UInt8]) -> (lines: [SumLine], malformed: [Int]) {
        var out: [SumLine] = []
        let malformed = md5sumLines(bytes) { b, hash, path, line in
            out.append(SumLine(hash: String(decoding: b[hash], as: UTF8.self), path: String(decoding: b[path], as: UTF8.self), line: line))
        }
        return (out, malformed)
    }

    /// The lines of an md5sums file as byte ranges, each hash and path handed to `visit` with its line
    /// number, so a reader of 100,000 lines makes only the strings it keeps. Returns the malformed lines.
    public static func md5sumLines(_ bytes: [UInt8], _ visit: (UnsafeBufferPointer<UInt8>, Range<Int>, Range<Int>, Int) -> Void) -> [Int] {
        var malformed: [Int] = []
        bytes.withUnsafeBufferPointer { b in
            var i = 0, lineNo = 0
            let n = b.count
            while i < n {
                lineNo += 1
                var e = i
                while e < n, b[e] != 10 { e += 1 }
                var end = e
                if end > i, b[end - 1] == 13 { end -= 1 }
                var sp = i
                while sp < end, b[sp] != 32 { sp += 1 }
                var ps = sp
                while ps < end, b[ps] == 32 { ps += 1 }
                if sp < end, ps < end {
                    visit(b, i..<sp, ps..<end, lineNo)
                } else if end > i {
                    malformed.append(lineNo)
                }
                i = e + 1
            }
        }
        return malformed
    }

    /// A `.list` file: one absolute path per line, in the order dpkg unpacked them. Paths that are not
    /// valid UTF-8 are returned by line number in `undecodable`, since no reader here can name them.
    public static func fileList(_ bytes: [UInt8]) -> (paths: [String], undecodable: [Int]) {
        var out: [String] = []
        var bad: [Int] = []
        var lineNo = 0
        for line in bytes.split(separator: 10, omittingEmptySubsequences: false) {
            lineNo += 1
            var l = line[...]
            if l.last == 13 { l = l.dropLast() }
            if l.isEmpty { continue }
            guard let s = String(validating: l, as: UTF8.self) else { bad.append(lineNo); continue }
            out.append(s)
        }
        return (out, bad)
    }

    /// The diversions file: three lines per diversion (from, to, diverting package or `:` for a local one).
    public static func diversions(_ text: String, path: String) -> (diversions: [Diversion], diagnostics: [Diagnostic]) {
        var lines: [(Int, String)] = []
        for (n, l) in Lines(text: text) { lines.append((n, String(l))) }
        while let last = lines.last, last.1.isEmpty { lines.removeLast() }
        var out: [Diversion] = []
        var diags: [Diagnostic] = []
        var malformed: [Int] = []
        var k = 0
        while k + 2 < lines.count {
            let (n, from) = lines[k], to = lines[k + 1].1, pkg = lines[k + 2].1
            k += 3
            guard from.hasPrefix("/"), to.hasPrefix("/"), !pkg.isEmpty else {
                malformed.append(n)
                continue
            }
            out.append(Diversion(from: from, to: to, package: pkg == ":" ? nil : pkg, line: n))
        }
        diags += perLine(malformed, path, "diversion is not 'from, to, package' on three lines, skipped", unscanned: false)
        if k < lines.count {
            diags.append(Diagnostic(Location(path, line: lines[k].0), "diversions file ends inside a diversion (\(lines.count - k) of 3 lines), skipped"))
        }
        return (out, diags)
    }
}
