import ProvenantCore

/// The image files only their own extraction jobs read, each freed when the last job on it is done.
///
/// An image's kept files stay in memory from the read of its layers to the end of the catalog, and
/// most are read once: a jar, a lockfile, a Go executable. When every job on a file belongs to an
/// extractor that reads its own file only, and nothing else reads the file (no extractor reads it
/// beside another, it is not recorded as configuration, no layer attribution reads it again), its
/// bytes are marked for those jobs alone and freed after them. Files reached through hard links or
/// links under several paths are counted once, by their shared contents.
public final class OwnJobFiles {
    private var remaining: [ObjectIdentifier: (content: FileContent, jobs: Int)] = [:]
    private var contentOf: [PathKey: ObjectIdentifier] = [:]
    /// Bytes that stay once every job is done: configuration, and every version attribution reads again.
    private var stay: Set<ObjectIdentifier> = []
    /// Every other kept file, freed once every job is done.
    private var afterJobs: [FileContent] = []
    /// Bytes freed so far.
    public private(set) var freedBytes = 0

    /// `jobs` is every job of the scan: its file's path and whether its extractor reads its own file
    /// only. `readBeside` says which paths a job reads beside its own file; `readAfterJobs`, which are
    /// read once the jobs are done (configuration files). Call before any job runs.
    init(_ source: ImageFileSource, jobs: [(path: String, ownFileOnly: Bool)],
         readBeside: (String) -> Bool, readAfterJobs: (String) -> Bool) {
        var blocked: Set<ObjectIdentifier> = []
        for job in jobs {
            guard let (node, _) = try? source.filesystem.resolve(RootPath.resolve(job.path)), node.isRegularFile,
                  let content = node.content, content.bytes != nil else { continue }
            let id = ObjectIdentifier(content)
            contentOf[PathKey(job.path)] = id
            remaining[id, default: (content, 0)].jobs += 1
            if !job.ownFileOnly { blocked.insert(id) }
        }
        // One walk over every name. The same bytes may have other names: a hard link recorded as
        // configuration, a symbolic link a package's copyright is read through; any such name keeps
        // them readable by all. A name reached only through a linked directory on its way (a doc
        // directory linked elsewhere) is not seen here: reading it is refused, the same way every
        // run, and the package has no license. A regular file is asked whether something reads it
        // beside another only when its bytes are held (a dictionary lookup); a link, whose bytes are
        // known only once it is resolved, is resolved only when its name is read.
        source.filesystem.walk { path, node in
            switch node.kind {
            case .file:
                for v in node.earlier { stay.insert(ObjectIdentifier(v.content)) }
                guard let c = node.content, c.bytes != nil else { return }
                let id = ObjectIdentifier(c)
                let readAfter = readAfterJobs(path)
                if readAfter || !node.earlier.isEmpty { stay.insert(id) } else { afterJobs.append(c) }
                if remaining[id] != nil, readAfter || readBeside(path) { blocked.insert(id) }
            case .symbolicLink:
                guard readBeside(path) || readAfterJobs(path),
                      let c = (try? source.filesystem.resolve(path))?.node.content else { return }
                blocked.insert(ObjectIdentifier(c))
            default: return
            }
        }
        // A package database listed under a linked path (`SquashedFileSystem.aliases`) is not met by the
        // walk under that name.
        for alias in source.filesystem.aliases {
            guard let c = alias.node.content else { continue }
            let readAfter = readAfterJobs(alias.path)
            if readAfter { stay.insert(ObjectIdentifier(c)) }
            if readAfter || readBeside(alias.path) { blocked.insert(ObjectIdentifier(c)) }
        }
        for id in blocked.union(stay) { remaining[id] = nil }
        for (_, r) in remaining { r.content.ownJobsOnly = true }
    }

    /// How many files are kept for their own jobs alone.
    public var held: Int { remaining.count }

    /// Every job is done: frees the bytes of every kept file that nothing reads again. What stays:
    /// configuration files and every version of a file that layer attribution reads again (one with
    /// earlier versions, and those versions). A file kept only to be read beside another (a
    /// package's md5sums or copyright) is freed; attribution re-reads earlier versions for the
    /// packages they list, which do not depend on those files.
    func allJobsDone() {
        for c in afterJobs where !stay.contains(ObjectIdentifier(c)) {
            guard let n = c.bytes?.count else { continue }
            freedBytes += n
            c.free()
        }
        afterJobs = []
        remaining = [:]
    }

    /// One job on `path` is done; the file's bytes are freed when it was the last.
    func finished(_ path: String) {
        guard let id = contentOf[PathKey(path)], var r = remaining[id] else { return }
        r.jobs -= 1
        if r.jobs > 0 { remaining[id] = r; return }
        remaining[id] = nil
        freedBytes += r.content.bytes?.count ?? 0
        r.content.free()
    }
}
