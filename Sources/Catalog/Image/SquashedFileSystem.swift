import ProvenantCore

/// The bytes of one regular file kept from a layer; hard links to it share the one copy.
public final class FileContent: @unchecked Sendable {
    /// Nil when no extractor asked for the file: its bytes were streamed past, not kept.
    public internal(set) var bytes: [UInt8]?
    /// Why the bytes were wanted but not kept (over the scan's read budget, too large).
    public internal(set) var refusal: String?
    /// Wanted on its name, then found not to be what the extractor reads (an executable without Go
    /// build info): checked, and nothing to extract.
    public internal(set) var screenedOut = false
    /// Left out by `--exclude` under the path its layer wrote it at: neither kept nor listed.
    public internal(set) var excluded = false
    /// Read by the extraction jobs on its own paths alone (see `OwnJobFiles`): any other read is refused,
    /// so the bytes can be freed once those jobs are done whatever order the jobs finish in.
    public internal(set) var ownJobsOnly = false
    /// The tar entry of its layer that holds the bytes (the count of entries before it).
    public internal(set) var entry: Int?
    init(_ bytes: [UInt8]?, refusal: String? = nil) { self.bytes = bytes; self.refusal = refusal }

    /// Not kept because nothing wanted it at its path: a link's name may want it once the layers are
    /// squashed, and its layer can be read again for it.
    var streamedPast: Bool { bytes == nil && refusal == nil && !screenedOut && !excluded && entry != nil }

    /// Drops the bytes once nothing will read them again; a read after this says why they are gone.
    func free() {
        bytes = nil
        refusal = "its bytes were freed once the extractors reading it were done"
    }
}

/// One entry of an image's root filesystem. Built while the layers stream, then only read.
public final class ImageNode: @unchecked Sendable {
    public enum Kind: Sendable, Equatable { case directory, file, symbolicLink(String), other }
    public internal(set) var kind: Kind
    /// Index of the layer that last wrote this entry.
    public internal(set) var layer: Int
    public internal(set) var mode: Int
    public internal(set) var uid: Int
    public internal(set) var gid: Int
    public internal(set) var size: Int
    public internal(set) var content: FileContent?
    /// The raw `security.capability` extended attribute, when the layer gave one.
    public internal(set) var capability: [UInt8]?
    var children = DirectoryEntries()
    /// Earlier kept versions of this file from lower layers (oldest first), for telling which layer
    /// added each package of a database many layers rewrite (dpkg's status, apk's installed). Versions
    /// streamed past unkept are recorded too while this one was as well: a database found later
    /// through a link has its layers read again for them (`ImageReader`).
    public internal(set) var earlier: [(layer: Int, content: FileContent)] = []
    /// More versions than are kept (`SquashedFileSystem.maxHistory`) were written: `earlier` is empty
    /// for good, rather than restarting partway and naming too late a layer.
    var historyCut = false
    // Only read while this node is part of a layer being merged in:
    var opaque = false
    var whiteouts: Set<PathKey> = []
    /// A directory the layer never listed itself, only made to hold its entries.
    var implicit = false
    /// What the layer wrote beneath this directory's path before its own entry for the directory: a
    /// runtime wrote those through whatever the lower layers had there (a link's target), and only then
    /// did the directory entry replace a link with an empty directory. Merged first, as an implicit
    /// directory; read as one, a setuid file written through `bin -> realbin` stayed under `/bin`,
    /// where a later whiteout hid it (found by helper-164).
    var writtenBefore: ImageNode?

    init(kind: Kind, layer: Int, mode: Int = 0o755, uid: Int = 0, gid: Int = 0, size: Int = 0) {
        self.kind = kind; self.layer = layer; self.mode = mode; self.uid = uid; self.gid = gid; self.size = size
    }

    public var isDirectory: Bool { kind == .directory }
    public var isRegularFile: Bool { kind == .file }
}

/// A regular file of the squashed image, as the index lists it.
public struct ImageFile: Sendable {
    public var path: String
    public var node: ImageNode
}

