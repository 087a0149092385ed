import ProvenantCore

/// Public doors into the internal text parsers, so the fuzz harnesses reach exactly the code the
/// extractors run. Each parses and discards; a thrown error is an ordinary rejection.
public enum ParserEntryPoints {
    /// The TOML reader behind Cargo.lock, poetry.lock, uv.lock, pdm.lock and pylock.toml.
    public static func toml(_ text: String) throws {
        _ = try TOMLParser.parse(text)
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
        let capture = ImageCapture { _, _, _ in .keep }
        let budget = ReadBudget(total: 64 << 20)
        // The diff ID is of the stored bytes, so a compressed layer fails its check at the end:
        // everything before that still runs. Plain tars pass it.
        let tree = try ImageReader.readLayer(plan, MemoryStream(bytes), capture: capture, maxFileBytes: 16 << 20,
                                             inflated: SharedInflateBudget(limit: 64 << 20), budget: budget)
        let fs = SquashedFileSystem()
        fs.apply(tree)
        fs.apply(tree)
        try fs.checkLinks()
        let source = ImageFileSource(filesystem: fs, budget: budget)
        var paths: [String] = []
        fs.walk { p, _ in paths.append(p) }
        for p in paths.prefix(1000) {
            _ = try? source.read(p, limit: 1 << 20)
            _ = try? source.canonicalPath(p)
            _ = Glob.excludes(fuzzExcludes.map(Glob.init), p)
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
