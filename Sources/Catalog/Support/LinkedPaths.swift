import ProvenantCore

/// Where a package database an extractor names by its path from the root (`Extractor.linkedPaths`)
/// really is, when symbolic links lead there: `var/lib/dpkg/status -> /opt/db/status`, or a linked
/// `var/lib/dpkg`. Those paths alone are looked up, through any number of links inside the root, so
/// the work does not grow with the links or files a target has. The path is listed as a file of its
/// own (an alias) unless the extractor wants the real path too and so reads the file there already.
public enum LinkedPaths {
    /// What a path leads to once every link on the way is resolved.
    public enum Target<Item> {
        /// No link on the way, or nothing there: nothing to add.
        case none
        /// A link on the way leads nowhere readable inside the root.
        case dangling
        case file(real: String, Item)
        /// A directory and its regular files (name, item).
        case directory(real: String, [(String, Item)])
    }

    public struct Found<Item> {
        /// (the path through links, the real path, the file), in path order, each path once.
        public var aliases: [(path: String, real: String, item: Item)] = []
        /// Linked paths whose links lead nowhere readable: their database is not read.
        public var dangling: [String] = []
    }

    /// Looks up every extractor's linked paths with `lookUp`; `describe` gives what `wants` needs of an item.
    public static func find<Item>(_ extractors: [any Extractor], lookUp: (String) -> Target<Item>,
                                  describe: (Item) -> (size: Int, executable: Bool)) -> Found<Item> {
        var found = Found<Item>()
        var seen = Set<String>()
        for e in extractors {
            func wanted(_ path: String, _ item: Item) -> Bool {
                let d = describe(item)
                return e.wants(IndexedFile(path: path, size: d.size, isExecutable: d.executable), fileName: PathText.lastComponent(path))
            }
            func add(_ path: String, _ real: String, _ item: Item) {
                guard wanted(path, item), !wanted(real, item), seen.insert(path).inserted else { return }
                found.aliases.append((path, real, item))
            }
            for linked in e.linkedPaths {
                let isDirectory = linked.hasSuffix("/")
                let path = isDirectory ? String(linked.dropLast()) : linked
                switch lookUp(path) {
                case .none: continue
                case .dangling: if !found.dangling.contains(path) { found.dangling.append(path) }
                case .file(let real, let item): if !isDirectory { add(path, real, item) }
                case .directory(let real, let files):
                    guard isDirectory else { continue }
                    for (name, item) in files { add(path + "/" + name, real.isEmpty ? name : real + "/" + name, item) }
                }
            }
        }
        found.aliases.sort { $0.path < $1.path }
        found.dangling.sort()
        return found
    }

    /// The one-line diagnostic for a linked path that leads nowhere.
    public static func danglingMessage() -> String {
        "is reached through a symbolic link that leads to nothing readable inside the target, so the package database there was not read"
    }
}