/// An image's layers applied in order into one root filesystem, as a container runtime would see it:
/// whiteouts (`.wh.NAME`) delete what lower layers made, an opaque marker (`.wh..wh..opq`) hides a
/// directory's lower contents, hard links share their target's bytes, and symbolic links are kept as
/// links, resolved later inside the image only. Entry names that climb with `..`, or whiteouts that
/// would, are refused.
public final class SquashedFileSystem: @unchecked Sendable {
    public let root = ImageNode(kind: .directory, layer: 0)
    /// Names of databases a link may lead to (`ImageCapture.linkedNames`): a file of one of these
    /// names keeps the versions lower layers wrote even when no bytes were kept, for attribution.
    var historyNames: Set<String> = []
    /// Versions one file keeps at most; past this its history is dropped, and its packages name the
    /// layer of its current version. An image has at most 127 layers in practice.
    static let maxHistory = 256
    /// Names deeper than this many components are refused.
    public static let maxDepth = 256
    /// Symbolic links followed for one path, as the kernel's limit.
    public static let maxLinks = 40
    /// PATH_MAX: no name or link target can be longer in a real filesystem.
    public static let maxPathBytes = 4096
    /// One part of a name, in the bytes the tar held (`TarName.rawByteCount`): Linux file systems hold
    /// 255, so no runtime extracts more. Thousands of names sharing a 4,000-byte part took minutes and
    /// gigabytes to list (found by helper-164).
    public static let maxNameBytes = 255
    /// Names one lookup may step through, links included.
    static let maxResolveSteps = 4096

    public init() {}

    /// `name` from a tar header as the components of a path inside the image, or an error for a name
    /// that leaves it. "" and "." are the root itself (no components).
    public static func components(of name: String, entry: @autoclosure () -> String) throws(ImageError) -> [Substring] {
        let parts = PathText.components(name).filter { $0 != "." }
        if parts.contains("..") { throw ImageError(entry(), "names '\(Redactor.quote(name, max: 160))', which climbs out of the image root with '..'; refused") }
        if parts.count > maxDepth { throw ImageError(entry(), "is more than \(maxDepth) directories deep; refused") }
        if name.utf8.contains(0) { throw ImageError(entry(), "has a NUL byte in its name") }
        if name.utf8.count > maxPathBytes { throw ImageError(entry(), "has a name of \(name.utf8.count) bytes, longer than any path the kernel accepts (\(maxPathBytes)); refused") }
        // A whiteout's name is `.wh.` and the name it deletes, which may itself be 255 bytes (found by review).
        func named(_ p: Substring) -> Int { TarName.rawByteCount(p) - (p.hasPrefix(".wh.") ? 4 : 0) }
        if let long = parts.first(where: { $0.utf8.count > maxNameBytes && named($0) > maxNameBytes }) {
            throw ImageError(entry(), "has a name part of \(named(long)) bytes, longer than any file name a Linux file system holds (\(maxNameBytes)); refused")
        }
        return parts
    }

    /// Merges one layer, read into its own tree by `LayerBuilder`, onto the layers below. `name` names
    /// one of its paths in an error.
    func apply(_ layer: ImageNode, name: (String) -> String = { $0 }) throws(ImageError) {
        try merge(layer, into: root, path: "", depth: 0, name: name)
    }

    /// `depth` is the number of components of `path`, the real path of `lower` once links are followed.
    private func merge(_ upper: ImageNode, into lower: ImageNode, path: String, depth: Int, name entryName: (String) -> String) throws(ImageError) {
        if upper.opaque { lower.children.removeAll() }
        for w in upper.whiteouts { lower.children[w.text] = nil }
        if !upper.implicit {
            lower.mode = upper.mode; lower.uid = upper.uid; lower.gid = upper.gid; lower.layer = upper.layer
        }
        for (name, u) in upper.children {
            if let before = u.writtenBefore { try mergeChild(name, before, into: lower, path: path, depth: depth, name: entryName) }
            try mergeChild(name, u, into: lower, path: path, depth: depth, name: entryName)
        }
    }

