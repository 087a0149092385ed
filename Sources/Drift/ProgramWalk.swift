import Catalog
import Foundation
import ProvenantCore

/// The regular files of the directories programs and libraries are loaded from: `bin`, `sbin` and
/// `lib*` at the root, in `usr` and in `usr/local`, and in Python virtual environments elsewhere
/// (`virtualEnvironments`), and everything below them. Each top directory is
/// resolved inside the root first (so `/bin -> usr/bin` is walked once, as `usr/bin`), then walked by
/// the catalog's `FileIndex`, which follows no link, so every path found is the file's real one. A top
/// directory that leads into proc, sys, dev or run is not entered.
struct ProgramWalk: Sendable {
    struct File: Sendable {
        var dir: Int
        var name: String
        var executable: Bool
        /// Relative to the root.
        var path: String
    }

    var dirs: [String] = []
    var files: [File] = []
    /// `*.dist-info/RECORD` files met on the way, for `PythonFiles`.
    var records: [String] = []
    /// `*.dist-info` directories below site-packages that hold any file: each should hold a RECORD too.
    var distInfos: [String] = []
    /// `*.egg-info/installed-files.txt` lists below site-packages (legacy installs, no digests).
    var eggLists: [String] = []
    /// `*.egg` directories below site-packages that hold an `EGG-INFO` (easy_install's eggs).
    var eggs: Set<String> = []
    /// Symbolic links below site-packages: imports follow them, so one nobody claims can stand for an
    /// added module or package directory.
    var pythonLinks: [String] = []
    /// Symbolic links elsewhere in the walked directories: the loader and PATH follow them, so one that
    /// leads out of the walked directories stands for a program or library there.
    var programLinks: [String] = []
    /// The walked directories' real paths, none inside another.
    var tops: [String] = []
    var notChecked: [Diagnostic] = []

    static let bases = ["", "usr", "usr/local"]

    static func isProgramDirectory(_ name: String) -> Bool { name == "bin" || name == "sbin" || name.hasPrefix("lib") }

