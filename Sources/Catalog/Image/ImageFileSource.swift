import ProvenantCore

/// An image's squashed root filesystem as a `FileSource`: extractors read it exactly as they read a
/// directory. Links resolve inside the image only; a file whose bytes were not kept while the layers
/// streamed (no extractor asked for it) is reported as not read, never as empty.
public struct ImageFileSource: FileSource {
    public let filesystem: SquashedFileSystem
    public let budget: ReadBudget
    /// Names the extractors' reads may walk through links, across the scan (as `RootedDirectory`'s).
    public let linkNames: LinkNameBudget
    /// Bytes read instead of the squashed file's at these canonical paths: an earlier layer's version.
    var overrides: [PathKey: [UInt8]] = [:]

    public init(filesystem: SquashedFileSystem, budget: ReadBudget, linkNames: LinkNameBudget = LinkNameBudget()) {
        self.filesystem = filesystem; self.budget = budget; self.linkNames = linkNames
    }

    private func regularFile(_ path: String) throws(FileAccessError) -> ImageNode {
        let checked = try RootPath.resolve(path)
        let (node, _) = try filesystem.resolve(checked, linkNames: linkNames)
        guard node.isRegularFile else { throw .notRegularFile(path) }
        return node
    }

    public func read(_ path: String, limit: Int) throws(FileAccessError) -> [UInt8] {
        try read(path, limit: limit, ownFile: false)
    }

    public func readOwnFile(_ path: String, limit: Int) throws(FileAccessError) -> [UInt8] {
        try read(path, limit: limit, ownFile: true)
    }

    private func read(_ path: String, limit: Int, ownFile: Bool) throws(FileAccessError) -> [UInt8] {
        if !overrides.isEmpty, let bytes = overrides[PathKey(try canonicalPath(path))] {
            if bytes.count > limit { throw .tooLarge(path, size: bytes.count, limit: limit) }
            return bytes
        }
        let node = try regularFile(path)
        if node.size > limit { throw .tooLarge(path, size: node.size, limit: limit) }
        // Refused whether or not its jobs are done yet, so what another reader gets never depends on timing.
        if !ownFile, node.content?.ownJobsOnly == true {
            throw .unreadable(path, reason: "it is read by its own extractor alone")
        }
        guard let bytes = node.content?.bytes else { throw .unreadable(path, reason: node.content?.refusal ?? "its bytes were not kept from the image") }
        return bytes
    }

    /// Only ever the reading job's own file (ELF sections of an executable).
    public func randomAccess(_ path: String) throws(FileAccessError) -> RandomAccessFile {
        RandomAccessFile(bytes: try readOwnFile(path, limit: Int.max))
    }

    public func canonicalPath(_ path: String) throws(FileAccessError) -> String {
        let checked = try RootPath.resolve(path)
        let (node, canonical) = try filesystem.resolve(checked, linkNames: linkNames)
        guard node.isRegularFile else { throw .notRegularFile(path) }
        return canonical
    }
}