    /// Merges one entry `u` of a layer directory into `lower`, the real directory at `path`.
    private func mergeChild(_ name: String, _ u: ImageNode, into lower: ImageNode, path: String, depth: Int, name entryName: (String) -> String) throws(ImageError) {
        let childPath = path.isEmpty ? name : path + "/" + name
        // Through a lower layer's link a layer can build a tree deeper than any name it holds, which
        // the walks that list files and look for setuid files stop short of (found by helper-89).
        if depth + 1 > Self.maxDepth {
            throw ImageError(entryName(childPath), "lies more than \(Self.maxDepth) directories deep once symbolic links of lower layers are followed; refused")
        }
        if u.isDirectory, let l = lower.children[name] {
            if l.isDirectory {
                try merge(u, into: l, path: childPath, depth: depth + 1, name: entryName)
                return
            }
            // A directory the layer did not list itself, only the parent of its entries, where a lower
            // layer has a link: the runtime resolves the entries' parents through the link (merged
            // /usr's `lib -> usr/lib`), so they land in the link's target. A link that leads to no
            // directory would have the runtime make or refuse what it leads to; reading the entries
            // under the link's own name put them where a later whiteout of the link hid them (found by
            // helper-89), so such a layer is refused.
            if u.implicit, case .symbolicLink = l.kind {
                guard let (target, targetPath) = try? resolve(childPath), target.isDirectory else {
                    throw ImageError(entryName(childPath), "is written beneath a symbolic link of a lower layer that leads to no directory in the image; refused")
                }
                try merge(u, into: target, path: targetPath, depth: PathText.components(targetPath).count, name: entryName)
                return
            }
        }
        if Self.clearMarkers(u, depth: depth + 1) > Self.maxDepth {
            throw ImageError(entryName(childPath), "holds entries more than \(Self.maxDepth) directories deep once symbolic links of lower layers are followed; refused")
        }
        if u.isRegularFile, let uc = u.content, let l = lower.children[name], l.isRegularFile, let c = l.content,
           uc.bytes != nil ? c.bytes != nil : (historyNames.contains(name) && uc.streamedPast && c.streamedPast) {
            // Taken over from the replaced node, which is dropped: appending then copies nothing, so
            // a file rewritten by every layer costs each merge one step, not its whole history.
            // (The same tree applied twice has the node replace itself: nothing to record.)
            if u !== l {
                swap(&u.earlier, &l.earlier)
                u.historyCut = l.historyCut || u.earlier.count >= Self.maxHistory
                if u.historyCut { u.earlier = [] } else { u.earlier.append((l.layer, c)) }
            }
        }
        lower.children[name] = u
    }

    /// Clears a layer's markers in the subtree `n` (whose path has `depth` components) and returns the
    /// depth of its deepest entry (past `maxDepth`, it stops looking).
    /// A subtree placed whole has nothing beneath it in the lower layers, so what its layer wrote
    /// before a directory's own entry lands in that same directory: folded back in.
    private static func clearMarkers(_ n: ImageNode, depth: Int) -> Int {
        guard n.isDirectory else { return depth }
        if let before = n.writtenBefore { n.writtenBefore = nil; fold(before, into: n, depth: depth) }
        n.opaque = false; n.whiteouts = []
        guard depth <= maxDepth else { return depth }
        var deepest = depth
        for c in n.children.values { deepest = max(deepest, c.isDirectory ? clearMarkers(c, depth: depth + 1) : depth + 1) }
        return deepest
    }

    /// `before`'s entries into `n`, the later entries of `n` winning, directories folded alike.
    private static func fold(_ before: ImageNode, into n: ImageNode, depth: Int) {
        guard depth <= maxDepth else { return }
        for (k, b) in before.children {
            if let later = n.children[k] {
                if later.isDirectory, b.isDirectory { fold(b, into: later, depth: depth + 1) }
            } else {
                n.children[k] = b
            }
        }
    }

    /// The node at `components` without following any link (for hard link targets), or nil.
    static func lookupLiteral(_ components: [Substring], in top: ImageNode) -> ImageNode? {
        var n = top
        for c in components {
            guard n.isDirectory, let next = n.children[String(c)] else { return nil }
            n = next
        }
        return n
    }

