import ProvenantCore
import Yams

/// Public doors into the internal text parsers, so the fuzz harnesses reach exactly the code the
/// extractors run. Each parses and discards; a thrown error is an ordinary rejection.
public enum ParserEntryPoints {
    /// The TOML reader behind Cargo.lock, poetry.lock, uv.lock, pdm.lock and pylock.toml.
    public static func toml(_ text: String) throws {
        _ = try TOMLParser.parse(text)
    }

    /// The block-YAML reading behind pnpm-lock.yaml, held to Yams: whatever it reads, Yams must read
    /// to the same tree. A disagreement stops the process, so the fuzzer reports it.
    public static func lockYAML(_ text: String) {
        guard let mine = LockYAML.read(text) else { return }
        guard (try? YAMLNesting.check(text)) != nil, let node = try? Yams.compose(yaml: text, .basic) else {
            preconditionFailure("LockYAML read text that Yams refuses")
        }
        precondition(LockYAML(yams: node) == mine, "LockYAML and Yams read different trees")
    }

    /// yarn.lock's two readings, held equal: on ASCII text the byte reading must give the entries,
    /// or the error, of the reading by Characters.
    public static func yarnLockReadings(_ text: String) {
        let bytes = Result { try YarnLockExtractor.asciiBlocks(text) }
        if case .success(nil) = bytes { return }
        let characters = Result { try YarnLockExtractor.blocks(text: text) }
        switch (bytes, characters) {
        case let (.success(a?), .success(b)): precondition(a.0 == b.0 && a.1 == b.1, "yarn.lock readings differ")
        case let (.failure(a), .failure(b)):
            let (x, y) = (a as? ParseError, b as? ParseError)
            precondition(x?.message == y?.message && x?.line == y?.line, "yarn.lock readings fail differently")
        default: preconditionFailure("one yarn.lock reading failed and the other did not")
        }
    }

    /// The XML reader behind pom.xml; every callback is visited, as the pom reader does.
    public static func xml(_ bytes: [UInt8]) throws {
        var events = 0
        try MiniXML.parse(bytes, start: { _, _ in events += 1 }, text: { _ in events += 1 }, end: { _ in events += 1 })
    }
}

