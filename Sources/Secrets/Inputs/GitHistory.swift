import Foundation
import Catalog
import ProvenantCore

/// `--git`: the lines each commit added, read through the `git` CLI, scanned per commit and file.
///
/// git runs with external diff drivers, text conversion and pagers off, and without system config,
/// so a hostile repository's configuration cannot make the scan run its commands.
public struct GitHistory {
    public let repository: String
    public init(repository: String) { self.repository = repository }

    /// One file's added lines in one commit: the text (lines joined by newlines) and each line's number
    /// in the new file.
    public struct Addition {
        public var commit: String
        public var path: String
        public var text: [UInt8] = []
        public var lines: [Int] = []
        /// Bytes at the start of `text` that ended the previous piece of the same file, read again so
        /// a key across the cut is read whole; a finding that ends inside them was reported already.
        public var overlap = 0
    }

    /// Calls `visit` for every (commit, file) with added lines, newest commit first, all refs. Returns
    /// what cut the history short, if anything did: that part was not read, so it is NOT CHECKED.
    @discardableResult
    public func additions(_ visit: (Addition) -> Void) throws(InputError) -> [String] {
        try withoutActuallyEscaping(visit) { (visit) throws(InputError) in try run(visit) }
    }

    /// `git log -p` output parsed as `additions` parses it, fed in pieces of `chunk` bytes: the fuzz
    /// harness's way in, since git's output is input too (a repository names its own paths).
    public static func parse(logOutput bytes: [UInt8], chunk: Int, _ visit: @escaping (Addition) -> Void) {
        var parser = DiffParser(visit: visit)
        var i = 0
        let step = max(1, chunk)
        while i < bytes.count {
            let n = min(step, bytes.count - i)
            parser.feed(Data(bytes[i..<(i + n)]))
            i += n
        }
        parser.finish()
    }

    /// What hides commits from `git log` in `gitDir`: a shallow clone's cut (CI checkouts are usually
    /// depth 1) and grafts. Replace refs are not obeyed at all (GIT_NO_REPLACE_OBJECTS). Both found by
    /// helper-115: a secret added and removed before the cut scanned as "No secrets found", exit 0.
    static func truncation(_ gitDir: String, shown: String) -> [String] {
        var out: [String] = []
        for (file, what) in [("shallow", "is a shallow clone"), ("info/grafts", "has grafts (info/grafts)")] {
            var st = stat()
            guard lstat(gitDir + "/" + file, &st) == 0, st.st_size > 0 else { continue }
            out.append("--git: \(shown) \(what): the history behind it was not read, so it is NOT CHECKED (fetch the whole history, e.g. git fetch --unshallow)")
        }
        return out
    }

    /// The repository whose history is read: the target's own `.git` (a directory, or a file naming
    /// one inside the target), or the target itself when it is a bare repository. git would otherwise
    /// find a repository above the target and read all of its history, outside the target, under
    /// paths that do not exist (found by helper-88); objects borrowed from elsewhere are refused too.
    static func gitDirectory(of repository: String) throws(InputError) -> (root: String, gitDir: String) {
        let real = PathText.real
        let shown = Redactor.quote(repository, max: 200)
        guard let root = real(repository) else { throw InputError("--git: cannot resolve \(shown)") }
        var st = stat()
        var dir: String
        if lstat(root + "/.git", &st) == 0 {
            if st.st_mode & S_IFMT == S_IFREG {
                // A worktree's or submodule's `gitdir: PATH`.
                // Read only while a regular file (a FIFO or device put in its place is refused, not
                // waited on) and within a bound far past a gitdir line's length.
                guard let bytes = try? NamedInputFile.read(root + "/.git", limit: 64 << 10, regularOnly: true), let text = String(validating: bytes, as: UTF8.self),
                      text.hasPrefix("gitdir:") else {
                    throw InputError("--git: \(shown)/.git is a file that names no git directory")
                }
                let named = text.dropFirst(7).trimmingCharacters(in: .whitespacesAndNewlines)
                dir = named.hasPrefix("/") ? named : root + "/" + named
            } else {
                dir = root + "/.git"
            }
        } else if FileManager.default.fileExists(atPath: root + "/HEAD"), FileManager.default.fileExists(atPath: root + "/objects") {
            dir = root
        } else {
            throw InputError("--git: \(shown) is not the top of a git repository (it holds no .git); run --git on the repository's top directory")
        }
        guard let resolved = real(dir), resolved == root || resolved.hasPrefix(root + "/") else {
            throw InputError("--git: the git directory of \(shown) lies outside it; its history is not read")
        }
        if FileManager.default.fileExists(atPath: resolved + "/objects/info/alternates") {
            throw InputError("--git: \(shown) borrows objects from another repository (objects/info/alternates); its history is not read")
        }
        // A linked worktree's `commondir`, or objects and refs that are links, lead elsewhere too
        // (found by review).
        if FileManager.default.fileExists(atPath: resolved + "/commondir") {
            throw InputError("--git: the git directory of \(shown) shares another's (commondir); its history is not read")
        }
        // Every link in the git directory, however deep (objects/ab -> elsewhere), must stay inside
        // the target (found by review). The walk does not follow links; a git directory too large to
        // walk is refused rather than read unchecked.
        var walked = 0
        guard let e = FileManager.default.enumerator(at: URL(fileURLWithPath: resolved), includingPropertiesForKeys: [.isSymbolicLinkKey], options: []) else {
            throw InputError("--git: the git directory of \(shown) cannot be listed")
        }
        for case let url as URL in e {
            walked += 1
            if walked > 2_000_000 { throw InputError("--git: the git directory of \(shown) holds more than 2,000,000 entries; its history is not read") }
            guard (try? url.resourceValues(forKeys: [.isSymbolicLinkKey]).isSymbolicLink) == true else { continue }
            guard let r = real(url.path), r == root || r.hasPrefix(root + "/") else {
                throw InputError("--git: \(Redactor.quote(String(url.path.dropFirst(resolved.count + 1)), max: 120)) in the git directory of \(shown) leads outside it; its history is not read")
            }
        }
        return (root, resolved)
    }