    /// Where `path` (relative to the image root) leads, following symbolic links inside the image:
    /// an absolute target starts again at the image root and `..` at the root stays there, as the
    /// kernel resolves inside a container. With `followLast` false a final link is returned itself.
    /// With `linkNames` (an extractor's read), the names walked beyond the path's own are charged to the
    /// scan's budget, and no link is followed once it is spent, as a directory scan does.
    public func resolve(_ path: String, followLast: Bool = true, linkNames: LinkNameBudget? = nil) throws(FileAccessError) -> (node: ImageNode, path: String) {
        var pending: [String] = PathText.components(path).map(String.init).reversed()
        var stack: [(String, ImageNode)] = []
        var current = root
        var links = 0
        var steps = 0
        var walk = LinkNameBudget.Walk(ownNames: pending.count)
        defer { linkNames?.charge(walk) }
        while let c = pending.popLast() {
            walk.popped(leaving: pending.count)
            // Links of long targets could make one lookup walk 40 × 2048 names; a real path needs far fewer.
            steps += 1
            if steps > Self.maxResolveSteps { throw .tooManyLinks(path) }
            if c == "." { continue }
            if c == ".." {
                if let (_, parent) = stack.popLast() { current = parent }
                continue
            }
            guard current.isDirectory else { throw .notFound(path) }
            guard let next = current.children[c] else { throw .notFound(path) }
            if case .symbolicLink(let target) = next.kind, followLast || !pending.isEmpty {
                if let linkNames, linkNames.isSpent { throw .linkBudgetSpent(path, names: linkNames.total) }
                links += 1
                if links > Self.maxLinks { throw .tooManyLinks(path) }
                if target.hasPrefix("/") { stack.removeAll(); current = root }
                for t in PathText.components(target).reversed() { pending.append(String(t)) }
                continue
            }
            stack.append((c, current))
            current = next
        }
        return (current, stack.map(\.0).joined(separator: "/"))
    }

    /// Every symbolic link must resolve within the kernel's link limit: a loop is an error naming it.
    func checkLinks() throws(ImageError) {
        var loops: [String] = []
        var budget = Self.maxLinkCheckSteps
        var exhausted = false
        walk { path, node in
            guard case .symbolicLink(let target) = node.kind, !exhausted else { return }
            // Each check costs at most maxResolveSteps; the whole check is bounded too.
            budget -= min(Self.maxResolveSteps, 1 + target.utf8.count / 2 * Self.maxLinks)
            if budget < 0 { exhausted = true; return }
            do throws(FileAccessError) { _ = try resolve(path) } catch .tooManyLinks { loops.append(path) } catch {}
        }
        if exhausted { throw ImageError("the image", "has more symbolic-link resolution than \(Self.maxLinkCheckSteps) steps to check; refused") }
        if let loop = loops.min() {
            throw ImageError("'\(Redactor.quote(loop, max: 160))'", "is a symbolic link that loops (more than \(Self.maxLinks) links, or more than \(Self.maxResolveSteps) names, to resolve)")
        }
    }

    /// Steps all link checks of one image may take.
    static let maxLinkCheckSteps = 50_000_000

    /// The walk's visits in order, kept once the tree is final (`freeze`): a run walked an image's
    /// 140,000 names six times (link checks, refusals, the index and its specials, configuration
    /// links, the jobs' files), 15-20 ms each on the agent bench image, sorting every directory's
    /// names again each time.
    private var listing: [(path: String, node: ImageNode)]?

    /// Keeps the walk's visits for every later walk. Called once the last layer is merged: the
    /// tree's names must not change after (files' contents may; the nodes are the same objects).
    func freeze() {
        var out: [(path: String, node: ImageNode)] = []
        walkTree { out.append(($0, $1)) }
        listing = out
    }

    /// Visits every entry below the root in path order, without following links.
    public func walk(_ visit: (String, ImageNode) -> Void) {
        if let listing {
            for entry in listing { visit(entry.path, entry.node) }
        } else {
            walkTree(visit)
        }
    }

    private func walkTree(_ visit: (String, ImageNode) -> Void) {
        var stack: [(String, ImageNode, Int)] = [("", root, 0)]
        while let (path, dir, depth) = stack.popLast() {
            let names = dir.children.sortedNames
            for name in names { visit(path.isEmpty ? name : path + "/" + name, dir.children[name]!) }
            // Pushed in reverse, so subdirectories are walked in ascending order.
            for name in names.reversed() {
                let child = dir.children[name]!
                if child.isDirectory && depth < Self.maxDepth { stack.append((path.isEmpty ? name : path + "/" + name, child, depth + 1)) }
            }
        }
    }

    /// Names by which a package database is reached only through symbolic links (`LinkedPaths`), in
    /// path order: the index lists them beside the regular files, and reads resolve them.
    public internal(set) var aliases: [ImageFile] = []

