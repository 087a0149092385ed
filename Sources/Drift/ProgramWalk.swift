import Catalog
import Foundation
import ProvenantCore

/// The regular files of the directories programs and libraries are loaded from: `bin`, `sbin` and
/// `lib*` at the root, in `usr` and in `usr/local`, and everything below them. Each top directory is
/// resolved inside the root first (so `/bin -> usr/bin` is walked once, as `usr/bin`); below it no link
/// is followed, so every path found is the file's real one. A top directory that leads into proc, sys,
/// dev or run is not entered.
struct ProgramWalk: Sendable {
    struct File: Sendable {
        var dir: Int
        var name: String
        /// The name's bytes when they are not UTF-8 (then `name` shows them with replacement characters).
        var rawName: [UInt8]?
        var mode: mode_t
        var path: String
    }

    var dirs: [String] = []
    var files: [File] = []
    /// `*.dist-info/RECORD` files met on the way, for `PythonFiles`.
    var records: [String] = []
    var notChecked: [Diagnostic] = []

    static let maxDepth = 256
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
            let names = ((try? RootedDirectory.names(in: fd, fullPath: base)) ?? []).compactMap { String(validating: $0, as: UTF8.self) }
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
        var chosen: [String] = []
        for t in Set(tops).sorted() where !chosen.contains(where: { t.hasPrefix($0 + "/") }) {
            if Self.isKernelDirectory(t) {
                notChecked.append(Diagnostic(Location("/" + t), "a bin or lib directory leads into the kernel's /\(t.split(separator: "/")[0]); not walked", unscanned: .input))
                continue
            }
            chosen.append(t)
        }
        for top in chosen { walk(top, rooted: rooted) }
    }

    private mutating func walk(_ top: String, rooted: RootedDirectory) {
        let topFD: Int32
        do { topFD = try rooted.openDirectory(top) } catch {
            notChecked.append(Diagnostic(Location("/" + top), "directory not walked for unowned files: \(error)", unscanned: .input))
            return
        }
        // A pending directory holds its parent open and is opened only when its turn comes, so at most
        // one descriptor per level is open however wide a directory is.
        var stack: [(parent: OpenDirectory?, name: String, path: String, depth: Int)] = [(nil, "", top, 0)]
        let first = OpenDirectory(topFD)
        while let (parent, name, path, depth) = stack.popLast() {
            let dir: OpenDirectory
            if let parent {
                do { dir = OpenDirectory(try RootedDirectory.openSubdirectory(name, in: parent.fd, fullPath: path)) } catch {
                    notChecked.append(Diagnostic(Location("/" + path), "directory not walked for unowned files: \(error)", unscanned: .input))
                    continue
                }
            } else {
                dir = first
            }
            let names: [[UInt8]]
            do { names = try RootedDirectory.names(in: dir.fd, fullPath: path) } catch {
                notChecked.append(Diagnostic(Location("/" + path), "directory not walked for unowned files: \(error)", unscanned: .input))
                continue
            }
            let d = dirs.count
            dirs.append(path)
            for raw in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                let valid = String(validating: raw, as: UTF8.self)
                let childName = valid ?? String(decoding: raw, as: UTF8.self)
                let childPath = path + "/" + childName
                let (st, err) = valid != nil ? RootedDirectory.entryStatus(childName, in: dir.fd) : RootedDirectory.entryStatus(raw, in: dir.fd)
                guard let st else {
                    notChecked.append(Diagnostic(Location("/" + childPath), "cannot be looked at: \(String(cString: strerror(err)))", unscanned: .input))
                    continue
                }
                switch st.st_mode & S_IFMT {
                case S_IFREG:
                    files.append(File(dir: d, name: childName, rawName: valid == nil ? raw : nil, mode: st.st_mode, path: childPath))
                    if valid != nil, childName == "RECORD", PythonFiles.isRecord(childPath) { records.append(childPath) }
                case S_IFDIR:
                    guard valid != nil else {
                        notChecked.append(Diagnostic(Location("/" + childPath), "directory name is not UTF-8; not walked", unscanned: .input))
                        continue
                    }
                    guard depth < Self.maxDepth else {
                        notChecked.append(Diagnostic(Location("/" + childPath), "more than \(Self.maxDepth) directories deep; not walked", unscanned: .input))
                        continue
                    }
                    stack.append((dir, childName, childPath, depth + 1))
                default:
                    // Links are not files of their own; devices, FIFOs and sockets are not programs.
                    continue
                }
            }
        }
    }

    /// The root's kernel filesystems (proc, sysfs, devices, run time state) hold no installed files, and
    /// reading them can block or cost: a program directory that resolves into one is not walked.
    static let kernelDirectories: Set<String> = ["proc", "sys", "dev", "run"]

    static func isKernelDirectory(_ path: String) -> Bool {
        kernelDirectories.contains(String(path.split(separator: "/", maxSplits: 1).first ?? ""))
    }

    /// What the mode and name alone say: an execute bit or a shared-library name; nil when the header must tell.
    static func kindByName(_ file: File) -> Kind? {
        if file.mode & 0o111 != 0 { return .program("executable") }
        if file.name.hasSuffix(".so") || file.name.contains(".so.") { return .program("shared library") }
        return nil
    }

    enum Kind: Sendable, Equatable {
        case program(String)
        case other
        case unreadable(String)
    }

    /// Whether an unowned regular file is a program or a library: an execute bit, a shared-library name
    /// (`*.so`, `*.so.*`), or an ELF shared object (`ET_DYN`, read from its first 18 bytes).
    static func kind(_ file: File, rooted: RootedDirectory, dirFD: Int32) -> Kind {
        if let known = kindByName(file) { return known }
        let fd: Int32
        if let raw = file.rawName {
            guard let opened = RootedDirectory.openRegular(raw, in: dirFD) else { return .unreadable("cannot be opened") }
            fd = opened
        } else {
            do { fd = try rooted.open(file.name, in: dirFD, fullPath: file.path) } catch { return .unreadable(error.description) }
        }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 18)
        let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 18) }
        if n < 0 { return .unreadable(String(cString: strerror(errno))) }
        guard n == 18, header[0] == 0x7f, header[1] == 0x45, header[2] == 0x4c, header[3] == 0x46 else { return .other }
        let type = header[5] == 2 ? UInt16(header[16]) << 8 | UInt16(header[17]) : UInt16(header[17]) << 8 | UInt16(header[16])
        return type == 3 ? .program("ELF shared object") : .other
    }
}

/// An open directory of the walk, closed when the last pending child lets go of it.
private final class OpenDirectory {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}