    private func run(_ visit: @escaping (Addition) -> Void) throws(InputError) -> [String] {
        let (root, gitDir) = try Self.gitDirectory(of: repository)
        let cut = Self.truncation(gitDir, shown: Redactor.quote(repository, max: 200))
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // No signature checks (log.showSignature would run the repository's gpg.program), no external
        // diff or text conversion, every file as text (a `-diff` attribute cannot hide history), merge
        // commits against their first parent, and added, modified and type-changed files.
        git.arguments = ["git", "-c", "core.quotePath=false", "-c", "core.fsmonitor=false", "-c", "diff.external=",
                         "-c", "log.showSignature=false", "-c", "gpg.program=false", "-c", "gpg.ssh.program=false",
                         "-c", "gpg.x509.program=false", "-c", "core.attributesFile=/dev/null",
                         // A crafted commit-graph file names parents as grafts do (found by helper-117).
                         "-c", "core.commitGraph=false",
                         // Settings of the repository or the user that change what log prints: without the
                         // root commit (log.showRoot=false hid everything it added: found by helper-132),
                         // with context between hunks, relative to a directory, or with other name prefixes.
                         "-c", "log.showRoot=true", "-c", "diff.interHunkContext=0", "-c", "diff.relative=false",
                         "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false", "-c", "diff.suppressBlankEmpty=false",
                         // Every ref and every commit the reflogs still hold: an amended commit or a deleted
                         // branch keeps its secret there (found by helper-132).
                         "--no-pager", "-C", repository, "log", "--all", "--reflog", "--src-prefix=a/", "--dst-prefix=b/",
                         "-p", "-U0", "--no-color", "--no-ext-diff",
                         "--no-textconv", "--no-show-signature", "--text", "--diff-merges=first-parent", "--no-renames",
                         "--diff-filter=AMT", "--format=%x01%H", "--end-of-options"]
        var env = ProcessInfo.processInfo.environment
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_DIR"] = gitDir
        // The parent of the resolved target (`/` for a top-level directory); NSString's
        // deletingLastPathComponent trapped on a one-character path (`.`; found by review).
        env["GIT_CEILING_DIRECTORIES"] = root.lastIndex(of: "/").map { $0 == root.startIndex ? "/" : String(root[..<$0]) } ?? "/"
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = nil
        env["GIT_OBJECT_DIRECTORY"] = nil
        env["GIT_COMMON_DIR"] = nil
        env["GIT_NO_REPLACE_OBJECTS"] = "1"
        env["GIT_GRAFT_FILE"] = nil
        env["GIT_SHALLOW_FILE"] = nil
        env["GIT_PAGER"] = "cat"
        env["GIT_TERMINAL_PROMPT"] = "0"
        git.environment = env
        let out = Pipe(), err = Pipe()
        git.standardOutput = out
        git.standardError = err
        git.standardInput = FileHandle.nullDevice
        do { try git.run() } catch {
            throw InputError("--git: cannot run git: \(error.localizedDescription)")
        }
        // Collected while git runs, so a full stderr pipe cannot block it.
        let errData = ErrorCollector(err.fileHandleForReading)
        var parser = DiffParser(visit: visit)
        let handle = out.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            parser.feed(chunk)
        }
        parser.finish()
        git.waitUntilExit()
        let message = errData.text()
        guard git.terminationStatus == 0 else {
            let first = message.split(separator: "\n").first.map(String.init) ?? "exit \(git.terminationStatus)"
            throw InputError("--git: git log failed in \(Redactor.quote(repository, max: 200)): \(Redactor.quote(first, max: 200))")
        }
        return cut
    }

    final class ErrorCollector: @unchecked Sendable {
        private var data = Data()
        private let lock = NSLock()
        private let done = DispatchSemaphore(value: 0)
        init(_ h: FileHandle) {
            Thread.detachNewThread { [self] in
                let d = h.readDataToEndOfFile()
                lock.lock(); data = d; lock.unlock()
                done.signal()
            }
        }
        func text() -> String { done.wait(); lock.lock(); defer { lock.unlock() }; return String(decoding: data.prefix(4096), as: UTF8.self) }
    }

    /// Splits `git log -p -U0` output into additions as it arrives.
    struct DiffParser {

        let visit: (Addition) -> Void
        var pending: [UInt8] = []
        var commit = ""
        var current: Addition?
        var nextLine = 0
        var expectHeader = false
        /// Added text kept per file before it is scanned in pieces, so one huge diff stays bounded.
        static let maxPiece = 8 << 20

        /// How far `pending` has been searched for a newline, so a long line is not searched again on
        /// every read.
        var searched = 0
        /// A line longer than this is cut there, and its rest read as more of the same line: added
        /// text is scanned in pieces anyway. (The rest was dropped, as it did not start with `+`: found
        /// by helper-132.)
        static let maxLine = 16 << 20
        /// What a piece repeats of the one before it.
        static let overlapBytes = 64 << 10
        /// Inside a line that was cut, and whether that line is added text.
        var midLine = false, midAdded = false

        mutating func feed(_ data: Data) {
            pending += data
            var start = 0
            while true {
                guard let nl = pending[max(start, searched)...].firstIndex(of: 10) else {
                    if pending.count - start >= Self.maxLine {
                        line(pending[start...], complete: false); start = pending.count
                    }
                    break
                }
                line(pending[start..<nl])
                start = nl + 1
            }
            pending.removeFirst(start)
            searched = pending.count
        }

        mutating func finish() {
            if !pending.isEmpty { line(pending[...]); pending = [] }
            flush()
        }

        mutating func flush() {
            if let c = current, !c.lines.isEmpty { visit(c) }
            current = nil
        }

        mutating func line(_ l: ArraySlice<UInt8>, complete: Bool = true) {
            if midLine {
                midLine = !complete
                guard midAdded, current != nil else { return }
                current!.text += l
                if complete { current!.text.append(10) }
                splitIfLarge()
                return
            }
            if !complete { midLine = true; midAdded = false }
            if l.first == 1 {
                flush()
                commit = String(decoding: l.dropFirst(), as: UTF8.self)
                return
            }
            if l.starts(with: "diff --git ".utf8) { flush(); expectHeader = true; return }
            // `+++ path` is a header only between `diff --git` and the first hunk; inside a hunk it is
            // an added line that starts with "++ ".
            if l.starts(with: "@@ ".utf8) { expectHeader = false }
            if expectHeader, l.starts(with: "+++ ".utf8) {
                flush()
                var raw = Array(l.dropFirst(4))
                // git ends a name holding a space with a tab, and C-quotes one holding a quote, a
                // backslash or a control character (`"b/sp ace\"q.env"`); both were shown as they came
                // (found by helper-115).
                if raw.last == 9 { raw.removeLast() }
                if raw.first == 34, raw.count >= 2, raw.last == 34, let inner = GoString.unquotedBytes(raw.dropFirst().dropLast()) { raw = inner }
                var path = String(decoding: raw, as: UTF8.self)
                if path == "/dev/null" { return }
                if path.hasPrefix("b/") { path.removeFirst(2) }
                current = Addition(commit: commit, path: path)
                return
            }
            if l.starts(with: "@@ ".utf8) {
                // @@ -a,b +c,d @@ : added lines are numbered from c.
                let text = String(decoding: l, as: UTF8.self)
                if let plus = text.split(separator: " ").first(where: { $0.hasPrefix("+") }) {
                    // Bounded: `+9223372036854775807` overflowed at the next added line (found by fuzzing).
                    nextLine = max(0, min(Int(plus.dropFirst().split(separator: ",").first ?? "") ?? 0, Self.maxLineNumber))
                }
                return
            }
            guard current != nil, l.first == UInt8(ascii: "+") else { return }
            current!.text += l.dropFirst()
            if complete { current!.text.append(10) } else { midAdded = true }
            current!.lines.append(nextLine)
            nextLine = min(nextLine + 1, Self.maxLineNumber)
            splitIfLarge()
        }

        /// The largest line number a hunk header gives that is kept as given: git's own are far below.
        static let maxLineNumber = Int(Int32.max)

        /// Hands a piece that reached `maxPiece` to the scan, and starts the next with its last whole
        /// lines (up to `overlapBytes`), so a key across the cut is read whole: each piece was scanned
        /// alone, and a PEM key across the 8 MiB mark was missed (found by helper-132).
        mutating func splitIfLarge() {
            guard let c = current, c.text.count >= Self.maxPiece else { return }
            visit(c)
            let window = c.text.count - min(c.text.count, Self.overlapBytes)
            var next = Addition(commit: c.commit, path: c.path)
            if let nl = c.text[window...].dropLast().firstIndex(of: 10) {
                let tail = c.text[(nl + 1)...]
                let linesInTail = tail.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } + (tail.last == 10 ? 0 : 1)
                next.text = Array(tail)
                next.lines = Array(c.lines.suffix(linesInTail))
            } else {
                // Inside one long line: its last bytes, numbered as that line.
                next.text = Array(c.text[window...])
                next.lines = c.lines.last.map { [$0] } ?? []
            }
            next.overlap = next.text.count
            current = next
        }
    }
}