    /// What `path` leads to through the links on its way (`LinkedPaths.find`): nothing when no link is
    /// on the way, a file, a directory with the files in it (or that links in it lead to), or a link
    /// that leads nowhere.
    /// `wanted` says which names of a directory are looked at (and their links resolved).
    func linkedTarget(_ path: String, wanted: (String) -> Bool = { _ in true }) -> LinkedPaths.Target<ImageNode> {
        guard let (node, real) = try? resolve(path) else {
            let broken = LinkedPaths.leadsNowhere(path) { parent, name in
                guard let (dir, _) = try? resolve(parent) else { return nil }
                guard dir.isDirectory, let n = dir.children[name], case .symbolicLink = n.kind else { return false }
                return true
            }
            return broken ? .dangling : .none
        }
        if node.isDirectory {
            var entries: [(name: String, real: String, item: ImageNode)] = []
            var broken: [String] = []
            var followed = 0
            for name in node.children.sortedNames where wanted(name) {
                let child = node.children[name]!
                let own = real.isEmpty ? name : real + "/" + name
                if child.isRegularFile {
                    entries.append((name, own, child))
                } else if case .symbolicLink = child.kind {
                    // As many links as a directory scan follows there, and no more.
                    followed += 1
                    if followed > FileIndex.maxLinkedEntryLinks { return .unlisted }
                    if let (target, targetPath) = try? resolve(own) {
                        if target.isRegularFile { entries.append((name, targetPath, target)) }
                    } else {
                        broken.append(name)
                    }
                }
            }
            return .directory(real: real, entries, broken: broken)
        }
        if real == path { return .none }
        return node.isRegularFile ? .file(real: real, node) : .none
    }

    /// The regular files, in path order.
    public func files() -> [ImageFile] {
        var out: [ImageFile] = []
        walk { p, n in if n.isRegularFile { out.append(ImageFile(path: p, node: n)) } }
        return out.sorted { PathKey.byBytes($0.path, $1.path) }
    }
}

/// Builds one layer's own tree from its tar entries, before it is merged onto the layers below.
struct LayerBuilder {
    let top: ImageNode
    let index: Int
    let entryName: (String) -> String
    /// Takes one node from the image's budget; false when it is spent.
    var takeNode: () -> Bool = { true }
    /// The names made so far of each file that hard links name, by the bytes they share.
    final class Inodes { var names: [ObjectIdentifier: [ImageNode]] = [:] }
    let inodes = Inodes()

    init(index: Int, entryName: @escaping (String) -> String) {
        self.index = index
        self.entryName = entryName
        top = ImageNode(kind: .directory, layer: index)
        top.implicit = true
    }

    /// The directory holding `components`' last one, made (implicitly) as needed in this layer.
    /// Nil for a whiteout beneath a link its own layer made: see `add`.
    func parent(of components: [Substring], entry: String, whiteout: Bool = false) throws(ImageError) -> ImageNode? {
        var n = top
        for c in components.dropLast() {
            let key = String(c)
            if let next = n.children[key], next.isDirectory { n = next; continue }
            // A runtime writes an entry beneath a link where the link leads; read under the link's own
            // name, it was hidden by a later whiteout of the link, or hid what the link led to (found by
            // helper-89). A tar written from a filesystem never has such an entry.
            if let next = n.children[key], case .symbolicLink = next.kind {
                // Except whiteouts: a layer that replaced a directory with a link (merged /usr's
                // `lib -> usr/lib`) lists the directory's deleted files as whiteouts beneath the link
                // (umoci, moby's naive diff). Not applied: a file a runtime may have deleted is still
                // listed, which can only add findings (found by review).
                if whiteout { return nil }
                throw ImageError(entryName(entry), "is written through '\(Redactor.quote(key, max: 80))', a symbolic link its own layer made; refused")
            }
            // Every node counts, the directories an entry's path makes as well as the entry itself.
            guard takeNode() else { throw ImageError(entryName(entry), "brings the image past \(SharedInflateBudget.maxEntries) entries; stopped") }
            let d = ImageNode(kind: .directory, layer: index)
            d.implicit = true
            n.children[key] = d
            n = d
        }
        return n
    }