    init(rooted: RootedDirectory) {
        // The top directories, by their real paths, none inside another.
        var tops: [String] = []
        for base in Self.bases {
            guard let opened = try? rooted.openDirectoryResolved(base) else { continue }
            let fd = opened.fd, real = opened.canonical
            defer { close(fd) }
            // `usr/local` may lead back to `usr`; each real directory is listed once.
            var names: [String] = []
            for bytes in (try? RootedDirectory.names(in: fd, fullPath: base)) ?? [] {
                if let name = String(validating: bytes, as: UTF8.self) { names.append(name); continue }
                // `lib\xff` may hold programs as well as `lib`: not walked, so not checked.
                let shown = String(decoding: bytes, as: UTF8.self)
                if Self.isProgramDirectory(shown) {
                    notChecked.append(Diagnostic(Location("/" + (base.isEmpty ? shown : base + "/" + shown)),
                                                 "directory name is not valid UTF-8; not walked for unowned files", unscanned: .input))
                }
            }
            for name in names.sorted() where Self.isProgramDirectory(name) {
                let rel = base.isEmpty ? name : base + "/" + name
                guard let st = RootedDirectory.entryStatus(name, in: fd).status else { continue }
                let kind = st.st_mode & S_IFMT
                guard kind == S_IFDIR || kind == S_IFLNK else { continue }
                do {
                    let (dfd, canonical) = try rooted.openDirectoryResolved(real.isEmpty ? name : real + "/" + name)
                    close(dfd)
                    if !canonical.isEmpty { tops.append(canonical) }
                } catch {
                    if kind == S_IFDIR { notChecked.append(Diagnostic(Location("/" + rel), "directory not walked for unowned files: \(error)", unscanned: .input)) }
                    // A link that leads nowhere inside the root holds nothing to walk.
                }
            }
        }
        tops += Self.virtualEnvironments(rooted, &notChecked)
        var chosen: [String] = []
        for t in Set(tops).sorted() where !chosen.contains(where: { t.hasPrefix($0 + "/") }) {
            if Self.isKernelDirectory(t) {
                notChecked.append(Diagnostic(Location("/" + t), "a bin or lib directory leads into the kernel's /\(t.split(separator: "/")[0]); not walked", unscanned: .input))
                continue
            }
            chosen.append(t)
        }
        var dirIndex: [String: Int] = [:]
        for top in chosen {
            // The top is a real path inside the root (no link on the way), so it is walked from there.
            let index = FileIndex(root: rooted.root == "/" ? "/" + top : rooted.root + "/" + top, skippingGitDirectories: false)
            for d in index.diagnostics {
                notChecked.append(Diagnostic(Location("/" + top + (d.location.path == "." ? "" : "/" + d.location.path)),
                                             "not walked for unowned files: \(d.message)", unscanned: .input))
            }
            for f in index.files {
                let path = top + "/" + f.path
                let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))!
                let dir = String(path[..<slash]), name = String(path[path.utf8.index(after: slash)...])
                let d: Int
                if let known = dirIndex[dir] { d = known } else { d = dirs.count; dirs.append(dir); dirIndex[dir] = d }
                files.append(File(dir: d, name: name, executable: f.isExecutable, path: path))
                if name == "RECORD", PythonFiles.isRecord(path) { records.append(path) }
                if name == "installed-files.txt", PythonFiles.isEggList(path) { eggLists.append(path) }
                if dir.hasSuffix(".egg/EGG-INFO"), PythonFiles.isBelowSitePackages(dir) { eggs.insert(PathText.parent(dir)) }
                // Any file makes a `.dist-info` a distribution's (its METADATA may be gone with its RECORD).
                if distInfos.last != dir, PythonFiles.isRecord(dir + "/RECORD") { distInfos.append(dir) }
            }
            for link in index.links {
                let path = top + "/" + link
                if PythonFiles.isOnImportPath(path) { pythonLinks.append(path) } else { programLinks.append(path) }
            }
        }
        self.tops = chosen
    }

    /// Whether a real path inside the root is in a walked directory.
    func isWalked(_ path: String) -> Bool { tops.contains { path == $0 || path.hasPrefix($0 + "/") } }

    /// How deep below the root a virtual environment is looked for (`/srv/app/.venv` is three), and how
    /// many directories the search lists at most.
    static let venvDepth = 3
    static let maxVenvSearch = 4096
    /// Top directories that hold no deployed program's environment, or are walked already (`usr`):
    /// scratch space, state, configuration and the boot loader. (This machine's `/tmp` alone spent
    /// the search's listings.)
    static let notSearchedForVenvs: Set<String> = ["usr", "tmp", "var", "etc", "boot", "lost+found"]

    /// The `bin` and `lib` directories of Python virtual environments (a directory holding a
    /// `pyvenv.cfg`) outside the program directories, by their real paths: `/opt/venv` and
    /// `/app/.venv` hold what an image's program imports, and were never walked (found by review). The
    /// search follows no link and skips the program directories, the kernel's, and `notSearchedForVenvs`.
    static func virtualEnvironments(_ rooted: RootedDirectory, _ notChecked: inout [Diagnostic]) -> [String] {
        var found: [String] = []
        var queue: [(dir: String, depth: Int)] = [("", 0)]
        var next = 0, listed = 0
        func isKind(_ name: String, _ fd: Int32, _ kind: mode_t) -> Bool {
            RootedDirectory.entryStatus(name, in: fd).status.map { $0.st_mode & S_IFMT == kind } ?? false
        }
        while next < queue.count {
            let (dir, depth) = queue[next]
            next += 1
            guard let opened = try? rooted.openDirectoryResolved(dir) else { continue }
            defer { close(opened.fd) }
            if depth > 0, isKind("pyvenv.cfg", opened.fd, S_IFREG) {
                for sub in ["bin", "lib", "lib64"] {
                    guard let (fd, canonical) = try? rooted.openDirectoryResolved(dir + "/" + sub) else { continue }
                    close(fd)
                    if !canonical.isEmpty { found.append(canonical) }
                }
                continue
            }
            guard depth < venvDepth else { continue }
            listed += 1
            guard listed <= maxVenvSearch else {
                notChecked.append(Diagnostic(Location("/"), "the search for Python virtual environments stopped after listing \(maxVenvSearch) directories; any further are not walked for unowned files", unscanned: .input))
                break
            }
            let names = ((try? RootedDirectory.names(in: opened.fd, fullPath: dir)) ?? []).compactMap { String(validating: $0, as: UTF8.self) }.sorted()
            for name in names {
                if depth == 0, notSearchedForVenvs.contains(name) || isProgramDirectory(name) || kernelDirectories.contains(name) { continue }
                guard isKind(name, opened.fd, S_IFDIR) else { continue }
                queue.append((dir.isEmpty ? name : dir + "/" + name, depth + 1))
            }
        }
        return found
    }

    /// The root's kernel filesystems (proc, sysfs, devices, run time state) hold no installed files, and
    /// reading them can block or cost: a program directory that resolves into one is not walked.
    static let kernelDirectories: Set<String> = ["proc", "sys", "dev", "run"]

    static func isKernelDirectory(_ path: String) -> Bool {
        kernelDirectories.contains(String(path.split(separator: "/", maxSplits: 1).first ?? ""))
    }

    /// What the mode and name alone say: an execute bit, a shared-library name, or Python source below
    /// site-packages; nil when the header must tell.
    static func kindByName(_ file: File) -> Kind? {
        if isPythonCache(file) { return nil }
        if file.executable { return .program("executable") }
        if file.name.hasSuffix(".so") || file.name.contains(".so.") { return .program("shared library") }
        // Python code where imports find it: a distribution's RECORD (or dpkg) claims every module it
        // installs, so one nobody claims was added after (a RECORD rewritten to list only itself hid it).
        if isPythonCode(file) {
            if file.name.hasSuffix(".pth") { return .program("Python .pth file (its import lines run at every start-up)") }
            if file.name.hasSuffix(".pyc") { return .program("Python compiled module without its source") }
            return .program("Python module")
        }
        return nil
    }

    /// A compiled cache imports load in place of a module's source: `__pycache__/*.pyc` where imports
    /// look (`PythonFiles.isOnImportPath`).
    static func isPythonCache(_ file: File) -> Bool { isPythonCache(file.path) }
    static func isPythonCache(_ path: String) -> Bool {
        path.hasSuffix(".pyc") && path.contains("/__pycache__/") && PythonFiles.isOnImportPath(path)
    }

    /// A cache by its header (PEP 552): a magic number ending in CR LF, then flags. Bit 0 set and bit 1
    /// clear is a hash-based cache Python loads without reading its source; any other is checked
    /// against the source (its time and size, or its hash) and, when that differs, ignored. A file
    /// that is no cache at all is not loaded either.
    /// Before Python 3.7 (magic below 3392) the four bytes after the magic are the source's time, not
    /// flags: such a cache is always checked against its source (found by review: a time whose low bit
    /// was set read as an unchecked cache).
    static func cacheKind(_ header: ArraySlice<UInt8>) -> Kind {
        let h = Array(header)
        guard h.count >= 8, h[2] == 0x0D, h[3] == 0x0A else { return .other }
        let magic = Int(h[0]) | Int(h[1]) << 8
        if magic >= 3392, magic < 20000, h[4] & 0b11 == 0b01 { return .program("Python compiled cache that imports load without checking its source") }
        return .pythonCache
    }

    /// Python source, path files, and compiled modules outside `__pycache__`, where imports look
    /// (`PythonFiles.isOnImportPath`; extension modules are shared libraries, told by their name already).
    static func isPythonCode(_ file: File) -> Bool {
        PythonFiles.isOnImportPath(file.path) && PythonFiles.isCode(file.path, extensions: false)
    }

    /// The egg the walk found that holds `path`, if any.
    func egg(holding path: String) -> String? {
        guard !eggs.isEmpty else { return nil }
        var p = PathText.parent(path)
        while !p.isEmpty, p != "/" {
            if eggs.contains(p) { return p }
            let up = PathText.parent(p)
            if up == p { break }
            p = up
        }
        return nil
    }

    enum Kind: Sendable, Equatable {
        case program(String)
        /// A compiled cache Python checks against its source before loading it: not unowned, but its
        /// code is not checked.
        case pythonCache
        case other
        case unreadable(String)
    }

    /// Whether an unowned regular file is a program or a library: an execute bit, a shared-library name
    /// (`*.so`, `*.so.*`), or an ELF shared object (`ET_DYN`, read from its first 18 bytes).
    static func kind(_ file: File, rooted: RootedDirectory, dirFD: Int32) -> Kind {
        if let known = kindByName(file) { return known }
        let fd: Int32
        do { fd = try rooted.open(file.name, in: dirFD, fullPath: file.path) } catch { return .unreadable(error.description) }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 18)
        let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 18) }
        if n < 0 { return .unreadable(String(cString: strerror(errno))) }
        if isPythonCache(file) { return cacheKind(header[..<max(0, n)]) }
        guard n == 18, header[0] == 0x7f, header[1] == 0x45, header[2] == 0x4c, header[3] == 0x46 else { return .other }
        let type = header[5] == 2 ? UInt16(header[16]) << 8 | UInt16(header[17]) : UInt16(header[17]) << 8 | UInt16(header[16])
        return type == 3 ? .program("ELF shared object") : .other
    }
}
