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
    private var contentOf: [String: ObjectIdentifier] = [:]
    /// Bytes freed so far.
    public private(set) var freedBytes = 0

    /// `jobs` is every job of the scan: its file's path and whether its extractor reads its own file
    /// only. `keep` says which paths something other than their jobs reads. Call before any job runs.
    init(_ source: ImageFileSource, jobs: [(path: String, ownFileOnly: Bool)], keep: (String) -> Bool) {
        let pinned = source.filesystem.earlierContents()
        var blocked: Set<ObjectIdentifier> = []
        for job in jobs {
            guard let canonical = try? source.canonicalPath(job.path),
                  let (node, _) = try? source.filesystem.resolve(canonical),
                  let content = node.content, content.bytes != nil else { continue }
            let id = ObjectIdentifier(content)
            contentOf[job.path] = id
            remaining[id, default: (content, 0)].jobs += 1
            if !job.ownFileOnly || keep(job.path) || keep(canonical) || pinned.contains(id) || !node.earlier.isEmpty {
                blocked.insert(id)
            }
        }
        for id in blocked { remaining[id] = nil }
        for (_, r) in remaining { r.content.ownJobsOnly = true }
    }

    /// How many files are kept for their own jobs alone.
    public var held: Int { remaining.count }

    /// One job on `path` is done; the file's bytes are freed when it was the last.
    func finished(_ path: String) {
        guard let id = contentOf[path], var r = remaining[id] else { return }
        r.jobs -= 1
        if r.jobs > 0 { remaining[id] = r; return }
        remaining[id] = nil
        freedBytes += r.content.bytes?.count ?? 0
        r.content.free()
    }
}