    /// Applies one header; for a regular file, `content` is what was kept of it.
    func add(_ h: TarHeader, components: [Substring], content: FileContent?) throws(ImageError) {
        guard let last = components.last else { return }
        let name = String(last)
        guard let dir = try parent(of: components, entry: h.name, whiteout: name.hasPrefix(".wh.")) else { return }
        if name.hasPrefix(".wh.") {
            if name == ".wh..wh..opq" { dir.opaque = true; return }
            let target = String(name.dropFirst(4))
            guard !target.isEmpty, target != ".", target != "..", !target.contains("/") else {
                throw ImageError(entryName(h.name), "is a whiteout of '\(Redactor.quote(target, max: 80))', outside the directory it is in; refused")
            }
            dir.whiteouts.insert(PathKey(target))
            return
        }
        switch h.kind {
        case .directory:
            if let d = dir.children[name], d.isDirectory {
                if d.implicit, !d.children.isEmpty || !d.whiteouts.isEmpty || d.opaque {
                    let before = ImageNode(kind: .directory, layer: index)
                    before.implicit = true
                    before.children = d.children; before.whiteouts = d.whiteouts; before.opaque = d.opaque
                    d.children.removeAll(); d.whiteouts = []; d.opaque = false
                    d.writtenBefore = before
                }
                d.implicit = false; d.mode = h.mode; d.uid = h.uid; d.gid = h.gid
            } else {
                dir.children[name] = ImageNode(kind: .directory, layer: index, mode: h.mode, uid: h.uid, gid: h.gid)
            }
        case .file:
            let n = ImageNode(kind: .file, layer: index, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size)
            n.content = content ?? FileContent(nil)
            n.capability = h.xattrs["security.capability"]
            dir.children[name] = n
        case .symbolicLink:
            guard h.linkName.utf8.count <= SquashedFileSystem.maxPathBytes else {
                throw ImageError(entryName(h.name), "is a symbolic link whose target is \(h.linkName.utf8.count) bytes, longer than the kernel allows; refused")
            }
            dir.children[name] = ImageNode(kind: .symbolicLink(h.linkName), layer: index, mode: h.mode, uid: h.uid, gid: h.gid)
        case .hardLink:
            let targetParts = try SquashedFileSystem.components(of: h.linkName, entry: entryName(h.name))
            // A layer is extracted on its own, so a hard link names a file earlier in the same layer.
            guard let t = SquashedFileSystem.lookupLiteral(targetParts, in: top), t.isRegularFile else {
                throw ImageError(entryName(h.name), "is a hard link to '\(Redactor.quote(h.linkName, max: 160))', which is not a file earlier in its layer")
            }
            // The names of one file share its inode: what a link entry sets (containerd chowns, chmods
            // and sets the extended attributes of the path it linked) is set on every name made so far.
            // Each name was a copy, so a link's setuid bit or capability missed the names before it, and
            // a whiteout of the others hid it (found by helper-89). The permission bits and owner are the
            // link entry's, as containerd applies them; setuid, setgid and sticky bits are kept from
            // either, since a runtime that leaves the mode alone (umoci) keeps the target's.
            if t.content == nil { t.content = FileContent(nil) }
            let key = ObjectIdentifier(t.content!)
            var names = inodes.names[key] ?? [t]
            let n = ImageNode(kind: .file, layer: index, mode: t.mode, uid: t.uid, gid: t.gid, size: t.size)
            n.content = t.content
            names.append(n)
            let mode = h.mode & 0o777 | (h.mode | t.mode) & 0o7000
            let capability = h.xattrs["security.capability"] ?? t.capability
            for same in names {
                same.mode = mode; same.uid = h.uid; same.gid = h.gid
                same.capability = capability
            }
            inodes.names[key] = names
            dir.children[name] = n
        case .other:
            dir.children[name] = ImageNode(kind: .other, layer: index, mode: h.mode, uid: h.uid, gid: h.gid)
        }
    }
}

/// A directory's entries by name, names compared as bytes (`PathKey`).
struct DirectoryEntries: Sequence {
    private var map: [PathKey: ImageNode] = [:]
    subscript(_ name: String) -> ImageNode? {
        get { map[PathKey(name)] }
        set { map[PathKey(name)] = newValue }
    }
    mutating func removeAll() { map.removeAll() }
    var values: Dictionary<PathKey, ImageNode>.Values { map.values }
    var isEmpty: Bool { map.isEmpty }
    var count: Int { map.count }
    /// The names in byte order: a total order, so listings are the same from run to run.
    var sortedNames: [String] { map.keys.map(\.text).sorted(by: PathKey.byBytes) }
    func makeIterator() -> AnyIterator<(String, ImageNode)> {
        var inner = map.makeIterator()
        return AnyIterator { inner.next().map { ($0.key.text, $0.value) } }
    }
}