extension ParserEntryPoints {
    /// One image layer (gzip, zstd or plain tar, sniffed) streamed through the tar reader and the
    /// layer builder, squashed, its links checked, and every file read back through the image source.
    public static func imageLayer(_ bytes: [UInt8]) throws {
        let plan = LayerPlan(index: 0, key: "fuzz", digest: nil, diffID: "sha256:" + FileDigest.sha256(bytes).value,
                             mediaType: "", size: nil, createdBy: nil)
        // Executables are screened (`keepIf`, in the reused buffer or, past its size, an array of
        // their own) as the Go extractor screens them; other files are kept.
        let capture = ImageCapture { _, _, executable in executable ? .keepIf { $0.count % 3 != 0 } : .keep }
        let budget = ReadBudget(total: 64 << 20)
        // The diff ID is of the stored bytes, so a compressed layer fails its check at the end:
        // everything before that still runs. Plain tars pass it.
        let tree = try ImageReader.readLayer(plan, MemoryStream(bytes), capture: capture, maxFileBytes: 16 << 20,
                                             inflated: SharedInflateBudget(limit: 64 << 20), budget: budget)
        // As the secret scan reads it: each file's bytes, and the bytes no file holds (extended
        // headers, whiteouts' data, what follows the tar's end).
        _ = try? ImageReader.readLayer(plan, MemoryStream(bytes), capture: .nothing, maxFileBytes: 1 << 20,
                                       inflated: SharedInflateBudget(limit: 64 << 20), budget: budget,
                                       inspect: { _, _, _, data throws(ImageError) in
                                           var b: [UInt8] = []
                                           while try data.read(appendingTo: &b, max: 4096) > 0 { if b.count > 1 << 20 { b.removeAll() } }
                                       },
                                       inspectHidden: { _, _, hidden, _ in precondition(hidden.count <= ImageReader.hiddenBytesKept) })
        let fs = SquashedFileSystem()
        try fs.apply(tree)
        try fs.apply(tree)
        // The kept walk (`freeze`, as the reader calls it once the layers are merged) replays the
        // tree's own walk: the same names, nodes and order.
        var live: [(String, ObjectIdentifier)] = []
        fs.walk { p, n in live.append((p, ObjectIdentifier(n))) }
        fs.freeze()
        var kept: [(String, ObjectIdentifier)] = []
        fs.walk { p, n in kept.append((p, ObjectIdentifier(n))) }
        precondition(live.count == kept.count && zip(live, kept).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }, "the kept walk differs from the tree's")
        try fs.checkLinks()
        let source = ImageFileSource(filesystem: fs, budget: budget)
        var paths: [String] = []
        fs.walk { p, _ in paths.append(p) }
        for p in paths.prefix(1000) {
            _ = try? source.read(p, limit: 1 << 20)
            _ = try? source.canonicalPath(p)
            _ = Glob.excludes(fuzzExcludes.map { Glob(excluding: $0) }, p)
        }
        // The package databases reached through links, as a catalog looks them up once the layers
        // are squashed (the tree applied twice: every file has an earlier version), with and
        // without excludes; and the index those aliases make.
        for excludes in [[], fuzzExcludes] {
            let cataloger = Cataloger(excludes: excludes)
            guard let found = cataloger.imageCapture.linked?(fs) else { continue }
            fs.aliases = found.aliases.map { ImageFile(path: $0.path, node: $0.item) }
            let index = FileIndex(image: source, name: "fuzz", excludes: cataloger.excludes)
            for f in index.files.prefix(1000) { _ = try? index.source.read(f.path, limit: 1 << 20) }
        }
    }

    static let fuzzExcludes = ["/opt", "**/status.d/*", "srv"]

    /// `--exclude` globs: the first line is a pattern, each further line a path. The bit-table matcher
    /// must give the step loop's answer (a difference traps: a finding), and the cached exclude filter
    /// `Glob.excludes`'s.
    public static func glob(_ bytes: [UInt8]) {
        let lines = String(decoding: bytes.prefix(1 << 16), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let pattern = lines.first else { return }
        let glob = Glob(pattern)
        let filter = ExcludeFilter([glob])
        for path in lines.dropFirst().prefix(256) {
            let s = Array(path.utf8)
            for restart in [false, true] {
                precondition(glob.runBits(s, restartAtSlashes: restart) == glob.runSteps(s, restartAtSlashes: restart),
                             "the two glob matchers differ")
            }
            _ = glob.matchesWhole(path)
            precondition(filter.excludes(path) == Glob.excludes([glob], path), "the exclude filter differs from Glob.excludes")
        }
    }

    /// An image manifest, index and config read from the same bytes, and the index asked for a platform.
    public static func imageDocuments(_ bytes: [UInt8]) {
        _ = try? ImageManifest(bytes, subject: "fuzz")
        _ = try? ImageConfig(bytes, subject: "fuzz").createdBy(layerCount: 3)
        if let index = try? ImageIndex(bytes, subject: "fuzz") {
            _ = try? index.select(.linuxAMD64, tag: nil, subject: "fuzz")
            _ = try? index.select(.linuxAMD64, tag: "latest", subject: "fuzz")
        }
    }

    /// An image archive indexed by its headers, each entry opened and read, and the layout it holds
    /// resolved (Docker's manifest.json or an OCI index) as a scan would.
    public static func imageArchive(path: String) async {
        guard let archive = try? ArchiveLayout(path: path) else { return }
        for key in archive.entries.keys.sorted().prefix(200) {
            guard let (s, _) = try? archive.open(key) else { continue }
            _ = try? s.readAll(limit: 1 << 20, name: key)
        }
        // The archive's bytes no file holds, as the secret scan reads them, each within the cap.
        try? archive.eachHidden(keep: 1 << 20) { _, bytes, _ in precondition(bytes.count <= 1 << 20) }
        let sources: [any ImageSource] = [
            DockerArchiveSource(files: archive, reference: "fuzz", fallbackName: "fuzz"),
            LayoutImageSource(files: archive, reference: "fuzz", tag: nil, fallbackName: "fuzz"),
        ]
        for source in sources {
            _ = try? await ImageReader(inflateLimit: 64 << 20, capture: ImageCapture { _, _, _ in .keep })
                .read(source, budget: ReadBudget(total: 64 << 20))
        }
    }

    /// Image references as the command line gives them.
    public static func imageReference(_ text: String) {
        _ = try? ImageReference.parse(text)
        _ = RegistryReference(text)
        _ = ImagePlatform(text)
    }
}
