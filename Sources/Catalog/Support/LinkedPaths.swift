import ProvenantCore

/// Where a package database an extractor names by its path from the root (`Extractor.linkedPaths`)
/// really is, when symbolic links lead there: `var/lib/dpkg/status -> /opt/db/status`, or a linked
/// `var/lib/dpkg`. Those paths alone are looked up, through any number of links inside the root, so
/// the work does not grow with the links or files a target has. The path is listed as a file of its
/// own (an alias) unless the extractor wants the real path too and so reads the file there already. A
/// link that leads nowhere readable is said only where it is the database's own path or its directory
/// (`status`, `var/lib/dpkg`): a broken `lib` or `var` link above it says nothing of a database.
public enum LinkedPaths {
    /// What a path leads to once every link on the way is resolved.
    public enum Target<Item> {
        /// No link on the way, or nothing there: nothing to add.
        case none
        /// A link on the way leads nowhere readable inside the root.
        case dangling
        /// A directory with more entries than are looked at: not read, and said.
        case unlisted
        /// Not looked up, or its directory not read to the end: the scan had walked its budget of
        /// names through symbolic links (`LinkNameBudget`) first.
        case budgetSpent
        case file(real: String, Item)
        /// A directory (its files read by name, `status.d/`): each regular file in it, or file a link in
        /// it leads to, by its name there, its real path and the file.
        /// `broken` names the links in it that lead nowhere readable.
        case directory(real: String, [(name: String, real: String, item: Item)], broken: [String])
    }

    public struct Found<Item> {
        /// (the path through links, the real path, the file), in path order, each path once.
        public var aliases: [(path: String, real: String, item: Item)] = []
        /// Linked paths whose links lead nowhere readable: their database is not read.
        public var dangling: [String] = []
        /// Linked database directories with more entries than are looked at: not read.
        public var unlisted: [String] = []
        /// Linked paths not read because the scan's link budget was spent before them.
        public var budgetSpent: [String] = []
    }

    /// Looks up every extractor's linked paths with `lookUp`; `describe` gives what `wants` needs of an item.
    /// `readAtRealPath` says whether a real path is read where it is at all (an `--exclude` leaves it out):
    /// when it is not, the database is read through its linked path even if the extractor wants both.
    public static func find<Item>(_ extractors: [any Extractor], lookUp: (String) -> Target<Item>,
                                  describe: (Item) -> (size: Int, executable: Bool),
                                  readAtRealPath: (String) -> Bool = { _ in true }) -> Found<Item> {
        var found = Found<Item>()
        var seen = Set<PathKey>()
        for e in extractors {
            func wanted(_ path: String, _ item: Item) -> Bool {
                let d = describe(item)
                return e.wants(IndexedFile(path: path, size: d.size, isExecutable: d.executable), fileName: PathText.lastComponent(path))
            }
            // A file the extractor reads beside its database (dpkg's `info/*.md5sums`) is looked for by
            // its path beside the database's usual path, so it is listed there whatever its real path.
            func besides(_ path: String) -> Bool { e.alsoReads(path, fileName: PathText.lastComponent(path)) }
            func add(_ path: String, _ real: String, _ item: Item) {
                let wants = wanted(path, item)
                guard wants || besides(path) else { return }
                guard !wants || !(wanted(real, item) && readAtRealPath(real)), seen.insert(PathKey(path)).inserted else { return }
                found.aliases.append((path, real, item))
            }

            for linked in e.linkedPaths {
                let isDirectory = linked.hasSuffix("/")
                let path = isDirectory ? String(linked.dropLast()) : linked
                switch lookUp(path) {
                case .none: continue
                case .dangling:
                    // A directory of files read only beside the database (dpkg's `info/`) is not the
                    // database: the database's own path says it, once.
                    if isDirectory, !e.wants(IndexedFile(path: path + "/entry", size: 0, isExecutable: false), fileName: "entry") { continue }
                    if !found.dangling.contains(path) { found.dangling.append(path) }
                case .unlisted: if !found.unlisted.contains(path) { found.unlisted.append(path) }
                case .budgetSpent: if !found.budgetSpent.contains(path) { found.budgetSpent.append(path) }
                case .file(let real, let item): if !isDirectory { add(path, real, item) }
                case .directory(let real, let files, let broken):
                    // A link to its own directory or above (`.`, `..`, `/`) would read the database's
                    // neighbours (dpkg's `status-old`, `available`) as installed packages.
                    guard isDirectory, !real.isEmpty, !path.hasPrefix(real + "/") else { continue }
                    for name in broken where read(path + "/" + name, by: [e]) && !found.dangling.contains(path + "/" + name) {
                        found.dangling.append(path + "/" + name)
                    }
                    // An entry whose real path is its path here is read where it is already.
                    for f in files where f.real != path + "/" + f.name { add(path + "/" + f.name, f.real, f.item) }
                }
            }
        }
        found.aliases.sort { PathKey.byBytes($0.path, $1.path) }
        found.dangling.sort()
        return found
    }

    /// Whether `path`, which does not resolve, fails at a link of its own or of its directory (one that
    /// leads nowhere, out of the root or in a loop), rather than at a name that is not there or at a
    /// broken link further up. `entryIsLink(parent, name)` says what the resolved `parent` holds at
    /// `name`: nil when `parent` does not resolve, else whether it is a directory holding a link there.
    static func leadsNowhere(_ path: String, entryIsLink: (_ parent: String, _ name: String) -> Bool?) -> Bool {
        var candidate = path
        for _ in 0..<2 {
            let parent = PathText.parent(candidate)
            if let isLink = entryIsLink(parent, PathText.lastComponent(candidate)) { return isLink }
            guard !parent.isEmpty else { return false }
            candidate = parent
        }
        return false
    }

    /// The one-line diagnostic for a linked path that leads nowhere: its database is not checked.
    /// Whether any extractor reads `path`: wants it, or reads it beside its database. Asked of the
    /// names in a database directory before their links are resolved.
    static func read(_ path: String, by extractors: [any Extractor]) -> Bool {
        let name = PathText.lastComponent(path)
        return extractors.contains {
            $0.wants(IndexedFile(path: path, size: 0, isExecutable: false), fileName: name) || $0.alsoReads(path, fileName: name)
        }
    }

    /// A database directory not read for its size: the limits a directory scan has (entries listed and
    /// names walked) are named when given; an image's lists are already in memory.
    static func notListed(_ path: String, entries: Int? = nil, links: Int, steps: Int? = nil) -> Diagnostic {
        let limits = (entries.map { ["more than \($0) entries"] } ?? []) + ["more than \(links) links to the package files read there"]
            + (steps.map { ["links that take more than \($0) names to resolve"] } ?? [])
        return Diagnostic(Location(Redactor.quote(path, max: 160)),
                   "holds \(limits.joined(separator: ", or ")), so those files were not read",
                   unscanned: .input)
    }

    /// A linked database path the scan's spent link budget kept from being read; the scan says why
    /// once besides (`Cataloger`).
    static func notFollowed(_ path: String, names: Int) -> Diagnostic {
        Diagnostic(Location(Redactor.quote(path, max: 160)),
                   "was not read: the scan had walked its budget of \(names) names through symbolic links before this package database",
                   unscanned: .input)
    }

    static func notRead(_ path: String) -> Diagnostic {
        Diagnostic(Location(Redactor.quote(path, max: 160)),
                   "is reached through a symbolic link that leads to nothing readable inside the target, so the package database there was not read",
                   unscanned: .input)
    }
}
